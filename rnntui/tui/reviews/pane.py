"""The reviews pane: the sentiment of movie reviews, as you type.

A review typed or pasted into the field is judged at once, off the event loop: the gauge shows
the probability that it is positive and the words beneath it are coloured by what each did to
the running probability as the model read it (green up, red down, dim: a word the model does not
know). Enter adds the review and its verdict to the list above, as the chat does with replies.

The model is the bundled one (rnntui sentiment) until ctrl+o opens another; it loads, with torch,
the first time the pane is shown. ctrl+t trains a model on the movie reviews (the one open, if it
can resume, else a new one of the book's size) with the pane's own training controller, and the
loss panel shows that run while the pane is on the screen; the gauge and the colours follow the
weights as they train, at each validation. When a new model would start and a language model of
reviews is at hand, ctrl+t offers to start from it; ctrl+g has that language model write on from
the review being typed (rnntui.tui.reviews.writing), judged as it is written.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted
from rnntui.core.tasks import SENTIMENT_TASK
from rnntui.sentiment.reviews import DataError
from rnntui.tui import keys
from rnntui.tui.messages import ReviewModelFailed, ReviewModelReady, ReviewScored, ReviewWritten, TrainingStopped
from rnntui.tui.opener import ModelOpener, reading_error
from rnntui.tui.reviews.writing import ReviewWriting, is_language_model
from rnntui.tui.training.controller import TrainingController, TrainingState
from rnntui.tui.widgets.gauge import SentimentGauge
from rnntui.tui.widgets.status_line import reviews_status

if TYPE_CHECKING:
    from rnntui.sentiment.predict import Predictor, WordEffect
    from rnntui.sentiment.session import ReviewSession

MAX_REVIEW_CHARS = 100_000  # judged of a longer paste (a 1 MB one, say): its start, and it says so
# Words whose effect is shown: the bundled model reads both ways, so each prefix is read again
# and the cost grows as the square (300 words: 0.2 s on 2 cores, 2,000: 7.5 s); the verdict is
# always the whole review's.
EXPLAINED_WORDS = 400
# Word ends the book's tokenizer cuts off at an apostrophe ("didn't": "didn", "t").
CLITICS = frozenset({"t", "s", "m", "d", "ll", "re", "ve"})
STRONG, NOTABLE = 0.10, 0.02  # a word's change of the running probability: bold, coloured


def coloured_words(effects: list[WordEffect], more: int = 0) -> Text:
    """The review's words, each styled by the change it made: green for up, red for down, bold
    when it moved the probability by 10 points or more; a word the model does not know is dim."""
    text = Text()
    for i, effect in enumerate(effects):
        if i:
            text.append(" ")
        if not effect.known:
            style = "dim italic"
        elif abs(effect.change) >= NOTABLE:
            style = ("green" if effect.change > 0 else "red") + (" bold" if abs(effect.change) >= STRONG else "")
        else:
            style = ""
        text.append(effect.word, style=style)
    if more:
        text.append(f" … and {more:,} more words", style="dim")
    return text


def written_on(text: str, word: str) -> str:
    """``text`` with the language model's ``word`` after it: a space between, or an apostrophe
    where the tokenizer cut a word in two ("didn" then "t": "didn't")."""
    if word in CLITICS and text[-1:].isalpha():
        return f"{text}'{word}"
    return text + ("" if not text or text[-1].isspace() else " ") + word


def verdict_line(number: int, message: ReviewScored) -> str:
    unknown = f", {message.unknown:,} unknown" if message.unknown else ""
    return (f"#{number} · {message.label} · {message.probability:.1%} positive · "
            f"{counted(message.words, 'word')}{unknown} · {message.model_name}")


class Requests:
    """What the scoring thread is asked to judge: every review to add to the list, in order, and
    of the text being typed only the latest (typing faster than the model reads skips the rest)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._adds: deque[str] = deque()
        self._live: str | None = None

    def put(self, text: str, add: bool = False) -> None:
        with self._condition:
            if add:
                self._adds.append(text)
            else:
                self._live = text
            self._condition.notify()

    def take(self, timeout: float) -> tuple[str, bool] | None:
        with self._condition:
            if not self._adds and self._live is None:
                self._condition.wait(timeout)
            if self._adds:
                return self._adds.popleft(), True
            if self._live is not None:
                text, self._live = self._live, None
                return text, False
            return None


class ReviewsPane(Vertical):
    """The reviews mode: owns its session, model opener, training controller and keys
    (rnntui.tui.keys, part REVIEWS); ``status_changed()`` says what the status line shows of it
    changed (as the chat's, rnntui.tui.chat.replies)."""

    BINDINGS = keys.bindings(keys.REVIEWS)

    def __init__(self, data: Path | None = None, train_config=None, model_settings: dict | None = None,
                 status_changed: Callable[[], None] = lambda: None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.status_changed = status_changed
        self.data, self.train_config, self.model_settings = data, train_config, model_settings
        self.session: ReviewSession | None = None  # made in the first load's worker (it imports torch)
        self.training = TrainingController(self, shows_panel=False, saved_title="Review model saved",
                                           download_name="the movie reviews from Stanford (84 MB)",
                                           ask_for_data=self.action_choose_reviews_data, data_errors=(DataError,))
        self.opener = ModelOpener(lambda: self.session, self.training)
        self.writing = ReviewWriting(self.started_from)
        self.written: str | None = None  # the field as the last written word left it
        self.data_chosen: Path | None = None  # given here (ask_for_data): kept once training has read it
        self.model_name: str | None = None
        self.loading = False
        self.requests = Requests()
        self.reviews = 0  # added to the list so far
        self.last_scored: ReviewScored | None = None  # of the text being typed
        self.start_chosen = False  # ctrl+t's question (how a new model starts) answered for the open model

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="review-list")
        yield Static("", id="review-words")
        yield SentimentGauge(id="review-gauge")
        yield Input(placeholder="Type or paste a movie review · enter adds it to the list", id="review-input")
        yield self.training
        yield self.opener
        yield self.writing

    def on_mount(self) -> None:
        self.query_one("#review-words").border_title = "each word's effect"
        self.query_one(SentimentGauge).show(None, "loading the sentiment model…")
        self.note("Sentiment of movie reviews: type or paste one below; as you type, the gauge says how "
                  "positive the model finds it, and each word is coloured by how it moved that (green up, red "
                  "down, dim: unknown). enter adds it to this list; f7 goes back to the chat.")

    def note(self, text: str) -> None:
        for listing in self.query("#review-list"):
            listing.mount(Static(text, classes="note", markup=False))

    # -- the model ----------------------------------------------------------------------------
    def open_model(self, path: Path | None = None, save_first: bool = False) -> None:
        """Load ``path`` (default: the bundled sentiment model) in a worker; training stops
        first (saved if ``save_first``), and the current model stays if it cannot be read."""
        self.loading = True
        self.update_status()
        self.load_model(self.session, path, save_first)

    @work(thread=True, exclusive=True, group="review-model")
    def load_model(self, session: ReviewSession | None, path: Path | None, save_first: bool) -> None:
        from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
        from rnntui.sentiment.session import ReviewSession

        if session is None:
            session = ReviewSession(self.data, self.train_config, self.model_settings)
        try:
            if path is not None:
                load_sentiment_checkpoint(path)  # refused before the current model is touched
        except Exception as error:  # noqa: BLE001 - whatever a file does, the app and its training go on
            self.post_message(ReviewModelFailed(reading_error(path, error), session))
            return
        if not self.training.stop_and_save(save_first):
            self.post_message(ReviewModelFailed("the model in training could not be saved", session))
            return
        try:
            predictor = session.open(path)
        except Exception as error:  # noqa: BLE001 - as above
            self.post_message(ReviewModelFailed(reading_error(path or "the bundled sentiment model", error),
                                                session))
            return
        accuracy = session.checkpoint.best_accuracy()
        about = f"validation accuracy {accuracy:.1%}" if accuracy is not None else "not yet validated"
        self.post_message(ReviewModelReady(predictor, session.name, about, session))

    def on_review_model_ready(self, message: ReviewModelReady) -> None:
        self.model_name = message.name
        self.score_reviews(message.predictor)  # the previous model's thread ends (exclusive)
        if not message.quiet:  # a model opened, not the weights in training followed
            self.loading = False
            self.session = self.training.session = message.session
            self.start_chosen = False
            self.show_history()
            self.note(f"Judging with {message.name} ({message.about}).")
        self.update_status()
        text = self.query_one("#review-input", Input).value
        self.requests.put(text)  # what was typed while it loaded
        if not text:
            self.query_one(SentimentGauge).show(None)

    def on_review_model_failed(self, message: ReviewModelFailed) -> None:
        self.loading = False
        if self.session is None:
            self.session = self.training.session = message.session
        self.notify(message.error, title="Could not load", severity="error", timeout=10)
        if self.model_name is None:
            self.query_one(SentimentGauge).show(None, "no sentiment model: ctrl+o opens one")
        self.update_status()

    def action_open_review_model(self) -> None:
        """The picker (the bundled sentiment model among the checkpoints); what training has not
        saved is asked about first."""
        from rnntui.core.paths import bundled_sentiment_model_path, checkpoints_dir

        def chosen(path: Path) -> None:
            if is_language_model(path):  # not a review model: the one ctrl+g writes with, and ctrl+t's start
                self.writing.chosen = path
                self.notify(f"{path.name} is a language model of reviews: ctrl+g writes on from a review with it, "
                            "and ctrl+t can start a new review model from it.", title="Language model", timeout=10)
                return
            self.opener.if_unsaved_work(f"Load {path.name}?", "load",
                                        lambda save_first: self.open_model(path, save_first))

        self.opener.open_picker(checkpoints_dir(), bundled_sentiment_model_path(), chosen)

    # -- judging ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="review-score")
    def score_reviews(self, predictor: Predictor) -> None:
        """Judge what is asked (Requests) until another model replaces this one."""
        from rnntui.sentiment.predict import EmptyReview

        worker = get_current_worker()
        name = self.model_name
        while not worker.is_cancelled:
            asked = self.requests.take(timeout=0.1)
            if asked is None:
                continue
            text, add = asked
            cut = text[:MAX_REVIEW_CHARS]
            try:
                prediction = predictor.predict(cut)
                effects = predictor.explain(cut, EXPLAINED_WORDS)
            except EmptyReview as error:
                self.post_message(ReviewScored(text, add, error=str(error), model_name=name))
                continue
            except RnntuiError as error:  # pragma: no cover - the predictor raises only EmptyReview
                self.post_message(ReviewScored(text, add, error=str(error), model_name=name))
                continue
            self.post_message(ReviewScored(
                text, add, prediction.probability, effects, prediction.words, prediction.unknown,
                note=prediction.note(), more=max(0, prediction.words - EXPLAINED_WORDS),
                truncated=len(text) > MAX_REVIEW_CHARS, model_name=name))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "review-input" and self.writing.writing and event.value != self.written:
            self.writing.stop()  # the person typed or pasted: the review is theirs again
        if event.input.id == "review-input" and self.model_name is not None:
            event.stop()
            self.requests.put(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "review-input":
            event.stop()
            self.action_add_review()

    def action_add_review(self) -> None:
        """Add the review typed to the list (it is judged in the scoring thread, in order)."""
        field = self.query_one("#review-input", Input)
        if self.model_name is None:
            self.notify("The sentiment model is still loading." if self.loading
                        else "No sentiment model is open: ctrl+o opens one.", severity="warning")
            return
        if not field.value.strip():
            self.notify("Type or paste a review first.", severity="warning")
            return
        self.requests.put(field.value, add=True)
        field.value = ""

    def action_clear_reviews(self) -> None:
        self.query_one("#review-list", VerticalScroll).remove_children()
        self.reviews = 0
        self.update_status()
        self.notify("The list of reviews is cleared.")

    def on_review_scored(self, message: ReviewScored) -> None:
        if message.add:
            self.add_to_list(message)
        elif message.text == self.query_one("#review-input", Input).value:  # not typed over since
            self.show_live(message)

    def show_live(self, message: ReviewScored) -> None:
        self.last_scored = message
        gauge, words = self.query_one(SentimentGauge), self.query_one("#review-words", Static)
        if message.error is not None:
            gauge.show(None, "no words yet" if message.text.strip() else "")
            words.update("")
            return
        gauge.show(message.probability, "no word of it is known" if message.note else "")
        words.update(coloured_words(message.effects, message.more))

    def add_to_list(self, message: ReviewScored) -> None:
        if message.error is not None:
            self.notify(message.error, title="Review", severity="warning")
            return
        self.reviews += 1
        self.update_status()
        entry = Vertical(Static(verdict_line(self.reviews, message), classes="review-header", markup=False),
                         Static(coloured_words(message.effects, message.more), classes="review-words"),
                         classes="review " + ("-positive" if message.probability >= 0.5 else "-negative"))
        listing = self.query_one("#review-list", VerticalScroll)
        listing.mount(entry)
        listing.scroll_end(animate=False)
        self.query_one(SentimentGauge).show(None)
        self.query_one("#review-words", Static).update("")
        if message.note:
            self.notify(f"{message.note}.", title="Review", severity="warning", timeout=8)
        if message.truncated:
            self.notify(f"The review is long: the model judged its first {MAX_REVIEW_CHARS:,} characters.",
                        title="Review", timeout=8)

    # -- writing on with the language model ----------------------------------------------------
    def started_from(self) -> Path | None:
        """The language model the open review model started from, where its file records a path
        (the bundled model records only a name: its path was the building machine's)."""
        started = self.session.provenance.get("from_lm") if self.session is not None else None
        path = started.get("checkpoint") if isinstance(started, dict) else None
        return Path(path) if isinstance(path, str) and Path(path).is_absolute() else None

    def action_write_review(self) -> None:
        problem = self.writing.toggle(self.query_one("#review-input", Input).value)
        if problem:
            self.notify(problem, title="Write on", severity="warning", timeout=10)

    def on_review_written(self, message: ReviewWritten) -> None:
        if message.error is not None:
            self.notify(message.error, title="Could not write on", severity="error", timeout=10)
        if message.word is not None and self.writing.writing:  # not a word sent before a stop
            field = self.query_one("#review-input", Input)
            field.value = self.written = written_on(field.value, message.word)  # judged as typed text is
            field.cursor_position = len(field.value)

    # -- training (the pane is its controller's host) ------------------------------------------
    def action_toggle_review_training(self) -> None:
        if self.session is None or self.model_name is None:
            self.notify("The sentiment model is still loading." if self.loading
                        else "No sentiment model is open: ctrl+o opens one.", severity="warning")
            return
        if self.session.starts_new_model and not self.training.active and not self.start_chosen:
            found = self.writing.at_hand()
            if found:
                self.ask_how_to_start(found)
                return
        self.training.toggle()

    def on_training_stopped(self, message: TrainingStopped) -> None:
        """(After the controller.) A start that failed leaves no choice behind: the next ctrl+t asks
        again. Reviews that must be asked for first keep it (training starts once they are given)."""
        if message.error and not message.data_missing and self.session is not None \
                and self.session.trainer is None:
            self.session.from_lm, self.start_chosen = None, False

    def ask_how_to_start(self, models: list[tuple[Path, dict]]) -> None:
        """A new model from one of ``models`` (language models of reviews) or from random weights."""
        from rnntui.tui.screens.dialogs import ReviewStartScreen

        def chosen(answer: str | None) -> None:
            if answer is None or self.session is None:
                return
            self.session.from_lm = Path(answer) if answer else None
            self.start_chosen = True  # not asked again if the reviews must be asked for first
            self.training.toggle()

        self.app.push_screen(ReviewStartScreen(models), chosen)

    def action_choose_reviews_data(self, problem: str | None = None) -> None:
        """The movie reviews to train on, asked for here (a failed download, data that cannot be
        read, or the palette's command): training starts on them, and once it has read them they
        are remembered for the next session."""
        from rnntui.tui.screens.dialogs import ReviewsDataScreen

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            self.data = self.data_chosen = path
            if self.session is not None and self.session.trainer is None:
                self.session.data = path
                self.action_toggle_review_training()
            elif self.session is not None:
                self.notify("The model in training goes on with its reviews: these are for the next new model.")
                self.session.data = path

        self.app.push_screen(ReviewsDataScreen(problem, self.data), chosen)

    def action_save_review_model(self) -> None:
        if self.session is None or self.session.trainer is None:
            self.notify("Nothing to save: ctrl+t trains a model on the movie reviews first.")
            return
        self.training.save()

    def update_status(self) -> None:
        self.status_changed()

    def status(self) -> tuple[str, str, str | None]:
        """The status line, wide and narrow, and the model's name for the window's title."""
        step = self.session.step if self.session is not None else None
        wide, narrow = reviews_status(self.model_name, self.loading, self.reviews, step, self.training.state)
        return wide, narrow, self.model_name

    def model_saved(self, name: str) -> None:
        self.model_name = name
        self.update_status()

    def training_started(self) -> bool:
        """A new model (the open one could not train on): a clean chart, its name in the status
        line and the title, the gauge judging with its weights, and where it will be saved.
        True when it is a new model, whose run the chart then shows."""
        session = self.session
        if self.data_chosen is not None and session.data == self.data_chosen:  # read: worth keeping
            self.app.remember(reviews_data=str(self.data_chosen))
        if not session.started_new:
            return False
        self.model_name = session.name
        self.show_history()
        self.follow_weights()
        self.update_status()
        minutes = round(self.app.autosave_every / 60)  # type: ignore[attr-defined] - RnntuiApp's
        started = self.started_from()
        start = f", started from the language model {started.name}," if started is not None else ""
        text = (f"A new review model ({session.describe_model()}){start} trains on {session.training_text_name()}. "
                f"It is saved to {session.path}: by ctrl+s, and every {minutes} minutes while it trains.")
        self.note(text)
        self.notify(text, title="New review model", timeout=15, markup=False)
        return True

    def training_stepped(self, step: int, validated: bool) -> None:
        if validated or self.training.state is TrainingState.PAUSED:
            self.follow_weights()  # the gauge and the colours judge with the weights as they are now
        self.update_status()

    def training_note(self, text: str) -> None:
        self.note(text)

    @work(thread=True, exclusive=True, group="review-weights")
    def follow_weights(self) -> None:
        session = self.session
        self.post_message(ReviewModelReady(session.predictor(), session.name, "", session, quiet=True))

    def show_history(self) -> None:
        """Put this mode's run in the loss panel (while the pane is on the screen)."""
        from rnntui.tui.widgets.loss_panel import LossPanel

        if not self.training.shows_panel or self.session is None:
            return
        history, session = self.session.history, self.session
        for panel in self.app.query(LossPanel):
            panel.show_run(SENTIMENT_TASK, "no training yet: ctrl+t trains on the movie reviews")
            panel.set_history(history.train, history.val, session.step, session.elapsed, history.accuracy)
            panel.show_corpus(session.training_text_name() or (session.checkpoint.data or {}).get("name")
                              if session.checkpoint else None)
            panel.set_device("cpu")
