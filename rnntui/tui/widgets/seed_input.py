"""The seed-text input: Enter generates, Up/Down recall earlier seed texts."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class SeedInput(Input):
    BINDINGS = [
        Binding("up", "history(-1)", "Earlier seed text", show=False),
        Binding("down", "history(1)", "Later seed text", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = []
        self._position = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._position = len(self.history)

    def action_history(self, direction: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + direction))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)
