"""F5: the exact validation loss of the current weights on the held-out tail, then the dynamic
evaluation's on the same characters (copies that adapt as they read), in a worker, with its
progress as a line in the chat; training goes on meanwhile."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from rnntui.core.errors import RnntuiError
from rnntui.tui.messages import EvaluationDone, EvaluationProgress

if TYPE_CHECKING:
    from rnntui.charlm.session import Session

PROGRESS_EVERY = 0.25  # seconds between two progress lines


class EvaluationCancelled(Exception):
    """Raised in an evaluation's progress callback to stop it (the app is closing)."""


def run_evaluation(session: Session, number: int, post: Callable[[Message], object],
                   cancelled: Callable[[], bool]) -> None:
    """In a worker: evaluate, reporting through ``post``; stops between two chunks once
    ``cancelled()``."""
    from rnntui.charlm.dynamic import DynamicConfig, dynamic_loss
    from rnntui.charlm.evaluate import evaluate_ids

    try:
        held_out = session.held_out()
    except RnntuiError as error:
        post(EvaluationDone(number, error=str(error)))
        return
    last_post = time.monotonic()
    post(EvaluationProgress(number, held_out, 0, len(held_out.ids) - 1))
    static = None

    def progress(done: int, total: int) -> None:
        nonlocal last_post
        if cancelled():
            raise EvaluationCancelled
        if time.monotonic() - last_post >= PROGRESS_EVERY:
            last_post = time.monotonic()
            post(EvaluationProgress(number, held_out, done, total, static is not None, static))

    config = DynamicConfig()
    try:
        static, count = evaluate_ids(held_out.model, held_out.ids, progress=progress)
        post(EvaluationProgress(number, held_out, 0, count, True, static))
        try:
            dynamic = dynamic_loss(held_out.model, held_out.ids, config, held_out.train_ids,
                                   progress=progress).loss
        except RnntuiError:  # no training text for the rms rule's statistics: the static figure alone
            dynamic = None
    except EvaluationCancelled:
        return
    post(EvaluationDone(number, held_out, static, count, dynamic_loss=dynamic, dynamic_rule=config.describe()))


def progress_text(message: EvaluationProgress) -> str:
    held_out, share = message.held_out, message.done / max(message.total, 1)
    if message.dynamic:
        return (f"Validation loss at step {held_out.step:,}: {message.loss:.4f} nats/char exact; dynamic "
                f"evaluation (adapting as it reads): {share:.0%}")
    return (f"Evaluating step {held_out.step:,} on the held-out last {held_out.val_fraction:.0%} of "
            f"{held_out.corpus_name}: {share:.0%}")


def result_text(message: EvaluationDone) -> str:
    held_out, loss = message.held_out, message.loss
    text = (f"Validation loss at step {held_out.step:,}: {loss:.4f} nats/char ({loss / math.log(2):.2f} "
            f"bits/char), exact, over the last {message.characters:,} characters of {held_out.corpus_name}")
    if message.dynamic_loss is not None:
        dynamic = message.dynamic_loss
        text += (f"; dynamic evaluation {dynamic:.4f} nats/char ({dynamic / math.log(2):.2f} bits/char), "
                 f"adapting as it reads ({message.dynamic_rule}; the model itself is unchanged)")
    return text


class Evaluator(Widget):
    """Runs one evaluation at a time; ``note(text, id)`` shows (and updates) its line in the chat."""

    DEFAULT_CSS = "Evaluator { display: none; }"

    def __init__(self, note: Callable[[str, str], None]) -> None:
        super().__init__()
        self.note = note
        self.evaluations = 0  # evaluations started, each with a line of its own
        self.evaluating = False

    def start(self, session: Session) -> None:
        if self.evaluating:
            self.notify("An evaluation is already running; its progress is in the chat.")
            return
        if session.needs_download():
            self.notify("The model is judged on the held-out end of The Mysterious Island, which is not "
                        "downloaded yet: ctrl+t downloads it (and trains), as does rnntui corpus --fetch; "
                        "rnntui corpus --fetch FILE copies one you have, as does rnntui --corpus FILE.",
                        title="Evaluation", severity="error", timeout=10)
            return
        self.evaluating = True
        self.evaluations += 1
        self.evaluate(session, self.evaluations)

    @work(thread=True, exclusive=True, group="evaluate")
    def evaluate(self, session: Session, number: int) -> None:
        worker = get_current_worker()
        run_evaluation(session, number, self.post_message, lambda: worker.is_cancelled)

    def on_evaluation_progress(self, message: EvaluationProgress) -> None:
        self.note(progress_text(message), f"evaluation-{message.number}")

    def on_evaluation_done(self, message: EvaluationDone) -> None:
        self.evaluating = False
        if message.error is not None:
            self.notify(message.error, title="Evaluation", severity="error", timeout=10)
            return
        text = result_text(message)
        self.note(text, f"evaluation-{message.number}")
        self.notify(text + ".", title="Evaluation", timeout=10)
