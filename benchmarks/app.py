"""The app's own figures, alone: launch to first frame, key latency while training and training
speed inside the app, as benchmarks/bench.py measures them (the same functions), without the
engine's rows.

Made for changes to the app's structure: save a run with ``--out before.json``, change the code,
then ``--baseline before.json`` prints each figure beside the saved one, with the ratio.

    python benchmarks/app.py --out /tmp/before.json
    python benchmarks/app.py --baseline /tmp/before.json

``--frames-only`` times only the first frames: ``rnntui`` alone, ``rnntui --checkpoint FILE`` and
a bare Textual app (the floor), each as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench import SHARED, app_in_its_own_process, bench_first_frame, cli_training_speed  # noqa: E402

# name: (what it is, higher is better)
FIGURES = {
    "app_first_s": ("launch to first frame (s)", False),
    "app_keys_s": ("launch to the footer's keys (s)", False),
    "file_first_s": ("with --checkpoint FILE: first frame (s)", False),
    "file_keys_s": ("with --checkpoint FILE: footer's keys (s)", False),
    "floor_first_s": ("Textual's floor: first frame (s)", False),
    "app_first_x": ("first frame / the floor's", False),
    "file_first_x": ("with --checkpoint FILE: first frame / the floor's", False),
    "key_median_ms": ("key latency while training, median (ms)", False),
    "key_p95_ms": ("key latency while training, p95 (ms)", False),
    "app_train_chars_s": ("training inside the app (chars/s)", True),
    "cli_train_chars_s": ("rnntui train, same steps (chars/s)", True),
}


def measure(corpus: Path, rounds: int, frames_only: bool = False) -> dict:
    figures = dict(bench_first_frame())
    for name in ("app", "file"):  # the target: within 1.5x the floor
        figures[f"{name}_first_x"] = figures[f"{name}_first_s"] / figures["floor_first_s"]
    if frames_only:
        return figures
    runs = [(app_in_its_own_process(corpus), cli_training_speed(corpus)) for _ in range(rounds)]
    figures["key_median_ms"] = statistics.median(app["median_ms"] for app, _ in runs)
    figures["key_p95_ms"] = max(app["p95_ms"] for app, _ in runs)
    figures["app_train_chars_s"] = statistics.median(app["app_train_chars_s"] for app, _ in runs)
    figures["cli_train_chars_s"] = statistics.median(cli for _, cli in runs)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED)
    parser.add_argument("--rounds", type=int, default=2, help="app / rnntui train runs, alternating")
    parser.add_argument("--frames-only", action="store_true",
                        help="only the first frames (bare, with --checkpoint FILE, the floor): no training")
    parser.add_argument("--out", type=Path, help="save the figures as JSON")
    parser.add_argument("--baseline", type=Path, help="a saved run to compare with")
    args = parser.parse_args()
    figures = measure(args.corpus, args.rounds, args.frames_only)
    baseline = json.loads(args.baseline.read_text()) if args.baseline else {}
    print(f"{'figure':50s} {'now':>10s} {'baseline':>10s} {'ratio':>7s}")
    for name, (what, higher_better) in FIGURES.items():
        if name not in figures:
            continue
        now, before = figures[name], baseline.get(name)
        ratio = f"{now / before:.2f}x" if before else ""
        better = "" if not before else (" (better)" if (now > before) == higher_better else "")
        shown = f"{before:10.3f}" if before is not None else " " * 10
        print(f"{what:50s} {now:10.3f} {shown} {ratio:>7s}{better}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
