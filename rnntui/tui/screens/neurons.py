"""Inside the network: the current model reads the first characters of its held-out text once (in a
worker), then for each built-in feature its units are ranked by correlation, cell state and hidden
state apart, and the text is shown coloured by the chosen unit (as ``rnntui neurons`` does); ``a``
switches that unit off and compares the loss with random units switched off instead."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from rnntui.core.errors import RnntuiError
from rnntui.neurons import FEATURE_NAMES

READ_CHARS = 20_000  # characters read and correlated
SHOWN_CHARS = 600  # of them, shown coloured
TOP = 4  # units listed for each state
RANDOM_SETS = 3  # random units switched off to compare with


@dataclass
class Unit:
    state: str
    unit: int
    score: float


class NeuronsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("left", "feature(-1)", "Feature"),
                Binding("right", "feature(1)", "Feature"), Binding("up", "unit(-1)", "Unit"),
                Binding("down", "unit(1)", "Unit"), Binding("a", "switch_off", "Switch off")]
    DEFAULT_CSS = """
    NeuronsScreen { align: center middle; }
    #neurons { width: 90%; height: 90%; border: round $accent; padding: 0 1; background: $surface; }
    #neurons-units { height: auto; }
    #neurons-switched-off { height: auto; margin-bottom: 1; }
    #neurons-text { height: 1fr; overflow-y: auto; }
    """

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.feature = 0
        self.selected = 0
        self.reading = None  # (text, Reading, corpus name) once the worker has read it
        self.read_ids = None  # the characters read, and the model that read them (a copy)
        self.model = None
        self.units: list[Unit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="neurons") as box:
            box.border_title = "Inside the network · ←→ feature · ↑↓ unit · a: switch off · esc"
            yield Static(f"reading the first {READ_CHARS:,} characters of the held-out text…", id="neurons-status")
            yield Static("", id="neurons-units")
            yield Static("", id="neurons-switched-off")
            yield Static("", id="neurons-text")

    def on_mount(self) -> None:
        self.read_text()

    @work(thread=True, exclusive=True, group="neurons")
    def read_text(self) -> None:
        from rnntui.neurons.activations import read

        try:
            held_out = self.session.held_out()
            ids = held_out.ids[:READ_CHARS]
            text = self.session.vocab.decode(ids)
            reading = read(held_out.model, ids)[0]
        except RnntuiError as error:
            self.app.call_from_thread(self.query_one("#neurons-status", Static).update, f"cannot read: {error}")
            return
        self.app.call_from_thread(self.have_read, text, reading, held_out.corpus_name, ids, held_out.model)

    def have_read(self, text: str, reading, name: str, ids, model) -> None:
        self.reading, self.read_ids, self.model = (text, reading, name), ids, model
        self.rank()

    def rank(self) -> None:
        from rnntui.neurons.features import feature_values
        from rnntui.neurons.rank import rank_units

        if self.reading is None:
            return
        text, reading, name = self.reading
        feature = FEATURE_NAMES[self.feature]
        states = ("cell", "hidden") if reading.cell is not None else ("hidden",)
        status = self.query_one("#neurons-status", Static)
        try:
            values = feature_values(text, feature)
            self.units = [Unit(state, r.unit, r.score) for state in states
                          for r in rank_units(reading.state(state), values, TOP)]
        except RnntuiError:
            self.units = []
            status.update(f"{feature}: it does not vary over these {len(text):,} characters of {name}; "
                          "←/→ for another feature")
        else:
            status.update(f"{feature}: the units that follow it best over {len(text):,} characters of {name}, "
                          "by correlation")
        self.selected = min(self.selected, max(len(self.units) - 1, 0))
        self.show()

    def show(self) -> None:
        listing = Text()
        for index, unit in enumerate(self.units):
            bar = "█" * round(abs(unit.score) * 20)
            line = f"{unit.state:>6} unit {unit.unit:4d}  r {unit.score:+.2f}  {bar}\n"
            listing.append(line, style="reverse" if index == self.selected else "")
        self.query_one("#neurons-units", Static).update(listing)
        if not self.units or self.reading is None:
            self.query_one("#neurons-text", Static).update("")
            return
        text, reading, _ = self.reading
        chosen = self.units[self.selected]
        values = reading.state(chosen.state)[:SHOWN_CHARS, chosen.unit].tolist()
        self.query_one("#neurons-text", Static).update(coloured(text[:SHOWN_CHARS], values))

    def action_switch_off(self) -> None:
        if self.units and self.reading is not None:
            chosen = self.units[self.selected]
            self.query_one("#neurons-switched-off", Static).update(
                f"switching {chosen.state} unit {chosen.unit} off, and {RANDOM_SETS} random units…")
            self.switch_off(chosen, FEATURE_NAMES[self.feature])

    @work(thread=True, exclusive=True, group="neurons-switch-off")
    def switch_off(self, chosen: Unit, feature: str) -> None:
        from rnntui.neurons.ablate import ablate
        from rnntui.neurons.features import TARGETS, target_mask

        text = self.reading[0]
        result = ablate(self.model, self.read_ids, [chosen.unit], target_mask(text, feature), chosen.state,
                        random_count=RANDOM_SETS)
        on = TARGETS[feature]
        line = (f"{chosen.state} unit {chosen.unit} off: {result.base.text:.3f} → {result.clamped.text:.3f} "
                f"nats/char on all characters, {result.base.feature:.3f} → {result.clamped.feature:.3f} on {on} "
                f"({result.feature_characters:,}); {result.random_as_harmful} of {RANDOM_SETS} random units "
                "switched off instead did as much harm")
        self.app.call_from_thread(self.query_one("#neurons-switched-off", Static).update, line)

    def action_feature(self, step: int) -> None:
        self.feature = (self.feature + step) % len(FEATURE_NAMES)
        self.rank()

    def action_unit(self, step: int) -> None:
        if self.units:
            self.selected = (self.selected + step) % len(self.units)
            self.show()


def coloured(text: str, values: list[float]) -> Text:
    """Each character on a diverging background (blue below zero, red above, white at zero) with
    black letters, so that it reads the same in every theme."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    shown = Text()
    for char, value in zip(text, values, strict=True):
        if char == "\n":
            shown.append("\n")
            continue
        fade = round(255 - 200 * min(abs(value) / top, 1.0))
        colour = f"rgb(255,{fade},{fade})" if value > 0 else f"rgb({fade},{fade},255)"
        shown.append(char, style=f"black on {colour}")
    return shown
