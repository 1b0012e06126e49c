"""Ship a trained sentiment checkpoint as the bundled model: measure its test accuracy on the
25,000 test reviews, record how it was made, and write it in float16 without its optimizer state.

    python scripts/bundle_sentiment_model.py RUN.best.ckpt --data aclImdb_v1.tar.gz

The training command and machine come from the run's own provenance (``rnntui sentiment train``
records them).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from rnntui.sentiment.checkpoint import load_sentiment_checkpoint, save_sentiment_checkpoint
from rnntui.sentiment.reviews import read_reviews
from rnntui.sentiment.trainer import encode, evaluate_reviews

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 10_000_000  # a classifier of the pretrained sizes (embedding 100, LSTM 256) is 7.7 MB


def as_typed(command: str) -> str:
    """The record's commands as a user types them: a run started as ``python -m rnntui`` from a
    copy of the code records that copy's ``.../rnntui/__main__.py``, which is ``rnntui``."""
    return " && ".join(re.sub(r"^\S*/rnntui/__main__\.py(?= )", "rnntui", part) for part in command.split(" && "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "rnntui" / "assets" / "imdb-sentiment.ckpt")
    args = parser.parse_args()

    checkpoint = load_sentiment_checkpoint(args.run)
    reviews = read_reviews(args.data)
    max_tokens = (checkpoint.train_config or {}).get("max_tokens", 0)
    started = time.perf_counter()
    loss, accuracy = evaluate_reviews(checkpoint.build_model(), encode(reviews.test, checkpoint.vocab, max_tokens))
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f} on {len(reviews.test):,} test reviews "
          f"({time.perf_counter() - started:.1f}s)")
    started = checkpoint.provenance.get("from_lm")
    if isinstance(started, dict) and isinstance(started.get("checkpoint"), str):
        # Its name only: the path is the building machine's (and the app looks for none there).
        started = {**started, "checkpoint": Path(started["checkpoint"]).name}
        checkpoint.provenance = {**checkpoint.provenance, "from_lm": started}
    soup = checkpoint.provenance.get("soup")
    if isinstance(soup, dict):  # a soup (rnntui sentiment soup): its members' commands as typed too
        checkpoint.provenance = {**checkpoint.provenance, "soup": {**soup, "ingredients": [
            {**item, "command": as_typed(str(item.get("command", "")))} for item in soup.get("ingredients", [])]}}
    checkpoint.provenance = {**checkpoint.provenance, "command": as_typed(checkpoint.provenance.get("command", "")),
                             "wall_time_s": round(checkpoint.elapsed, 1),
                             "test_accuracy": round(accuracy, 4), "test_loss": round(loss, 4),
                             "test_reviews": len(reviews.test)}
    save_sentiment_checkpoint(checkpoint, args.out, half=True)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.1f} MB): {checkpoint.provenance}")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is over {MAX_BYTES / 1e6:.0f} MB: use a smaller --max-words")


if __name__ == "__main__":
    main()
