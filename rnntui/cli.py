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

    watch = commands.add_parser("watch", help="open the app on a training run, following its metrics",
                                description="Follow a run's loss live (the run may be another process "
                                "or machine sharing the folder) and generate from its checkpoints.")
    watch.add_argument("path", type=Path, help="a checkpoint, its .metrics.jsonl file, or a run folder")

    info = commands.add_parser("info", help="what a checkpoint holds: model, training, corpus, losses, provenance")
    info.add_argument("checkpoint", type=Path, nargs="?", help="model file (default: the bundled model)")
    info.add_argument("--json", action="store_true", help="print one JSON object")

    corpus = commands.add_parser("corpus", help="where files live; fetch the default corpus")
    corpus.add_argument("--fetch", action="store_true", help="download the default corpus now")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
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
        return run_app(args.checkpoint, args.corpus, args.finetune)
    except RnntuiError as error:
        print(f"rnntui: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnntui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def run_app(checkpoint: Path | None, corpus: Path | None, finetune: bool, watch: Path | None = None) -> int:
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
        app = RnntuiApp(checkpoint=checkpoint, corpus=corpus, finetune=finetune, watch=watch, manage_gc=True)
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


def train_once(args: argparse.Namespace, dist_info) -> int:
    from rnntui.checkpoint import load_checkpoint
    from rnntui.corpus import load_corpus
    from rnntui.paths import bundled_model_path, checkpoints_dir
    from rnntui.session import (
        finetune_provenance,
        finetune_trainer,
        new_trainer,
        recorded_corpus_path,
        resume_trainer,
        resumed_config,
        trainer_checkpoint,
    )
    from rnntui.training import TrainConfig, TrainingDiverged

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
        corpus = load_corpus(corpus_path(text, args.json), args.encoding, vocab=checkpoint.vocab)
        trainer = resume_trainer(checkpoint, corpus, config, dist_info)
        out = args.out or args.resume
        if (checkpoint.provenance or {}).get("finetuned_from"):
            provenance["finetuned_from"] = checkpoint.provenance["finetuned_from"]
    else:
        config = TrainConfig(**{k: v for k, v in overrides.items() if v is not None})
        config.validate()
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
        if dist_info.enabled and args.out is None:
            raise RnntuiError("under torchrun, pass --out PATH so that every rank agrees on the checkpoint")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = args.out or checkpoints_dir() / f"{Path(corpus.name).stem}-{kind}-{stamp}.ckpt"
    out = Path(out)
    if dist_info.is_main:
        from rnntui.files import check_writable

        hint = "; choose another file with --out PATH"
        check_writable(out, hint)
        if args.save_best:
            check_writable(best_path(out), hint)

    if args.save_best and not config.eval_every:
        raise RnntuiError("--save-best needs validation estimates; set --eval-every above 0")
    check_sample_arguments(args, corpus.vocab)
    if args.resume is not None and trainer.step >= config.steps:
        if dist_info.is_main:
            print(f"{args.resume} is already at step {trainer.step:,}: nothing to train (--steps is the "
                  f"total to train to; pass more than {trainer.step:,})", file=sys.stderr if args.json else sys.stdout)
        return 0

    def save(path: Path = out) -> None:
        from rnntui.checkpoint import save_checkpoint

        if not dist_info.is_main:
            return  # only rank 0 writes
        save_checkpoint(trainer_checkpoint(trainer, corpus, provenance), path)
        if args.keep > 1 and path == out:
            keep_snapshots(out, trainer.step, args.keep)

    # Ctrl+C, SIGTERM and SIGHUP (the terminal closed) finish the step in flight, then save and
    # exit cleanly.
    def request_stop(signum, frame) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            silence_output()  # the terminal is gone: writing to it would fail before the save
        trainer.stop()

    stop_signals = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {sig: signal.signal(sig, request_stop) for sig in stop_signals}
    report = Reporter(args, trainer, out) if dist_info.is_main else Silent()
    started_step = trainer.step
    try:
        with report:
            for event in trainer.run():
                sample = None
                if args.sample_every > 0 and event.step % args.sample_every == 0 and dist_info.is_main:
                    sample = training_sample(trainer, corpus.vocab, args, event.step)
                try:
                    report.event(event, sample)
                except OSError as error:
                    if error.errno not in (errno.EPIPE, errno.EIO):
                        raise
                    # The reader went away (`rnntui train | head`, EPIPE) or the terminal closed
                    # (EIO): stop as Ctrl+C does, and save.
                    if error.errno == errno.EPIPE:
                        silence_stdout()
                    else:
                        silence_output()
                    report.output_closed = True
                    trainer.stop()
                if config.save_every and event.step % config.save_every == 0:
                    save()
                if args.save_best and event.new_best:
                    save(best_path(out))
    except TrainingDiverged as error:
        report.close()
        if not dist_info.is_main:
            return 1
        print(f"rnntui: {error}", file=sys.stderr)
        if out.exists():
            print(f"rnntui: the last good checkpoint is {out}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if trainer.step > started_step or not out.exists():
        save()
    report.done(trainer.stopping)
    if trainer.early_stopped and dist_info.is_main:
        step, value = min(trainer.history.val, key=lambda point: point[1])
        where = f" ({best_path(out)})" if args.save_best else ""
        print(f"stopped early: no better validation estimate in the last {config.patience}; the best "
              f"was {value:.4f} at step {step}{where}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0


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


def keep_snapshots(out: Path, step: int, keep: int) -> None:
    """Copy ``out`` to ``out.stepNNNNNNN.ckpt`` and delete all but the newest ``keep`` copies."""
    from rnntui.files import write_atomically

    snapshot = out.with_name(f"{out.stem}.step{step:07d}{out.suffix}")
    write_atomically(snapshot, out.read_bytes())
    snapshots = sorted(out.parent.glob(f"{out.stem}.step*{out.suffix}"))
    for old in snapshots[:-keep]:
        old.unlink(missing_ok=True)


class Silent:
    """What ranks other than 0 report: nothing."""

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
    Every step also goes to ``<out>.metrics.jsonl`` for ``rnntui watch`` and plotting."""

    def __init__(self, args: argparse.Namespace, trainer, out: Path) -> None:
        self.args, self.trainer, self.out = args, trainer, out
        self.bar = None
        self.metrics = None
        self.last_val = None
        self.output_closed = False  # stdout's reader went away; the last word goes to stderr

    def __enter__(self) -> Reporter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        from rnntui.metrics import metrics_path

        try:
            self.metrics = open(metrics_path(self.out), "a", encoding="utf-8")
        except OSError as error:
            from rnntui.files import reason

            raise RnntuiError(f"cannot write {metrics_path(self.out)}: {reason(error)}") from None
        if not self.args.json and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.trainer.config.steps,
                                          completed=self.trainer.step, info="")
        else:
            t = self.trainer
            print(f"training {t.model.config.cell} on {t.device} ({t.precision}) from step {t.step} "
                  f"to {t.config.steps}; checkpoint {self.out}", file=sys.stderr if self.args.json else sys.stdout,
                  flush=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None

    def event(self, e, sample: str | None = None) -> None:
        from rnntui.metrics import record as metrics_record

        record = metrics_record(e, self.trainer.dist.world_size)
        if e.val_loss is not None:
            self.last_val = e.val_loss
        if self.metrics is not None:
            self.metrics.write(json.dumps(record) + "\n")
            if e.val_loss is not None:
                self.metrics.flush()
        if self.args.json:
            if sample is not None:  # in the step's own object, so that each line stays one step
                record = {**record, "sample": self.args.seed_text + sample}
            print(json.dumps(record), flush=True)
            return
        if self.bar is not None:
            val = f"  val~ {self.last_val:.4f}" if self.last_val is not None else ""
            self.bar.update(self.task, completed=e.step,
                            info=f"loss {e.train_loss:.4f}{val}  {e.chars_per_s:,.0f} chars/s")
        elif e.step % max(self.args.log_every, 1) == 0 or e.val_loss is not None or e.step == e.total_steps:
            val = f"  val_loss~ {e.val_loss:.4f}" if e.val_loss is not None else ""
            print(f"step {e.step}/{e.total_steps}  loss {e.train_loss:.4f}{val}  "
                  f"{e.chars_per_s:,.0f} chars/s  {e.elapsed:.1f}s", flush=True)
        if sample is not None:
            cut = (f", top-k {self.args.top_k}" if self.args.top_k else "") + (
                f", top-p {self.args.top_p:g}" if self.args.top_p < 1 else "")
            text = (f"--- sample at step {e.step:,}, scale factor {self.args.scale_factor:g}{cut} ---\n"
                    f"{self.args.seed_text}{sample}\n")
            if self.bar is not None:  # above the bar, which stays at the bottom
                self.bar.console.print(text, markup=False, highlight=False)
            else:
                print(text, flush=True)

    def done(self, interrupted: bool) -> None:
        self.close()
        word = "stopped" if interrupted else "done"
        if self.output_closed:
            print(f"rnntui: the output was closed, so training stopped at step {self.trainer.step}; "
                  f"saved {self.out}", file=sys.stderr, flush=True)
            return
        stream = sys.stderr if self.args.json else sys.stdout
        print(f"{word} at step {self.trainer.step}; saved {self.out}", file=stream, flush=True)


# -- generate / evaluate / corpus --------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    from rnntui.sampling import Sampler, check_scale_factor, check_top_k, check_top_p

    scale_factors = [check_scale_factor(value) for value in args.scale_factor]
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    if args.length < 0:
        raise RnntuiError(f"--length must be 0 or more, got {args.length}")
    if args.num_samples < 1:
        raise RnntuiError(f"--num-samples must be at least 1, got {args.num_samples}")
    if args.pick and (args.num_samples > 1 or len(scale_factors) > 1):
        raise RnntuiError("--pick writes one sample at one scale factor")
    checkpoint = load_model_checkpoint(args.checkpoint)
    checkpoint.vocab.check(args.seed_text)
    # One generator for all samples: with --random-seed the whole output repeats.
    sampler = Sampler(checkpoint.build_model(), checkpoint.vocab, scale_factors[0], args.random_seed,
                      top_k=top_k, top_p=top_p)
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
    from rnntui.evaluate import held_out_loss
    from rnntui.session import recorded_corpus_path

    checkpoint = load_model_checkpoint(args.checkpoint)
    # Without --corpus: the text the model was trained on, if it is still there, else the book.
    text = args.corpus or recorded_corpus_path(checkpoint)
    corpus = load_corpus(corpus_path(text, args.json), args.encoding, vocab=checkpoint.vocab)
    started = time.perf_counter()
    bar = None
    if not args.json and sys.stderr.isatty():  # a pass over a book's tail takes seconds
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TextColumn("characters"),
                       TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        task = bar.add_task("evaluate", total=None)
        bar.start()
    try:
        loss, count, fraction = held_out_loss(
            checkpoint, corpus, resolve_device(args.device), args.val_fraction,
            progress=(lambda done, total: bar.update(task, completed=done, total=total)) if bar else None)
    finally:
        if bar is not None:
            bar.stop()
    result = {"val_loss": loss, "characters": count, "val_fraction": fraction,
              "corpus": corpus.name, "step": checkpoint.step,
              "seconds": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"validation loss {loss:.4f} nats/char ({loss / 0.6931471805599453:.4f} bits/char) "
              f"over the last {count:,} characters of {corpus.name} (step {checkpoint.step})")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from rnntui.metrics import resolve_run

    try:
        metrics, _ = resolve_run(args.path)
    except FileNotFoundError as error:
        raise RnntuiError(str(error)) from None
    if not metrics.exists() and not metrics.parent.is_dir():
        raise RnntuiError(f"{args.path} is not a training run (no folder {metrics.parent})")
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

    if args.fetch:
        corpus_path(None)
    corpus = paths.default_corpus_path()
    print(f"default corpus:  {corpus} ({'present' if corpus.is_file() else 'not downloaded yet'})")
    print(f"checkpoints:     {paths.checkpoints_dir()}")
    print(f"bundled model:   {paths.bundled_model_path()}")
    print(f"seed history:    {paths.seed_history_path()}")
    print(f"app settings:    {paths.settings_path()}")
    print(f"transcripts:     {paths.transcripts_dir()}")
    return 0
