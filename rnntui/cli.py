"""The command line: ``rnntui [train|generate|evaluate|corpus]``; no command opens the app.

Heavy imports (torch) happen inside the commands, so ``--help`` and the app's first frame
do not wait for them.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rnntui import __version__
from rnntui.errors import RnntuiError

DEFAULT_SEED_TEXT = "The island"
BUNDLED = Path("bundled")  # --finetune with no checkpoint: the bundled model


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    parser = Parser(prog="rnntui", description="Train a character-level RNN on a book and talk "
                    "to it. With no command, opens the app.")
    parser.add_argument("--version", action="version", version=f"rnntui {__version__}")
    parser.add_argument("--checkpoint", type=Path, help="open the app with this checkpoint")
    parser.add_argument("--corpus", type=Path, help="train on this text file in the app")
    parser.add_argument("--finetune", action="store_true", help="with --corpus: fine-tune the model "
                        "(--checkpoint, or the bundled one) on that text instead of starting a new one")
    parser.add_argument("--encoding", help="with --corpus: read it in this encoding instead of UTF-8")
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model (headless)",
                                description="Train a model. --steps is the total to train to, "
                                "so a resumed run continues to it.")
    train.add_argument("--corpus", type=Path, help="UTF-8 text file (default: with --resume, the "
                       "text the model was trained on; otherwise The Mysterious Island, downloaded "
                       "once from Project Gutenberg)")
    train.add_argument("--encoding", help="read the corpus in this encoding instead of UTF-8")
    train.add_argument("--steps", type=int, help="total steps to train to (default 10000)")
    train.add_argument("--out", type=Path, help="checkpoint file to write (default: a new file "
                       "in the data folder, or the --resume file)")
    train.add_argument("--resume", type=Path, help="continue training this checkpoint")
    train.add_argument("--finetune", type=Path, nargs="?", const=BUNDLED, metavar="CHECKPOINT",
                       help="start a new run on --corpus from this model's weights (default: the "
                       "bundled model): a model that already writes English learns a new text "
                       "in far fewer steps; the text's new characters are added to its vocabulary")
    for flag, kind, text in [
        ("--batch-size", int, "windows per step (64)"),
        ("--seq-length", int, "characters per window (40)"),
        ("--lr", float, "Adam learning rate (0.005)"),
        ("--lr-decay-steps", int, "cosine-decay the rate to a tenth over this many steps (0: constant)"),
        ("--grad-clip", float, "clip the gradient norm to this (5.0)"),
        ("--val-fraction", float, "held-out tail of the text (0.1)"),
        ("--eval-every", int, "estimate validation loss every N steps (100; 0: never)"),
        ("--save-every", int, "save a checkpoint every N steps (0: only at the end)"),
        ("--patience", int, "stop early after N validation estimates in a row without a new best "
         "(0: never)"),
        ("--random-seed", int, "seed for weights and windows (1)"),
        ("--device", str, "auto, cpu, cuda or mps (auto)"),
        ("--precision", str, "auto, fp32 or bf16 (auto: bf16 only where it is native and fast)"),
    ]:
        train.add_argument(flag, type=kind, help=text)
    train.add_argument("--carry-state", action=argparse.BooleanOptionalAction, default=None,
                       help="read the text as batch-size consecutive streams and carry the state "
                       "from window to window (truncated BPTT, as char-rnn); default: random windows")
    # None means "not given": a resumed model keeps its own values, a new one takes the book's.
    model = train.add_argument_group("model", "the architecture is fixed once trained; the two "
                                     "dropout rates can be changed when resuming")
    model.add_argument("--embed-dim", type=int, help="size of each character's embedding (256)")
    model.add_argument("--hidden-size", type=int, help="units in each recurrent layer (512)")
    model.add_argument("--layers", type=int, help="stacked recurrent layers (1)")
    model.add_argument("--cell", choices=["lstm", "gru", "rnn"], help="the recurrent cell (lstm)")
    model.add_argument("--dropout", type=float, help="dropout on the recurrent layer's outputs (0)")
    model.add_argument("--weight-dropout", type=float,
                       help="drop this share of the recurrent weights while training, one mask per batch (0)")
    train.add_argument("--keep", type=int, default=1, help="also keep the last N step-numbered "
                       "checkpoints beside --out (1: only --out)")
    train.add_argument("--overwrite", action="store_true", help="replace the --out checkpoint if it "
                       "exists (it must be an rnntui checkpoint; other files are never replaced)")
    train.add_argument("--save-best", action="store_true", help="also save the checkpoint with the "
                       "best validation estimate so far, as <out>.best.ckpt")
    train.add_argument("--json", action="store_true", help="print one JSON object per step")
    train.add_argument("--log-every", type=int, default=10, help="plain progress line every N steps")
    samples = train.add_argument_group("samples while training", "see what the model writes as it "
                                       "learns; the samples do not change the training")
    samples.add_argument("--sample-every", type=int, default=0, help="every N steps, print a sample "
                         "continuing --seed-text (0: never)")
    samples.add_argument("--seed-text", default=DEFAULT_SEED_TEXT, help=f"the samples' seed text "
                         f"({DEFAULT_SEED_TEXT!r})")
    samples.add_argument("--sample-length", type=int, default=200, help="characters per sample (200)")
    samples.add_argument("--scale-factor", type=float, default=1.0, help="the samples' scale factor (1.0)")
    samples.add_argument("--top-k", type=int, default=0, help="the samples draw from the K most likely "
                         "characters only (0: all), as rnntui generate --top-k")
    samples.add_argument("--top-p", type=float, default=1.0, help="the samples draw from the most likely "
                         "characters up to P in all (1: all), as rnntui generate --top-p")

    generate = commands.add_parser("generate", help="stream text from a model",
                                   description="Stream text: the seed text, then each sampled character.")
    generate.add_argument("--checkpoint", type=Path, help="model file (default: the bundled model)")
    generate.add_argument("--seed-text", default=DEFAULT_SEED_TEXT, help=f"(default {DEFAULT_SEED_TEXT!r})")
    generate.add_argument("--seed-file", type=Path, help="read the seed text from this UTF-8 file (a long passage, "
                          "e.g. for --adapt)")
    generate.add_argument("--scale-factor", type=float, nargs="+", default=[1.0],
                          help="logits are multiplied by this (1/temperature): above 1, more predictable "
                               "text; below 1, more surprising (1.0). Several (0.5 1 2) give samples "
                               "at each, under a '# scale factor' line, to compare")
    generate.add_argument("--top-k", type=int, default=0,
                          help="draw each character from the K most likely only (0: all, as the book)")
    generate.add_argument("--top-p", type=float, default=1.0,
                          help="draw each character from the fewest most likely ones whose "
                               "probabilities add up to P (nucleus sampling; 1: all, as the book)")
    generate.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    generate.add_argument("--num-samples", type=int, default=1,
                          help="this many continuations of the seed text, separated by '---' lines (1)")
    generate.add_argument("--random-seed", type=int, help="make the output repeatable")
    generate.add_argument("--adapt", action="store_true", help="before continuing the seed text, let a copy "
                          "of the model learn from it as dynamic evaluation does (rnntui evaluate --dynamic), so "
                          "that a long passage in another style steers the continuation more")
    add_dynamic_arguments(generate)
    generate.add_argument("--pick", action="store_true", help="pick each next character yourself from "
                          "the five likeliest, as textgenrnn's interactive mode: type 1-5, or enter to "
                          "let the model draw, q to stop; the text is printed at the end")

    evaluate = commands.add_parser("evaluate", help="validation loss on a corpus's held-out tail")
    evaluate.add_argument("--checkpoint", type=Path, help="model file (default: the bundled model)")
    evaluate.add_argument("--corpus", type=Path, help="text file (default: the one the model was trained "
                          "on, if it is still there; The Mysterious Island for the book's models)")
    evaluate.add_argument("--encoding", help="read the corpus in this encoding instead of UTF-8")
    evaluate.add_argument("--val-fraction", type=float, help="(default: the checkpoint's, or 0.1)")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    dynamic = evaluate.add_argument_group(
        "dynamic evaluation", "--dynamic also reports the loss of a copy of the model that adapts to the tail as "
        "it reads it: each segment is predicted, then learnt from (Krause et al. 2018); the checkpoint is "
        "not changed")
    dynamic.add_argument("--dynamic", action="store_true", help="report the dynamic loss beside the static one")
    add_dynamic_arguments(dynamic)

    watch = commands.add_parser("watch", help="open the app on a training run, following its metrics",
                                description="Follow a run's loss live (the run may be another process "
                                "or machine sharing the folder) and generate from its checkpoints.")
    watch.add_argument("path", type=Path, help="a checkpoint, its .metrics.jsonl file, or a run folder")

    info = commands.add_parser("info", help="what a checkpoint holds: model, training, corpus, losses, provenance")
    info.add_argument("checkpoint", type=Path, nargs="?", help="model file (default: the bundled model)")
    info.add_argument("--json", action="store_true", help="print one JSON object")

    corpus = commands.add_parser("corpus", help="where files live; fetch the default corpus")
    corpus.add_argument("--fetch", nargs="?", const=True, default=None, metavar="FILE",
                        help="download the default corpus now; with FILE, put that local copy of the book in "
                        "the cache instead (no internet needed)")
    return parser


def add_dynamic_arguments(group) -> None:
    """The update rule's settings, shared by evaluate --dynamic and generate --adapt."""
    from rnntui.dynamic import RULES, DynamicConfig

    default = DynamicConfig()
    group.add_argument("--dynamic-rule", choices=RULES, default=default.rule,
                       help=f"rms: Krause et al.'s RMS-normalised step with decay toward the trained weights; "
                       f"sgd: plain gradient steps ({default.rule})")
    group.add_argument("--dynamic-lr", type=float, help="the update's learning rate (rms "
                       f"{default.lr:g}, sgd {DynamicConfig.SGD_LR:g})")
    group.add_argument("--dynamic-decay", type=float, default=default.decay,
                       help=f"rms: the pull back toward the trained weights ({default.decay:g})")
    group.add_argument("--segment", type=int, default=default.segment,
                       help=f"characters read between two updates ({default.segment})")


def dynamic_config(args: argparse.Namespace):
    from rnntui.dynamic import DynamicConfig

    lr = args.dynamic_lr if args.dynamic_lr is not None else (
        DynamicConfig.SGD_LR if args.dynamic_rule == "sgd" else DynamicConfig().lr)
    config = DynamicConfig(rule=args.dynamic_rule, lr=lr, decay=args.dynamic_decay, segment=args.segment)
    config.validate()
    return config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        print("rnntui: error: standard output is closed; give rnntui somewhere to write "
              "(e.g. > /dev/null)", file=sys.stderr)
        return 2
    # `rnntui` alone opens the app: building every command's parser took 12 ms of its start.
    args = build_parser().parse_args(argv) if argv else None
    try:
        if args is None:
            return run_app(checkpoint=None, corpus=None, finetune=False)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "corpus":
            return cmd_corpus(args)
        if args.command == "info":
            return cmd_info(args)
        if args.command == "watch":
            return cmd_watch(args)
        return run_app(args.checkpoint, args.corpus, args.finetune, encoding=args.encoding)
    except RnntuiError as error:
        print(f"rnntui: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnntui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        if error.errno not in OUTPUT_ERRORS:
            raise
        from rnntui.files import reason

        silence_stdout()  # so that Python's own flush at exit does not fail again
        print(f"rnntui: error: cannot write the output: {reason(error)}", file=sys.stderr)
        return 2


# What writing to stdout can fail with besides a closed pipe: a full disk or quota, a file
# too large, a terminal gone.
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF)


def run_app(checkpoint: Path | None, corpus: Path | None, finetune: bool, watch: Path | None = None,
            encoding: str | None = None) -> int:
    # The app's modules make tens of thousands of objects that live as long as it does, and
    # Python's cyclic garbage collector went through them again and again while they loaded
    # and while the first screen was drawn: about 0.1 s on a 2-core machine. It is off until
    # that screen is out (RnntuiApp.load_engine_once_drawn turns it back on), and the modules'
    # objects are frozen: later collections skip them. The app freezes torch's too, once it
    # has loaded it (manage_gc, tune_garbage_collector).
    gc.disable()
    try:
        from rnntui import memory
        from rnntui.tui.app import RnntuiApp

        gc.freeze()
        memory.keep_freed_memory()  # before the app starts the threads that train
        if finetune and corpus is None:
            raise RnntuiError("--finetune needs the text to fine-tune on: --corpus PATH")
        app = RnntuiApp(checkpoint=checkpoint, corpus=corpus, finetune=finetune, watch=watch, manage_gc=True,
                        encoding=encoding)
        app.run()
    finally:
        gc.enable()  # had the app ended before its first screen was out
    return app.return_code or 0


# -- shared helpers ----------------------------------------------------------------------------

def corpus_path(path: Path | None, quiet: bool = False) -> Path:
    """``path``, or the default book (downloaded with a progress bar the first time)."""
    if path is not None:
        return path
    from rnntui.download import ensure_default_corpus

    if quiet or not sys.stderr.isatty():
        return ensure_default_corpus()
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  transient=True) as bar:
        task = bar.add_task("The Mysterious Island", total=None)
        return ensure_default_corpus(lambda done, total: bar.update(task, completed=done, total=total))


def load_model_checkpoint(path: Path | None, device: str = "cpu"):
    from rnntui.checkpoint import load_checkpoint
    from rnntui.paths import bundled_model_path

    if path is None:
        path = bundled_model_path()
        if not path.is_file():
            raise RnntuiError("no bundled model in this installation; pass --checkpoint PATH")
    return load_checkpoint(path, device)


# -- train -------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    from rnntui import distributed

    dist_info = distributed.from_environment()
    if not dist_info.enabled:
        return train_once(args, dist_info)
    from rnntui.device import resolve_device

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
# What training may change in a model that has been trained: regularisation, not its shape.
CHANGEABLE_ON_RESUME = ("dropout", "weight_dropout")


def given_model_arguments(args: argparse.Namespace) -> dict:
    """The model flags given on the command line (None means left out)."""
    return {name: getattr(args, name) for name in MODEL_FLAGS if getattr(args, name) is not None}


def model_changes(checkpoint, args: argparse.Namespace, path: Path) -> dict:
    """The dropout rates given on the command line; an architecture flag that contradicts
    ``checkpoint`` (read from ``path``) is an error rather than silently ignored."""
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
    from dataclasses import replace

    changes = model_changes(checkpoint, args, args.resume)
    current = checkpoint.model_config
    if not changes:
        return checkpoint
    try:
        return replace(checkpoint, model_config=replace(current, **changes))
    except ValueError as error:
        raise RnntuiError(str(error)) from None


@dataclass
class Run:
    """A planned training run: what trains, on what, and where it is written."""

    trainer: object
    corpus: object
    config: object
    out: Path
    provenance: dict
    resumed: bool  # continues a checkpoint: its file holds this run's last saved state
    may_replace: bool  # --overwrite, or --resume of the file --out names


def train_once(args: argparse.Namespace, dist_info) -> int:
    run = plan_run(args, dist_info)
    if run is None:
        return 0
    if not dist_info.is_main:
        return run_training(args, run, dist_info)
    from rnntui.files import check_writable
    from rnntui.lock import OutputLock

    check_writable(run.out, "; choose another file with --out PATH")  # also makes its folder, for the lock
    with OutputLock(run.out, "; or choose another file with --out PATH") as lock:
        check_outputs(args, run, lock.acquired_at)
        return run_training(args, run, dist_info)


def plan_run(args: argparse.Namespace, dist_info) -> Run | None:
    """The trainer, corpus and output file that ``rnntui train`` with ``args`` means; None when
    a resumed run is already at its --steps (said so)."""
    from rnntui.checkpoint import load_checkpoint
    from rnntui.corpus import load_corpus
    from rnntui.files import output_target, same_file
    from rnntui.paths import bundled_model_path, checkpoints_dir
    from rnntui.session import (
        corpus_change_note,
        finetune_provenance,
        finetune_trainer,
        new_trainer,
        recorded_corpus_path,
        recorded_encoding,
        resume_trainer,
        resumed_config,
    )
    from rnntui.training import TrainConfig

    overrides = {name: getattr(args, name) for name in (
        "steps", "batch_size", "seq_length", "lr", "lr_decay_steps", "grad_clip", "val_fraction",
        "eval_every", "save_every", "random_seed", "device", "precision", "carry_state", "patience")}
    if args.keep < 1:
        raise RnntuiError(f"--keep must be at least 1, got {args.keep}")
    if args.resume is not None and args.finetune is not None:
        raise RnntuiError("--resume continues a run and --finetune starts a new one from a model's "
                          "weights; pass one of them")
    provenance = {"command": "rnntui " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("rnntui")
                  else " ".join(sys.argv)}
    if args.resume is not None:
        checkpoint = with_model_overrides(load_checkpoint(args.resume), args)
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
        if (checkpoint.provenance or {}).get("finetuned_from"):
            provenance["finetuned_from"] = checkpoint.provenance["finetuned_from"]
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
    if args.resume is not None and trainer.step >= config.steps:
        if dist_info.is_main:
            print(f"{args.resume} is already at step {trainer.step:,}: nothing to train (--steps is the "
                  f"total to train to; pass more than {trainer.step:,})", file=sys.stderr if args.json else sys.stdout)
        return None
    return Run(trainer, corpus, config, out, provenance, resumed, may_replace=args.overwrite or resumed)


def check_outputs(args: argparse.Namespace, run: Run, locked_at: float) -> None:
    """Before the first step, with the lock held: every file the run will write may be
    written (rnntui replaces only its own checkpoints, and only when asked), and what a killed
    save of them left behind is removed."""
    from rnntui.files import check_writable, is_checkpoint_file, refuse_replacing, remove_stale_temp_files
    from rnntui.metrics import check_metrics_file, metrics_path

    out = run.out
    hint = "; choose another file with --out PATH"
    outputs = [out, best_path(out)] if args.save_best else [out]
    for path in outputs:
        # Another run's checkpoint may be continued or replaced; any other file only avoided.
        ask = f"; pass --resume {path} to continue it, or --overwrite to replace it" if is_checkpoint_file(path) \
            else hint
        refuse_replacing(path, run.may_replace, ask)
        check_writable(path, hint)
    check_metrics_file(metrics_path(out))
    for path in outputs:
        remove_stale_temp_files(path, locked_at)
    remove_stale_temp_files(out, locked_at, names=snapshot_names(out))  # --keep's copies, any step


def run_training(args: argparse.Namespace, run: Run, dist_info) -> int:
    """Train ``run`` to its --steps (or a signal, or early stopping), saving as asked."""
    from rnntui.session import trainer_checkpoint
    from rnntui.training import TrainingDiverged

    trainer, corpus, config, out = run.trainer, run.corpus, run.config, run.out
    saved_step = trainer.step if run.resumed else None  # what the file at out holds of this run

    def save(path: Path = out) -> None:
        nonlocal saved_step
        from rnntui.checkpoint import save_checkpoint

        if not dist_info.is_main:
            return  # only rank 0 writes
        save_checkpoint(trainer_checkpoint(trainer, corpus, run.provenance), path)
        if path == out:
            saved_step = trainer.step
            if args.keep > 1:
                keep_snapshots(out, trainer.step, args.keep)

    signals = StopSignals(trainer)
    report = Reporter(args, trainer, out) if dist_info.is_main else Silent()
    started_step = trainer.step

    def unsaved() -> int:
        """Steps trained since the file last held this run (or since it started)."""
        return trainer.step - (saved_step if saved_step is not None else started_step)

    with signals:
        try:
            with report:
                for event in trainer.run():
                    sample = None
                    if args.sample_every > 0 and event.step % args.sample_every == 0 and dist_info.is_main:
                        sample = training_sample(trainer, corpus.vocab, args, event.step)
                    report.event(event, sample)
                    if config.save_every and event.step % config.save_every == 0:
                        save()
                    if args.save_best and event.new_best:
                        save(best_path(out))
        except TrainingDiverged as error:
            report.close()
            if not dist_info.is_main:
                return 1
            where = (f"the last good checkpoint is {out} (step {saved_step:,})" if saved_step is not None
                     else "no checkpoint of this run had been saved yet")
            print(f"rnntui: {error}; {where}", file=sys.stderr)
            return 1
        except RnntuiError as error:  # a file could not be written: save what can be saved, and say so
            report.close()
            if not dist_info.is_main:
                raise
            note = ""
            if unsaved() > 0:
                signals.saving(unsaved())
                try:
                    save()
                    note = f"; saved step {trainer.step:,} to {out}"
                except RnntuiError:
                    pass  # the disk is full: the error that stopped the run says what is kept
            raise RnntuiError(f"{error}{note}") from None
        # Further ctrl+c are held back until the save is done (see StopSignals).
        signals.saving(unsaved())
        # A run that ends where it started leaves a checkpoint all the same (of the fresh model),
        # unless its output failed before the first step.
        if trainer.step > started_step or ((not out.exists() or saved_step is None) and not report.failed):
            save()
    report.done(trainer.stopping)
    if trainer.early_stopped and dist_info.is_main:
        step, value = min(trainer.history.val, key=lambda point: point[1])
        where = f" ({best_path(out)})" if args.save_best else ""
        print(f"stopped early: no better validation estimate in the last {config.patience}; the best "
              f"was {value:.4f} at step {step}{where}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 2 if report.failed else 0


class StopSignals:
    """Ctrl+C, SIGTERM and SIGHUP (the terminal closed) while training: the step in flight
    finishes, then the run saves and exits cleanly. While that final save is written, further
    signals are held back (a save cut short would lose the steps since the last one); two more
    within a few seconds still force the exit, saying what it loses."""

    FORCE_WITHIN = 3.0  # seconds

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.previous: dict = {}
        self.unsaved = 0  # steps the final save is writing; 0 until it starts
        self.held: list[float] = []

    def __enter__(self) -> StopSignals:
        names = ("SIGINT", "SIGTERM", "SIGHUP")
        for sig in (getattr(signal, name) for name in names if hasattr(signal, name)):
            self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def saving(self, unsaved_steps: int) -> None:
        self.unsaved = max(unsaved_steps, 0)

    def handle(self, signum, frame) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            silence_output()  # the terminal is gone: writing to it would fail before the save
        if not self.unsaved:
            self.trainer.stop()
            return
        now = time.monotonic()
        self.held = [t for t in self.held if now - t < self.FORCE_WITHIN] + [now]
        if len(self.held) >= 2:
            print(f"\nrnntui: interrupted during the final save; the last {self.unsaved:,} training steps "
                  "are not saved", file=sys.stderr, flush=True)
            raise KeyboardInterrupt
        print(f"\nrnntui: saving the last {self.unsaved:,} steps; press ctrl+c twice more to quit without "
              "saving them", file=sys.stderr, flush=True)


def silence_stdout(streams: tuple = ()) -> None:
    """Send the rest of stdout (and ``streams``) to the null device, after its reader has gone
    (so that later prints, and Python's flush at exit, do not fail)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, *streams):
        os.dup2(devnull, stream.fileno())
    os.close(devnull)


def silence_output() -> None:
    """stdout and stderr to the null device: the terminal they wrote to has closed."""
    silence_stdout((sys.stderr,))


def check_sample_arguments(args: argparse.Namespace, vocab) -> None:
    """Refuse bad sample flags before training starts rather than at the first sample."""
    from rnntui.sampling import check_scale_factor, check_top_k, check_top_p

    if args.sample_every < 0:
        raise RnntuiError(f"--sample-every must be 0 or more, got {args.sample_every}")
    if args.sample_every:
        if args.sample_length < 1:
            raise RnntuiError(f"--sample-length must be at least 1, got {args.sample_length}")
        check_scale_factor(args.scale_factor)
        check_top_k(args.top_k)
        check_top_p(args.top_p)
        vocab.check(args.seed_text)


def training_sample(trainer, vocab, args: argparse.Namespace, step: int) -> str:
    """``--sample-length`` characters after ``--seed-text`` from the current weights. The
    sampler has its own generator (seeded by the step), so training's random draws are as
    they would be without samples. Called between steps, in the training thread: the Sampler's
    own copy of the weights is consistent without the trainer's snapshot."""
    from rnntui.sampling import Sampler

    sampler = Sampler(trainer.model, vocab, args.scale_factor, random_seed=trainer.config.random_seed + step,
                      top_k=args.top_k, top_p=args.top_p)
    return "".join(sampled.char for sampled in sampler.stream(args.seed_text, args.sample_length))


def best_path(out: Path) -> Path:
    """Where ``--save-best`` keeps the best checkpoint of the run that writes ``out``."""
    return out.with_name(f"{out.stem}.best{out.suffix}")


def snapshot_path(out: Path, step: int) -> Path:
    """Where ``--keep`` puts the copy of ``out`` at ``step``."""
    return out.with_name(f"{out.stem}.step{step:07d}{out.suffix}")


def snapshot_names(out: Path) -> str:
    """A regular expression for the names of ``out``'s step-numbered copies, the step a group."""
    import re

    return re.escape(f"{out.stem}.step") + r"(\d{7,})" + re.escape(out.suffix)


def snapshots_of(out: Path) -> list[tuple[int, Path]]:
    """The step-numbered copies of ``out`` that rnntui wrote (its exact naming, and an rnntui
    checkpoint inside), oldest step first; any other file beside it is not one of them."""
    import re

    from rnntui.files import is_checkpoint_file

    pattern = re.compile(snapshot_names(out) + r"\Z")
    found = []
    try:
        names = os.listdir(out.parent)
    except OSError:
        return found
    for name in names:
        match = pattern.match(name)
        if match and is_checkpoint_file(out.parent / name):
            found.append((int(match.group(1)), out.parent / name))
    return sorted(found)


def keep_snapshots(out: Path, step: int, keep: int) -> None:
    """Copy ``out`` to ``out.stepNNNNNNN.ckpt`` and delete all but the newest ``keep`` copies
    (only copies that rnntui wrote: see ``snapshots_of``)."""
    from rnntui.files import refuse_replacing, write_atomically

    snapshot = snapshot_path(out, step)
    refuse_replacing(snapshot, allowed=True)
    write_atomically(snapshot, out.read_bytes())
    for _, old in snapshots_of(out)[:-keep]:
        old.unlink(missing_ok=True)


class Silent:
    """What ranks other than 0 report: nothing."""

    failed = None

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def event(self, e, sample: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass

    def done(self, interrupted: bool) -> None:
        pass


class Reporter:
    """Progress for ``rnntui train``: a rich bar on a terminal, plain lines or JSON otherwise.
    Every step also goes to ``<out>.metrics.jsonl`` for ``rnntui watch`` and plotting, flushed at
    least once a second so that a watcher sees the run live.

    If stdout's reader goes away (``rnntui train | head``: EPIPE), the terminal closes (EIO) or
    stdout cannot be written (a full disk), training stops as ctrl+c stops it, and saves."""

    FLUSH_EVERY = 1.0  # seconds

    def __init__(self, args: argparse.Namespace, trainer, out: Path) -> None:
        self.args, self.trainer, self.out = args, trainer, out
        self.bar = None
        self.metrics = None
        self.last_val = None
        self.last_flush = 0.0
        self.output_closed = False  # stdout's reader went away; the last word goes to stderr
        self.failed: str | None = None  # stdout could not be written: why (the run exits 2)

    def __enter__(self) -> Reporter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        from rnntui.files import reason
        from rnntui.metrics import metrics_path

        try:
            self.metrics = open(metrics_path(self.out), "a", encoding="utf-8")
        except OSError as error:
            raise RnntuiError(f"cannot write {metrics_path(self.out)}: {reason(error)}") from None
        self.last_flush = time.monotonic()
        if not self.args.json and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.trainer.config.steps,
                                          completed=self.trainer.step, info="")
        else:
            t = self.trainer
            self.say(f"training {t.model.config.cell} on {t.device} ({t.precision}) from step {t.step} "
                     f"to {t.config.steps}; checkpoint {self.out}", to_stderr=self.args.json)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.metrics is not None:
            metrics, self.metrics = self.metrics, None
            try:
                metrics.close()
            except OSError:
                pass  # a full disk: the run has already stopped and said so

    def say(self, text: str, to_stderr: bool = False) -> None:
        """Print a line; if stdout cannot take it, stop training (see the class)."""
        if not to_stderr and (self.output_closed or self.failed):
            return
        try:
            print(text, file=sys.stderr if to_stderr else sys.stdout, flush=True)
        except OSError as error:
            from rnntui.files import reason

            if error.errno == errno.EPIPE:
                silence_stdout()
                self.output_closed = True
            elif error.errno == errno.EIO:
                silence_output()
                self.output_closed = True
            else:
                silence_stdout()
                self.failed = f"cannot write the output: {reason(error)}"
            self.trainer.stop()

    def write_metrics(self, record: dict, flush: bool) -> None:
        from rnntui.files import reason
        from rnntui.metrics import metrics_path

        now = time.monotonic()
        try:
            self.metrics.write(json.dumps(record) + "\n")
            if flush or now - self.last_flush >= self.FLUSH_EVERY:
                self.metrics.flush()
                self.last_flush = now
        except OSError as error:
            self.close()
            raise RnntuiError(f"cannot write {metrics_path(self.out)}: {reason(error)}; training stopped at "
                              f"step {self.trainer.step:,}") from None

    def event(self, e, sample: str | None = None) -> None:
        from rnntui.metrics import record as metrics_record

        if e.overfitting:
            advice = ("" if self.args.patience else "--patience N stops a run there; ") + (
                "" if self.args.save_best else "--save-best keeps the best checkpoint; ")
            note = (f"rnntui: note at step {e.step:,}: {e.overfitting}. {advice}more --dropout / --weight-dropout "
                    "or a smaller model learn it less so; on a small text, fine-tuning the bundled model "
                    "(--finetune) needs far fewer steps")
            if self.bar is not None:
                self.bar.console.print(note, markup=False, highlight=False)
            else:
                self.say(note, to_stderr=True)

        record = metrics_record(e, self.trainer.dist.world_size)
        if e.val_loss is not None:
            self.last_val = e.val_loss
        if self.metrics is not None:
            self.write_metrics(record, flush=e.val_loss is not None)
        if self.args.json:
            if sample is not None:  # in the step's own object, so that each line stays one step
                record = {**record, "sample": self.args.seed_text + sample}
            self.say(json.dumps(record))
            return
        if self.bar is not None:
            val = f"  val~ {self.last_val:.4f}" if self.last_val is not None else ""
            self.bar.update(self.task, completed=e.step,
                            info=f"loss {e.train_loss:.4f}{val}  {e.chars_per_s:,.0f} chars/s")
        elif e.step % max(self.args.log_every, 1) == 0 or e.val_loss is not None or e.step == e.total_steps:
            val = f"  val_loss~ {e.val_loss:.4f}" if e.val_loss is not None else ""
            self.say(f"step {e.step}/{e.total_steps}  loss {e.train_loss:.4f}{val}  "
                     f"{e.chars_per_s:,.0f} chars/s  {e.elapsed:.1f}s")
        if sample is not None:
            cut = (f", top-k {self.args.top_k}" if self.args.top_k else "") + (
                f", top-p {self.args.top_p:g}" if self.args.top_p < 1 else "")
            text = (f"--- sample at step {e.step:,}, scale factor {self.args.scale_factor:g}{cut} ---\n"
                    f"{self.args.seed_text}{sample}\n")
            if self.bar is not None:  # above the bar, which stays at the bottom
                self.bar.console.print(text, markup=False, highlight=False)
            else:
                self.say(text)

    def done(self, interrupted: bool) -> None:
        self.close()
        word = "stopped" if interrupted else "done"
        if self.failed:
            kept = f"saved {self.out}" if self.out.exists() else "nothing was saved"
            self.say(f"rnntui: error: {self.failed}; training stopped at step {self.trainer.step}; {kept}",
                     to_stderr=True)
            return
        if self.output_closed:
            self.say(f"rnntui: the output was closed, so training stopped at step {self.trainer.step}; "
                     f"saved {self.out}", to_stderr=True)
            return
        self.say(f"{word} at step {self.trainer.step}; saved {self.out}", to_stderr=self.args.json)


# -- generate / evaluate / corpus --------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    from rnntui.sampling import Sampler, check_random_seed, check_scale_factor, check_top_k, check_top_p

    scale_factors = [check_scale_factor(value) for value in args.scale_factor]
    check_random_seed(args.random_seed)
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    if args.length < 0:
        raise RnntuiError(f"--length must be 0 or more, got {args.length}")
    if args.num_samples < 1:
        raise RnntuiError(f"--num-samples must be at least 1, got {args.num_samples}")
    if args.pick and (args.num_samples > 1 or len(scale_factors) > 1):
        raise RnntuiError("--pick writes one sample at one scale factor")
    adapt = dynamic_config(args) if args.adapt else None
    if args.seed_file is not None:
        from rnntui.corpus import read_seed_file

        args.seed_text = read_seed_file(args.seed_file)
    checkpoint = load_model_checkpoint(args.checkpoint)
    checkpoint.vocab.check(args.seed_text)
    model = checkpoint.build_model()
    if adapt is not None:
        model = adapted_to_seed_text(model, checkpoint, args.seed_text, adapt)
    # One generator for all samples: with --random-seed the whole output repeats.
    sampler = Sampler(model, checkpoint.vocab, scale_factors[0], args.random_seed, top_k=top_k, top_p=top_p)
    out = sys.stdout
    if args.pick:
        text, interrupted = pick_interactively(sampler, args.seed_text, args.length, sys.stdin, sys.stderr)
        out.write(text + "\n")  # on ctrl+c too: what was picked is not lost
        if interrupted:
            print("\nrnntui: interrupted", file=sys.stderr)
            return 130
        return 0
    for group, scale_factor in enumerate(scale_factors):
        sampler.scale_factor = scale_factor
        if len(scale_factors) > 1:
            blank = "\n" if group else ""  # a blank line between two scale factors' samples
            out.write(f"{blank}# scale factor {scale_factor:g}\n")
        for number in range(args.num_samples):
            if number:
                out.write("---\n")
            out.write(args.seed_text)
            out.flush()
            for sampled in sampler.stream(args.seed_text, args.length):
                out.write(sampled.char)
                out.flush()
            out.write("\n")
            out.flush()
    return 0


def adapted_to_seed_text(model, checkpoint, seed_text: str, config):
    """A copy of ``model`` that has read ``seed_text`` learning as dynamic evaluation does. The
    rms rule's gradient statistics come from the model's training text where it is at hand,
    else from the seed text itself (said on stderr)."""
    from rnntui.dynamic import adapted_copy, gradient_statistics

    ids = checkpoint.vocab.encode(seed_text)
    statistics = None
    if config.rule == "rms":
        from rnntui.session import training_ids_at_hand

        train_ids = training_ids_at_hand(checkpoint)
        if train_ids is None:
            print("rnntui: note: the model's training text is not at hand; the rms rule's gradient statistics "
                  "come from the seed text", file=sys.stderr)
        else:
            statistics = gradient_statistics(model, train_ids, config)
    return adapted_copy(model, ids, config, statistics)


class StopPicking(Exception):
    """q, or the end of the input, in ``pick_interactively``."""


def pick_interactively(sampler, seed_text: str, length: int, answers, prompts) -> tuple[str, bool]:
    """``seed_text`` and up to ``length`` characters, each picked by the person from the five
    likeliest (read as lines from ``answers``, asked on ``prompts``), or drawn by the model; and
    whether ctrl+c ended it."""
    sampler.candidates = max(sampler.candidates, 5)
    text = [seed_text]

    def choose(top: tuple) -> str | None:
        so_far = "".join(text)[-60:].replace("\n", "⏎")
        options = "   ".join(f"{n} {char!r} {p:.1%}" for n, (char, p) in enumerate(top, start=1))
        while True:
            prompts.write(f"…{so_far}\n {options}\npick 1-{len(top)}, enter: the model draws, q: stop > ")
            prompts.flush()
            line = answers.readline()
            answer = line.strip().lower()
            if not line or answer == "q":
                prompts.write("" if line else "\n")  # at the end of the input, end the prompt's line
                raise StopPicking
            if not answer:
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(top):
                return top[int(answer) - 1][0]
            prompts.write(f"type a number from 1 to {len(top)}, enter or q\n")

    sampler.choose = choose
    try:
        for sampled in sampler.stream(seed_text, length):
            text.append(sampled.char)
    except StopPicking:
        pass
    except KeyboardInterrupt:
        return "".join(text), True
    return "".join(text), False


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rnntui.corpus import load_corpus
    from rnntui.device import resolve_device
    from rnntui.dynamic import dynamic_loss
    from rnntui.evaluate import held_out_loss
    from rnntui.session import recorded_corpus_path, recorded_encoding

    config = dynamic_config(args) if args.dynamic else None
    checkpoint = load_model_checkpoint(args.checkpoint)
    # Without --corpus: the text the model was trained on, if it is still there, else the book.
    text = args.corpus or recorded_corpus_path(checkpoint)
    corpus = load_corpus(corpus_path(text, args.json), args.encoding or recorded_encoding(checkpoint),
                         vocab=checkpoint.vocab)
    started = time.perf_counter()
    with progress_bar("evaluating", enabled=not args.json) as progress:
        loss, count, fraction = held_out_loss(checkpoint, corpus, resolve_device(args.device), args.val_fraction,
                                              progress=progress)
    result = {"val_loss": loss, "bits_per_char": loss / LN2, "characters": count, "val_fraction": fraction,
              "corpus": corpus.name, "step": checkpoint.step, "seconds": round(time.perf_counter() - started, 2)}
    if config is not None:
        started = time.perf_counter()
        train_ids, tail = corpus.split(fraction)
        with progress_bar("adapting", enabled=not args.json) as progress:
            dynamic = dynamic_loss(checkpoint.build_model(), tail, config, train_ids, progress=progress)
        result["dynamic"] = {"val_loss": dynamic.loss, "bits_per_char": dynamic.loss / LN2,
                             "characters": dynamic.characters, **config.to_dict(), "described": config.describe(),
                             "seconds": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"validation loss {loss:.4f} nats/char ({loss / LN2:.4f} bits/char) "
          f"over the last {count:,} characters of {corpus.name} (step {checkpoint.step})")
    if config is not None:
        print(f"dynamic evaluation {dynamic.loss:.4f} nats/char ({dynamic.loss / LN2:.4f} bits/char) on the same "
              f"characters, adapting as it reads: {config.describe()} (the checkpoint is unchanged)")
    return 0


LN2 = 0.6931471805599453


class progress_bar:
    """A transient progress bar on stderr when it is a terminal (``enabled``); the callback to
    report to (None where there is no bar)."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():  # a pass over a book's tail takes seconds
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("characters"),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)

    def __enter__(self):
        if self.bar is None:
            return None
        task = self.bar.add_task("work", total=None)
        self.bar.start()
        return lambda done, total: self.bar.update(task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def cmd_watch(args: argparse.Namespace) -> int:
    from rnntui.metrics import resolve_run

    try:
        metrics, checkpoint = resolve_run(args.path)
    except FileNotFoundError as error:
        raise RnntuiError(str(error)) from None
    if not metrics.exists() and not metrics.parent.is_dir():
        raise RnntuiError(f"{args.path} is not a training run (no folder {metrics.parent})")
    if not metrics.exists() and not checkpoint.exists():
        raise RnntuiError(f"{args.path} is not a training run: neither {checkpoint.name} nor {metrics.name} exists "
                          "(start the run first, or name its --out checkpoint, its metrics file or its folder)")
    return run_app(checkpoint=None, corpus=None, finetune=False, watch=args.path)


def cmd_info(args: argparse.Namespace) -> int:
    from rnntui.info import checkpoint_info, info_lines
    from rnntui.paths import bundled_model_path

    path = args.checkpoint if args.checkpoint is not None else bundled_model_path()
    info = checkpoint_info(load_model_checkpoint(args.checkpoint), path)
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(info_lines(info)))
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from rnntui import paths

    if args.fetch is True:
        corpus_path(None)
    elif args.fetch is not None:
        from rnntui.download import import_book

        print(f"copied {args.fetch} to {import_book(Path(args.fetch))}")
    corpus = paths.default_corpus_path()
    print(f"default corpus:  {corpus} ({'present' if corpus.is_file() else 'not downloaded yet'})")
    print(f"checkpoints:     {paths.checkpoints_dir()}")
    print(f"bundled model:   {paths.bundled_model_path()}")
    print(f"seed history:    {paths.seed_history_path()}")
    print(f"app settings:    {paths.settings_path()}")
    print(f"transcripts:     {paths.transcripts_dir()}")
    return 0
