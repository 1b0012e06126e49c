"""How long looking inside the bundled character model takes: reading 100,000 characters of the
book's held-out tail (hidden and cell states of every unit, in parallel streams) and ranking
every unit for a feature (the target: at most 10 s on 2 cores); against one plain ``nn.LSTM``
pass over the same characters (the hidden states only, as ``rnntui evaluate`` reads), and how
far the streams' warm-up moves the loss from that exact pass.

    python benchmarks/neurons.py [--corpus mysterious-island-1268-0.txt] [--chars 100000] [--threads N]

Every figure is measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.charlm.checkpoint import load_checkpoint  # noqa: E402
from rnntui.charlm.corpus import load_corpus  # noqa: E402
from rnntui.charlm.evaluate import evaluate_ids  # noqa: E402
from rnntui.core.device import cpu_name  # noqa: E402
from rnntui.core.paths import bundled_model_path  # noqa: E402
from rnntui.neurons.activations import plan, read  # noqa: E402
from rnntui.neurons.features import feature_values  # noqa: E402
from rnntui.neurons.rank import rank_units  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora" / "mysterious-island-1268-0.txt"
TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED)
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--feature", default="inside-quotes")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.corpus.is_file():
        print(f"no corpus at {args.corpus}: pass --corpus PATH (the book)", file=sys.stderr)
        return 2
    checkpoint = load_checkpoint(bundled_model_path())
    model = checkpoint.build_model().eval()
    corpus = load_corpus(args.corpus, vocab=checkpoint.vocab)
    ids = corpus.split((checkpoint.train_config or {}).get("val_fraction", 0.1))[1][:args.chars]
    text = checkpoint.vocab.decode(ids)
    layout = plan(len(ids))

    started, cpu_started = time.perf_counter(), time.process_time()
    reading = read(model, ids)[0]
    read_seconds = time.perf_counter() - started
    values = feature_values(text, args.feature)
    top = {state: rank_units(reading.state(state), values, 1)[0] for state in ("cell", "hidden")}
    total_seconds, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    started, cpu_started = time.perf_counter(), time.process_time()
    exact_loss, _ = evaluate_ids(model, ids)
    baseline_seconds, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    streamed_loss = float(read(model, ids, keep=(), losses=True)[0].losses.mean())

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cpu_name()}, {torch.get_num_threads()} torch thread(s) of {os.cpu_count()} cores, torch "
          f"{torch.__version__}; load average {load:.1f} when it ended")
    print(f"{len(ids):,} characters of the held-out tail of {corpus.name}, bundled model "
          f"({model.config.cell.upper()} {model.config.hidden_size}); {layout.streams} streams of "
          f"{layout.length:,} characters, each warmed on {layout.warmup}")
    print()
    print("| measurement | value | note |")
    print("| --- | ---: | --- |")
    print(f"| read every unit's hidden and cell state (s) | {read_seconds:.2f} | |")
    print(f"| read and rank every unit for {args.feature} (s) | {total_seconds:.2f} | target <= "
          f"{TARGET_SECONDS:g} s: {'met' if total_seconds <= TARGET_SECONDS else 'NOT met'} |")
    print(f"| the same, CPU time of this process (s) | {total_cpu:.2f} | with one thread: about its time on an "
          f"idle core |")
    print(f"| one nn.LSTM pass, hidden states only (s) | {baseline_seconds:.2f} | as rnntui evaluate reads; "
          f"ratio {total_seconds / baseline_seconds:.2f}x (CPU time {baseline_cpu:.2f} s) |")
    print(f"| loss, exact one pass / streams (nats/char) | {exact_loss:.4f} / {streamed_loss:.4f} | "
          f"difference {streamed_loss - exact_loss:+.6f} |")
    for state, ranked in top.items():
        print(f"| top {state}-state unit for {args.feature} | {ranked.unit} | r = {ranked.score:+.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
