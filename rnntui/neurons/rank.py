"""Ranking units by how well they track something: the Pearson correlation of each unit's
activation with a feature over every character, or, for a span of the text, how selectively the
unit is on there (LSTMVis's select view)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from rnntui.core.errors import RnntuiError


@dataclass(frozen=True)
class Ranked:
    unit: int
    score: float  # the correlation, or the span's selectivity (signed)
    mean_on: float  # mean activation where the feature is on (inside the span)
    mean_off: float  # and elsewhere

    def to_dict(self) -> dict:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


def correlations(activations: torch.Tensor, feature: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The Pearson correlation of each column of ``activations`` ``(characters, H)`` with
    ``feature`` ``(characters,)``; 0 for a unit that never changes."""
    values = torch.as_tensor(np.asarray(feature, dtype=np.float32))
    if len(values) != len(activations):
        raise ValueError("one feature value per character")
    centred = values - values.mean()
    if float(centred.abs().max()) == 0.0:
        raise RnntuiError("the feature does not vary over the text (it is everywhere or nowhere): "
                          "there is nothing to correlate with; give a longer or another text")
    # (x - mean_x) . (f - mean_f) = x . (f - mean_f): the activations need no centred copy.
    covariance = centred @ activations
    spread = column_std(activations) * len(values) ** 0.5
    r = covariance / (spread * centred.norm()).clamp(min=1e-12)
    return torch.where(spread > 1e-6 * max(1.0, float(spread.max())), r, torch.zeros_like(r))


def column_std(activations: torch.Tensor, block: int = 4096) -> torch.Tensor:
    """Each column's standard deviation (of the population), a block of rows at a time: torch's
    own ``std(0)`` strides down the columns of a tall tensor, 50 times slower than this."""
    shift = activations[:block].mean(0)  # sums of squares about a rough mean lose little precision
    sums = torch.zeros(activations.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(sums)
    for rows in activations.split(block):
        rows = rows - shift
        sums += rows.sum(0)
        squares += rows.square().sum(0)
    n = len(activations)
    return (squares / n - (sums / n).square()).clamp(min=0).sqrt().float()


def masked_means(activations: torch.Tensor, on: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Each column's mean where ``on`` is True and where it is False (nan where there is none)."""
    mask = torch.as_tensor(np.asarray(on, dtype=np.float32))
    count = float(mask.sum())
    inside = mask @ activations
    outside = torch.ones_like(mask) @ activations - inside
    nan = float("nan")
    return (inside / count if count else torch.full_like(inside, nan),
            outside / (len(mask) - count) if count < len(mask) else torch.full_like(inside, nan))


def rank_units(activations: torch.Tensor, feature: np.ndarray, top: int) -> list[Ranked]:
    """The ``top`` units by |correlation| with ``feature``, best first."""
    r = correlations(activations, feature)
    return _ranked(activations, np.asarray(feature) > 0, r, top)


def span_feature(characters: int, start: int, end: int) -> np.ndarray:
    """1 on ``[start, end)``: the span as a feature (RnntuiError if it is not inside the text)."""
    if not 0 <= start < end <= characters:
        raise RnntuiError(f"the span {start}:{end} is not inside the text's {characters:,} characters "
                          f"(give START:END with 0 <= START < END <= {characters})")
    if end - start == characters:
        raise RnntuiError("the span is the whole text: mark part of it, to compare inside with outside")
    values = np.zeros(characters, dtype=np.float32)
    values[start:end] = 1.0
    return values


def selectivity(activations: torch.Tensor, inside: np.ndarray) -> torch.Tensor:
    """How selectively each unit is on inside a span: its mean activation inside minus its mean
    outside, over its standard deviation over the whole text (a standardised mean difference;
    positive: higher inside). Unlike a threshold's fraction of steps, it needs no threshold to
    choose and ranks units whose scales differ (cell states are unbounded) alike."""
    means_in, means_out = masked_means(activations, np.asarray(inside) > 0)
    difference = means_in - means_out
    spread = column_std(activations)
    return torch.where(spread > 1e-6, difference / spread.clamp(min=1e-12), torch.zeros_like(difference))


def rank_span(activations: torch.Tensor, start: int, end: int, top: int) -> list[Ranked]:
    """The ``top`` units by |selectivity| for the span ``[start, end)``, best first."""
    inside = span_feature(len(activations), start, end)
    return _ranked(activations, inside > 0, selectivity(activations, inside), top)


def _ranked(activations: torch.Tensor, on: np.ndarray, scores: torch.Tensor, top: int) -> list[Ranked]:
    order = scores.abs().argsort(descending=True)[:max(top, 0)].tolist()
    means_on, means_off = masked_means(activations, on)
    return [Ranked(unit, float(scores[unit]), float(means_on[unit]), float(means_off[unit])) for unit in order]
