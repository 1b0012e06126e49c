"""The metrics file every training run appends to: one JSON object per step.

``<checkpoint>.metrics.jsonl`` beside the checkpoint, so ``rnntui watch`` can follow a run from
another process or machine (a shared filesystem is enough). No torch here: the app reads it on
its event loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".metrics.jsonl"


@dataclass
class MetricPoint:
    step: int
    train_loss: float
    val_loss: float | None
    chars_per_s: float
    elapsed: float
    ranks: int = 1


def metrics_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + SUFFIX)


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


class MetricsFollower:
    """Reads the points appended to a metrics file since the last call (like ``tail -f``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def read_new(self) -> list[MetricPoint]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next call
        self.offset += end
        points = []
        for line in data[:end].splitlines():
            try:
                r = json.loads(line)
                points.append(MetricPoint(int(r["step"]), float(r["train_loss"]),
                                          None if r.get("val_loss") is None else float(r["val_loss"]),
                                          float(r.get("chars_per_s") or 0.0), float(r.get("elapsed") or 0.0),
                                          int(r.get("ranks") or 1)))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line is skipped, the rest still plots
        return points
