"""Ctrl+O: pick a checkpoint from the data folder, or type the path of any file; each row says
which task its model is for (a text's language model, or a review classifier)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from rnntui.core.tasks import REVIEW_LM_TASK, SENTIMENT_TASK, TASKS, task_of
from rnntui.tui.widgets.path_suggester import PathSuggester

# A name's width where no table decides it (Project Gutenberg names its files
# "mysterious-island-1268-0.txt", 28). The picker fits its names to the room it has.
NAME_WIDTH = 28
COLUMNS = ("checkpoint", "task", "step", "best val~", "text / data", "saved")
NAMES = (0, 4)  # the columns of names, shortened to fit; the others are kept whole
MIN_NAME = 8
CELL_PADDING = 2  # a DataTable cell's, one column on each side


def shortened(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` cut to ``width`` characters with an ellipsis in the middle, which keeps the end
    (an extension, a step number) as well as the start."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return f"{name[:head]}…{name[len(name) - (width - 1 - head):]}"


def header_perplexity(header: dict) -> float | None:
    """A language model of reviews' best held-out perplexity, from its header's loss (None where
    it records none, or none that is a loss in nats per word)."""
    loss = header.get("best_val_loss")
    if isinstance(loss, (int, float)) and not isinstance(loss, bool) and 0 <= loss < 50:
        return math.exp(loss)
    return None


def describe(header: dict, name_width: int | None = NAME_WIDTH) -> tuple[str, str, str, str, str]:
    """Task, step, best validation figure (a language model's loss, a review model's accuracy),
    text or data (shortened to ``name_width``; None: whole) and date columns from a checkpoint
    header."""
    task = task_of(header)
    if task == SENTIMENT_TASK:
        accuracy = header.get("best_val_accuracy")
        best = f"{accuracy:.1%} acc" if isinstance(accuracy, (int, float)) else "-"
        data = header.get("data") if isinstance(header.get("data"), dict) else {}
        corpus = str(data.get("name", "-"))
    elif task == REVIEW_LM_TASK:  # a word model's loss reads best as its perplexity, as its dialogs give it
        perplexity = header_perplexity(header)
        best = f"ppl {perplexity:,.0f}" if perplexity is not None else "-"
        data = header.get("data") if isinstance(header.get("data"), dict) else {}
        corpus = str(data.get("name", "-"))
    else:
        loss = header.get("best_val_loss")
        best = f"{loss:.4f}" if isinstance(loss, (int, float)) else "-"
        corpus = str((header.get("corpus") or {}).get("name") or "-")
    created = header.get("created") or ""
    try:
        created = datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    corpus = shortened(corpus, name_width) if name_width else corpus
    kind = TASKS[task].word if task in TASKS else str(task)
    return (kind, f"{header.get('step', 0):,}", best, corpus, created or "-")


def shown_name(path: Path) -> str:
    """A checkpoint's name in the table; a sweep's trial with its study's (``study/trial-0003.ckpt``)."""
    from rnntui.core.paths import sweeps_dir

    return f"{path.parent.name}/{path.name}" if path.parent.parent == sweeps_dir() else path.name


def fitted_rows(entries: list[tuple[Path, dict]], width: int) -> list[tuple[str, ...]]:
    """The picker's rows for a table ``width`` columns wide: every column but the names whole,
    the names shortened in the middle to share the room left (the one that needs less keeps
    it), and the dates without their time of day where even that leaves too little."""
    rows = [(shown_name(path), *describe(header, name_width=None)) for path, header in entries]
    if not rows:
        return []

    def widest(column: int, rows: list[tuple[str, ...]]) -> int:
        return max(len(COLUMNS[column]), *(len(row[column]) for row in rows))

    for keep_time in (True, False):
        shown = rows if keep_time else [(*row[:5], row[5][:10]) for row in rows]
        others = sum(widest(c, shown) for c in range(len(COLUMNS)) if c not in NAMES)
        room = width - others - CELL_PADDING * len(COLUMNS)
        if room >= 2 * 16:  # names of 16 or more: worth more than the time of day
            break
    need_name, need_text = widest(0, shown), widest(4, shown)
    name_width = min(need_name, max(room - min(need_text, room // 2), MIN_NAME))
    text_width = max(room - name_width, MIN_NAME)
    return [(shortened(row[0], name_width), *row[1:4], shortened(row[4], text_width), row[5]) for row in shown]


class CheckpointPicker(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, entries: list[tuple[Path, dict]], folder: Path, left_out: list[Path] = ()) -> None:
        """``left_out``: the files of ``folder`` that could not be listed (said in a line)."""
        super().__init__()
        self.entries = entries
        self.folder = folder
        self.left_out = list(left_out)

    def compose(self) -> ComposeResult:
        from rnntui.core.paths import sweeps_dir

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
        table.add_columns(*COLUMNS)
        self.fill_table()
        (table if self.entries else self.query_one(Input)).focus()

    def on_resize(self) -> None:
        self.fill_table()

    def fill_table(self) -> None:
        """The rows, fitted to the dialog's width (its content region, once it is laid out; the
        screen's width, less the dialog's border and padding, before)."""
        table = self.query_one(DataTable)
        width = self.query_one("#picker").content_size.width or min(116, self.app.size.width) - 6
        row = table.cursor_row
        table.clear()
        # Two columns to spare: the table's own scrollbar, where the rows outgrow its height.
        for (path, _), cells in zip(self.entries, fitted_rows(self.entries, width - 2), strict=True):
            table.add_row(*cells, key=str(path))
        if self.entries:
            table.move_cursor(row=min(row, len(self.entries) - 1))

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
