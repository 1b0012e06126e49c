"""What judging a review costs in the app: the verdict on a 325-word review, and its explanation
word by word (the backward direction reads every prefix again), for each sentiment checkpoint
given, side by side in one run, with the ratio to the first.

    python benchmarks/judging.py [CHECKPOINT ...] [--threads N]   (default: the bundled model)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.core.paths import bundled_sentiment_model_path  # noqa: E402
from rnntui.sentiment.checkpoint import load_sentiment_checkpoint  # noqa: E402
from rnntui.sentiment.predict import Predictor  # noqa: E402

# Made up for the benchmark: ordinary words, 325 of them.
REVIEW = " ".join(["the film was good but the plot was thin and the acting uneven"] * 25)


def timed(call, repeats: int) -> float:
    """The median of ``repeats`` calls, in seconds, after one to warm up."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    first = None
    print(f"{len(REVIEW.split())}-word review, {args.threads} thread(s)")
    for path in args.checkpoints or [bundled_sentiment_model_path()]:
        checkpoint = load_sentiment_checkpoint(path)
        predictor = Predictor(checkpoint.build_model(), checkpoint.vocab)
        verdict = timed(lambda p=predictor: p.predict(REVIEW), 9)
        explained = timed(lambda p=predictor: p.explain(REVIEW, len(REVIEW.split())), 3)
        first = first or (verdict, explained)
        print(f"{path.name}: verdict {verdict * 1000:.1f} ms ({verdict / first[0]:.2f}x), explained word by word "
              f"{explained * 1000:.0f} ms ({explained / first[1]:.2f}x)")


if __name__ == "__main__":
    main()
