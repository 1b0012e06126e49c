"""How many of the short reviews in ``tests/sentiment/short_reviews.py`` (negations, contrasts, sarcasm) a
sentiment model gets right, and which it gets wrong.

    python benchmarks/short_reviews.py [CHECKPOINT ...]   (default: the bundled model)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.core.paths import bundled_sentiment_model_path  # noqa: E402
from rnntui.sentiment.checkpoint import load_sentiment_checkpoint  # noqa: E402
from rnntui.sentiment.predict import Predictor  # noqa: E402
from tests.sentiment.short_reviews import SHORT_REVIEWS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path)
    args = parser.parse_args()
    for path in args.checkpoints or [bundled_sentiment_model_path()]:
        checkpoint = load_sentiment_checkpoint(path)
        predictor = Predictor(checkpoint.build_model(), checkpoint.vocab)
        wrong = []
        for text, label in SHORT_REVIEWS:
            probability = predictor.predict(text).probability
            if (probability >= 0.5) != bool(label):
                wrong.append(f"  {probability:.3f}  {text}")
        right = len(SHORT_REVIEWS) - len(wrong)
        print(f"{path.name}: {right} of {len(SHORT_REVIEWS)} right; wrong (P(positive), review):")
        print("\n".join(wrong) or "  none")


if __name__ == "__main__":
    main()
