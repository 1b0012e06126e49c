"""Average the weights of several checkpoints of one run, such as the snapshots of its last,
low-rate stretch (``--keep``): the mean of nearby weights often predicts held-out text a little
better than any one of them.

    python scripts/average_checkpoints.py OUT.ckpt RUN.step0019000.ckpt ... RUN.ckpt

The result is the last checkpoint given, with the mean of all their weights and without an
optimizer state (Adam's moments belong to weights the run actually reached). Then evaluate it
(``rnntui evaluate --checkpoint OUT.ckpt``) or bundle it (``scripts/bundle_model.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.core.errors import RnntuiError


def average(paths: list[Path]):
    checkpoints = [load_checkpoint(path) for path in paths]
    last = checkpoints[-1]
    for path, checkpoint in zip(paths, checkpoints, strict=True):
        if checkpoint.model_config != last.model_config or checkpoint.vocab != last.vocab:
            raise RnntuiError(f"{path} is not the same model as {paths[-1]}")
    last.model_state = {
        name: torch.stack([c.model_state[name].float() for c in checkpoints]).mean(0).to(tensor.dtype)
        for name, tensor in last.model_state.items()}
    last.optimizer_state = None
    last.provenance = {**last.provenance, "averaged": [path.name for path in paths]}
    return last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    args = parser.parse_args()
    try:
        save_checkpoint(average(args.checkpoints), args.out)
    except RnntuiError as error:
        print(f"average_checkpoints: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
