"""The metrics file every training run appends to: one JSON object per step.

``<checkpoint>.metrics.jsonl`` beside the checkpoint, so ``rnntui watch`` can follow a run from
another process or machine (a shared filesystem is enough). No torch here: the app reads it on
its event loop.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rnntui.core.errors import RnntuiError, StorageError
from rnntui.core.files import open_regular
from rnntui.core.tasks import TASKS, TEXT_TASK

SUFFIX = ".metrics.jsonl"


@dataclass
class MetricPoint:
    """One step of a run, whatever its model: ``task`` says which (its speed's name in the file:
    characters, reviews or words a second), ``val_accuracy`` a review model's."""

    step: int
    train_loss: float
    val_loss: float | None
    speed: float
    elapsed: float
    ranks: int = 1
    task: str = TEXT_TASK
    val_accuracy: float | None = None


def metrics_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + SUFFIX)


MAX_STEP = 10**15  # as a checkpoint's step (rnntui.core.checks)


def metrics_record(line: bytes | str) -> dict | None:
    """One metrics line as its record, or None for a line that is not one (cut short, damaged
    or crafted): a flat JSON object with a whole step from 0 to 10^15. Nesting is measured
    before json parses it, since json recurses once a level."""
    from rnntui.core.checks import json_depth

    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if json_depth(raw) > 2:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    step = record.get("step") if isinstance(record, dict) else None
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        return None
    return record


def check_metrics_file(path: Path) -> None:
    """Refuse to append to ``path`` unless it is absent or a metrics file: a pipe in its place
    would block the run, and rnntui changes no file it did not write."""
    if not os.path.lexists(path):
        return
    problem = None
    try:
        with open_regular(path, "metrics file", StorageError) as f:
            first = f.readline(1 << 16)
    except StorageError as error:
        problem = str(error)
    else:
        ours = first.strip() == b"" or metrics_record(first) is not None
        if not ours:
            problem = f"{path} exists and is not an rnntui metrics file; rnntui will not append to it"
    if problem:
        raise StorageError(f"{problem}; choose another --out PATH")


def open_for_append(path: Path) -> TextIO:
    """``path`` opened to append records to. A last line cut short (a run stopped by a full
    disk in the middle of writing it) is ended first, so that the next record starts a line of
    its own: the torn line alone is lost, skipped by readers as any damaged line is."""
    metrics = open(path, "a", encoding="utf-8")
    try:
        size = os.fstat(metrics.fileno()).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                torn = f.read(1) != b"\n"
            if torn:
                metrics.write("\n")
    except BaseException:
        metrics.close()
        raise
    return metrics


def record(event, ranks: int) -> dict:
    """The JSON object written for one training event."""
    return {"step": event.step, "train_loss": round(event.train_loss, 5),
            "val_loss": None if event.val_loss is None else round(event.val_loss, 5),
            "chars_per_s": round(event.chars_per_s, 1), "elapsed": round(event.elapsed, 3),
            "lr": event.lr, "ranks": ranks}


def resolve_run(path: Path) -> tuple[Path, Path]:
    """``(metrics file, checkpoint file)`` for a checkpoint, a metrics file or a run folder."""
    path = Path(path)
    if path.is_dir():
        runs = sorted(path.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        if not runs:
            raise FileNotFoundError(f"no {SUFFIX} file in {path}")
        path = runs[0]
    if path.name.endswith(SUFFIX):
        return path, path.with_name(path.name[: -len(SUFFIX)])
    return metrics_path(path), path


def compared_runs(paths: list[Path], watched: Path | None) -> list[Path]:
    """The metrics files ``--compare`` names: a checkpoint's or a metrics file's own, or every
    run's in a folder (a sweep's study), but the ``watched`` run's."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            runs = sorted(path.glob(f"*{SUFFIX}"))
            if not runs:
                raise RnntuiError(f"--compare {path}: no {SUFFIX} file in that folder")
        else:
            runs = [resolve_run(path)[0]]
            if not runs[0].is_file():
                raise RnntuiError(f"--compare {path}: no metrics file {runs[0]}")
        found += [run for run in runs if run not in found
                  and (watched is None or run.resolve() != Path(watched).resolve())]
    return found


def run_name(metrics: Path) -> str:
    """A run's name from its metrics file: its checkpoint's stem."""
    return Path(metrics.name[: -len(SUFFIX)]).stem if metrics.name.endswith(SUFFIX) else metrics.stem


class MetricsFollower:
    """Reads the points appended to a metrics file since the last call (like ``tail -f``).

    Steps can repeat: a run resumed from a checkpoint older than its last step appends those
    steps again. Whoever keeps the points keeps the later record of a step, as the app's loss
    panel does (``LossPanel.add_events``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def read_new(self) -> list[MetricPoint]:
        try:
            with open_regular(self.path, "metrics file") as f:  # a pipe in its place would block
                f.seek(self.offset)
                data = f.read()
        except (OSError, RnntuiError):
            return []
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next call
        self.offset += end
        points = []
        for line in data[:end].splitlines():
            record = metrics_record(line)
            try:
                point = parse_point(record) if record is not None else None
            except (ValueError, KeyError, TypeError, OverflowError):
                continue  # a damaged line is skipped, the rest still plots
            if point is not None:
                points.append(point)
        return points


def parse_point(r: dict) -> MetricPoint | None:
    """One metrics line as a point; None if its numbers are not finite (``1e999``, ``Infinity``
    and ``NaN`` parse as JSON but cannot be plotted)."""
    # The run's model, told by the name of its speed (a line without one: a text model's).
    task = next((name for name, task in TASKS.items() if task.speed_key in r), TEXT_TASK)
    values = [r["step"], r["train_loss"], r.get("val_loss"), r.get(TASKS[task].speed_key) or 0.0,
              r.get("elapsed") or 0.0, r.get("ranks") or 1, r.get("val_accuracy")]
    if not all(value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                 and math.isfinite(value)) for value in values):
        return None
    step, train_loss, val_loss, speed, elapsed, ranks, accuracy = values
    if train_loss is None or step < 0 or ranks < 1 or not (accuracy is None or 0 <= accuracy <= 1):
        return None
    return MetricPoint(int(step), float(train_loss), None if val_loss is None else float(val_loss),
                       float(speed), float(elapsed), int(ranks), task,
                       None if accuracy is None else float(accuracy))
