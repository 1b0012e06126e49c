"""Switching units off: the loss on a text with chosen units clamped at every step, against the
loss without, and against as many random units clamped instead (a unit that correlates with a
feature may matter little; the random sets show what clamping any units of that count does)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from rnntui.charlm.model import CharRNN
from rnntui.core.errors import RnntuiError
from rnntui.neurons.activations import WARMUP, read


@dataclass(frozen=True)
class Loss:
    units: list[int]
    text: float  # mean nats/char over every character predicted
    feature: float  # over the feature's characters (nan when the text has none)

    def to_dict(self) -> dict:
        # JSON has no NaN (json.dumps would write one that strict parsers refuse): null instead.
        return {**asdict(self), "feature": None if np.isnan(self.feature) else self.feature}


@dataclass(frozen=True)
class Ablation:
    state: str
    value: float
    characters: int  # predicted
    feature_characters: int
    base: Loss  # nothing clamped
    clamped: Loss  # the chosen units
    random: list[Loss]  # random sets of as many units

    @property
    def random_as_harmful(self) -> int:
        """How many random sets raise the feature's loss at least as much as the chosen units
        (on the whole text when the text has no feature characters)."""
        key = "text" if np.isnan(self.clamped.feature) else "feature"
        change = getattr(self.clamped, key) - getattr(self.base, key)
        return sum(getattr(loss, key) - getattr(self.base, key) >= change for loss in self.random)

    def to_dict(self) -> dict:
        return {"state": self.state, "value": self.value, "characters": self.characters,
                "feature_characters": self.feature_characters, "base": self.base.to_dict(),
                "clamped": self.clamped.to_dict(), "random": [loss.to_dict() for loss in self.random],
                "random_as_harmful": self.random_as_harmful}


def check_units(units: list[int], hidden: int) -> list[int]:
    if not units:
        raise RnntuiError("name at least one unit to switch off: --unit N")
    bad = [unit for unit in units if not 0 <= unit < hidden]
    if bad:
        raise RnntuiError(f"unit {bad[0]} does not exist: this model's units are 0 to {hidden - 1}")
    return sorted(set(units))


def random_sets(units: list[int], hidden: int, count: int, seed: int) -> list[list[int]]:
    """``count`` sets of ``len(units)`` units drawn from the others (seeded, so repeatable)."""
    others = np.array([unit for unit in range(hidden) if unit not in set(units)])
    if len(others) < len(units):
        raise RnntuiError(f"there are not {len(units)} other units to draw random sets from")
    generator = np.random.default_rng(seed)
    return [sorted(generator.choice(others, size=len(units), replace=False).tolist()) for _ in range(count)]


def ablate(model: CharRNN, ids: np.ndarray, units: list[int], feature_characters: np.ndarray,
           state: str = "cell", value: float = 0.0, random_count: int = 5, seed: int = 0,
           layer: int = -1, warmup: int | None = WARMUP, progress=None) -> Ablation:
    """The loss of ``model`` on ``ids`` with ``units`` (of layer ``layer``'s ``state``) held at
    ``value``, without, and with ``random_count`` random sets of as many units instead, all in
    one pass; on every character and on those where ``feature_characters`` is True (the loss of
    predicting that character from the text before it)."""
    hidden = model.config.hidden_size
    units = check_units(units, hidden)
    if state == "cell" and model.config.cell != "lstm":
        raise RnntuiError(f"a {model.config.cell.upper()} has no cell state: clamp its hidden state (--state hidden)")
    if not 0 <= random_count <= 100:
        raise RnntuiError(f"--random-sets must be from 0 to 100, got {random_count}")
    drawn = random_sets(units, hidden, random_count, seed)
    readings = read(model, ids, [[], units, *drawn], clamp_value=value, clamp_state=state, layer=layer,
                    keep=(), losses=True, warmup=warmup, progress=progress)
    predicted = torch.as_tensor(np.asarray(feature_characters, dtype=bool)[1:])

    def loss(unit_set: list[int], losses: torch.Tensor) -> Loss:
        on = losses[predicted]
        return Loss(unit_set, float(losses.mean()), float(on.mean()) if len(on) else float("nan"))

    found = [loss(unit_set, reading.losses) for unit_set, reading in zip([[], units, *drawn], readings, strict=True)]
    return Ablation(state, value, len(ids) - 1, int(predicted.sum()), found[0], found[1], found[2:])
