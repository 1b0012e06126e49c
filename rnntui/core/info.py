"""What every task's ``rnntui info`` says alike: the file, its size and date, the model's size,
the training done and how the model was made."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rnntui.core.provenance import chains_runs

if TYPE_CHECKING:
    from rnntui.core.checkpoint import RunCheckpoint


def common_info(checkpoint: RunCheckpoint, path: Path | None) -> dict:
    """What every task's ``rnntui info`` reports alike: the file, the model, the training done."""
    return {
        "path": str(path) if path is not None else None,
        "bytes": path.stat().st_size if path is not None and path.is_file() else None,
        "created": checkpoint.created,
        "model": checkpoint.model_config.to_dict(),
        "parameters": sum(tensor.numel() for tensor in checkpoint.model_state.values()),
        "step": checkpoint.step,
        "training_seconds": round(checkpoint.elapsed, 1),
        "train_config": checkpoint.train_config,
        "resumable": checkpoint.optimizer_state is not None,
        "provenance": checkpoint.provenance,
    }


def file_line(info: dict) -> tuple[str, str]:
    return ("file", f"{info['path']} ({info['bytes'] / 1e6:.1f} MB, saved {saved_at(info['created'])})"
                    if info["path"] and info["bytes"] is not None else "not saved yet")


def clock(seconds: float) -> str:
    """``seconds`` as h:mm:ss."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one: "1 epoch", "5,313 steps"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def training_time(info: dict) -> str:
    return f"{counted(info['step'], 'step')} in {clock(info['training_seconds'])}"


def made_lines(provenance: dict, training_seconds: float = 0.0) -> list[tuple[str, str]]:
    """Where and how a model was made, from its provenance. The wall time is written as the
    training time is (h:mm:ss), and it covers every run of the model; a record from before
    resumed runs added theirs up holds the last run's only, and says so."""
    lines = []
    if provenance.get("machine") or provenance.get("wall_time_s"):
        made = provenance.get("machine") or "-"
        wall = provenance.get("wall_time_s")
        if wall:
            made += f", {clock(wall)} of wall time"
            # Training time is within wall time, so a shorter wall time is one run's; unless the
            # record chains its runs, whose wall times it adds up too.
            if wall < training_seconds and not chains_runs(provenance):
                made += " in its last run"
        lines.append(("made on", made))
    if provenance.get("command"):
        lines.append(("command", provenance["command"]))
    return lines


def saved_at(created: str) -> str:
    """An ISO timestamp as "2026-11-29 11:39 UTC" (in the zone it was written in)."""
    try:
        moment = datetime.fromisoformat(created)
    except (TypeError, ValueError):
        return created or "at an unknown time"
    return (moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")).rstrip()


def labelled(lines: list[tuple[str, str]]) -> list[str]:
    return [f"{label + ':':13s}{text}" for label, text in lines]
