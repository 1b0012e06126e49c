"""Dynamic evaluation: a model that adapts to the text as it reads it (Krause et al. 2018,
"Dynamic Evaluation of Neural Sequence Models"; Graves 2013).

The text is read in segments, the recurrent state carried from one to the next. Each segment is
first predicted, and its loss counted, with the weights as they are; then one gradient step on
that segment's loss moves the weights toward the text being read. So every character is
predicted before the model has learnt from it, and the loss is a fair one: the model comes to
know the names, words and style of the part of the book it is in.

Two update rules:

- ``sgd``: ``θ ← θ − lr · g``.
- ``rms`` (Krause et al.'s RMS rule with decay): ``θ ← θ − lr · g / (√MS + ε) + λ · r ⊙ (θ₀ − θ)``,
  where ``MS`` is each weight's mean squared gradient gathered on the training text, ``θ₀`` the
  trained weights and ``r = √MS / mean(√MS)`` (at most ``1/λ``), so that weights with large
  typical gradients are pulled back hardest toward what training found. The pull is not scaled
  by ``lr``: as in the paper and its code, ``λ`` alone says what share of the way back each
  step goes.

The model given is never changed: the adaptation happens on a copy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.errors import RnntuiError
from rnntui.model import CharRNN

RULES = ("rms", "sgd")


@dataclass(frozen=True)
class DynamicConfig:
    """How the model adapts. The defaults were chosen on a slice of the training text (never on
    the held-out tail it is scored on), scored by a twin of the bundled model that never saw that
    slice: see ``benchmarks/dynamic_eval.py`` and docs/dynamic-evaluation.md."""

    SGD_LR = 0.1  # the sgd rule's default rate (--dynamic-lr)

    rule: str = "rms"
    lr: float = 2e-4  # rms: a step in units of each weight's typical gradient; sgd: plain
    decay: float = 0.001  # λ: the pull back toward the trained weights (rms only)
    segment: int = 100  # characters read between two updates
    stats_chars: int = 20_000  # training text the rms rule's gradient statistics are gathered on
    eps: float = 1e-5

    def validate(self) -> None:
        if self.rule not in RULES:
            raise RnntuiError(f"the dynamic evaluation rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise RnntuiError(f"the dynamic evaluation learning rate must be a positive number, got {self.lr}")
        if not (isinstance(self.decay, (int, float)) and 0 <= self.decay < 1):
            raise RnntuiError(f"the dynamic evaluation decay must be in [0, 1), got {self.decay}")
        if not (isinstance(self.segment, int) and 1 <= self.segment <= 100_000):
            raise RnntuiError(f"the dynamic evaluation segment must be from 1 to 100,000 characters, "
                              f"got {self.segment}")
        if not (isinstance(self.stats_chars, int) and self.stats_chars >= 0):
            raise RnntuiError(f"the gradient statistics need 0 or more characters, got {self.stats_chars}")

    def describe(self) -> str:
        """The rule and its settings, as the output names them."""
        if self.rule == "sgd":
            return f"SGD at lr {self.lr:g}, {self.segment}-character segments"
        return (f"RMS rule (Krause et al. 2018) at lr {self.lr:g}, decay {self.decay:g}, {self.segment}-character "
                f"segments, gradient statistics from {self.stats_chars:,} training characters")

    def to_dict(self) -> dict:
        return asdict(self)


def _segments(ids: torch.Tensor, length: int):
    for start in range(0, len(ids) - 1, length):
        yield ids[start:start + length + 1]


def _detach(state):
    return tuple(t.detach() for t in state) if isinstance(state, tuple) else state.detach()


def gradient_statistics(model: CharRNN, train_ids: np.ndarray, config: DynamicConfig) -> list[torch.Tensor]:
    """Each weight's root mean squared gradient over segments of ``train_ids`` (the last
    ``stats_chars`` of it), with the state carried, as the rms rule needs."""
    ids = torch.from_numpy(np.asarray(train_ids[-config.stats_chars - 1:], dtype=np.int64))
    model = copy.deepcopy(model).float().cpu().eval()  # the weights as they predict (no dropout), left alone
    params = list(model.parameters())
    squares = [torch.zeros_like(p) for p in params]
    count, state = 0, None
    with torch.enable_grad():
        for piece in _segments(ids, config.segment):
            logits, state = model(piece[:-1].view(1, -1), state)
            loss = F.cross_entropy(logits[0], piece[1:])
            grads = torch.autograd.grad(loss, params)
            for square, grad in zip(squares, grads, strict=True):
                square.add_(grad * grad)
            state, count = _detach(state), count + 1
    return [(square / max(count, 1)).sqrt() for square in squares]


@dataclass
class DynamicResult:
    loss: float  # nats per character, each predicted before the model learnt from it
    characters: int


class Adapter:
    """A copy of a model that learns from each segment it reads (see the module's docstring).
    ``read(ids)`` returns the summed loss of predicting them; ``model`` is the adapted copy."""

    def __init__(self, model: CharRNN, config: DynamicConfig, train_ids: np.ndarray | None = None,
                 statistics: list[torch.Tensor] | None = None) -> None:
        """``statistics``: ``gradient_statistics`` already gathered for these weights (the rms
        rule gathers them from ``train_ids`` otherwise). Nothing here draws at random (no
        dropout), so the same model, text and settings always adapt the same way; nor does it
        seed torch's global generator, which a training thread may be drawing from."""
        config.validate()
        self.config = config
        self.model = copy.deepcopy(model).float().cpu()
        self.model.eval()  # no dropout: the adaptation is the only change
        self.params = list(self.model.parameters())
        self.trained = [p.detach().clone() for p in self.params]
        self.state = None
        self.scale: list[torch.Tensor] | None = None
        self.pull: list[torch.Tensor] | None = None
        if config.rule == "rms":
            if statistics is None:
                if train_ids is None or len(train_ids) < 2:
                    raise RnntuiError("the rms rule needs the training text for its gradient statistics; "
                                      "use the sgd rule without it")
                statistics = gradient_statistics(self.model, train_ids, config)
            mean = torch.cat([r.flatten() for r in statistics]).mean().clamp_min(1e-30)
            self.scale = [1.0 / (r + config.eps) for r in statistics]
            cap = 1.0 / config.decay if config.decay > 0 else 0.0
            self.pull = [(r / mean).clamp(max=cap) * config.decay for r in statistics]

    def read(self, ids: torch.Tensor, progress: Callable[[int, int], None] | None = None,
             learn: bool = True) -> tuple[float, int]:
        """Predict ``ids[1:]`` segment by segment (each from the text before it and the state
        carried), learning from each segment after predicting it: ``(summed loss, count)``."""
        total, count = 0.0, 0
        for piece in _segments(ids, self.config.segment):
            with torch.set_grad_enabled(learn):
                logits, state = self.model(piece[:-1].view(1, -1), self.state)
                loss = F.cross_entropy(logits[0], piece[1:])
            total += loss.item() * (len(piece) - 1)
            count += len(piece) - 1
            if learn:
                self._update(torch.autograd.grad(loss, self.params))
            self.state = _detach(state)
            if progress is not None:
                progress(count, len(ids) - 1)
        return total, count

    @torch.no_grad()
    def _update(self, grads) -> None:
        lr = self.config.lr
        for i, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            if self.scale is None:
                param.add_(grad, alpha=-lr)
            else:
                # Both terms from the weights before this step, as Krause et al. write it.
                change = (self.trained[i] - param).mul_(self.pull[i]).sub_(grad * self.scale[i], alpha=lr)
                param.add_(change)


def dynamic_loss(model: CharRNN, ids: np.ndarray, config: DynamicConfig, train_ids: np.ndarray | None = None,
                 progress: Callable[[int, int], None] | None = None) -> DynamicResult:
    """The dynamic evaluation loss of ``model`` on ``ids`` (a copy adapts; ``model`` is left as
    it is)."""
    adapter = Adapter(model, config, train_ids)
    total, count = adapter.read(torch.from_numpy(np.asarray(ids, dtype=np.int64)), progress)
    return DynamicResult(total / count if count else float("nan"), count)


def adapted_copy(model: CharRNN, ids: np.ndarray, config: DynamicConfig,
                 statistics: list[torch.Tensor] | None = None) -> CharRNN:
    """A copy of ``model`` that has read ``ids`` learning as dynamic evaluation does (to
    continue a text in its own style); the rms rule's ``statistics`` default to ``ids``'s own."""
    if len(ids) < 2:
        return model
    adapter = Adapter(model, config, ids, statistics)
    adapter.read(torch.from_numpy(np.asarray(ids, dtype=np.int64)))
    return adapter.model
