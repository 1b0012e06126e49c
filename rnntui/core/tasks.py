"""The kinds of model a checkpoint may hold (its header's ``"task"``), each named once; no torch
here, so that the app's picker and dialogs can tell files apart without loading the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TEXT_TASK = "text"
SENTIMENT_TASK = "sentiment"
REVIEW_LM_TASK = "review-lm"
DEFAULT_TASK = TEXT_TASK  # a file without a task: written before there were others


@dataclass(frozen=True)
class Task:
    """One kind of model a checkpoint may hold, as a person is told of it."""

    words: str  # what the file is
    commands: str  # what opens it
    word: str  # the picker's column: what its model does, in a word or two
    unit: str  # what its loss is per and its speed counts: "char", "review", "word"

    @property
    def loss_title(self) -> str:
        return f"Loss (nats/{self.unit})"

    @property
    def rate_label(self) -> str:
        return f"{self.unit}s/s"

    @property
    def speed_key(self) -> str:
        """The speed's name in the metrics file its runs write."""
        return f"{self.unit}s_per_s"


TASKS = {
    TEXT_TASK: Task("a language model (text generation)", "rnntui generate / evaluate / info, or the app's chat",
                    "text", "char"),
    SENTIMENT_TASK: Task("a sentiment model (movie reviews)",
                         "rnntui sentiment, or the app's reviews mode (rnntui --checkpoint FILE, or f7, then ctrl+o)",
                         "reviews", "review"),
    REVIEW_LM_TASK: Task("a language model of movie reviews (a classifier's start)",
                         "rnntui sentiment pretrain --resume, or sentiment train --from-lm", "review LM",
                         "word"),
}


def task_of(header: dict) -> str:
    """A checkpoint header's task (files written before tasks were named are text models)."""
    return header.get("task", DEFAULT_TASK)


def file_task(path: Path) -> str | None:
    """The task a checkpoint file's header names, read without the engine, to route the file to
    the mode that opens it (None: not a checkpoint that says, or not readable). Only a guide:
    loading it checks the whole header and payload."""
    from rnntui.core.errors import RnntuiError
    from rnntui.core.files import checkpoint_header_line, open_regular

    try:
        with open_regular(Path(path), "checkpoint") as f:
            line = checkpoint_header_line(f)
        header = json.loads(line) if line is not None else None
    except (RnntuiError, OSError, ValueError, RecursionError):
        return None
    return task_of(header) if isinstance(header, dict) else None
