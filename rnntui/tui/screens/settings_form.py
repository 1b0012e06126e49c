"""A dialog of number fields and checkboxes (the training settings, the reply settings): each
number parsed and range-checked, the first problem shown under them, and only the values
changed returned."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label


class SpaceCheckbox(Checkbox, inherit_bindings=False):
    """Space ticks it; enter is left to the dialog, which then applies (or starts), as it does
    from a text field: Textual's own Checkbox toggles on enter too, so space then enter used to
    toggle it twice and leave the dialog open."""

    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]


# A field: (setting, label, parser, format of its current value).
Field = tuple[str, str, Callable[[str], int | float], str]


class SettingsForm(ModalScreen[dict | None]):
    """Dismissed with the settings that were changed, or None if cancelled or none changed
    (which it says). Enter in any field or on a checkbox, or Apply, applies."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "apply", "Apply", show=False)]
    FIELDS: tuple[Field, ...] = ()
    CHECKBOXES: tuple[tuple[str, str], ...] = ()  # (setting, label): on / off settings, under the fields
    HEADING = ""  # the dialog's border title
    INTRO = ""
    DIALOG_ID = ""

    def __init__(self, current: dict) -> None:
        super().__init__()
        self.current = current
        self.shown = {name: form.format(current[name]) for name, _, _, form in self.FIELDS}

    def compose(self) -> ComposeResult:
        with Vertical(id=self.DIALOG_ID, classes="dialog") as dialog:
            dialog.border_title = self.HEADING
            yield Label(self.INTRO)
            with Grid(classes="settings-grid"):
                for name, label, _, _ in self.FIELDS:
                    yield Label(label)
                    yield Input(self.shown[name], id=f"setting-{name}", compact=True)
            for name, label in self.CHECKBOXES:
                yield SpaceCheckbox(label, self.current[name], id=f"setting-{name}", compact=True)
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

    def action_apply(self) -> None:
        self.apply()

    def apply(self) -> None:
        changes: dict = {}
        for name, label, parse, _ in self.FIELDS:
            text = self.query_one(f"#setting-{name}", Input).value
            if text.strip() == self.shown[name]:
                continue  # untouched: keep the exact value (the field may show it rounded)
            try:
                value = parse(text)
            except ValueError as error:
                self.query_one("#settings-error", Label).update(f"{label}: {error}")
                self.query_one(f"#setting-{name}", Input).focus()
                return
            if value != self.current[name]:
                changes[name] = value
        for name, _ in self.CHECKBOXES:
            ticked = self.query_one(f"#setting-{name}", Checkbox).value
            if ticked != self.current[name]:
                changes[name] = ticked
        if not changes:
            self.app.notify(f"The {self.HEADING.lower()} are unchanged.")
        self.dismiss(changes or None)
