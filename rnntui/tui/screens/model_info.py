"""F6: what the current model is, as `rnntui info` prints it for a checkpoint."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from rnntui.info import info_lines


class ModelInfoScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f6,q", "dismiss", "Close")]

    def __init__(self, info: dict) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for line in info_lines(self.info):
            label, text = line.split(":", 1)
            # Text: a path or a command is not markup; fold: a word longer than the line (the
            # characters the model knows) breaks instead of being cut off.
            table.add_row(label, Text(text.strip(), overflow="fold"))
        with VerticalScroll(id="model-info", classes="dialog") as dialog:
            dialog.border_title = "The current model (escape closes)"
            yield Static(table, id="model-info-table")
