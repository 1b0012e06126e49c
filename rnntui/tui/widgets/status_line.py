"""The line above the footer: scale factor, length, model and training state."""

from __future__ import annotations

from textual.widgets import Static

NARROW_BELOW = 100  # columns


class StatusLine(Static):
    """Shows the long form of the facts where it fits and a shorter one where it does not,
    choosing again when the terminal is resized."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.wide, self.narrow = "", ""

    def show(self, wide: str, narrow: str) -> None:
        self.wide, self.narrow = wide, narrow
        self._choose()

    def show_message(self, text: str) -> None:
        """A passing message (a download's progress) until the next ``show``."""
        self.update(text)

    def on_resize(self) -> None:
        self._choose()

    def _choose(self) -> None:
        width = self.size.width or self.app.size.width
        self.update(self.narrow if width < NARROW_BELOW else self.wide)
