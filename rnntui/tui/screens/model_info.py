"""F6: what the current model is, as `rnntui info` prints it for a checkpoint."""

from __future__ import annotations

import re

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from rnntui.charlm.info import info_lines


class ModelInfoScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f6,q", "dismiss", "Close")]

    def __init__(self, info: dict) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="model-info", classes="dialog") as dialog:
            dialog.border_title = "The current model (escape closes)"
            yield Static(self.table(None), id="model-info-table")

    def on_resize(self) -> None:
        width = self.query_one("#model-info-table").content_size.width
        if width:
            self.query_one("#model-info-table", Static).update(self.table(width))

    def table(self, width: int | None) -> Table:
        lines = [line.split(":", 1) for line in info_lines(self.info)]
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        room = None if width is None else max(width - max(len(label) for label, _ in lines) - 2, 10)
        for label, text in lines:
            # Text: a path or a command is not markup; fold: a word longer than the line (the
            # characters the model knows) breaks instead of being cut off, and a path breaks
            # after one of its slashes rather than inside a name.
            text = text.strip()
            if room is not None and "/" in text:
                text = break_after_slashes(text, room)
            table.add_row(label, Text(text, overflow="fold"))
        return table


def break_after_slashes(text: str, width: int) -> str:
    """``text`` with line breaks where a line of ``width`` would otherwise cut a path in a
    name: after a slash or a space, the last one that fits."""
    lines, line = [], ""
    for piece in re.findall(r"[^/ ]*[/ ]|[^/ ]+$", text):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    lines.append(line)
    return "\n".join(lines)
