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

Several learners can read the text side by side, each a copy adapting at its own rate: a slow
one keeps close to what training found, a fast one follows the passage at hand. Each character's
prediction is their mixture, weighted by how well each has predicted lately (``Mixture``). No
single rate suits every text, and the mixture does better than either learner alone.

The model given is never changed: the adaptation happens on copies.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.charlm.dynamic_config import MAX_LEARNERS, MAX_LR, RULES, SEED_TEXT_CONFIG, DynamicConfig  # noqa: F401 - re-exported
from rnntui.charlm.model import CharRNN
from rnntui.core.errors import RnntuiError


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


class Mixture:
    """Mixes several learners' predictions of each character: each weighted by how well it has
    predicted the characters before (a Bayesian mixture), then a ``share`` of the weight spread
    evenly again (Herbster and Warmuth's fixed share), so that the mixture can switch quickly to
    whichever learner suits the passage being read."""

    def __init__(self, learners: int, share: float) -> None:
        self.share = share / learners
        self.keep = 1.0 - share
        self.log_weights = [-math.log(learners)] * learners

    def add(self, losses: list[list[float]]) -> float:
        """``losses[k][t]``: learner ``k``'s loss on character ``t``. Returns the mixture's summed loss."""
        total = 0.0
        log_weights = self.log_weights
        for char_losses in zip(*losses, strict=True):
            joint = [w - loss for w, loss in zip(log_weights, char_losses, strict=True)]
            top = max(joint)
            likelihoods = [math.exp(j - top) for j in joint]
            evidence = sum(likelihoods)
            total -= top + math.log(evidence)
            log_weights = [math.log(max(self.keep * p / evidence + self.share, 1e-300)) for p in likelihoods]
        self.log_weights = log_weights
        return total


def mixture_loss(losses: list[np.ndarray], share: float) -> float:
    """The mean loss of mixing learners whose per-character losses are ``losses`` (see ``Mixture``)."""
    mixture = Mixture(len(losses), share)
    return mixture.add([np.asarray(loss, dtype=np.float64).tolist() for loss in losses]) / len(losses[0])


@dataclass
class DynamicResult:
    loss: float  # nats per character, each predicted before the model learnt from it
    characters: int
    learner_losses: list[float]  # each learner's own loss, alone
    char_losses: list[np.ndarray] | None = None  # each learner's loss on each character, when asked for


class Learner:
    """A copy of a model that learns from each segment it reads at one rate (see the module's
    docstring)."""

    def __init__(self, model: CharRNN, rule: str, lr: float, decay: float, eps: float,
                 statistics: list[torch.Tensor] | None) -> None:
        self.model = copy.deepcopy(model).float().cpu()
        self.model.eval()  # no dropout: the adaptation is the only change
        self.lr = lr
        self.params = list(self.model.parameters())
        self.trained = [p.detach().clone() for p in self.params]
        self.state = None
        self.scale: list[torch.Tensor] | None = None
        self.pull: list[torch.Tensor] | None = None
        if rule == "rms":
            mean = torch.cat([r.flatten() for r in statistics]).mean().clamp_min(1e-30)
            self.scale = [1.0 / (r + eps) for r in statistics]
            cap = 1.0 / decay if decay > 0 else 0.0
            self.pull = [(r / mean).clamp(max=cap) * decay for r in statistics]

    def read(self, piece: torch.Tensor, learn: bool) -> torch.Tensor:
        """Predict ``piece[1:]`` from ``piece[:-1]`` and the state carried; then learn from it.
        Returns the loss on each character."""
        learn = learn and self.lr > 0  # at rate 0 the learner is the trained model: no gradient needed
        with torch.set_grad_enabled(learn):
            logits, state = self.model(piece[:-1].view(1, -1), self.state)
            losses = F.cross_entropy(logits[0], piece[1:], reduction="none")
        if learn:
            self._update(torch.autograd.grad(losses.mean(), self.params))
        self.state = _detach(state)
        return losses.detach()

    @torch.no_grad()
    def _update(self, grads) -> None:
        lr = self.lr
        for i, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            if self.scale is None:
                param.add_(grad, alpha=-lr)
            else:
                # Both terms from the weights before this step, as Krause et al. write it.
                change = (self.trained[i] - param).mul_(self.pull[i]).sub_(grad * self.scale[i], alpha=lr)
                param.add_(change)


class Adapter:
    """The learners of a ``DynamicConfig``, reading a text together. ``read(ids)`` returns the
    summed loss of the mixture's predictions; ``model`` is the learner that has predicted best."""

    def __init__(self, model: CharRNN, config: DynamicConfig, train_ids: np.ndarray | None = None,
                 statistics: list[torch.Tensor] | None = None) -> None:
        """``statistics``: ``gradient_statistics`` already gathered for these weights (the rms
        rule gathers them from ``train_ids`` otherwise). Nothing here draws at random (no
        dropout), so the same model, text and settings always adapt the same way; nor does it
        seed torch's global generator, which a training thread may be drawing from."""
        config.validate()
        self.config = config
        if config.rule == "rms" and statistics is None:
            if train_ids is None or len(train_ids) < 2:
                raise RnntuiError("the rms rule needs the training text for its gradient statistics; "
                                  "use the sgd rule without it")
            statistics = gradient_statistics(model, train_ids, config)
        self.learners = [Learner(model, config.rule, lr, decay, config.eps, statistics)
                         for lr, decay in config.learners()]
        self.mixture = Mixture(len(self.learners), config.share)
        self.learner_totals = [0.0] * len(self.learners)

    @property
    def model(self) -> CharRNN:
        """The learner whose own predictions have been best so far (the first, on a tie)."""
        best = min(range(len(self.learners)), key=lambda k: self.learner_totals[k])
        return self.learners[best].model

    def read(self, ids: torch.Tensor, progress: Callable[[int, int], None] | None = None,
             learn: bool = True, keep: list[list[np.ndarray]] | None = None) -> tuple[float, int]:
        """Predict ``ids[1:]`` segment by segment (each from the text before it and the state
        carried), learning from each segment after predicting it: ``(summed loss, count)``.
        ``keep``: a list per learner, to which each segment's losses are added."""
        total, count = 0.0, 0
        for piece in _segments(ids, self.config.segment):
            losses = [learner.read(piece, learn).numpy() for learner in self.learners]
            sums = [float(loss.sum(dtype=np.float64)) for loss in losses]
            for learner, learner_sum in zip(self.learners, sums, strict=True):
                if not math.isfinite(learner_sum):
                    raise diverged(learner.lr, count)
            self.learner_totals = [t + s for t, s in zip(self.learner_totals, sums, strict=True)]
            if keep is not None:
                for kept, loss in zip(keep, losses, strict=True):
                    kept.append(loss)
            # One learner is its own mixture: its sum, without mixing character by character.
            total += sums[0] if len(losses) == 1 else self.mixture.add([loss.tolist() for loss in losses])
            count += len(piece) - 1
            if progress is not None:
                progress(count, len(ids) - 1)
        return total, count


def diverged(lr: float, characters: int) -> RnntuiError:
    """What a person reads when a learner's weights have blown up (a loss of inf or nan)."""
    return RnntuiError(f"the dynamic evaluation diverged at learning rate {lr:g}: after {characters:,} characters "
                       "its loss is no longer a finite number; use a smaller --dynamic-lr")


def dynamic_loss(model: CharRNN, ids: np.ndarray, config: DynamicConfig, train_ids: np.ndarray | None = None,
                 progress: Callable[[int, int], None] | None = None, keep_char_losses: bool = False) -> DynamicResult:
    """The dynamic evaluation loss of ``model`` on ``ids`` (copies adapt; ``model`` is left as
    it is). ``keep_char_losses``: also return each learner's loss on each character."""
    adapter = Adapter(model, config, train_ids)
    keep = [[] for _ in adapter.learners] if keep_char_losses else None
    total, count = adapter.read(torch.from_numpy(np.asarray(ids, dtype=np.int64)), progress, keep=keep)
    nan = float("nan")
    return DynamicResult(total / count if count else nan, count,
                         [learner_total / count if count else nan for learner_total in adapter.learner_totals],
                         None if keep is None else [np.concatenate(k) if k else np.zeros(0) for k in keep])


def adapted_copy(model: CharRNN, ids: np.ndarray, config: DynamicConfig,
                 statistics: list[torch.Tensor] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> CharRNN:
    """A copy of ``model`` that has read ``ids`` learning as dynamic evaluation does (to
    continue a text in its own style): of several learners, the one that predicted ``ids``
    best. The rms rule's ``statistics`` default to ``ids``'s own."""
    if len(ids) < 2:
        return model
    adapter = Adapter(model, config, ids, statistics)
    _, count = adapter.read(torch.from_numpy(np.asarray(ids, dtype=np.int64)), progress)
    adapted = adapter.model
    # The last segment's update comes after its loss was counted: it may have blown the weights up.
    if not all(torch.isfinite(param).all() for param in adapted.parameters()):
        raise diverged(next(learner.lr for learner in adapter.learners if learner.model is adapted), count)
    return adapted
