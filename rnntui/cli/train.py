"""``rnntui train``: plan a run (what to train, from what, into which file), then run it, saving
safely however it ends."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rnntui.cli.common import BUNDLED, apply_threads, corpus_path, load_model_checkpoint
from rnntui.cli.report import Reporter, Silent
from rnntui.cli.run import (
    Run,
    RunHooks,
    command_line,
    early_stop_note,
    keep_snapshots,
    run_id,
    start_run,
    train_run,
)
from rnntui.core.errors import RnntuiError
from rnntui.core.provenance import resumed_provenance


def cmd_train(args: argparse.Namespace) -> int:
    from rnntui.core import distributed
    apply_threads(args.threads)
    dist_info = distributed.from_environment()
    if not dist_info.enabled:
        return train_once(args, dist_info)
    from rnntui.core.device import resolve_device

    distributed.init(dist_info, resolve_device(args.device or "auto"))
    try:
        code = train_once(args, dist_info)
    finally:
        distributed.shutdown()
    # The run is over and saved. Python's teardown after it once aborted rank 0 in torch's C++
    # threads ("terminate called without an active exception"), failing a finished run: leave
    # without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


MODEL_FLAGS = ("embed_dim", "hidden_size", "layers", "cell", "dropout", "weight_dropout")


def given_model_arguments(args: argparse.Namespace) -> dict:
    """The model flags given on the command line (None means left out)."""
    return {name: getattr(args, name) for name in MODEL_FLAGS if getattr(args, name) is not None}


def model_changes(checkpoint, args: argparse.Namespace, path: Path) -> dict:
    """The dropout rates given on the command line; an architecture flag that contradicts
    ``checkpoint`` (read from ``path``) is an error rather than silently ignored."""
    from rnntui.charlm.build import CHANGEABLE_ON_RESUME

    given = given_model_arguments(args)
    current = checkpoint.model_config
    for name, value in given.items():
        if name not in CHANGEABLE_ON_RESUME and value != getattr(current, name):
            flag = "--" + name.replace("_", "-")
            raise RnntuiError(f"{flag} {value}: the model in {path} has {getattr(current, name)}, "
                              "and a trained model's architecture cannot change; leave it out")
    return {name: given[name] for name in CHANGEABLE_ON_RESUME if name in given}


def with_model_overrides(checkpoint, args: argparse.Namespace):
    """``checkpoint`` with the dropout rates given on the command line (see model_changes)."""
    from rnntui.charlm.build import with_model_changes

    return with_model_changes(checkpoint, model_changes(checkpoint, args, args.resume))


def train_once(args: argparse.Namespace, dist_info, hooks: RunHooks | None = None) -> int:
    hooks = hooks or RunHooks()
    return start_run(args, lambda: plan_run(args, dist_info),
                     lambda run: run_training(args, run, dist_info, hooks.observers, hooks.to_stderr),
                     hooks, is_main=dist_info.is_main)


def plan_run(args: argparse.Namespace, dist_info) -> Run | None:
    """The trainer, corpus and output file that ``rnntui train`` with ``args`` means; None when
    a resumed run is already at its --steps (said so)."""
    from rnntui.charlm.build import (
        corpus_change_note,
        finetune_provenance,
        finetune_trainer,
        new_trainer,
        recorded_corpus_path,
        recorded_encoding,
        resume_trainer,
        resumed_config,
    )
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.charlm.corpus import load_corpus
    from rnntui.charlm.trainer import TrainConfig
    from rnntui.core.files import output_target, same_file
    from rnntui.core.paths import bundled_model_path, checkpoints_dir
    from rnntui.core.settings import given

    overrides = given(args, TrainConfig)
    if args.keep < 1:
        raise RnntuiError(f"--keep must be at least 1, got {args.keep}")
    if args.resume is not None and args.finetune is not None:
        raise RnntuiError("--resume continues a run and --finetune starts a new one from a model's "
                          "weights; pass one of them")
    provenance = {"command": command_line()}
    recorded = {}  # the resumed checkpoint's provenance
    if args.resume is not None:
        checkpoint = with_model_overrides(load_checkpoint(args.resume), args)
        recorded = checkpoint.provenance or {}
        config = resumed_config(checkpoint, **overrides)
        # Without --corpus, the text the model was trained on (if it is still there), else the book.
        text = args.corpus or recorded_corpus_path(checkpoint)
        corpus = load_corpus(corpus_path(text, args.json), args.encoding or recorded_encoding(checkpoint),
                             vocab=checkpoint.vocab)
        note = corpus_change_note(checkpoint, corpus)
        if note and dist_info.is_main:
            print(f"rnntui: note: {note}", file=sys.stderr, flush=True)
        trainer = resume_trainer(checkpoint, corpus, config, dist_info)
        out = args.out or args.resume
        if args.out is None and same_file(args.resume, bundled_model_path()):
            # The bundled model lives in the package: its run goes on in the data folder, as the app's does.
            out = checkpoints_dir() / f"{Path(args.resume).stem}-{time.strftime('%Y%m%d-%H%M%S')}.ckpt"
        provenance = resumed_provenance(checkpoint.provenance, provenance)
    else:
        config = TrainConfig(**{k: v for k, v in overrides.items() if v is not None})
        config.validate()
        if dist_info.enabled and args.out is None:
            raise RnntuiError("under torchrun, pass --out PATH so that every rank agrees on the checkpoint")
        corpus = load_corpus(corpus_path(args.corpus, args.json), args.encoding)
        if args.finetune is not None:
            base_path = bundled_model_path() if args.finetune == BUNDLED else args.finetune
            base = load_model_checkpoint(base_path)
            trainer, corpus = finetune_trainer(base, corpus, config, dist_info,
                                               **model_changes(base, args, base_path))
            provenance["finetuned_from"] = finetune_provenance(base, base_path)
            kind = f"from-{Path(base_path).stem}"
        else:
            trainer = new_trainer(corpus, config, dist_info=dist_info, **given_model_arguments(args))
            kind = f"{trainer.model.config.cell}{trainer.model.config.hidden_size}"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = args.out or checkpoints_dir() / f"{Path(corpus.name).stem}-{kind}-{stamp}.ckpt"
    out = output_target(Path(out))  # a link stays a link: its target is written
    if args.save_best and not config.eval_every:
        raise RnntuiError("--save-best needs validation estimates; set --eval-every above 0")
    check_sample_arguments(args, corpus.vocab)
    resumed = args.resume is not None and same_file(out, args.resume)
    provenance["run_id"] = run_id(recorded if resumed else {})
    if args.resume is not None and trainer.step >= config.steps:
        if dist_info.is_main:
            print(f"{args.resume} is already at step {trainer.step:,}: nothing to train (--steps is the "
                  f"total to train to; pass more than {trainer.step:,})", file=sys.stderr if args.json else sys.stdout)
        return None
    return Run(trainer, corpus, out, provenance, resumed, may_replace=args.overwrite or resumed)


def run_training(args: argparse.Namespace, run: Run, dist_info, observers: tuple = (), to_stderr: bool = False) -> int:
    """Train ``run`` to its --steps (or a signal, or early stopping), saving as asked (see
    cli/run.train_run: ``observers``); ``to_stderr``: the progress goes to stderr."""
    from rnntui.charlm.build import trainer_checkpoint

    trainer, corpus, config, out = run.trainer, run.data, run.trainer.config, run.out

    def write(path: Path) -> None:
        from rnntui.charlm.checkpoint import save_checkpoint

        save_checkpoint(trainer_checkpoint(trainer, corpus, run.provenance), path)
        if path == out and args.keep > 1:
            keep_snapshots(out, trainer.step, args.keep, run.provenance["run_id"])

    def sample(event) -> str | None:
        if args.sample_every > 0 and event.step % args.sample_every == 0 and dist_info.is_main:
            return training_sample(trainer, corpus.vocab, args, event.step)
        return None

    report = Reporter(args, trainer, out, to_stderr) if dist_info.is_main else Silent()
    code = train_run(run, write, report, config.save_every, args.save_best, observers, dist_info.is_main, sample)
    if code is not None:
        return code
    if trainer.early_stopped and dist_info.is_main:
        step, value = trainer.history.best()
        early_stop_note(args, out, f"no better validation estimate in the last {config.patience}; the best "
                        f"was {value:.4f} at step {step}")
    return 2 if report.failed else 0


def check_sample_arguments(args: argparse.Namespace, vocab) -> None:
    """Refuse bad sample flags before training starts rather than at the first sample, and
    whether or not samples are on (a value given is a value meant: generate refuses it too)."""
    from rnntui.charlm.sampling import check_scale_factor, check_top_k, check_top_p

    if args.sample_every < 0:
        raise RnntuiError(f"--sample-every must be 0 or more, got {args.sample_every}")
    if args.sample_length < 1:
        raise RnntuiError(f"--sample-length must be at least 1, got {args.sample_length}")
    check_scale_factor(args.scale_factor)
    check_top_k(args.top_k)
    check_top_p(args.top_p)
    if args.sample_every:
        vocab.check(args.seed_text)


def training_sample(trainer, vocab, args: argparse.Namespace, step: int) -> str:
    """``--sample-length`` characters after ``--seed-text`` from the current weights. The
    sampler has its own generator (seeded by the step), so training's random draws are as
    they would be without samples. Called between steps, in the training thread: the Sampler's
    own copy of the weights is consistent without the trainer's snapshot."""
    from rnntui.charlm.sampling import Sampler

    sampler = Sampler(trainer.model, vocab, args.scale_factor, random_seed=trainer.config.random_seed + step,
                      top_k=args.top_k, top_p=args.top_p)
    return "".join(sampled.char for sampled in sampler.stream(args.seed_text, args.sample_length))
