"""The sentiment model's memory estimate (``rnntui.sentiment.trainer.memory_bytes``, which refuses
a batch that could not fit before allocating it) against the peak a batch really reaches: one
training step (batch 32) and one evaluation batch (256), one- and two-way, at the bundled
model's sizes and at MAX_REVIEW_WORDS' half and whole.

    python benchmarks/sentiment_memory.py [--words 2500 5000]

Each case runs in a fresh process, its peak resident size (max RSS) taken before and after the
batch; the ratio measured / estimate should stay under 1 (an upper estimate).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, resource, sys
import torch
import torch.nn.functional as F
from rnntui.sentiment.model import SentimentConfig, SentimentRNN
from rnntui.sentiment.trainer import memory_bytes
bidirectional, training, batch, words = sys.argv[1] == "1", sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(0)
config = SentimentConfig(vocab_size=30_002, embed_dim=64, hidden_size=128, bidirectional=bidirectional)
model = SentimentRNN(config)
optimizer = torch.optim.Adam(model.parameters())
ids, lengths = torch.randint(2, 30_002, (batch, words)), torch.full((batch,), words)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if training:
    F.binary_cross_entropy_with_logits(model(ids, lengths), torch.ones(batch)).backward()
    optimizer.step()
else:
    with torch.inference_mode():
        model.eval()(ids, lengths)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The weights (and Adam's state) were allocated before the first reading: count them as the estimate does.
weights = sum(p.numel() for p in model.parameters()) * 4 * (4 if training else 1)
print(json.dumps({"measured": after - before + weights, "estimate": memory_bytes(config, batch, words, training)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[2500, 5000])
    args = parser.parse_args()
    print(f"{'case':<34} {'measured MB':>12} {'estimate MB':>12} {'ratio':>6}")
    for words in args.words:
        for training, batch in ((True, 32), (False, 256)):
            for bidirectional in (False, True):
                argv = [sys.executable, "-c", CASE, str(int(bidirectional)), str(int(training)), str(batch), str(words)]
                result = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
                name = (f"{'train' if training else 'evaluate'} {'bi' if bidirectional else 'one-way'} "
                        f"{batch} x {words:,}")
                print(f"{name:<34} {result['measured'] / 2**20:>12,.0f} {result['estimate'] / 2**20:>12,.0f} "
                      f"{result['measured'] / result['estimate']:>6.2f}")


if __name__ == "__main__":
    main()
