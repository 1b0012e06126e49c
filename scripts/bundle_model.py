"""Turn a finished training run into the bundled model: evaluate it exactly on the held-out
tail, record how it was made inside it, and store it in half precision as package data.

    python scripts/bundle_model.py RUN.ckpt --corpus ../shared/corpora/mysterious-island-1268-0.txt \\
        --command "rnntui train ..." [--out rnntui/assets/mysterious-island-lstm.ckpt]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.evaluate import held_out_loss
from rnntui.core.device import cpu_name

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--command", required=True, help="the exact rnntui train command that made the run")
    parser.add_argument("--out", type=Path, default=ROOT / "rnntui" / "assets" / "mysterious-island-lstm.ckpt")
    args = parser.parse_args()

    checkpoint = load_checkpoint(args.run)
    corpus = load_corpus(args.corpus, vocab=checkpoint.vocab)
    started = time.perf_counter()
    val_loss, count, _ = held_out_loss(checkpoint, corpus)
    print(f"validation loss {val_loss:.4f} nats/char over {count:,} held-out characters "
          f"({time.perf_counter() - started:.1f}s)")
    checkpoint.provenance = {
        "command": args.command,
        "steps": checkpoint.step,
        "wall_time_s": round(checkpoint.elapsed, 1),
        "machine": machine(),
        "val_loss": round(val_loss, 4),
        "val_characters": count,
        "evaluated_with": f"rnntui evaluate --corpus {args.corpus.name}",
    }
    if checkpoint.corpus:  # the build machine's path means nothing to users: the name says "the book"
        checkpoint.corpus = {k: v for k, v in checkpoint.corpus.items() if k != "path"}
    save_checkpoint(checkpoint, args.out, half=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {checkpoint.provenance}")


if __name__ == "__main__":
    main()
