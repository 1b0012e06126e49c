"""The run machinery of ``rnntui train``, ``rnntui sentiment train`` and ``rnntui sentiment
pretrain``: a planned run takes its file's lock, checks every file it will write, trains (each
step reported and maybe saved), and saves however it ends: at its last step, early, on ctrl+c,
SIGTERM or SIGHUP, when its output goes away, when a file cannot be written."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnntui.cli.common import silence_output
from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted
from rnntui.core.provenance import resumed_provenance

WRITABLE_HINT = "; choose another file with --out PATH"
LOCK_ALTERNATIVE = "choose another file with --out PATH"


@dataclass
class Run:
    """A planned training run: what trains, on what, and where it is written."""

    trainer: object
    data: object  # what it trains on: the corpus, or the prepared reviews
    out: Path
    provenance: dict
    resumed: bool  # continues a checkpoint: its file holds this run's last saved state
    may_replace: bool  # --overwrite, or --resume of the file --out names
    before: dict | None = None  # the resumed checkpoint's provenance, when the write adds this run's to it
    test_reviews: list | None = None  # sentiment's --test: the reviews measured once training ends
    file: RunFile | None = None  # its checkpoint file, once it trains (train_run)


@dataclass
class RunHooks:
    """What a run started by another command (a sweep's trial) adds to a training command: calls
    with every step's event, progress on stderr, more of the run's record; ``run`` is the run
    planned, once it is."""

    observers: tuple = ()
    to_stderr: bool = False
    provenance: dict | None = None
    run: object = None


def start_run(args: argparse.Namespace, plan: Callable[[], Run | None], train: Callable[[Run], int],
              hooks: RunHooks | None = None, is_main: bool = True) -> int:
    """Plan a run (``plan()``; None: nothing to train, said so), then, on the process that writes
    (``is_main``), train it (``train(run)``) holding its file's lock, once every file it will
    write has been checked (``check_outputs``)."""
    hooks = hooks or RunHooks()
    if getattr(args, "tensorboard", None) is not None and is_main:
        from rnntui.core.tensorboard import require

        require()
    run = hooks.run = plan()
    if run is None:
        return 0
    run.provenance.update(hooks.provenance or {})
    if not is_main:
        return train(run)
    from rnntui.core.save import locked_output

    with locked_output(run.out, WRITABLE_HINT, LOCK_ALTERNATIVE) as locked_at:  # also makes its folder, for the lock
        check_outputs(args, run, locked_at)
        return train(run)


def check_save_every(args: argparse.Namespace) -> None:
    """``--save-every`` of a command whose config does not hold it (the review models')."""
    if args.save_every is not None and args.save_every < 0:
        raise RnntuiError(f"--save-every must be 0 or more, got {args.save_every}")


def check_out_early(args: argparse.Namespace) -> None:
    """Refuse an --out that may not be replaced before the reviews are read (half a minute for the
    whole dataset) rather than after; ``check_outputs`` checks it again with the lock held."""
    if args.out is None:
        return
    from rnntui.core.files import output_target, refuse_replacing, same_file

    out = output_target(Path(args.out))
    refuse_replacing(out, args.overwrite or same_file(out, args.resume), replace_hint(out))


def replace_hint(path: Path, resumable: bool = True) -> str:
    """What to do instead of writing over ``path``: another run's checkpoint may be continued
    (where the command has --resume) or replaced; any other file only avoided."""
    from rnntui.core.files import is_checkpoint_file

    if is_checkpoint_file(path):
        return (f"; pass --resume {path} to continue it, or --overwrite to replace it" if resumable
                else "; pass --overwrite to replace it, or choose another file with --out PATH")
    return WRITABLE_HINT


def refuse_model_settings(given: dict) -> None:
    """A resumed review model's architecture flags: none may be given (``given``: those that were)."""
    if given:
        from rnntui.core.settings import flag

        raise RnntuiError(f"the model's settings are fixed once trained: drop {', '.join(map(flag, given))} "
                          "when resuming")


def epochs_run(args: argparse.Namespace, trainer, data, out: Path, provenance: dict, before: dict | None,
               test_reviews: list | None = None) -> Run | None:
    """The run of a trainer that counts epochs (the review models), writing ``out`` (a link's
    target); None when a resumed one is already at its --epochs (said so)."""
    from rnntui.core.files import output_target, same_file

    out = output_target(Path(out))
    if args.resume is not None and trainer.step >= trainer.total_steps:
        print(f"{args.resume} is already at epoch {trainer.step / trainer.batches_per_epoch:g}: nothing to train "
              "(--epochs is the total to train to)", file=sys.stderr if args.json else sys.stdout)
        return None
    resumed = args.resume is not None and same_file(out, args.resume)
    return Run(trainer, data, out, provenance, resumed, may_replace=args.overwrite or resumed, before=before,
               test_reviews=test_reviews)


def command_line() -> str:
    """The command that started this process, as its record keeps it."""
    program = Path(sys.argv[0])
    ours = program.name == "rnntui" or (program.name == "__main__.py" and program.parent.name == "rnntui")
    return "rnntui " + " ".join(sys.argv[1:]) if ours else " ".join(sys.argv)  # python -m rnntui too


def run_provenance() -> dict:
    """How a run was made: its command line and the machine it ran on."""
    import torch

    from rnntui.core.device import cpu_name

    return {"command": command_line(),
            "machine": f"{cpu_name()}, {torch.get_num_threads()} of {os.cpu_count()} cores, torch {torch.__version__}"}


def provenance_writer(run: Run, save: Callable[[dict, Path], None]) -> Callable[[Path], None]:
    """``write(path)`` for a run whose record is made at each save: ``save(provenance, path)``
    with the run's wall time so far, chained to the runs before it (``run.before``)."""
    started_wall = time.perf_counter()

    def write(path: Path) -> None:
        provenance = {**run.provenance, "wall_time_s": round(time.perf_counter() - started_wall, 1)}
        if run.before is not None:
            provenance = resumed_provenance(run.before, provenance)
        save(provenance, path)

    return write


def check_outputs(args: argparse.Namespace, run: Run, locked_at: float) -> None:
    """Before the first step, with the lock held: every file the run will write may be
    written (rnntui replaces only its own checkpoints, and only when asked), and what a killed
    save of them left behind is removed."""
    from rnntui.core.files import check_writable, refuse_replacing, remove_stale_temp_files
    from rnntui.core.metrics import check_metrics_file, metrics_path

    out = run.out
    outputs = [out, best_path(out)] if args.save_best else [out]
    for path in outputs:
        refuse_replacing(path, run.may_replace, replace_hint(path))
        check_writable(path, WRITABLE_HINT)
    check_metrics_file(metrics_path(out))
    if getattr(args, "keep", 1) > 1:  # the snapshots it means to write may be written
        start, last, every = run.trainer.step, run.trainer.config.steps, run.trainer.config.save_every
        for step, path in snapshot_files(out):
            if start < step <= last and (step == last or (every and step % every == 0)):
                refuse_replacing(path, belongs_to_run(path, run.provenance["run_id"]),
                                 f"; --keep would write this run's step {step:,} there: move it, or choose "
                                 "another --out")
    for path in outputs:
        remove_stale_temp_files(path, locked_at)
    remove_stale_temp_files(out, locked_at, names=snapshot_names(out))  # --keep's copies, any step


def train_run(run: Run, write: Callable[[Path], None], report, save_every: int | None, save_best: bool,
              observers: tuple = (), is_main: bool = True, sample: Callable | None = None) -> int | None:
    """Train ``run`` to its end, reporting each step (``report``, with ``sample(event)``'s text
    where it gives one), saving with ``write(path)`` every ``save_every`` steps, at each new best
    (``save_best``, beside the file) and however it ends; each of ``observers`` is called with
    every step's event (rnntui sweep's pruning). Returns as ``train_and_save`` does."""
    saver = run.file = RunFile(run.trainer, run.out, write, run.resumed, writes=is_main)  # only rank 0 writes

    def each(event) -> None:
        report.event(event, sample(event) if sample is not None else None)
        saver.after(event, save_every, save_best)
        for observe in observers:
            observe(event)

    return train_and_save(run.trainer, report, saver, each, is_main)


def early_stop_note(args: argparse.Namespace, out: Path, text: str) -> None:
    """Say that a run stopped early (``text``: on what), and where its best checkpoint is."""
    where = f" ({best_path(out)})" if args.save_best else ""
    print(f"stopped early: {text}{where}", file=sys.stderr if args.json else sys.stdout, flush=True)


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
        print(f"\nrnntui: saving the last {counted(self.unsaved, 'step')}; press ctrl+c twice more to quit "
              "without saving them", file=sys.stderr, flush=True)


# -- the files beside a run's checkpoint: --save-best's, --keep's ------------------------------

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

    from rnntui.core.checkpoint import read_header

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
