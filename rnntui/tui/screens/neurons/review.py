"""The review model inside: the verdict as it reads a review word by word (a trace of
P(positive)), and the units of its summary that follow that trace best, with the chosen one's
value at each word. The review is the one typed in the reviews mode, or one typed here. f9 asks
the chapter's "sentiment neuron" question on the validation reviews: does one unit alone classify
as well as all of them?"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted
from rnntui.tui.screens.neurons.render import background, sparkline

TOP = 6  # units listed
# Made up for the view when no review has been typed yet.
EXAMPLE_REVIEW = "The first hour is slow and the jokes are flat, but the last act is wonderful and the cast is great."


def sentiment_session(app):
    """The reviews mode's session when it has a model loaded, else None."""
    pane = getattr(app, "reviews", None)
    session = getattr(pane, "session", None)
    return session if session is not None and getattr(pane, "model_name", None) else None


def typed_review(app) -> str:
    """The review being typed in the reviews mode, else the last one scored there, else an example."""
    pane = getattr(app, "reviews", None)
    try:
        typed = pane.query_one("#review-input", Input).value.strip() if pane is not None else ""
    except Exception:  # noqa: BLE001 - the pane's layout is its own; without it, the example
        typed = ""
    last = getattr(pane, "last_scored", None)
    return typed or (getattr(last, "text", "") or "").strip() or EXAMPLE_REVIEW


class TraceRead(Message):
    def __init__(self, text: str, trace=None, error: str | None = None) -> None:
        super().__init__()
        self.text, self.trace, self.error = text, trace, error


class NeuronProgress(Message):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class NeuronFound(Message):
    def __init__(self, answer=None, units: int = 0, error: str | None = None) -> None:
        super().__init__()
        self.answer, self.units, self.error = answer, units, error


NO_REVIEWS = ("no movie reviews to measure on: give them with the palette's \"Movie reviews to train on\" "
              "in the reviews mode (f7)")


class ReviewInside(Vertical):
    DEFAULT_CSS = """
    ReviewInside { height: 1fr; }
    ReviewInside > Static { height: auto; }
    #review-inside-units, #review-inside-neuron { margin-top: 1; }
    #review-inside-neuron { display: none; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.trace = None
        self.selected = 0
        self.model_units = 0

    def compose(self) -> ComposeResult:
        yield Input(placeholder="a review to read · enter reads it", id="review-inside-input")
        yield Static("", id="review-inside-status")
        yield Static("", id="review-inside-trace")
        yield Static("", id="review-inside-units")
        yield Static("", id="review-inside-unit")
        yield Static("", id="review-inside-neuron")

    def start(self, text: str) -> None:
        field = self.query_one(Input)
        field.value = text
        field.focus()  # to edit the review; ↑↓ still choose a unit, esc goes back
        self.read_review(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.read_review(event.value)

    def read_review(self, text: str) -> None:
        self.query_one("#review-inside-status", Static).update("the review model reads it…")
        self.read_trace(text)

    @work(thread=True, exclusive=True, group="neurons-review")
    def read_trace(self, text: str) -> None:
        from rnntui.neurons.sentiment import review_trace

        session = sentiment_session(self.app)
        if session is None:
            self.post_message(TraceRead(text, error="no review model is loaded (f7, then open or train one)"))
            return
        try:
            predictor = session.predictor()
            self.model_units = predictor.model.config.hidden_size
            self.post_message(TraceRead(text, review_trace(predictor.model, predictor.vocab, text, TOP)))
        except RnntuiError as error:
            self.post_message(TraceRead(text, error=str(error)))

    def on_trace_read(self, message: TraceRead) -> None:
        status = self.query_one("#review-inside-status", Static)
        if message.error is not None:
            self.trace = None
            status.update(message.error)
            self.app.notify(message.error, title="Inside the network", severity="warning", markup=False)
            for name in ("trace", "units", "unit"):
                self.query_one(f"#review-inside-{name}", Static).update("")
            return
        self.trace, self.selected = message.trace, 0
        final = self.trace.probabilities[-1]
        status.update(f"P(positive) as the model reads the review, word by word: {final:.2f} after its "
                      f"{counted(len(self.trace.words), 'word')} ({'positive' if final >= 0.5 else 'negative'})")
        self.show()

    def move(self, step: int) -> None:
        if self.trace is not None and self.trace.ranked:
            self.selected = (self.selected + step) % len(self.trace.ranked)
            self.show()

    def direction(self, unit: int) -> str:
        return f"backward unit {unit - self.model_units}" if unit >= self.model_units else f"forward unit {unit}"

    def show(self) -> None:
        trace = self.trace
        words = Text()
        for word, probability in zip(trace.words, trace.probabilities, strict=True):
            words.append(word, style=f"black on {background(probability - 0.5, 0.5)}")
            words.append(" ")
        line = Text(f"P  {sparkline(trace.probabilities, 0.0, 1.0)}\n")
        line.append_text(words)
        self.query_one("#review-inside-trace", Static).update(line)
        listing = Text()
        if not trace.ranked:
            listing.append("the verdict does not change over these words: no unit to follow it")
        for index, ranked in enumerate(trace.ranked):
            bar = "█" * round(abs(ranked.score) * 20)
            listing.append(f"{self.direction(ranked.unit):>20}  r {ranked.score:+.2f}  {bar}\n",
                           style="reverse" if index == self.selected else "")
        self.query_one("#review-inside-units", Static).update(listing)
        shown = ""
        if trace.ranked:
            unit = trace.ranked[self.selected].unit
            values = trace.activations[:, unit].tolist()
            shown = (f"{self.direction(unit)} at each word ({min(values):+.2f} to {max(values):+.2f}):\n"
                     f"   {sparkline(values, min(values), max(values))}")
        self.query_one("#review-inside-unit", Static).update(shown)

    # -- the sentiment neuron ---------------------------------------------------------------------
    def find_neuron(self) -> None:
        self.show_neuron("the sentiment neuron: reading the validation reviews…")
        self.measure_neuron()

    def show_neuron(self, text: str) -> None:
        shown = self.query_one("#review-inside-neuron", Static)
        shown.update(text)
        shown.display = bool(text)

    @work(thread=True, exclusive=True, group="neurons-review-neuron")
    def measure_neuron(self) -> None:
        from rnntui.neurons.sentiment import sentiment_neuron, units_of

        session = sentiment_session(self.app)
        if session is None:
            self.post_message(NeuronFound(error="no review model is loaded (f7, then open or train one)"))
            return
        try:
            found = session.held_out()
            if found is None:
                self.post_message(NeuronFound(error=NO_REVIEWS))
                return
            predictor, valid = found
            progress = lambda done, total: self.post_message(  # noqa: E731
                NeuronProgress(f"the sentiment neuron: {done:,} of {total:,} held-out reviews read"))
            answer = sentiment_neuron(predictor.model, valid, TOP, progress)
            self.post_message(NeuronFound(answer, units_of(predictor.model)))
        except RnntuiError as error:
            self.post_message(NeuronFound(error=str(error)))

    def on_neuron_progress(self, message: NeuronProgress) -> None:
        self.show_neuron(message.line)

    def on_neuron_found(self, message: NeuronFound) -> None:
        if message.error is not None:
            self.show_neuron("")
            self.app.notify(message.error, title="Inside the network", severity="warning", markup=False)
            return
        self.show_neuron(neuron_lines(message.answer, message.units, self.direction))


def neuron_lines(answer, units: int, direction) -> str:
    """What the sentiment neuron question found, as ``rnntui neurons find`` words it."""
    best = answer.best_single
    return (f"the sentiment neuron (fitted on {answer.fit_reviews:,} validation reviews, accuracy on the other "
            f"{answer.held_out_reviews:,}):\n"
            f"  the best unit alone, {direction(best.unit)}: accuracy {best.accuracy:.4f}\n"
            f"  all {units} units together: {answer.all_units:.4f}; the model itself: {answer.model:.4f}")
