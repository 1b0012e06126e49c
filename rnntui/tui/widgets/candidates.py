"""Live bars of the most likely next characters while a reply streams."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def shown(char: str) -> str:
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(char, char)


class CandidateBars(Static):
    def show_top(self, top: tuple, width: int = 24) -> None:
        table = Table.grid(padding=(0, 1))
        for char, probability in top:
            filled = int(round(probability * width))
            bar = Text("█" * filled + "░" * (width - filled), style="green")
            table.add_row(Text(repr(shown(char))[1:-1].center(3), style="bold"), bar, f"{probability:6.1%}")
        self.update(table)
