"""``rnntui sentiment pretrain``: a language model of the reviews, as a start for the review
classifier (``rnntui sentiment train --from-lm``), trained with ``rnntui train``'s safety: the
output lock, rnntui's own files only, atomic saves, exact resume, a save however the run ends."""

from __future__ import annotations

import argparse
import sys
import time

from rnntui.cli.common import apply_threads
from rnntui.cli.report import EpochReporter
from rnntui.cli.run import (
    Run,
    check_out_early,
    check_save_every,
    epochs_run,
    provenance_writer,
    refuse_model_settings,
    run_provenance,
    start_run,
    train_run,
)
from rnntui.cli.sentiment import reviews_from
from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted

LM_MODEL_SETTINGS = ("embed_dim", "hidden_size", "dropout", "softmax")


def cmd_pretrain(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    return start_run(args, lambda: plan_pretrain(args), lambda run: run_pretraining(args, run))


def model_settings(args: argparse.Namespace) -> dict:
    settings = {name: getattr(args, name) for name in LM_MODEL_SETTINGS if getattr(args, name) is not None}
    if args.directions is not None:
        settings["bidirectional"] = args.directions == "both"
    return settings


def plan_pretrain(args: argparse.Namespace) -> Run | None:
    from rnntui.core.paths import checkpoints_dir
    from rnntui.core.settings import check_model_flags, given
    from rnntui.sentiment.dataset import load_unlabelled
    from rnntui.sentiment.epochs import data_change_note, require_optimizer_state
    from rnntui.sentiment.pretrain.build import (
        LM_NOT_RESUMABLE,
        new_lm_trainer,
        prepare_text,
        resume_lm_trainer,
        resumed_lm_config,
    )
    from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint
    from rnntui.sentiment.pretrain.config import PretrainConfig
    from rnntui.sentiment.pretrain.model import ReviewLMConfig

    overrides = given(args, PretrainConfig)
    settings = model_settings(args)
    check_save_every(args)
    check_out_early(args)
    provenance = run_provenance()
    checkpoint = None
    if args.resume is not None:
        checkpoint = load_lm_checkpoint(args.resume)
        require_optimizer_state(checkpoint, LM_NOT_RESUMABLE)  # before the reviews are read
        refuse_model_settings(settings)
        config = resumed_lm_config(checkpoint, **overrides)
    else:
        config = PretrainConfig(**{k: v for k, v in overrides.items() if v is not None})
        check_model_flags(ReviewLMConfig, **settings)  # before the reviews are read
    config.validate()
    reviews, name = reviews_from(args.data, args.json)
    unlabelled = load_unlabelled(args.data, args.unlabelled)
    if not unlabelled:
        raise RnntuiError("pretraining reads the unlabelled reviews too, and none were found: pass --unlabelled "
                          "PATH (a tarball or folder with aclImdb/train/unsup)")
    if not args.json:
        print(f"reading {len(unlabelled):,} unlabelled reviews and the training reviews as words", file=sys.stderr)
    if checkpoint is not None:
        prepared = prepare_text(reviews, unlabelled, config, name, vocab=checkpoint.vocab)
        note = data_change_note(checkpoint.data, prepared.data, "language model")
        if note:
            print(f"rnntui: note: {note}", file=sys.stderr, flush=True)
        trainer = resume_lm_trainer(checkpoint, prepared, config)
        out = args.out or args.resume
    else:
        prepared = prepare_text(reviews, unlabelled, config, name)
        trainer = new_lm_trainer(prepared, config, **settings)
        model = trainer.model.config
        kind = f"{'bi' if model.bidirectional else ''}lm{model.hidden_size}"
        out = args.out or checkpoints_dir() / f"imdb-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.ckpt"
    return epochs_run(args, trainer, prepared, out, provenance, checkpoint.provenance if checkpoint is not None
                      else None)


def run_pretraining(args: argparse.Namespace, run: Run) -> int:
    from rnntui.sentiment.pretrain.build import lm_trainer_checkpoint
    from rnntui.sentiment.pretrain.checkpoint import save_lm_checkpoint

    write = provenance_writer(run, lambda provenance, path: save_lm_checkpoint(
        lm_trainer_checkpoint(run.trainer, run.data, provenance), path))
    report = PretrainReporter(args, run.trainer, run.out)
    code = train_run(run, write, report, args.save_every, args.save_best)
    if code is not None:
        return code
    return 2 if report.failed else 0


class PretrainReporter(EpochReporter):
    """``rnntui train``'s reporter (bar, lines or JSON, the metrics file), for the review LM."""

    figure, figure_digits, figure_format, figure_label = "val_perplexity", 2, ".1f", "val perplexity"
    rate = "words"
    epoch_format = ".3f"
    bar_loss_format = ".3f"

    def start_line(self) -> str:
        t = self.trainer
        model = t.model.config
        ways = "both ways" if model.bidirectional else "forward"
        return (f"pretraining a language model of reviews ({ways}, embedding {model.embed_dim}, lstm "
                f"{model.hidden_size}, {model.vocab_size:,} words) on {len(t.train):,} reviews ({t.train.words:,} "
                f"words) from step {t.step:,} to {t.total_steps:,} ({counted(t.config.epochs, 'epoch')} of "
                f"{counted(t.batches_per_epoch, 'step')}); checkpoint {self.out}")
