"""ctrl+g in the reviews mode: the language model of reviews (rnntui sentiment pretrain) writes
on from the review being typed, a word at a time, off the event loop. Each word goes up to the
pane in a ``ReviewWritten`` message, and the pane adds it to the field, where it is judged as any
typed word is.

Which language model: the one chosen here (ctrl+o on a language model's file), else the one the
open review model started from, else the newest in the data folder. ctrl+t's question offers the
chosen one first, then the data folder's (``at_hand``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget
from textual.worker import get_current_worker

from rnntui.core.tasks import REVIEW_LM_TASK
from rnntui.tui.messages import ReviewWritten
from rnntui.tui.opener import reading_error

if TYPE_CHECKING:
    from rnntui.sentiment.pretrain.write import ReviewWriter

WRITTEN_WORDS = 40  # a press's worth: a few sentences' words
WORD_PAUSE_S = 0.04  # between words, so that the gauge can be watched following them


def language_models(folder: Path) -> list[tuple[Path, dict]]:
    """The language models of reviews in ``folder``, newest first, with their headers."""
    from rnntui.core.checkpoint import list_checkpoints

    return [(path, header) for path, header in list_checkpoints(folder) if header.get("task") == REVIEW_LM_TASK]


def lm_header(path: Path) -> dict | None:
    """The header of ``path`` if it is a language model of reviews, else None."""
    from rnntui.core.checkpoint import read_header

    try:
        header = read_header(path)[0]
    except Exception:  # noqa: BLE001 - not one, whatever the file is (or it is gone)
        return None
    return header if header.get("task") == REVIEW_LM_TASK else None


def is_language_model(path: Path) -> bool:
    return lm_header(path) is not None


class ReviewWriting(Widget):
    """``started_from()`` gives the language model the open review model started from, if any."""

    DEFAULT_CSS = "ReviewWriting { display: none; }"

    def __init__(self, started_from: Callable[[], Path | None]) -> None:
        super().__init__()
        self.started_from = started_from
        self.chosen: Path | None = None
        # Read in the worker, again only when the file holds another model (a run resumed since).
        self.loaded: tuple[tuple[Path, str | None], ReviewWriter] | None = None
        self.writing = False

    def at_hand(self) -> list[tuple[Path, dict]]:
        """The language models a new review model may start from, with their headers: the one
        chosen first, then the data folder's, newest first."""
        from rnntui.core.paths import checkpoints_dir

        found = language_models(checkpoints_dir())
        header = lm_header(self.chosen) if self.chosen is not None else None
        if header is None:
            return found
        return [(self.chosen, header)] + [entry for entry in found if entry[0] != self.chosen]

    def language_model(self) -> Path | None:
        from rnntui.core.paths import checkpoints_dir

        for path in (self.chosen, self.started_from()):
            if path is not None and path.is_file() and is_language_model(path):
                return path
        found = language_models(checkpoints_dir())
        return found[0][0] if found else None

    def toggle(self, text: str) -> str | None:
        """Start writing on from ``text`` (or stop the writing under way); what stands in the way,
        if anything."""
        from rnntui.core.paths import checkpoints_dir
        from rnntui.sentiment.tokens import tokenize

        if self.writing:
            self.stop()
            return None
        if not tokenize(text):
            return "Type a few words first: the language model of reviews writes on from them."
        path = self.language_model()
        if path is None:
            started = self.started_from()
            gone = f"This review model's language model, {started}, is gone. " if started is not None else ""
            return (f"{gone}No language model of reviews at hand: rnntui sentiment pretrain makes one (in "
                    f"{checkpoints_dir()}), and ctrl+o opens one from elsewhere.")
        self.writing = True
        self.write(path, text)
        return None

    def stop(self) -> None:
        """Stop the writing under way; the words already sent are not added (the pane asks
        ``writing`` before it adds one)."""
        self.workers.cancel_group(self, "review-write")
        self.writing = False

    def on_review_written(self, message: ReviewWritten) -> None:
        if message.done:  # then on to the pane, which shows what came
            self.writing = False

    def writer(self, path: Path) -> ReviewWriter:
        """The writer of the language model in ``path``: the one read before while the file holds
        the same model (its header's checksum), else read again."""
        from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint
        from rnntui.sentiment.pretrain.write import ReviewWriter

        header = lm_header(path)
        key = (path, header.get("sha256") if header is not None else None)
        if self.loaded is None or self.loaded[0] != key:
            self.loaded = (key, ReviewWriter(load_lm_checkpoint(path)))
        return self.loaded[1]

    @work(thread=True, exclusive=True, group="review-write")
    def write(self, path: Path, text: str) -> None:
        worker = get_current_worker()
        try:
            writer = self.writer(path)
            for word in writer.words(text, WRITTEN_WORDS):
                if worker.is_cancelled:
                    return
                self.post_message(ReviewWritten(word))
                time.sleep(WORD_PAUSE_S)
        except Exception as error:  # noqa: BLE001 - a bad file is a notification, never the app's end
            self.post_message(ReviewWritten(done=True, error=reading_error(path, error)))
            return
        self.post_message(ReviewWritten(done=True))
