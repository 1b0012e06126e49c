"""What the view's workers report, and a unit as the view lists it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Unit:
    state: str
    unit: int
    score: float


class StepLooked(Message):
    def __init__(self, position: int, unit: Unit, step, off: list | None = None, off_label: str = "") -> None:
        super().__init__()
        self.position, self.unit, self.step = position, unit, step
        self.off, self.off_label = off, off_label  # the next-character bars with the marked units off


class UnitsRanked(Message):
    def __init__(self, what: tuple, units: list[Unit] | None, status: str) -> None:
        super().__init__()
        self.what, self.units, self.status = what, units, status


class Switched(Message):
    def __init__(self, line: str, replies=None, off_label: str = "") -> None:
        super().__init__()
        self.line, self.replies, self.off_label = line, replies, off_label
