"""A sweep's Optuna study: where it is stored, whether a trial is still owed, re-running what an
interruption lost, and which checkpoints to keep.

Every trial of the budget is one of: finished (complete or pruned), failed by an error of its own
settings (recorded as ``error``, not re-run), running, or waiting. A trial cut short by ctrl+c, a
closed terminal or ``kill`` is failed and queued again with the same settings; one whose process
died without a word (``kill -9``, a power cut) is failed by Optuna once its heartbeat stops (database
storage only) and queued again the same way.
"""

from __future__ import annotations

import inspect
import re
import time
import warnings
from pathlib import Path

from rnntui.core.errors import RnntuiError
from rnntui.core.paths import sweeps_dir

HEARTBEAT_S = 30  # a running trial says it is alive this often
GRACE_S = 120  # ... and is taken for dead this long after it last did
SQLITE_WAIT_S = 60  # how long a worker waits for another's write to the SQLite file
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise RnntuiError(f"--study {name!r}: a study's name is letters, digits, '.', '_' and '-' (it names files)")
    return name


def default_storage_path(name: str) -> Path:
    return sweeps_dir() / f"{name}.db"


def open_storage(optuna, name: str, url: str | None, create: bool = True):
    """The storage ``--storage`` names: a database URL, an Optuna journal file (a path), or by
    default an SQLite file in the data folder named after the study. Databases keep a heartbeat,
    so that a trial whose process died is failed and queued again."""
    if url is None:
        path = default_storage_path(name)
        if not create and not path.is_file():
            raise RnntuiError(f"no study {name!r} in {sweeps_dir()}; pass --storage URL if it lives elsewhere")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            from rnntui.core.files import reason

            raise RnntuiError(f"cannot make {path.parent}: {reason(error)}") from None
        url = f"sqlite:///{path}"
    with warnings.catch_warnings():
        # The heartbeat and the retry are marked experimental; rnntui's tests cover what it uses of them.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for attempt in range(3):
            try:
                return _storage(optuna, url)
            except RnntuiError:
                # Workers started together race to make a new database's tables: the loser's
                # insert fails, and the tables are there a moment later.
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)


def _storage(optuna, url: str):
    try:
        if "://" not in url:
            journal = getattr(optuna.storages, "journal", None)  # Optuna 4's module; 3 has the class alone
            backend = getattr(journal, "JournalFileBackend", None) or optuna.storages.JournalFileStorage
            return optuna.storages.JournalStorage(backend(str(url)))
        kwargs = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S}
        retry = retry_callback(optuna)
        parameters = inspect.signature(optuna.storages.RDBStorage).parameters
        kwargs["heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in parameters
               else "failed_trial_callback"] = retry
        if url.startswith("sqlite"):
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_WAIT_S}}
        return optuna.storages.RDBStorage(url, **kwargs)
    except (ImportError, ValueError, OSError) as error:
        raise RnntuiError(f"--storage {url}: {str(error).splitlines()[0] if str(error) else type(error).__name__}") \
            from None
    except Exception as error:  # the database's driver: refused, unknown dialect, not a database
        if type(error).__module__.split(".")[0] not in ("sqlalchemy", "optuna"):
            raise
        raise RnntuiError(f"cannot open the study's storage {url}: {str(error).splitlines()[0]}") from None


def retry_callback(optuna):
    """Optuna's callback that queues a failed trial again with its settings (renamed in 4.9)."""
    storages = optuna.storages
    kind = getattr(storages, "RetryHeartbeatStaleTrialCallback", None) or storages.RetryFailedTrialCallback
    return kind()


def open_study(optuna, name: str, storage, direction: str, record: dict, sampler=None, pruner=None):
    """The study ``name``, made now or continued. ``record`` (what it varies, its budget, its
    task) must be the one it was started with: another sweep under the same name is refused."""
    study = optuna.create_study(study_name=name, storage=storage, direction=direction, load_if_exists=True,
                                sampler=sampler, pruner=pruner)
    started = study.user_attrs.get("sweep")
    if started is None:
        study.set_user_attr("sweep", record)
    elif started != record:
        differs = sorted(k for k in set(started) | set(record) if started.get(k) != record.get(k))
        raise RnntuiError(f"the study {name!r} was started with other settings ({', '.join(differs)}: "
                          f"{', '.join(str(started.get(k)) for k in differs)}); rerun it as it was started, or choose "
                          "another --study name")
    return study


def load_study(optuna, name: str, storage):
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise RnntuiError(f"no study {name!r} in that storage") from None


def counts_against_budget(trial) -> bool:
    """Whether ``trial`` is one of the study's budget: every trial but one failed by an
    interruption (queued again) or started past the budget."""
    state = trial.state.name
    if state == "FAIL":
        return "error" in trial.user_attrs
    return not trial.user_attrs.get("surplus")


def fail_stale(optuna, study) -> None:
    """Fail (and queue again) the trials whose process stopped beating, as Optuna does before each
    trial: a study whose budget is all started may still owe one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def owed(study, target: int) -> bool:
    """Whether a new trial may start: fewer than ``target`` count, or some are waiting."""
    trials = study.get_trials(deepcopy=False)
    return any(t.state.name == "WAITING" for t in trials) or sum(map(counts_against_budget, trials)) < target


def is_surplus(study, trial, target: int) -> bool:
    """Whether a new ``trial`` is past the budget: ``target`` trials of it are numbered before
    it. Two workers that start a trial at once are told apart by their numbers, so exactly one
    runs it. A trial queued again (an interrupted one's retry) is always owed."""
    trials = study.get_trials(deepcopy=False)
    system_attrs = next(t.system_attrs for t in trials if t.number == trial.number)
    if "fixed_params" in system_attrs or "failed_trial" in system_attrs:
        return False
    earlier = [t for t in trials if t.number < trial.number]
    return sum(map(counts_against_budget, earlier)) >= target


def retry(optuna, study, trial_number: int) -> None:
    """Fail the interrupted trial ``trial_number`` (if Optuna has not) and queue it again, with
    its settings."""
    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial_number)
    if frozen.state.name == "RUNNING":
        study.tell(trial_number, state=optuna.trial.TrialState.FAIL)
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial_number)
    if frozen.state.name == "FAIL":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry_callback(optuna)(study, frozen)


def best_trial(study):
    """The best complete trial, or None."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if not complete:
        return None
    better = max if study.direction.name == "MAXIMIZE" else min
    return better(complete, key=lambda t: t.value)


def written_by(path: Path, study_name: str, number: int) -> bool:
    """Whether ``path`` holds the checkpoint this study's trial ``number`` wrote (judged by
    its record, not its name)."""
    from rnntui.core.checkpoint import read_header
    from rnntui.core.files import is_checkpoint_file

    if not is_checkpoint_file(path):
        return False
    try:
        header, _ = read_header(path)
    except (RnntuiError, OSError, ValueError):
        return False
    record = (header.get("provenance") or {}).get("sweep") or {}
    return record.get("study") == study_name and record.get("trial") == number


def remove_other_checkpoints(study) -> list[Path]:
    """Delete the checkpoints of this study's finished trials but the best one's (their metrics
    files stay): only files its trials wrote. Returns what was deleted."""
    best = best_trial(study)
    removed = []
    for trial in study.get_trials(deepcopy=False):
        path = trial.user_attrs.get("checkpoint")
        if not path or not trial.state.is_finished() or (best is not None and trial.number == best.number):
            continue
        path = Path(path)
        if written_by(path, study.study_name, trial.number):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
