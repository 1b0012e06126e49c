"""``rnntui sweep`` and ``rnntui sentiment sweep``: an Optuna study whose trials are ordinary
``train`` runs (their checkpoints, metrics files and records as any run's), then the results.

A trial in flight when the sweep is interrupted (ctrl+c, a closed terminal, ``kill``) is saved
as a run, failed in the study and queued again, so the same command continues where it stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from rnntui.cli.common import check_threads
from rnntui.core.errors import RnntuiError


class Surplus(Exception):
    """Another worker started the budget's last trial first: this one has nothing to do."""


class TrialFailed(Exception):
    """The trial's own settings could not train (diverged, too large, ...): recorded, not re-run."""


class Interrupted(Exception):
    """A signal stopped the trial before its end."""


def cmd_sweep(args: argparse.Namespace) -> int:
    from rnntui.sweep import require_optuna
    from rnntui.sweep.objective import TASKS
    from rnntui.sweep.report import print_results
    from rnntui.sweep.study import check_name, load_study, open_storage

    optuna = require_optuna()
    check_threads(args.threads)
    task = TASKS[args.sweep_task]
    if args.show is not None:
        name = check_name(args.show)
        study = load_study(optuna, name, open_storage(optuna, name, args.storage, create=False))
        print_results(study, args.json)
        return 0
    sweep = plan_sweep(args, optuna, task)
    try:
        ran = run_sweep(sweep)
    except KeyboardInterrupt:
        print(f"rnntui: sweep interrupted; the same command continues the study {sweep.name!r} "
              "(the trial in flight runs again)", file=sys.stderr)
        return 130
    print_results(sweep.study, args.json, note=None if ran or args.json else "nothing left to run in this study")
    return 0


@dataclass
class Sweep:
    """A sweep planned: the study, what varies, the budget, and where the trials go."""

    args: argparse.Namespace
    optuna: object  # the module
    task: object  # objective.Task
    space: object  # space.Space
    name: str
    study: object  # optuna.Study
    target: int  # trials in all, across workers
    budget: int  # characters (text) or epochs (reviews) per trial
    folder: Path  # the trials' checkpoints and metrics files
    source: dict  # what every trial reads: corpus, encoding or data, and the tensorboard folder


def plan_sweep(args: argparse.Namespace, optuna, task) -> Sweep:
    from rnntui.core.paths import sweeps_dir
    from rnntui.sweep.objective import TEXT, check_settings, default_text_budget
    from rnntui.sweep.space import parse_space
    from rnntui.sweep.study import check_name, open_storage, open_study

    if args.tensorboard is not None:
        from rnntui.core.tensorboard import require

        require()
    space = parse_space(args.sweep_settings, {name: getattr(args, name) for name in args.sweep_settings})
    if not space.swept:
        raise RnntuiError("give a setting several values or a range to sweep, e.g. --seq-length 10 20 40 80 160 "
                          "or --lr 1e-4..1e-2 log")
    check_settings(task, space.corner_values())
    if task is TEXT:
        budget = default_text_budget() if args.budget is None else args.budget
        if budget < 1:
            raise RnntuiError(f"--budget must be at least 1 character, got {budget}")
        if space.fixed.get("val_fraction", 0.1) <= 0:
            raise RnntuiError("--val-fraction must be above 0: each trial is judged on the text's held-out tail")
        source = {"corpus": text_source(args), "encoding": args.encoding}
    else:
        from rnntui.sentiment.config import MAX_EPOCHS, SentimentTrainConfig

        budget = SentimentTrainConfig().epochs if args.epochs is None else args.epochs
        if not 1 <= budget <= MAX_EPOCHS:
            raise RnntuiError(f"--epochs must be from 1 to {MAX_EPOCHS:,}, got {budget}")
        source = {"data": reviews_source(args)}
    if args.trials is not None and args.trials < 1:
        raise RnntuiError(f"--trials must be at least 1, got {args.trials}")
    if space.is_grid:
        target = min(args.trials or space.grid_size(), space.grid_size())
    else:
        target = args.trials or 20
    name = check_name(args.study or ("" if task is TEXT else "reviews-") + "-".join(space.swept))
    folder = Path(args.folder) if args.folder is not None else sweeps_dir() / name
    source["tensorboard"] = None if args.tensorboard is None else Path(args.tensorboard) / name
    record = {"task": task.name, "budget": budget, "settings": space.describe(), "swept": list(space.swept)}
    study = open_study(optuna, name, open_storage(optuna, name, args.storage), task.direction, record,
                       sampler=make_sampler(optuna, space), pruner=make_pruner(optuna, task, args.no_prune))
    return Sweep(args, optuna, task, space, name, study, target, budget, folder, source)


def text_source(args: argparse.Namespace) -> Path:
    """The corpus every trial reads, read once now so that a bad file fails before the study starts."""
    from rnntui.charlm.corpus import load_corpus
    from rnntui.cli.common import corpus_path

    path = corpus_path(args.corpus, args.json)
    load_corpus(path, args.encoding)
    return Path(path).resolve()


def reviews_source(args: argparse.Namespace) -> Path | None:
    """The reviews every trial reads (None: the cached copy), read once now to fail early."""
    from rnntui.cli.sentiment import reviews_from

    reviews_from(args.data, args.json)
    return None if args.data is None else Path(args.data).resolve()


def make_sampler(optuna, space):
    """A grid where every setting lists its values; TPE (listed values as choices) where a range is given."""
    if space.is_grid:
        # Its order shuffled the same way in every worker (seed 0), as Optuna advises for many workers.
        return optuna.samplers.GridSampler(space.grid(), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant_liar is "experimental"
        # constant_liar: workers running at once do not all try the same promising point.
        return optuna.samplers.TPESampler(constant_liar=True)


def make_pruner(optuna, task, off: bool):
    """The median rule on the validation estimates: a trial stops when its estimate is worse than
    the median of earlier trials' at the same share of the budget (after two trials, and, for the
    text, from a quarter of the budget on)."""
    from rnntui.sweep.objective import ESTIMATES, TEXT

    if off:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=ESTIMATES // 4 if task is TEXT else 0)


def run_sweep(sweep: Sweep) -> int:
    """Run trials while the study owes some; returns how many this process ran."""
    from rnntui.sweep.study import fail_stale, owed, remove_other_checkpoints, retry

    ran = 0
    current: dict = {}
    with ExitSignals():
        try:
            while True:
                fail_stale(sweep.optuna, sweep.study)
                if not owed(sweep.study, sweep.target):
                    break
                current.clear()
                try:
                    sweep.study.optimize(lambda trial: objective(sweep, trial, current), n_trials=1,
                                         catch=(TrialFailed,))
                except Surplus:
                    break
                ran += 1
                if not sweep.args.keep_all:
                    remove_other_checkpoints(sweep.study)
        except BaseException as error:  # a signal, or anything unforeseen: the trial in flight runs again
            if "number" in current:
                retry(sweep.optuna, sweep.study, current["number"])
            if not sweep.args.keep_all:
                remove_other_checkpoints(sweep.study)
            if isinstance(error, (Interrupted, KeyboardInterrupt)):
                raise KeyboardInterrupt from None
            raise
    return ran


def objective(sweep: Sweep, trial, current: dict) -> float:
    """Train one trial as a normal run and judge it (the exact held-out loss, or the validation
    accuracy at the end); its validation estimates go to the pruner as it trains."""
    from rnntui.cli.parser import build_parser
    from rnntui.cli.run import RunHooks
    from rnntui.sweep.objective import TEXT, reported, trial_argv
    from rnntui.sweep.space import suggest
    from rnntui.sweep.study import is_surplus

    current["number"] = trial.number
    if is_surplus(sweep.study, trial, sweep.target):
        trial.set_user_attr("surplus", True)
        current.clear()
        raise Surplus
    settings = {**sweep.space.fixed, **suggest(trial, sweep.space)}
    out = sweep.folder / f"trial-{trial.number:04d}.ckpt"
    trial.set_user_attr("checkpoint", str(out))
    args = build_parser().parse_args(trial_argv(sweep.task, settings, out, sweep.budget, sweep.source))
    args.threads = sweep.args.threads  # the sweep's --threads, for every trial
    pruned: list[int] = []
    keys: set[int] = set()

    def observe(event) -> None:
        point = reported(sweep.task, event, hooks.run.trainer)
        if point is None or pruned or point[0] in keys:  # the last estimate may share the one before's place
            return
        keys.add(point[0])
        trial.report(point[1], point[0])
        if trial.should_prune():
            pruned.append(event.step)
            hooks.run.trainer.stop()

    hooks = RunHooks(observers=(observe,), to_stderr=True,
                     provenance={"sweep": {"study": sweep.name, "trial": trial.number, "settings": settings}})
    started = time.perf_counter()
    print(f"trial {trial.number}: {' '.join(f'{k}={v}' for k, v in settings.items())}", file=sys.stderr, flush=True)
    try:
        if sweep.task is TEXT:
            from rnntui.cli.train import train_once
            from rnntui.core.distributed import DistInfo

            code = train_once(args, DistInfo(), hooks)
        else:
            from rnntui.cli.sentiment import cmd_train

            code = cmd_train(args, hooks)
    except RnntuiError as error:
        trial.set_user_attr("error", str(error))
        print(f"rnntui: trial {trial.number} failed: {error}", file=sys.stderr, flush=True)
        raise TrialFailed(str(error)) from None
    trainer = hooks.run.trainer
    if code != 0:
        trial.set_user_attr("error", "diverged" if code == 1 else "its output could not be written")
        raise TrialFailed(trial.user_attrs.get("error"))
    record_speed(sweep, trial, trainer, started)
    if pruned:
        raise sweep.optuna.TrialPruned()
    total = trainer.total_steps
    if trainer.step < total and not trainer.early_stopped:
        raise Interrupted
    if sweep.task is TEXT:
        from rnntui.charlm.evaluate import evaluate_ids, held_out_tail

        tail = held_out_tail(hooks.run.data, trainer.config.val_fraction)
        value, _ = evaluate_ids(trainer.model, tail, trainer.device)
    else:
        value = trainer.history.accuracy[-1][1]
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))
    print(f"trial {trial.number}: {sweep.task.objective} {value:.4f}", file=sys.stderr, flush=True)
    return value


def record_speed(sweep: Sweep, trial, trainer, started: float) -> None:
    """The trial's steps, its throughput over its training time, and its wall time so far."""
    from rnntui.sweep.objective import TEXT

    config = trainer.config
    per_step = config.batch_size * config.seq_length if sweep.task is TEXT else config.batch_size
    trial.set_user_attr("steps", trainer.step)
    trial.set_user_attr("per_s", round(trainer.step * per_step / max(trainer.elapsed, 1e-9), 1))
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))


class ExitSignals:
    """SIGTERM and SIGHUP between trials end the sweep as ctrl+c does (a trial in flight has its
    own handling: it stops after its step and saves)."""

    def __enter__(self) -> ExitSignals:
        self.previous = {}
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None:
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
