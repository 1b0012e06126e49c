"""Ctrl+O: pick a checkpoint from the data folder, or type the path of any file; each row says
which task its model is for (a text's language model, or a review classifier)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from rnntui.tui.widgets.path_suggester import PathSuggester

# The widest a name column gets: with two such, the table fits the dialog in a 120-column
# terminal (Project Gutenberg names its files "mysterious-island-1268-0.txt", 28).
NAME_WIDTH = 28


def shortened(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` cut to ``width`` characters with an ellipsis in the middle, which keeps the end
    (an extension, a step number) as well as the start."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return f"{name[:head]}…{name[len(name) - (width - 1 - head):]}"


TASKS = {"text": "text", "sentiment": "reviews"}  # what a checkpoint's model does, in a word


def describe(header: dict) -> tuple[str, str, str, str, str]:
    """Task, step, best validation figure (a language model's loss, a review model's accuracy),
    text or data and date columns from a checkpoint header."""
    task = header.get("task", "text")  # files written before tasks were named are language models
    if task == "sentiment":
        accuracy = header.get("best_val_accuracy")
        best = f"{accuracy:.1%} acc" if isinstance(accuracy, (int, float)) else "-"
        data = header.get("data") if isinstance(header.get("data"), dict) else {}
        corpus = shortened(str(data.get("name", "-")))
    else:
        loss = header.get("best_val_loss")
        best = f"{loss:.4f}" if isinstance(loss, (int, float)) else "-"
        corpus = shortened(str((header.get("corpus") or {}).get("name") or "-"))
    created = header.get("created") or ""
    try:
        created = datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return (TASKS.get(task, str(task)), f"{header.get('step', 0):,}", best, corpus, created or "-")


def shown_name(path: Path) -> str:
    """A checkpoint's name in the table; a sweep's trial with its study's (``study/trial-0003.ckpt``)."""
    from rnntui.paths import sweeps_dir

    return f"{path.parent.name}/{path.name}" if path.parent.parent == sweeps_dir() else path.name


class CheckpointPicker(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, entries: list[tuple[Path, dict]], folder: Path, left_out: list[Path] = ()) -> None:
        """``left_out``: the files of ``folder`` that could not be listed (said in a line)."""
        super().__init__()
        self.entries = entries
        self.folder = folder
        self.left_out = list(left_out)

    def compose(self) -> ComposeResult:
        from rnntui.paths import sweeps_dir

        trials = any(path.parent.parent == sweeps_dir() for path, _ in self.entries)
        with Vertical(id="picker", classes="dialog") as dialog:
            dialog.border_title = "Load a checkpoint"
            where = f"Saved in {self.folder}" + (f"; sweeps' trials (study/trial) in {sweeps_dir()}" if trials else "")
            yield Label(where if self.entries else f"No checkpoints in {self.folder} yet.")
            if self.left_out:
                names = ", ".join(path.name for path in self.left_out[:3])
                more = f" and {len(self.left_out) - 3:,} more" if len(self.left_out) > 3 else ""
                yield Label(f"Left out, not readable as checkpoints: {names}{more}", id="picker-left-out",
                            markup=False)
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
            yield Input(placeholder="or type a path and press enter (→ accepts a completion)",
                        id="picker-path", suggester=PathSuggester(),
                        select_on_focus=False)  # typing that moved focus here keeps its first character

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("checkpoint", "task", "step", "best val~", "text / data", "saved")
        for path, header in self.entries:
            table.add_row(shortened(shown_name(path)), *describe(header), key=str(path))
        (table if self.entries else self.query_one(Input)).focus()

    def on_key(self, event) -> None:
        """Typing while the table has focus types into the path field: a path is typed, not
        searched for in the table (enter there would load the highlighted row instead)."""
        field = self.query_one("#picker-path", Input)
        if self.focused is not field and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            field.focus()
            field.insert_text_at_cursor(event.character)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(Path(event.row_key.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())
