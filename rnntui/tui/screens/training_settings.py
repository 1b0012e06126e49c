"""F2: the training settings the next step uses, as `rnntui train`'s flags of the same names."""

from __future__ import annotations

import math
from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label


def _number(kind: type, low: float, high: float, *, low_open: bool = False,
            high_open: bool = False) -> Callable[[str], int | float]:
    """A parser that accepts ``kind`` values in the range, or raises ValueError saying which."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    words = "a whole number" if kind is int else "a number"

    def parse(text: str) -> int | float:
        try:
            value = kind(text.strip())
        except ValueError:
            value = math.nan
        fits = (math.isfinite(value) and (value > low if low_open else value >= low)
                and (value < high if high_open else value <= high))
        if not fits:
            raise ValueError(f"{words} in {left}{low:g}, {high:g}{right}")
        return value

    return parse


# (setting, label, parser, format): the fields, in order.
FIELDS = (
    ("lr", "learning rate (constant from now on)", _number(float, 0, 1, low_open=True), "{:.6g}"),
    ("batch_size", "batch size (windows per step)", _number(int, 1, 4096), "{}"),
    ("seq_length", "sequence length (characters per window)", _number(int, 1, 10_000), "{}"),
    ("dropout", "dropout on the LSTM's outputs", _number(float, 0, 1, high_open=True), "{:g}"),
    ("weight_dropout", "weight dropout (recurrent weights)", _number(float, 0, 1, high_open=True), "{:g}"),
)


class TrainingSettingsScreen(ModalScreen[dict | None]):
    """Dismissed with the settings that were changed (possibly none), or None if cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, current: dict) -> None:
        super().__init__()
        self.current = current
        self.shown = {name: form.format(current[name]) for name, _, _, form in FIELDS}

    def compose(self) -> ComposeResult:
        with Vertical(id="training-settings", classes="dialog") as dialog:
            dialog.border_title = "Training settings"
            yield Label("From the next step on; the weights, optimizer state and step stay. "
                        "A checkpoint saved afterwards records them, as rnntui train does.")
            with Grid(id="settings-grid"):
                for name, label, _, _ in FIELDS:
                    yield Label(label)
                    yield Input(self.shown[name], id=f"setting-{name}", compact=True)
            yield Checkbox("carry the state from window to window (--carry-state)",
                           self.current["carry_state"], id="setting-carry_state", compact=True)
            yield Label("", id="settings-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.apply()
        else:
            self.dismiss(None)

    def apply(self) -> None:
        changes: dict = {}
        for name, label, parse, _ in FIELDS:
            text = self.query_one(f"#setting-{name}", Input).value
            if text.strip() == self.shown[name]:
                continue  # untouched: keep the exact value (the field shows it rounded)
            try:
                changes[name] = parse(text)
            except ValueError as error:
                self.query_one("#settings-error", Label).update(f"{label}: {error}")
                self.query_one(f"#setting-{name}", Input).focus()
                return
        carry = self.query_one("#setting-carry_state", Checkbox).value
        if carry != self.current["carry_state"]:
            changes["carry_state"] = carry
        self.dismiss(changes)
