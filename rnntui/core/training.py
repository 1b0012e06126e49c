"""What every trainer is, whichever model it trains: the ``Trainer`` protocol that the command
line's run machinery, the app's training controller, the loss panel, ``watch`` and ``info`` rely
on; the event each step yields; and the state and the guarded update the trainers share."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from rnntui.core.control import RunControl
from rnntui.core.errors import RnntuiError
from rnntui.core.history import History
from rnntui.core.torch_internals import optimizer_step


class TrainingDiverged(RnntuiError):
    """The loss or the gradient became NaN or infinite; the weights are the last good ones."""


@dataclass
class StepEvent:
    """What a trainer reports after each step; each model's event adds its own figures."""

    step: int
    total_steps: int
    train_loss: float
    val_loss: float | None  # set on validation steps
    elapsed: float  # seconds of training, across resumes, pauses excluded
    new_best: bool = False  # the best validation figure so far, resumed runs included


@runtime_checkable
class Trainer(Protocol):
    """A training run: ``run()`` yields one event per step until ``total_steps`` (a total, so a
    resumed run continues to it) or ``stop()``. ``pause()``, ``resume()`` and ``stop()`` come
    from another thread and take effect between steps; ``lock`` is held while the weights
    change, so that ``snapshot()`` and ``rng_state()`` taken under it belong to one step."""

    model: torch.nn.Module
    config: Any  # the model's training settings (TrainConfig, SentimentTrainConfig, PretrainConfig)
    optimizer: torch.optim.Optimizer
    step: int
    elapsed: float
    history: History
    lock: Any  # a threading.RLock
    early_stopped: bool

    @property
    def total_steps(self) -> int: ...

    def run(self) -> Iterator[StepEvent]: ...

    def snapshot(self) -> dict[str, torch.Tensor]: ...

    def rng_state(self) -> dict: ...

    def set_rng_state(self, state: dict) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def paused(self) -> bool: ...

    @property
    def stopping(self) -> bool: ...

    def wait_until_paused(self, timeout: float) -> bool: ...


class TrainerBase(RunControl):
    """The state every trainer keeps, and the update each step ends with."""

    config: Any

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int, history: History,
                 elapsed: float) -> None:
        RunControl.__init__(self)
        self.model, self.optimizer = model, optimizer
        self.step, self.history, self.elapsed = step, history, elapsed
        self.early_stopped = False  # stopped by the config's patience
        # Held while the weights change, so a copy taken for sampling or saving is consistent.
        self.lock = threading.RLock()
        self._boundary: dict = {}  # the generators as the last step ended (see rng_state)

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A consistent copy of the current weights."""
        with self.lock:
            return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def rng_state(self) -> dict:
        """The generators as they were when the last step ended: with weights copied under
        ``lock`` they resume exactly, even if the next step has begun."""
        with self.lock:
            return self._boundary

    def _capture_rng(self) -> dict:
        return {"torch": torch.get_rng_state()}

    def check_loss(self, value: float, limit: float = math.inf) -> None:
        if not math.isfinite(value) or value > limit:
            raise TrainingDiverged(self._diverged("loss", value))

    def update(self, loss: torch.Tensor, parameters: Iterator[torch.nn.Parameter], grad_clip: float,
               finish: Callable[[], None] | None = None) -> None:
        """Backpropagate ``loss``, clip the gradient norm to ``grad_clip`` (0: no clipping) and
        take one optimizer step under ``lock``, then ``finish()`` under it too. The weights stay
        those of the last step when the gradient or the update is not finite."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(parameters, grad_clip or math.inf).item()
        if not math.isfinite(norm):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(self._diverged("gradient norm", norm))
        with self.lock:
            try:
                optimizer_step(self.optimizer)
            except RuntimeError as error:  # e.g. an lr so large the update overflows
                raise TrainingDiverged(self._diverged("update", str(error))) from None
            self.step += 1
            if finish is not None:
                finish()
            self._boundary = self._capture_rng()

    def _diverged(self, what: str, value: object) -> str:
        return (f"training diverged at step {self.step + 1} (the {what} became {value}); the weights are "
                f"those of step {self.step}. Try a lower --lr (now {self.config.lr:g})")


@dataclass
class SavedState:
    """What a checkpoint keeps of a trainer, all of one step."""

    model_state: dict[str, torch.Tensor]
    optimizer_state: dict
    step: int
    rng_state: dict
    history: dict
    elapsed: float


def saved_state(trainer: Trainer) -> SavedState:
    """A consistent copy of what resuming ``trainer`` exactly needs."""
    with trainer.lock:
        # Copies: the next step updates the weights and Adam's moments in place while this is written.
        return SavedState(trainer.snapshot(), copy.deepcopy(trainer.optimizer.state_dict()), trainer.step,
                          trainer.rng_state(), trainer.history.to_dict(), trainer.elapsed)
