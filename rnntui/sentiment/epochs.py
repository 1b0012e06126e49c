"""The loop both review models train in (the classifier and the review language model): epochs
of batches of reviews of similar lengths, validated at each epoch's end and every
``eval_every`` batches into it.

A run's place is its step alone: epoch ``step // batches_per_epoch`` visits its batches in an
order drawn from ``(random_seed, epoch)``, so a resumed run recomputes the order and continues
with the next batch; dropout's generator is saved at each step's end (``rng_state``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

from rnntui.core.errors import RnntuiError
from rnntui.core.history import Curves, History
from rnntui.core.training import StepEvent, TrainerBase
from rnntui.sentiment.model import length_buckets

T = TypeVar("T", bound="ReviewTrainer")


class ReviewTrainer(TrainerBase):
    """A trainer over ``lengths`` (each training review's length in words). A model's trainer
    gives ``train_step`` (a batch's loss, and what the speed counts: reviews or words),
    ``measure`` (the validation figures by curve name) and ``event``."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: Any, lengths: list[int],
                 step: int, history: History, elapsed: float) -> None:
        super().__init__(model, optimizer, step, history, elapsed)
        self.config = config
        self._lengths = lengths
        self.batches_per_epoch = math.ceil(len(lengths) / config.batch_size)
        self._order: tuple[int, list[list[int]]] | None = None
        self._boundary = self._capture_rng()

    @property
    def total_steps(self) -> int:
        return self.config.epochs * self.batches_per_epoch

    def batches(self, epoch: int) -> list[list[int]]:
        """Epoch ``epoch``'s batches of review indices, the same order every time it is asked."""
        if self._order is None or self._order[0] != epoch:
            generator = torch.Generator().manual_seed(self.config.random_seed * 1_000_003 + epoch)
            self._order = (epoch, length_buckets(self._lengths, self.config.batch_size, generator))
        return self._order[1]

    def set_rng_state(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        self._boundary = {"torch": state["torch"]}

    def train_step(self, batch: list[int]) -> tuple[float, int]:
        raise NotImplementedError

    def measure(self) -> dict[str, float] | None:
        """The validation figures by curve name, or None when there is nothing to validate on."""
        raise NotImplementedError

    def event(self, train_loss: float, figures: dict[str, float], speed: float, new_best: bool) -> StepEvent:
        raise NotImplementedError

    def run(self) -> Iterator[StepEvent]:
        """Train until ``config.epochs`` (a total, so a resumed run continues to it) or ``stop()``."""
        config, per_epoch = self.config, self.batches_per_epoch
        patience = getattr(config, "patience", 0)
        speed = None
        while self.step < self.total_steps:
            self.wait_while_paused()
            if self.stopping:
                return
            started = time.perf_counter()
            epoch, position = divmod(self.step, per_epoch)
            train_loss, count = self.train_step(self.batches(epoch)[position])
            rate = count / max(time.perf_counter() - started, 1e-9)  # validation not counted
            self.history.train.append((self.step, train_loss))
            figures: dict[str, float] = {}
            new_best = False
            into_epoch = self.step % per_epoch  # 0: the epoch just ended
            # Every eval_every steps into each epoch, so that an epoch's end is not followed by
            # another validation a step later.
            if into_epoch == 0 or (config.eval_every and into_epoch % config.eval_every == 0):
                figures = self.measure() or {}
                for name, value in figures.items():
                    self.history.curves[name].append((self.step, value))
                if figures:
                    since_best = self.history.since_best()
                    new_best = since_best == 0
                    if patience and since_best >= patience and self.step < self.total_steps:
                        self.early_stopped = True
                        self.stop()
            self.elapsed += time.perf_counter() - started
            speed = rate if speed is None else 0.95 * speed + 0.05 * rate
            yield self.event(train_loss, figures, speed, new_best)


def require_optimizer_state(checkpoint: Any, unsaved: str) -> None:
    """Refuse to resume a checkpoint saved without its optimizer state (before its data is read)."""
    if checkpoint.optimizer_state is None:
        raise RnntuiError(unsaved)


def resume_review_trainer(checkpoint: Any, curves: Curves, unsaved: str,
                          make_optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer],
                          make_trainer: Callable[..., T]) -> T:
    """Continue exactly where ``checkpoint`` stopped: same weights, optimizer and generator.
    ``make_trainer(model, optimizer=, step=, history=, elapsed=)`` builds the model's trainer;
    ``unsaved`` says why a checkpoint without its optimizer state cannot be resumed."""
    require_optimizer_state(checkpoint, unsaved)
    model = checkpoint.build_model()
    optimizer = make_optimizer(model)
    try:
        optimizer.load_state_dict(checkpoint.optimizer_state)
    except (ValueError, KeyError, RuntimeError) as error:
        raise RnntuiError(f"the checkpoint's optimizer state does not fit its model ({error})") from None
    trainer = make_trainer(model, optimizer=optimizer, step=checkpoint.step,
                           history=History.from_dict(checkpoint.history, curves), elapsed=checkpoint.elapsed)
    if checkpoint.rng_state is not None:
        trainer.set_rng_state(checkpoint.rng_state)
    return trainer


# The counts a review model's data record may hold, in the order a change is told by.
DATA_COUNTS = {"train_words": "words of training text", "train_characters": "characters of training reviews",
               "valid_words": "held-out words", "train_reviews": "training reviews",
               "valid_reviews": "validation reviews", "unlabelled_reviews": "unlabelled reviews"}


def data_change_note(recorded: dict | None, now: dict, model: str,
                     going_on: str = "training goes on with it") -> str | None:
    """A line to say when the reviews read to resume a ``model`` ("language model") are not those
    it trained on (a count both data records hold differs): training on them is allowed, as
    ``rnntui train`` allows an edited text, but not silently, since its epochs are then counted in
    other batches. ``going_on`` ends the line: what the command does with them (a soup refuses
    them, since their validation reviews are not those its classifiers held out)."""
    recorded = recorded or {}
    changed = [key for key in DATA_COUNTS if key in recorded and key in now and recorded[key] != now[key]]
    if not changed:
        return None
    key = changed[0]
    return (f"{now['name']} is not the text this {model} trained on ({recorded[key]:,} {DATA_COUNTS[key]} then, "
            f"{now[key]:,} now); {going_on}")
