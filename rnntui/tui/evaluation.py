"""F5: the exact validation loss of the current weights on the held-out tail, then the dynamic
evaluation's on the same characters (a copy that adapts as it reads): the worker's work, and
the chat's lines about it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from rnntui.errors import RnntuiError
from rnntui.tui.messages import EvaluationDone, EvaluationProgress

if TYPE_CHECKING:
    from rnntui.session import Session

PROGRESS_EVERY = 0.25  # seconds between two progress lines


class EvaluationCancelled(Exception):
    """Raised in an evaluation's progress callback to stop it (the app is closing)."""


def run_evaluation(session: Session, number: int, post: Callable[[Message], object],
                   cancelled: Callable[[], bool]) -> None:
    """In a worker: evaluate, reporting through ``post``; stops between two chunks once
    ``cancelled()``."""
    from rnntui.dynamic import DynamicConfig, dynamic_loss
    from rnntui.evaluate import evaluate_ids

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
