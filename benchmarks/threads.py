"""How many torch threads: each workload at 1 thread, 2 threads, torch's default and rnntui's
default, on a quiet machine and beside one busy competitor process (a loop that keeps one core
busy, as another training run would).

    python benchmarks/threads.py [--chars 5000] [--repeat 1]

Workloads, each in a fresh process with the bundled model (so each setting starts alike):

- evaluate: ``rnntui evaluate``'s pass over ``--chars`` characters (chunks of 2,048);
- dynamic: ``evaluate --dynamic`` / ``generate --adapt`` with the sgd rule on ``--chars / 5``
  characters (100-character segments, a backward pass each);
- generate: batch-1 sampling of ``--chars / 10`` characters.

Prints seconds per workload and setting, and each setting's time over 1 thread's. OpenMP's
threads wait for each other at every operation: when one of them shares a core with another
busy process, every operation waits for the slowest, and torch's default (one thread per
core) falls off a cliff.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("evaluate", "dynamic", "generate")
SETTINGS = ("1", "2", "torch", "rnntui")  # torch: torch's own default; rnntui: apply_threads(None)


def child(workload: str, setting: str, chars: int) -> None:
    """Run one workload in this process and print its seconds and the threads it used."""
    import numpy as np
    import torch

    from rnntui.cli.common import apply_threads

    if setting == "rnntui":
        apply_threads(None)
    elif setting != "torch":
        torch.set_num_threads(int(setting))
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.core.paths import bundled_model_path

    checkpoint = load_checkpoint(bundled_model_path())
    model = checkpoint.build_model()
    # Any characters of the model's vocabulary cost the same: no corpus needed.
    ids = np.random.default_rng(0).integers(0, len(checkpoint.vocab), size=chars).astype(np.int64)
    started = time.perf_counter()
    if workload == "evaluate":
        from rnntui.charlm.evaluate import evaluate_ids

        evaluate_ids(model, ids)
    elif workload == "dynamic":
        from rnntui.charlm.dynamic import DynamicConfig, dynamic_loss

        dynamic_loss(model, ids[: chars // 5], DynamicConfig(rule="sgd", lrs=(0.1,), decays=(0.0,)))
    else:
        from rnntui.charlm.sampling import Sampler

        for _ in Sampler(model, checkpoint.vocab, 1.0, random_seed=1).stream("The island", chars // 10):
            pass
    print(f"{time.perf_counter() - started:.3f} {torch.get_num_threads()}")


def measure(workload: str, setting: str, chars: int, repeat: int) -> tuple[float, int]:
    """The best of ``repeat`` fresh processes: (seconds, threads used)."""
    best, threads = float("inf"), 0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", workload, setting, "--chars", str(chars)],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
        best, threads = min(best, float(out[0])), int(out[1])
    return best, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=5_000, help="characters evaluated (5,000)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N processes per setting (1)")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.chars)
        return

    import torch

    print(f"# {os.cpu_count()} cores, torch {torch.__version__}; load: the 1-minute load average before each row")
    print()
    print("| workload | competitor | load | " + " | ".join(f"{s} (s)" for s in SETTINGS) + " | "
          + " | ".join(f"{s} / 1" for s in SETTINGS[1:]) + " |")
    print("| --- | --- | ---: |" + " ---: |" * (2 * len(SETTINGS) - 1))
    for busy in (False, True):
        competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for workload in WORKLOADS:
                load = os.getloadavg()[0]  # what else keeps the cores busy (other users' work too)
                results = [measure(workload, setting, args.chars, args.repeat) for setting in SETTINGS]
                times = [f"{seconds:.2f} ({threads} thr)" for seconds, threads in results]
                ratios = [f"{seconds / results[0][0]:.2f}x" for seconds, _ in results[1:]]
                print(f"| {workload} | {'one busy process' if busy else 'none'} | {load:.1f} | "
                      + " | ".join(times + ratios) + " |",
                      flush=True)
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()


if __name__ == "__main__":
    main()
