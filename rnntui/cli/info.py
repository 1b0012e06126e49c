"""``rnntui info`` and ``rnntui corpus``: what a checkpoint holds, where files live."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnntui.cli.common import corpus_path, load_model_checkpoint
from rnntui.core.tasks import REVIEW_LM_TASK, SENTIMENT_TASK


def cmd_info(args: argparse.Namespace) -> int:
    from rnntui.charlm.info import checkpoint_info, info_lines
    from rnntui.core.checkpoint import read_header
    from rnntui.core.paths import bundled_model_path

    path = args.checkpoint if args.checkpoint is not None else bundled_model_path()
    task = read_header(path)[0].get("task") if args.checkpoint is not None else None
    if task == REVIEW_LM_TASK:
        from rnntui.sentiment.info import lm_info, lm_info_lines
        from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint

        info = lm_info(load_lm_checkpoint(path), path)
        lines = lm_info_lines(info)
    elif task == SENTIMENT_TASK:
        from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
        from rnntui.sentiment.info import sentiment_info, sentiment_info_lines

        info = sentiment_info(load_sentiment_checkpoint(path), path)
        lines = sentiment_info_lines(info)
    else:
        info = checkpoint_info(load_model_checkpoint(args.checkpoint), path)
        lines = info_lines(info)
    print(json.dumps(info) if args.json else "\n".join(lines))
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from rnntui.core import paths
    if args.fetch is True:
        corpus_path(None)
    elif args.fetch is not None:
        from rnntui.charlm.book import import_book

        print(f"copied {args.fetch} to {import_book(Path(args.fetch))}")
    corpus = paths.default_corpus_path()
    print(f"default corpus:  {corpus} ({'present' if corpus.is_file() else 'not downloaded yet'})")
    print(f"checkpoints:     {paths.checkpoints_dir()}")
    print(f"sweeps:          {paths.sweeps_dir()}")
    print(f"bundled model:   {paths.bundled_model_path()}")
    from rnntui.sentiment.dataset import cached_dataset_path

    reviews = cached_dataset_path()
    print(f"movie reviews:   {reviews} ({'present' if reviews.is_file() else 'not downloaded yet'})")
    from rnntui.tui.persistence import read_settings  # the app's remembered choice (no textual, no torch)

    chosen = read_settings(paths.settings_path()).reviews_data
    if chosen:
        state = "present" if Path(chosen).exists() else "missing"
        print(f"  in the app:    {chosen} ({state}; chosen there, and what its reviews mode trains on)")
    print(f"sentiment model: {paths.bundled_sentiment_model_path()}")
    print(f"seed history:    {paths.seed_history_path()}")
    print(f"app settings:    {paths.settings_path()}")
    print(f"transcripts:     {paths.transcripts_dir()}")
    return 0
