"""``rnntui metrics export``: runs already made, as TensorBoard event files."""

from __future__ import annotations

import argparse


def cmd_export(args: argparse.Namespace) -> int:
    from rnntui.core.tensorboard import export, require

    require()
    for folder, records in export(args.files, args.tensorboard):
        print(f"{records:,} steps -> {folder}")
    return 0
