"""The review language model's training speed (``rnntui sentiment pretrain``): words of reviews
per second for each softmax (adaptive, full, tied) at the sizes given, and each one's ratio to
the full softmax, on batches of made-up reviews whose words follow Zipf's law (as a review's do:
the adaptive softmax's speed depends on how often the rare clusters are needed).

    python benchmarks/pretrain.py [--sizes 64x128 100x256] [--words 30000] [--steps 6] [--threads 1]

Every figure is measured in this run, on this machine, per second of CPU time (the machine may
be shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.core.device import cpu_name  # noqa: E402
from rnntui.sentiment.pretrain.model import SOFTMAXES, ReviewLM, ReviewLMConfig  # noqa: E402


def zipf_batch(words: int, batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Word ids 2.. drawn with probability proportional to 1 / rank (0 and 1: padding, unknown)."""
    weights = 1.0 / torch.arange(1, words - 1, dtype=torch.float64)
    return torch.multinomial(weights, batch * length, replacement=True, generator=generator).view(batch, length) + 2


def words_per_s(config: ReviewLMConfig, batch: int, length: int, steps: int) -> float:
    """Words read per second of this process's CPU time (the machine may be shared: wall time
    would count the others' work) by training steps (forward, backward, Adam); the best of
    ``steps`` after one to warm up."""
    torch.manual_seed(0)
    model = ReviewLM(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    lengths = torch.full((batch,), length)
    best = 0.0
    for step in range(steps + 1):
        ids = zipf_batch(config.vocab_size, batch, length, generator)
        started = time.process_time()
        loss, count = model(ids, lengths)
        optimizer.zero_grad(set_to_none=True)
        (loss / count).backward()
        optimizer.step()
        if step:
            best = max(best, batch * length / max(time.process_time() - started, 1e-9))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64x128", "100x256"], help="EMBEDxHIDDEN sizes")
    parser.add_argument("--words", type=int, default=30_000, help="vocabulary size")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=230, help="words per review (a review's mean)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one-way", action="store_true", help="the forward direction only")
    parser.add_argument("--softmax", nargs="+", default=list(SOFTMAXES), choices=SOFTMAXES)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{cpu_name()}, {args.threads} thread(s), torch {torch.__version__}; {args.words:,} words, "
          f"batches of {args.batch_size} reviews of {args.length} words, "
          f"{'forward only' if args.one_way else 'both directions'}")
    print(f"{'embed x hidden':>14}  {'softmax':>8}  {'words per CPU s':>15}  {'vs full':>7}")
    for size in args.sizes:
        embed, hidden = (int(part) for part in size.split("x"))
        rates = {}
        for softmax in args.softmax:
            config = ReviewLMConfig(args.words, embed, hidden, bidirectional=not args.one_way, softmax=softmax)
            rates[softmax] = words_per_s(config, args.batch_size, args.length, args.steps)
        for softmax, rate in rates.items():
            ratio = f"{rate / rates['full']:.2f}x" if "full" in rates else "-"
            print(f"{size:>14}  {softmax:>8}  {rate:15,.0f}  {ratio:>7}", flush=True)


if __name__ == "__main__":
    main()
