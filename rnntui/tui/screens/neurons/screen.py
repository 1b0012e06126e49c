"""Inside the network: the current model reads the first characters of its held-out text once (in a
worker), then for each built-in feature, a regular expression of one's own or a span marked in
the text, its units are ranked (cell state and hidden state apart), and the text is shown coloured
by the chosen unit (as ``rnntui neurons`` does). ``s`` looks at one step under a cursor: the
unit's gates and states and the next-character bars; ``x`` marks units and ``a`` switches them
(or the chosen one) off: the loss with them off against on and against random units off, and a
reply generated with them off beside one with them on. With a review model loaded, ``r`` shows
its verdict word by word and the units that follow it."""

from __future__ import annotations

from dataclasses import astuple

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from rnntui.core.errors import RnntuiError
from rnntui.neurons import FEATURE_NAMES
from rnntui.tui import keys
from rnntui.tui.screens.neurons.messages import StepLooked, Switched, Unit, UnitsRanked
from rnntui.tui.screens.neurons.render import coloured, replies, step_panel
from rnntui.tui.screens.neurons.review import ReviewInside, sentiment_session, typed_review

READ_CHARS = 20_000  # characters read and correlated
SHOWN_CHARS = 600  # of them, shown coloured
TOP = 4  # units listed for each state
RANDOM_SETS = 3  # random units switched off to compare with
REPLY_CHARS = 80  # of each reply compared
SEED_CHARS = 40  # the seed text: the characters up to the cursor (or the text's first)
REPLY_SCALE_FACTOR = 2.0  # the book's sample() uses 2.0
REPLY_SEED = 1
LINES_BEFORE_CURSOR = 2  # of the text shown above the cursor's line while stepping


class NeuronsScreen(ModalScreen[None]):
    BINDINGS = [Binding(names, action, label) for names, action, label in keys.NEURONS_KEYS]
    DEFAULT_CSS = """
    NeuronsScreen { align: center middle; }
    #neurons { width: 90%; height: 90%; border: round $accent; padding: 0 1; background: $surface; }
    #neurons-units, #neurons-step { height: auto; }
    #neurons-step, #neurons-regex, #neurons-replies, #neurons-review { display: none; }
    #neurons-switched-off { height: auto; margin-bottom: 1; }
    #neurons-replies { height: auto; margin-bottom: 1; }
    #neurons-text { height: 1fr; overflow-y: auto; }
    """
    AUTO_FOCUS = ""  # nothing (None takes the app's): the keys are the screen's, inputs focus when opened
    TITLE = "Inside the network · ←→ feature · ↑↓ unit · a: switch off · esc"

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.feature = 0
        self.selected = 0
        self.reading = None  # (text, Reading, corpus name) once the worker has read it
        self.read_ids = None  # the characters read, and the model that read them (a copy)
        self.model = None
        self.vocab = None
        self.units: list[Unit] = []
        self.what: tuple = ("feature", FEATURE_NAMES[0])  # what the units are ranked for
        self.stepping = False
        self.cursor = 0  # in the shown text, while stepping
        self.mark: int | None = None  # a span's first character, while marking one
        self.span: tuple[int, int] | None = None  # the span the units are ranked for
        self.step = None  # the last step looked at (rnntui.neurons.step.Step)
        self.marked: list[Unit] = []  # units to switch off together (one state)
        self.replies = None

    def compose(self) -> ComposeResult:
        with Vertical(id="neurons") as box:
            box.border_title = self.TITLE
            yield Static(f"reading the first {READ_CHARS:,} characters of the held-out text…", id="neurons-status")
            yield Input(placeholder="a regular expression · enter ranks the units for it · esc", id="neurons-regex")
            yield Static("", id="neurons-units")
            yield Static("", id="neurons-step")
            yield Static("", id="neurons-switched-off")
            yield Static("", id="neurons-replies")
            yield Static("", id="neurons-text")
            yield ReviewInside(id="neurons-review")

    def on_mount(self) -> None:
        self.read_text()
        if getattr(self.app, "mode", None) == keys.REVIEWS and sentiment_session(self.app) is not None:
            self.action_review()

    # -- reading and ranking ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="neurons")
    def read_text(self) -> None:
        from rnntui.neurons.activations import read

        try:
            held_out = self.session.held_out()
            vocab = self.session.vocab
            ids = held_out.ids[:READ_CHARS]
            text = vocab.decode(ids)
            status = self.query_one("#neurons-status", Static)

            def progress(done: int, total: int) -> None:
                self.app.call_from_thread(status.update, f"reading the first {total:,} characters of "
                                          f"{held_out.corpus_name}'s held-out text… {done / total:.0%}")

            reading = read(held_out.model, ids, progress=progress)[0]
        except RnntuiError as error:
            self.app.call_from_thread(self.query_one("#neurons-status", Static).update, f"cannot read: {error}")
            return
        self.app.call_from_thread(self.have_read, text, reading, held_out.corpus_name, ids, held_out.model, vocab)

    def have_read(self, text: str, reading, name: str, ids, model, vocab) -> None:
        self.reading, self.read_ids, self.model, self.vocab = (text, reading, name), ids, model, vocab
        self.rank()

    def rank(self) -> None:
        from rnntui.neurons.features import feature_values
        from rnntui.neurons.rank import rank_units

        if self.reading is None:
            return
        text, reading, name = self.reading
        feature = FEATURE_NAMES[self.feature]
        self.what, self.span = ("feature", feature), None
        status = self.query_one("#neurons-status", Static)
        try:
            values = feature_values(text, feature)
            self.units = [Unit(state, r.unit, r.score) for state in self.states()
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

    def states(self) -> tuple[str, ...]:
        return ("cell", "hidden") if self.reading[1].cell is not None else ("hidden",)

    @work(thread=True, exclusive=True, group="neurons-rank")
    def rank_for(self, what: tuple) -> None:
        """The units ranked for a regular expression (by correlation) or a span (by selectivity)."""
        from rnntui.neurons.features import feature_values
        from rnntui.neurons.rank import rank_span, rank_units

        text, reading, name = self.reading
        try:
            if what[0] == "regex":
                values = feature_values(text, "regex", what[1])
                ranked = {state: rank_units(reading.state(state), values, TOP) for state in self.states()}
                status = (f"regex {what[1]}: the units that follow its matches best over {len(text):,} "
                          f"characters of {name}, by correlation")
            else:
                ranked = {state: rank_span(reading.state(state), *what[1], TOP) for state in self.states()}
                status = (f"the marked span ({what[1][1] - what[1][0]} characters): the units most selectively "
                          f"on there and off elsewhere, over {len(text):,} characters")
        except RnntuiError as error:
            self.post_message(UnitsRanked(what, None, str(error)))
            return
        units = [Unit(state, r.unit, r.score) for state, found in ranked.items() for r in found]
        self.post_message(UnitsRanked(what, units, status))

    def on_units_ranked(self, message: UnitsRanked) -> None:
        if message.units is None:
            self.notify(message.status, title="Inside the network", severity="error", markup=False)
            return
        self.what, self.units, self.selected = message.what, message.units, 0
        self.span = message.what[1] if message.what[0] == "span" else None
        self.query_one("#neurons-status", Static).update(message.status)
        self.show()

    # -- showing ------------------------------------------------------------------------------------
    def chosen(self) -> Unit | None:
        return self.units[self.selected] if self.units else None

    def show(self) -> None:
        listing = Text()
        marked = {(u.state, u.unit) for u in self.marked}
        for index, unit in enumerate(self.units):
            bar = "█" * round(min(abs(unit.score), 1.0) * 20)
            sign = "x" if (unit.state, unit.unit) in marked else " "
            score = f"r {unit.score:+.2f}" if self.what[0] != "span" else f"s {unit.score:+.2f}"
            line = f"{unit.state:>6} unit {unit.unit:4d}  {score}  {bar}{' ' + sign if sign != ' ' else ''}\n"
            listing.append(line, style="reverse" if index == self.selected else "")
        self.query_one("#neurons-units", Static).update(listing)
        if not self.units or self.reading is None:
            self.query_one("#neurons-text", Static).update("")
            return
        text, reading, _ = self.reading
        chosen = self.chosen()
        values = reading.state(chosen.state)[:SHOWN_CHARS, chosen.unit].tolist()
        shown, start = text[:SHOWN_CHARS], 0
        if self.stepping:  # from a line or two above the cursor's, so that it stays in sight
            start = self.window_start(shown)
        span = self.span if self.mark is None else (min(self.mark, self.cursor), max(self.mark, self.cursor) + 1)
        self.query_one("#neurons-text", Static).update(
            coloured(shown[start:], values[start:], self.cursor if self.stepping else None, span, start))

    def window_start(self, shown: str) -> int:
        start = self.cursor
        for _ in range(LINES_BEFORE_CURSOR + 1):
            start = shown.rfind("\n", 0, start)
            if start < 0:
                return 0
        return start + 1

    # -- looking at one step ------------------------------------------------------------------------
    def action_step(self) -> None:
        if self.reading is None or not self.units:
            self.notify("choose a feature with units first (←/→)", title="Inside the network")
            return
        self.stepping = not self.stepping
        self.mark = None
        self.query_one("#neurons-units").display = not self.stepping
        self.query_one("#neurons-step").display = self.stepping
        self.query_one("#neurons").border_title = (
            "Step · ←→ char · ^←^→ word · ↑↓ unit · m: span · x: off · esc" if self.stepping
            else self.TITLE)
        if self.stepping:
            self.look()
        self.show()

    def move_cursor(self, position: int) -> None:
        shown = min(SHOWN_CHARS, len(self.reading[0]))
        self.cursor = min(max(position, 0), shown - 1)
        self.show()
        self.look()

    def action_word(self, step: int) -> None:
        if not self.stepping:
            return
        text = self.reading[0][:SHOWN_CHARS]
        position = self.cursor + step
        while 0 < position < len(text) - 1 and not (text[position].isalnum() and not text[position - 1].isalnum()):
            position += step
        self.move_cursor(position)

    def look(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.query_one("#neurons-step", Static).update(f"step {self.cursor:,}: reading…")
            self.look_at(self.cursor, chosen, list(self.marked))

    @work(thread=True, exclusive=True, group="neurons-step")
    def look_at(self, position: int, unit: Unit, marked: list[Unit]) -> None:
        from rnntui.neurons.step import look_at_step, next_chars_with_units_off

        step = look_at_step(self.model, self.vocab, self.read_ids, position, [unit.unit])
        off = None
        if marked:  # the bars with the marked units off, beside
            off = next_chars_with_units_off(self.model, self.vocab, self.read_ids, position,
                                            [u.unit for u in marked], marked[0].state)
        if not get_current_worker().is_cancelled:
            self.post_message(StepLooked(position, unit, step, off, f"{self.units_label(marked)} off" if off else ""))

    def on_step_looked(self, message: StepLooked) -> None:
        if message.position != self.cursor or message.unit != self.chosen():
            return  # the cursor or the unit has moved on since
        self.step = message.step
        rank = f"{self.selected + 1} of {len(self.units)}"
        self.query_one("#neurons-step", Static).update(
            step_panel(message.step, *astuple(message.unit)[:2], rank, message.off, message.off_label))

    # -- finding by a regular expression or a span ------------------------------------------------
    def action_regex(self) -> None:
        if self.reading is None:
            return
        regex = self.query_one("#neurons-regex", Input)
        regex.display = True
        regex.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "neurons-regex":
            return
        from rnntui.neurons.features import compile_regex

        event.stop()
        try:
            compile_regex(event.value, what="The expression")
        except RnntuiError as error:
            self.notify(str(error), title="Inside the network", severity="error", markup=False)
            return
        self.close_regex()
        self.rank_for(("regex", event.value))

    def close_regex(self) -> None:
        regex = self.query_one("#neurons-regex", Input)
        regex.display = False
        self.set_focus(None)

    def action_mark(self) -> None:
        """The first press marks where a span begins (at the cursor), the second where it ends."""
        if not self.stepping:
            self.notify("s first: move the cursor to where the span begins, then m", title="Inside the network")
            return
        if self.mark is None:
            self.mark = self.cursor
            self.notify("now move to the span's end and press m again", title="Inside the network")
            self.show()
            return
        start, end = min(self.mark, self.cursor), max(self.mark, self.cursor) + 1
        self.mark = None
        self.rank_for(("span", (start, end)))

    # -- switching off ---------------------------------------------------------------------------------
    def action_mark_unit(self) -> None:
        chosen = self.chosen()
        if chosen is None:
            return
        if any(u.state != chosen.state for u in self.marked):
            self.marked = []  # units are switched off together in one state
        key = (chosen.state, chosen.unit)
        kept = [u for u in self.marked if (u.state, u.unit) != key]
        self.marked = kept if len(kept) < len(self.marked) else [*self.marked, chosen]
        self.show()
        if self.stepping:
            self.look()

    def action_switch_off(self) -> None:
        chosen = self.chosen()
        if chosen is not None and self.reading is not None:
            units = self.marked or [chosen]
            label = self.units_label(units)
            self.query_one("#neurons-switched-off", Static).update(
                f"switching {label} off, and {RANDOM_SETS} random sets of as many units…")
            self.switch_off(units[0].state, sorted(u.unit for u in units), label, self.what, self.seed_text())

    @staticmethod
    def units_label(units: list[Unit]) -> str:
        numbers = ", ".join(str(u.unit) for u in sorted(units, key=lambda u: u.unit))
        return f"{units[0].state} unit{'s' if len(units) > 1 else ''} {numbers}"

    def seed_text(self) -> str:
        text = self.reading[0]
        end = self.cursor + 1 if self.stepping and self.cursor + 1 >= SEED_CHARS // 2 else SEED_CHARS
        return text[max(0, end - SEED_CHARS):end]

    @work(thread=True, exclusive=True, group="neurons-switch-off")
    def switch_off(self, state: str, units: list[int], label: str, what: tuple, seed_text: str) -> None:
        from rnntui.neurons.ablate import ablate
        from rnntui.neurons.features import TARGETS, target_mask
        from rnntui.neurons.rank import span_feature
        from rnntui.neurons.reply import compare_replies

        text = self.reading[0]
        if what[0] == "span":
            mask, on = span_feature(len(text), *what[1]) > 0, "the marked span"
        elif what[0] == "regex":
            mask, on = target_mask(text, "regex", what[1]), "the expression's matches"
        else:
            mask, on = target_mask(text, what[1]), TARGETS[what[1]]
        result = ablate(self.model, self.read_ids, units, mask, state, random_count=RANDOM_SETS)
        line = (f"{label} off: {result.base.text:.3f} → {result.clamped.text:.3f} nats/char on all characters, "
                f"{result.base.feature:.3f} → {result.clamped.feature:.3f} on {on} "
                f"({result.feature_characters:,}); {result.random_as_harmful} of {RANDOM_SETS} random units "
                "switched off instead did as much harm")
        try:
            found = compare_replies(self.model, self.vocab, seed_text, REPLY_CHARS, units, state,
                                    scale_factor=REPLY_SCALE_FACTOR, random_seed=REPLY_SEED)
        except RnntuiError as error:
            self.post_message(Switched(f"{line}\nno replies compared: {error}"))
            return
        self.post_message(Switched(line, found, f"{label} off"))

    def on_switched(self, message: Switched) -> None:
        self.query_one("#neurons-switched-off", Static).update(message.line)
        self.replies = message.replies
        shown = self.query_one("#neurons-replies", Static)
        shown.display = message.replies is not None
        if message.replies is not None:
            shown.update(replies(message.replies.on, message.replies.off, message.replies.parted_at,
                                 message.off_label))

    # -- the review model --------------------------------------------------------------------------------
    def action_review(self) -> None:
        review = self.query_one(ReviewInside)
        if not review.display and sentiment_session(self.app) is None:
            self.notify("no review model is loaded: f7 opens the reviews mode and its model",
                        title="Inside the network")
            return
        review.display = not review.display
        for name in ("status", "units", "step", "switched-off", "replies", "text"):
            self.query_one(f"#neurons-{name}").display = not review.display and self.shows(name)
        self.query_one("#neurons").border_title = (
            "Review model · ↑↓ unit · enter: read · f9: one unit alone · esc"
            if review.display else self.TITLE)
        if review.display:
            review.start(typed_review(self.app))
        else:
            self.set_focus(None)

    def action_sentiment_neuron(self) -> None:
        self.query_one(ReviewInside).find_neuron()

    def shows(self, name: str) -> bool:
        """Whether a part of the character model's view is shown (out of the review view)."""
        return {"units": not self.stepping, "step": self.stepping, "replies": self.replies is not None}.get(name, True)

    # -- keys ------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # The review view takes only its own keys: the character model's view is hidden under it.
        review = self.query(ReviewInside)  # none before the screen is composed
        shown = bool(review) and review.first().display
        return shown if action == "sentiment_neuron" else action in ("back", "unit", "review") or not shown

    def action_back(self) -> None:
        if self.query_one("#neurons-regex").display:
            self.close_regex()
        elif self.query_one(ReviewInside).display:
            self.action_review()
        elif self.stepping:
            self.action_step()
        else:
            self.dismiss()

    def action_feature(self, step: int) -> None:
        if self.stepping:
            self.move_cursor(self.cursor + step)
            return
        self.feature = (self.feature + step) % len(FEATURE_NAMES)
        self.rank()

    def action_unit(self, step: int) -> None:
        review = self.query_one(ReviewInside)
        if review.display:
            review.move(step)
        elif self.units:
            self.selected = (self.selected + step) % len(self.units)
            self.show()
            if self.stepping:
                self.look()
