"""Fine-tuning the bundled model against training a fresh one, on a text neither has seen.

    python benchmarks/finetune.py [--corpus README.md] [--steps 200] [--lr 0.005 0.002]

Both runs use the book's architecture and the same settings; the fine-tuned one starts from the
bundled model's weights (``rnntui train --finetune``). Prints the exact loss on the text's
held-out last 10 % every ``--every`` steps, and the wall time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from rnntui.charlm.build import finetune_trainer, new_trainer
from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.evaluate import evaluate_ids
from rnntui.charlm.trainer import TrainConfig
from rnntui.core.paths import bundled_model_path

ROOT = Path(__file__).resolve().parents[1]


def curve(trainer, val_ids, steps: int, every: int) -> tuple[list[float], float]:
    """Exact held-out loss at step 0 and every ``every`` steps; seconds spent training."""
    losses = [evaluate_ids(trainer.model, val_ids)[0]]
    trainer.model.train()
    seconds, started = 0.0, time.perf_counter()
    for event in trainer.run():
        if event.step % every == 0:
            seconds += time.perf_counter() - started
            losses.append(evaluate_ids(trainer.model, val_ids)[0])
            trainer.model.train()
            started = time.perf_counter()
        if event.step >= steps:
            trainer.stop()
    return losses, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "README.md")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--lr", type=float, nargs="+", default=[0.005, 0.002])
    args = parser.parse_args()

    base = load_checkpoint(bundled_model_path())
    text = load_corpus(args.corpus)
    print(f"# {args.corpus.name}: {text.characters:,} characters, {len(text.vocab)} distinct; "
          f"{len(set(text.vocab.char_array) - set(base.vocab.char_array))} not in the bundled model's "
          f"vocabulary. Batch 64 x 40, {args.steps} steps, {torch.get_num_threads()} torch threads.")
    print()
    header = " | ".join(f"step {s}" for s in range(0, args.steps + 1, args.every))
    print(f"| run | {header} | training time |")
    print("| --- |" + " ---: |" * (args.steps // args.every + 2))
    for lr in args.lr:
        config = TrainConfig(steps=args.steps, lr=lr, eval_every=0, device="cpu", random_seed=1)
        finetuned, corpus = finetune_trainer(base, text, config)
        fresh = new_trainer(text, config)
        for name, trainer, ids in (("fine-tuned", finetuned, corpus), ("fresh", fresh, text)):
            losses, seconds = curve(trainer, ids.split(config.val_fraction)[1], args.steps, args.every)
            cells = " | ".join(f"{loss:.3f}" for loss in losses)
            print(f"| {name}, lr {lr:g} | {cells} | {seconds:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
