"""Worker -> UI traffic. Workers run in threads and only ever post these."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the engine (torch) is imported after the first frame is drawn
    from rnntui.charlm.sampling import Sampler
    from rnntui.charlm.session import HeldOut, ModelInfo, Session
    from rnntui.core.history import History
    from rnntui.sentiment.predict import Predictor, WordEffect
    from rnntui.sentiment.session import ReviewSession


@dataclass
class ReplyControl:
    """What the person sends one streaming reply's thread: the characters picked, and escape. The
    stop is an event rather than the worker's cancel alone: a worker cancelled before its thread
    has started never runs, so the reply would never end."""

    answers: queue.Queue = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)


class Mailbox:
    """Items from a worker thread for the UI, with at most one message in flight.

    The worker ``put``s every item and posts a message only when ``claim()`` says none is
    pending; the UI's handler ``take``s everything collected so far. However fast the worker
    and however slow the UI, the UI handles one message per batch and the worker never waits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list = []
        self._in_flight = False

    def put(self, item) -> None:
        with self._lock:
            self._items.append(item)

    def claim(self) -> bool:
        with self._lock:
            if self._in_flight:
                return False
            self._in_flight = True
            return True

    def take(self) -> list:
        with self._lock:
            items, self._items = self._items, []
            self._in_flight = False
            return items


class EngineReady(Message):
    """A model is loaded (at start, from the picker, or new) in ``session``."""

    def __init__(self, info: ModelInfo, history: History, session: Session, note: str = "") -> None:
        super().__init__()
        self.info, self.history, self.session, self.note = info, history, session, note


class EngineFailed(Message):
    """A model could not be opened; at start-up, ``session`` is an empty one, so that ctrl+o
    and ctrl+n still work."""

    def __init__(self, error: str, session: Session | None = None) -> None:
        super().__init__()
        self.error, self.session = error, session


class TrainingProgress(Message):
    """Training events are waiting in ``mailbox`` (coalesced: a fast trainer cannot flood us)."""

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__()
        self.mailbox = mailbox


class TrainingPaused(Message):
    """The trainer finished the step in flight when paused and now waits, at ``step``."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step


class TrainingNote(Message):
    """Something to know about the run that is starting (its text changed since it was saved)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TrainingStopped(Message):
    """Training ended (with ``error``; ``data_missing``: it could not get the data to train on)."""

    def __init__(self, error: str | None = None, data_missing: bool = False) -> None:
        super().__init__()
        self.error, self.data_missing = error, data_missing


class ChartUpdate(Message):
    """From a training controller to whoever shows its run: ``asked``, training was just asked
    for; ``events``, its new steps; ``device`` and ``corpus``, what its first step ran on.
    ``shown``: the run is the one the loss panel shows now (that of the mode on the screen)."""

    def __init__(self, shown: bool, events: list = (), device: str | None = None, corpus: str | None = None,
                 asked: bool = False) -> None:
        super().__init__()
        self.shown, self.events, self.device, self.corpus, self.asked = shown, list(events), device, corpus, asked


class StatusNote(Message):
    """A passing line for the status line (a download's progress) until its next update."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DownloadProgress(Message):
    def __init__(self, done: int, total: int | None) -> None:
        super().__init__()
        self.done, self.total = done, total


@dataclass
class StreamedChar:
    char: str
    probability: float
    top: tuple = ()


@dataclass
class DrawingChanged:
    """Between two StreamedChars: the characters after it are drawn with these settings (the
    scale factor, top-k and top-p were changed while the reply streamed)."""

    drawing: tuple[float, int, float]


class GenerationChunk(Message):
    """Sampled characters (``StreamedChar``, with the last top candidates), and where the settings
    changed (``DrawingChanged``), wait in ``mailbox``."""

    def __init__(self, exchange: int, mailbox: Mailbox) -> None:
        super().__init__()
        self.exchange, self.mailbox = exchange, mailbox


class PickWanted(Message):
    """In pick mode the reply waits for the next character: one of ``top`` (the candidates,
    best first), or the model's own draw."""

    def __init__(self, exchange: int, top: tuple) -> None:
        super().__init__()
        self.exchange, self.top = exchange, top


class GenerationDone(Message):
    """A reply ended (``stopped`` early, or with ``error``). ``sampler``: the worker's, handed
    back to continue the reply with its state; ``made_at``: the training step its weights are
    from (None: a continuation's, unchanged)."""

    def __init__(self, exchange: int, count: int, stopped: bool, error: str | None = None,
                 sampler: Sampler | None = None, made_at: int | None = None) -> None:
        super().__init__()
        self.exchange, self.count = exchange, count
        self.stopped, self.error = stopped, error
        self.sampler, self.made_at = sampler, made_at


class Saved(Message):
    """A save ended: at ``path``, or with ``error``; ``autosave``: the app's own, on its timer."""

    def __init__(self, path: str | None, error: str | None = None, autosave: bool = False) -> None:
        super().__init__()
        self.path, self.error, self.autosave = path, error, autosave


class SettingsApplied(Message):
    """New training settings took effect (or, with ``error``, did not, and the old ones stay)."""

    def __init__(self, changes: dict, restart: bool, error: str | None = None) -> None:
        super().__init__()
        self.changes, self.restart, self.error = changes, restart, error


class EvaluationProgress(Message):
    """An evaluation (``number``) of ``held_out`` has predicted ``done`` of its ``total``
    characters, in its exact pass or (``dynamic``) its adapting one."""

    def __init__(self, number: int, held_out: HeldOut, done: int, total: int, dynamic: bool = False,
                 loss: float | None = None) -> None:
        super().__init__()
        self.number, self.held_out, self.done, self.total = number, held_out, done, total
        self.dynamic, self.loss = dynamic, loss  # loss: the exact pass's, once it is known


class EvaluationDone(Message):
    """An evaluation ended: the exact loss over ``held_out``'s ``characters`` and the dynamic
    evaluation's (``dynamic_loss``, with its rule described in ``dynamic_rule``), or ``error``."""

    def __init__(self, number: int, held_out: HeldOut | None = None, loss: float | None = None, characters: int = 0,
                 error: str | None = None, dynamic_loss: float | None = None, dynamic_rule: str = "") -> None:
        super().__init__()
        self.number, self.held_out, self.loss, self.characters, self.error = number, held_out, loss, characters, error
        self.dynamic_loss, self.dynamic_rule = dynamic_loss, dynamic_rule


class ModelDescribed(Message):
    """``info.checkpoint_info`` of the current model, for the f6 screen."""

    def __init__(self, info: dict) -> None:
        super().__init__()
        self.info = info


class ReviewModelReady(Message):
    """A sentiment model is loaded in ``session`` (or its training weights followed): ``predictor``
    judges reviews with it."""

    def __init__(self, predictor: Predictor, name: str, about: str, session: ReviewSession,
                 quiet: bool = False) -> None:
        super().__init__()
        self.predictor, self.name, self.about, self.session = predictor, name, about, session
        self.quiet = quiet  # the weights in training, followed: no new model to announce


class ReviewModelFailed(Message):
    """A sentiment model could not be opened (``session``: the first load's, still empty)."""

    def __init__(self, error: str, session: ReviewSession | None = None) -> None:
        super().__init__()
        self.error, self.session = error, session


class ReviewScored(Message):
    """A review judged: the probability that it is positive, each word's effect (``effects``, of
    its first words; ``more`` not explained), or ``error`` (it has no words). ``add``: it goes
    into the list; else it is the text being typed."""

    def __init__(self, text: str, add: bool, probability: float | None = None, effects: list[WordEffect] | None = None,
                 words: int = 0, unknown: int = 0, note: str | None = None, more: int = 0, truncated: bool = False,
                 error: str | None = None, model_name: str | None = None) -> None:
        super().__init__()
        self.text, self.add, self.probability, self.effects = text, add, probability, effects or []
        self.words, self.unknown, self.note, self.more, self.truncated = words, unknown, note, more, truncated
        self.error, self.model_name = error, model_name

    @property
    def label(self) -> str:
        return "positive" if (self.probability or 0) >= 0.5 else "negative"


class ReviewWritten(Message):
    """The language model of reviews wrote ``word`` on from the typed review; or it stopped
    (``done``), having written what it could, or with ``error``."""

    def __init__(self, word: str | None = None, done: bool = False, error: str | None = None) -> None:
        super().__init__()
        self.word, self.done, self.error = word, done, error
