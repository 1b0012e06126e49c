"""``rnntui train``: plan a run (what to train, from what, into which file), then run it, saving
safely however it ends."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnntui.cli.common import apply_threads, corpus_path, load_model_checkpoint, silence_output
from rnntui.cli.parser import BUNDLED
from rnntui.cli.report import Reporter, Silent
from rnntui.core.errors import RnntuiError


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


@dataclass
class RunHooks:
    """What a run started by another command (a sweep's trial) adds to ``rnntui train``: calls
    with every step's event, progress on stderr, more of the run's record; ``run`` is the run
    planned, once it is."""

    observers: tuple = ()
    to_stderr: bool = False
    provenance: dict | None = None
    run: object = None


def train_once(args: argparse.Namespace, dist_info, hooks: RunHooks | None = None) -> int:
    hooks = hooks or RunHooks()
    if args.tensorboard is not None and dist_info.is_main:
        from rnntui.core.tensorboard import require

        require()
    run = hooks.run = plan_run(args, dist_info)
    if run is None:
        return 0
    run.provenance.update(hooks.provenance or {})
    if not dist_info.is_main:
        return run_training(args, run, dist_info)
    from rnntui.core.files import check_writable
    from rnntui.core.lock import OutputLock

    check_writable(run.out, "; choose another file with --out PATH")  # also makes its folder, for the lock
    with OutputLock(run.out, "; or choose another file with --out PATH") as lock:
        check_outputs(args, run, lock.acquired_at)
        return run_training(args, run, dist_info, hooks.observers, hooks.to_stderr)


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
    return Run(trainer, corpus, config, out, provenance, resumed, may_replace=args.overwrite or resumed)


def resumed_provenance(before: dict | None, run: dict) -> dict:
    """A resumed run's record: the runs before it stay in it. Commands chain with " && " (as
    the bundled model's record reads: each command in order reproduces the model), wall times
    add up, and where the model was fine-tuned from is kept; the rest is this run's."""
    before = before or {}
    chained = dict(run)
    if isinstance(before.get("command"), str) and before["command"]:
        chained["command"] = f"{before['command']} && {run['command']}"
    if isinstance(before.get("wall_time_s"), (int, float)) and isinstance(run.get("wall_time_s"), (int, float)):
        chained["wall_time_s"] = round(before["wall_time_s"] + run["wall_time_s"], 1)
    if before.get("finetuned_from"):
        chained["finetuned_from"] = before["finetuned_from"]
    return chained


def check_outputs(args: argparse.Namespace, run: Run, locked_at: float) -> None:
    """Before the first step, with the lock held: every file the run will write may be
    written (rnntui replaces only its own checkpoints, and only when asked), and what a killed
    save of them left behind is removed."""
    from rnntui.core.files import check_writable, is_checkpoint_file, refuse_replacing, remove_stale_temp_files
    from rnntui.core.metrics import check_metrics_file, metrics_path

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
    if getattr(args, "keep", 1) > 1:  # the snapshots it means to write may be written
        start, last, every = run.trainer.step, run.config.steps, run.config.save_every
        for step, path in snapshot_files(out):
            if start < step <= last and (step == last or (every and step % every == 0)):
                refuse_replacing(path, belongs_to_run(path, run.provenance["run_id"]),
                                 f"; --keep would write this run's step {step:,} there: move it, or choose "
                                 "another --out")
    for path in outputs:
        remove_stale_temp_files(path, locked_at)
    remove_stale_temp_files(out, locked_at, names=snapshot_names(out))  # --keep's copies, any step


def run_training(args: argparse.Namespace, run: Run, dist_info, observers: tuple = (), to_stderr: bool = False) -> int:
    """Train ``run`` to its --steps (or a signal, or early stopping), saving as asked; each of
    ``observers`` is called with every step's event (rnntui sweep's pruning); ``to_stderr``: the
    progress goes to stderr."""
    from rnntui.charlm.build import trainer_checkpoint

    trainer, corpus, config, out = run.trainer, run.corpus, run.config, run.out

    def write(path: Path) -> None:
        from rnntui.charlm.checkpoint import save_checkpoint

        save_checkpoint(trainer_checkpoint(trainer, corpus, run.provenance), path)
        if path == out and args.keep > 1:
            keep_snapshots(out, trainer.step, args.keep, run.provenance["run_id"])

    saver = RunFile(trainer, out, write, run.resumed, writes=dist_info.is_main)  # only rank 0 writes
    report = Reporter(args, trainer, out, to_stderr) if dist_info.is_main else Silent()

    def each(event) -> None:
        sample = None
        if args.sample_every > 0 and event.step % args.sample_every == 0 and dist_info.is_main:
            sample = training_sample(trainer, corpus.vocab, args, event.step)
        report.event(event, sample)
        saver.after(event, config.save_every, args.save_best)
        for observe in observers:
            observe(event)

    code = train_and_save(trainer, report, saver, each, dist_info.is_main)
    if code is not None:
        return code
    if trainer.early_stopped and dist_info.is_main:
        step, value = min(trainer.history.val, key=lambda point: point[1])
        where = f" ({best_path(out)})" if args.save_best else ""
        print(f"stopped early: no better validation estimate in the last {config.patience}; the best "
              f"was {value:.4f} at step {step}{where}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 2 if report.failed else 0


class RunFile:
    """A run's checkpoint file: what step of the run it holds, and writing it (``write(path)``)."""

    def __init__(self, trainer, out: Path, write: Callable[[Path], None], resumed: bool, writes: bool = True) -> None:
        self.trainer, self.out, self.write, self.writes = trainer, out, write, writes
        self.started_step = trainer.step
        self.saved_step = trainer.step if resumed else None  # what the file at out holds of this run

    def save(self, path: Path | None = None) -> None:
        if not self.writes:
            return
        path = self.out if path is None else path
        self.check_finite(path)
        self.write(path)
        if path == self.out:
            self.saved_step = self.trainer.step

    def check_finite(self, path: Path) -> None:
        """The weights are numbers: the loss is checked before each update, so the last step's
        update could make them NaN unseen, and a save would put them over a good file."""
        import torch

        from rnntui.core.training import TrainingDiverged

        model = getattr(self.trainer, "model", None)
        if model is not None and not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            raise TrainingDiverged(f"training diverged: the weights are NaN or infinite after step "
                                   f"{self.trainer.step:,}; {path} was not written (it keeps what it held)")

    def unsaved(self) -> int:
        """Steps trained since the file last held this run (or since it started)."""
        return self.trainer.step - (self.saved_step if self.saved_step is not None else self.started_step)

    def after(self, event, save_every: int | None, save_best: bool) -> None:
        """``--save-every`` and ``--save-best`` after a step."""
        if save_every and event.step % save_every == 0:
            self.save()
        if save_best and event.new_best:
            self.save(best_path(self.out))


def train_and_save(trainer, report, saver: RunFile, each: Callable, is_main: bool = True) -> int | None:
    """Run ``trainer`` to its end (``each(event)`` after every step) under ``StopSignals``, and
    leave its file saved however it ends: 1 when the run diverged (said on stderr); a file that
    could not be written raises, after saving what can be saved; None otherwise."""
    from rnntui.core.training import TrainingDiverged

    out = saver.out
    signals = StopSignals(trainer)
    with signals:
        try:
            with report:
                for event in trainer.run():
                    each(event)
        except TrainingDiverged as error:
            report.close()
            if not is_main:
                return 1
            where = (f"the last good checkpoint is {out} (step {saver.saved_step:,})" if saver.saved_step is not None
                     else "no checkpoint of this run had been saved yet")
            print(f"rnntui: {error}; {where}", file=sys.stderr)
            return 1
        except RnntuiError as error:  # a file could not be written: save what can be saved, and say so
            report.close()
            if not is_main:
                raise
            note = ""
            if saver.unsaved() > 0:
                signals.saving(saver.unsaved())
                try:
                    saver.save()
                    note = f"; saved step {trainer.step:,} to {out}"
                except RnntuiError:
                    pass  # the disk is full: the error that stopped the run says what is kept
            raise RnntuiError(f"{error}{note}") from None
        # Further ctrl+c are held back until the save is done (see StopSignals).
        signals.saving(saver.unsaved())
        # A run that ends where it started leaves a checkpoint all the same (of the fresh model),
        # unless its output failed before the first step.
        if trainer.step > saver.started_step or ((not out.exists() or saver.saved_step is None)
                                                  and not report.failed):
            saver.save()
    report.done(trainer.stopping)
    return None


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
        self.hung_up = False

    def __enter__(self) -> StopSignals:
        names = ("SIGINT", "SIGTERM", "SIGHUP")
        for sig in (getattr(signal, name) for name in names if hasattr(signal, name)):
            self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            # A closed terminal may send SIGHUP more than once (the kernel, then the window or
            # shell): one arriving after the save must not turn the clean exit into a kill.
            signal.signal(sig, signal.SIG_IGN if self.hung_up and sig == signal.SIGHUP else handler)

    def saving(self, unsaved_steps: int) -> None:
        self.unsaved = max(unsaved_steps, 0)

    def handle(self, signum, frame) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            if self.hung_up:
                return  # the same hang-up again, not a person asking twice to force the exit
            self.hung_up = True
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


def check_sample_arguments(args: argparse.Namespace, vocab) -> None:
    """Refuse bad sample flags before training starts rather than at the first sample."""
    from rnntui.charlm.sampling import check_scale_factor, check_top_k, check_top_p

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
    from rnntui.charlm.sampling import Sampler

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


def run_id(recorded: dict) -> str:
    """The id of a training run, recorded in its checkpoints' provenance (and so in their
    headers): the one ``recorded`` (the provenance of the checkpoint a run continues in its own
    file) carries, or a new one. ``--keep`` deletes only snapshots that carry its run's id."""
    import uuid

    previous = recorded.get("run_id")
    return previous if isinstance(previous, str) and previous else uuid.uuid4().hex


def belongs_to_run(path: Path, run: str) -> bool:
    """``path`` is an rnntui checkpoint whose header carries the run id ``run``; anything that
    cannot be read as one is not."""
    import stat

    from rnntui.charlm.checkpoint import read_header

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # rnntui writes files; a link is someone else's
            return False
        provenance = read_header(path)[0].get("provenance")
    except Exception:  # noqa: BLE001 - in doubt, a file is not this run's (and is never deleted)
        return False
    return isinstance(provenance, dict) and provenance.get("run_id") == run


def snapshot_files(out: Path) -> list[tuple[int, Path]]:
    """The files beside ``out`` named as its step-numbered copies (whatever they hold), oldest
    step first."""
    import re

    pattern = re.compile(snapshot_names(out) + r"\Z")
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    # Only the name rnntui gives that step (k.step0000003.ckpt, not a copy named k.step00000003.ckpt).
    found = [(int(match.group(1)), name) for name in names if (match := pattern.match(name)) is not None]
    return sorted((step, out.parent / name) for step, name in found if snapshot_path(out, step).name == name)


def snapshots_of(out: Path, run: str) -> list[tuple[int, Path]]:
    """The step-numbered copies of ``out`` that the run ``run`` wrote (its exact naming, and
    its run id in the header), oldest step first; any other file beside it is not one of them,
    whatever its name: another run's snapshot, a sentiment model, a file of the person's."""
    return [(step, path) for step, path in snapshot_files(out) if belongs_to_run(path, run)]


def keep_snapshots(out: Path, step: int, keep: int, run: str) -> None:
    """Copy ``out`` to ``out.stepNNNNNNN.ckpt`` and delete all but the newest ``keep`` copies
    of the run ``run`` (see ``snapshots_of``)."""
    from rnntui.core.errors import CheckpointError
    from rnntui.core.files import refuse_replacing, write_atomically

    snapshot = snapshot_path(out, step)
    refuse_replacing(snapshot, belongs_to_run(snapshot, run), "; move it, or choose another --out")
    write_atomically(snapshot, out.read_bytes(), CheckpointError)
    for _, old in snapshots_of(out, run)[:-keep]:
        old.unlink(missing_ok=True)
