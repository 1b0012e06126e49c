"""Small modal dialogs: generation length, quitting with unsaved training."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

MAX_LENGTH = 100_000


class LengthScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Generation length"
            yield Label(f"Characters to generate per reply (1 to {MAX_LENGTH:,}):")
            yield Input(str(self.current), type="integer", id="length-input")
            yield Label("", id="length-error", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = int(event.value)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_LENGTH:
            self.query_one("#length-error", Label).update(f"enter a whole number from 1 to {MAX_LENGTH:,}")
            return
        self.dismiss(value)


class QuitScreen(ModalScreen[str]):
    """Asked when training has progress that is not saved: save, discard, or stay."""

    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]

    def __init__(self, unsaved_steps: int) -> None:
        super().__init__()
        self.unsaved_steps = unsaved_steps

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Quit rnntui?"
            yield Label(f"{self.unsaved_steps:,} training steps are not saved.")
            with Horizontal(classes="buttons"):
                yield Button("Save and quit", id="save", variant="primary")
                yield Button("Quit without saving", id="discard", variant="error")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)
