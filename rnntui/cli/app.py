"""Opening the app: ``rnntui`` alone, with ``--checkpoint`` / ``--corpus``, or ``rnntui watch``."""

from __future__ import annotations

import argparse

from rnntui.cli.common import run_app
from rnntui.core.errors import RnntuiError


def cmd_watch(args: argparse.Namespace) -> int:
    from rnntui.core.metrics import resolve_run

    try:
        metrics, checkpoint = resolve_run(args.path)
    except FileNotFoundError as error:
        raise RnntuiError(str(error)) from None
    if not metrics.exists() and not metrics.parent.is_dir():
        raise RnntuiError(f"{args.path} is not a training run (no folder {metrics.parent})")
    if not metrics.exists() and not checkpoint.exists():
        raise RnntuiError(f"{args.path} is not a training run: neither {checkpoint.name} nor {metrics.name} exists "
                          "(start the run first, or name the checkpoint it writes (rnntui train --out), its metrics "
                          "file or its folder)")
    compare = None
    if args.compare:
        from rnntui.core.metrics import compared_runs

        compare = compared_runs(args.compare, metrics)
    return run_app(checkpoint=None, corpus=None, finetune=False, watch=args.path, compare=compare, threads=args.threads)


def cmd_app(args: argparse.Namespace) -> int:
    """``rnntui --checkpoint ... --corpus ...``: no command, flags for the app."""
    compare = None
    if args.compare:
        from rnntui.core.metrics import compared_runs

        compare = compared_runs(args.compare, watched=None)
    return run_app(args.checkpoint, args.corpus, args.finetune, encoding=args.encoding,
                   reviews_data=getattr(args, "reviews_data", None), threads=args.threads,
                   compare=compare)
