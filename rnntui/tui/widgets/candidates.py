"""Live bars of the most likely next characters while a reply streams (numbered in pick mode)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static


def shown(char: str) -> str:
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(char, char)


class CandidateBars(Static):
    class Clicked(Message):
        """A click on candidate ``index`` (0: the likeliest); in pick mode it picks that one."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    shown_count = 0  # candidates on show, one a row

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < self.shown_count:
            self.post_message(self.Clicked(offset.y))

    def show_top(self, top: tuple, width: int = 24, numbered: bool = False) -> None:
        """The candidates, best first, as bars; ``numbered`` (pick mode) puts the key that picks
        each one in front of it."""
        table = Table.grid(padding=(0, 1))
        for number, (char, probability) in enumerate(top, start=1):
            filled = int(round(probability * width))
            bar = Text("█" * filled + "░" * (width - filled), style="green")
            cells = [Text(repr(shown(char))[1:-1].center(3), style="bold"), bar, f"{probability:6.1%}"]
            table.add_row(*([Text(f"{number}", style="reverse bold")] if numbered else []), *cells)
        self.shown_count = len(top)
        self.update(table)
