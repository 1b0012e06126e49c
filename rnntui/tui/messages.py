"""Worker -> UI traffic. Workers run in threads and only ever post these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


class EngineReady(Message):
    """A model is loaded (at start, or from the picker); ``info`` is a ``workbench.ModelInfo``."""

    def __init__(self, info: Any, history: Any, note: str = "") -> None:
        super().__init__()
        self.info, self.history, self.note = info, history, note


class EngineFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TrainingProgress(Message):
    """Training events since the last message (coalesced, so a fast trainer cannot flood us)."""

    def __init__(self, events: list) -> None:
        super().__init__()
        self.events = events


class TrainingStopped(Message):
    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class DownloadProgress(Message):
    def __init__(self, done: int, total: int | None) -> None:
        super().__init__()
        self.done, self.total = done, total


@dataclass
class StreamedChar:
    char: str
    probability: float


class GenerationChunk(Message):
    """Characters sampled since the last chunk (about one frame's worth)."""

    def __init__(self, exchange: int, chars: list[StreamedChar], top: tuple) -> None:
        super().__init__()
        self.exchange, self.chars, self.top = exchange, chars, top


class GenerationDone(Message):
    def __init__(self, exchange: int, count: int, seconds: float, stopped: bool,
                 error: str | None = None) -> None:
        super().__init__()
        self.exchange, self.count, self.seconds = exchange, count, seconds
        self.stopped, self.error = stopped, error


class Saved(Message):
    def __init__(self, path: str | None, error: str | None = None) -> None:
        super().__init__()
        self.path, self.error = path, error
