"""The seed-text input: Enter generates, Up/Down recall earlier seed texts, also those of
earlier sessions (persistence keeps them in the data folder, as a shell keeps its history)."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.widgets import Input

from rnntui.core.errors import RnntuiError
from rnntui.tui.persistence import read_history, write_history


def seed_placeholder(example: str) -> str:
    """The seed field's hint, short enough for an 80-column terminal."""
    return f"Seed text, e.g. {example} · enter replies"


class SeedInput(Input):
    BINDINGS = [
        Binding("up", "history(-1)", "Earlier seed text", show=False),
        Binding("down", "history(1)", "Later seed text", show=False),
    ]

    def __init__(self, history_path: Path | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history_path = history_path
        self.history: list[str] = read_history(history_path) if history_path else []
        self._position = len(self.history)
        self.history_error: str | None = None  # why the history could not be saved, once
        # Keys left to the app's bindings for now instead of typed (pick mode's 1-5 and space,
        # while a reply waits for a pick).
        self.lent_keys: frozenset[str] = frozenset()

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in self.lent_keys and super().check_consume_key(key, character)

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            self._save()
        self._position = len(self.history)

    def _save(self) -> None:
        if self.history_path is None or self.history_error is not None:
            return
        try:
            write_history(self.history_path, self.history)
        except RnntuiError as error:
            # Generation goes on; the app says once that the history is not being kept.
            self.history_error = f"seed texts are not being saved ({error})"
            self.notify(self.history_error, severity="warning")

    def action_history(self, direction: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + direction))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)
