"""Inside the review model: each unit of its summary (the forward direction's final hidden state,
then, for a bidirectional model, the backward one's; with concat pooling each unit's max and mean
over the review as well), each unit's value word by word, units ranked by correlation with the
label, units switched off, and the "sentiment neuron" question (Radford et al. 2017): does one
unit alone classify as well as all of them?

Everything here is measured on the validation reviews (the 5,000 the training split holds out),
never on the test reviews. The validation reviews are cut in two halves (seeded): what is chosen
or fitted (the ranking, the logistic regressions) uses the first, accuracies are on the second."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.core.errors import RnntuiError
from rnntui.neurons.ablate import Loss, check_units, random_sets
from rnntui.neurons.rank import Ranked, correlations, rank_units
from rnntui.neurons.recurrence import clamp_rows, layer_weights, run_layer
from rnntui.sentiment.model import POOLED, SentimentRNN, pad_batch, reverse_each
from rnntui.sentiment.predict import Predictor
from rnntui.sentiment.tokens import UNK, WordVocab
from rnntui.sentiment.trainer import Encoded

BATCH = 128
HALF_SEED = 1


def halves(data: Encoded, seed: int = HALF_SEED) -> tuple[Encoded, Encoded]:
    """``data`` cut in two halves at random (seeded): the fitting half and the held-out half."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    cut = len(order) // 2
    if cut < 2:
        raise RnntuiError(f"{len(data)} validation review(s) are too few to fit on half and test on the other")
    return tuple(Encoded([data.ids[i] for i in part], data.labels[part]) for part in (order[:cut], order[cut:]))


def units_of(model: SentimentRNN) -> int:
    return model.config.hidden_size * (2 if model.config.bidirectional else 1)


def pooled(model: SentimentRNN) -> tuple[str, ...]:
    """What the summary holds of each unit: its last state, and with concat pooling its max and
    mean too. The summary's columns are these parts in turn, each one value per unit."""
    return POOLED[model.config.pooling]


@torch.inference_mode()
def summaries(model: SentimentRNN, data: Encoded, unit_sets: list[list[int]] | None = None,
              clamp_value: float = 0.0, clamp_state: str = "hidden",
              progress=None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each review's summary ``(reviews, units)`` and logit ``(reviews,)``, once for each set of
    units held at ``clamp_value`` at every word (default: one reading, nothing clamped; then the
    model's own fast path reads them)."""
    model.eval()
    unit_sets = unit_sets or [[]]
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    found = [(torch.empty(len(data), units_of(model) * len(pooled(model))), torch.empty(len(data)))
             for _ in unit_sets]
    for start in range(0, len(order), BATCH):
        batch = order[start:start + BATCH]
        ids, lengths = pad_batch([data.ids[i] for i in batch])
        if any(unit_sets):
            summary = _clamped_summaries(model, ids, lengths, unit_sets, clamp_value, clamp_state)
        else:
            embedded = model.embedding(ids)
            summary = [model.summaries(embedded, lengths, model.one_direction(embedded, reverse=False))]
        for (values, logits), part in zip(found, summary, strict=True):
            values[batch] = part
            logits[batch] = model.classify(part)
        if progress is not None:
            progress(min(start + BATCH, len(order)), len(order))
    return found


def _clamped_summaries(model: SentimentRNN, ids: torch.Tensor, lengths: torch.Tensor, unit_sets: list[list[int]],
                       value: float, state: str) -> list[torch.Tensor]:
    hidden, sets, batch = model.config.hidden_size, len(unit_sets), len(ids)
    embedded = model.embedding(ids).repeat(sets, 1, 1)
    lengths = lengths.repeat(sets)
    outputs = []
    directions = (False, True) if model.config.bidirectional else (False,)
    for reverse in directions:
        offset = hidden if reverse else 0
        here = [[u - offset for u in units if offset <= u < offset + hidden] for units in unit_sets]
        clamp = clamp_rows(here, batch, hidden, value, state) if any(here) else None
        inputs = reverse_each(embedded, lengths) if reverse else embedded
        weights = layer_weights(model.rnn, 0, reverse)
        zeros = torch.zeros(len(embedded), hidden)
        read = run_layer(weights, weights.input_projection(inputs).transpose(0, 1), (zeros, zeros), clamp)[0]
        outputs.append(read.transpose(0, 1))
    return list(model.pool(outputs, lengths).split(batch))  # pooled as the model pools


@torch.inference_mode()
def word_activations(model: SentimentRNN, word_ids: list[int]) -> torch.Tensor:
    """``(words, units)``: after each word, each forward unit's value (having read the review up to
    that word) and each backward unit's (having read it from its end back to that word)."""
    model.eval()
    embedded = model.embedding(torch.tensor([word_ids]))
    forward = model.one_direction(embedded, reverse=False)[0]
    if not model.config.bidirectional:
        return forward
    backward = model.one_direction(embedded.flip(1), reverse=True)[0].flip(0)
    return torch.cat([forward, backward], dim=1)


@dataclass(frozen=True)
class ReviewTrace:
    words: list[str]
    probabilities: list[float]  # P(positive) after reading the review up to each word
    activations: torch.Tensor  # (words, units), as ``word_activations``
    ranked: list[Ranked]  # the units by |correlation| with the probabilities (empty if they never change)


def review_trace(model: SentimentRNN, vocab: WordVocab, text: str, top: int = 10) -> ReviewTrace:
    """The verdict as the model reads ``text`` word by word, and the units that follow it best."""
    effects = Predictor(model, vocab).explain(text)
    words = [effect.word for effect in effects]
    probabilities = [effect.probability for effect in effects]
    activations = word_activations(model, [vocab.index.get(word, vocab.index[UNK]) for word in words])
    try:
        ranked = rank_units(activations, np.asarray(probabilities), top)
    except RnntuiError:  # one word, or a verdict that never moves: nothing to correlate with
        ranked = []
    return ReviewTrace(words, probabilities, activations, ranked)


@dataclass(frozen=True)
class UnitScore:
    unit: int
    correlation: float  # with the label, over the fitting half's reviews (its part that correlates most)
    accuracy: float  # of a logistic regression on this unit alone (all it gives the summary), held out
    part: str = "last"  # which of the unit's summary values ``correlation`` is: last, max or mean

    def to_dict(self) -> dict:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class NeuronAnswer:
    fit_reviews: int
    held_out_reviews: int
    ranked: list[UnitScore]  # the top units by |correlation|
    best_single: UnitScore  # the unit whose regression is most accurate on the fitting half
    all_units: float  # accuracy of a logistic regression on every unit, held out
    model: float  # the model's own accuracy on the held-out half

    def to_dict(self) -> dict:
        return {"fit_reviews": self.fit_reviews, "held_out_reviews": self.held_out_reviews,
                "ranked": [u.to_dict() for u in self.ranked], "best_single": self.best_single.to_dict(),
                "all_units_accuracy": round(self.all_units, 5), "model_accuracy": round(self.model, 5)}


def fit_logistic(x: torch.Tensor, y: torch.Tensor, separate: bool, steps: int = 100,
                 l2: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression by L-BFGS on standardised ``x``: with ``separate``, ``x`` is
    ``(n, k, d)`` and there are d regressions of k columns each (a unit's values in the summary;
    weights ``(k, d)``, biases ``(d,)``), else ``x`` is ``(n, d)`` and one regression reads all
    (weights ``(d,)``, bias ``()``); a small L2 penalty keeps separable data finite. Returns
    weights and biases for standardised inputs (see ``standardise``)."""
    d = x.shape[-1]
    weight = torch.zeros(x.shape[1:] if separate else d, requires_grad=True)
    bias = torch.zeros(d if separate else (), requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = (x * weight).sum(1) + bias if separate else x @ weight + bias
        target = y[:, None].expand_as(logits) if separate else y
        # Summed over the separate regressions: each one's gradient is its own.
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / len(y) + l2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def standardise(fit: torch.Tensor, other: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = fit.mean(0), fit.std(0).clamp(min=1e-6)
    return (fit - mean) / std, (other - mean) / std


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Accuracy of each column of ``logits`` (or of the one vector) against ``labels``."""
    labels = labels[:, None] if logits.dim() == 2 else labels
    return ((logits > 0).float() == labels).float().mean(0)


def sentiment_neuron(model: SentimentRNN, valid: Encoded, top: int = 10, progress=None) -> NeuronAnswer:
    """Rank the summary's units by correlation with the label on one half of ``valid``, fit a
    logistic regression on each unit alone and one on all of them there, and measure them (and
    the model) on the other half."""
    fit, held = halves(valid)
    (x_fit, _), = summaries(model, fit)
    (x_held, held_logits), = summaries(model, held, progress=progress)
    parts, units = pooled(model), units_of(model)
    r = correlations(x_fit, fit.labels.numpy()).reshape(len(parts), units)  # a row per part of the summary
    strongest = r.abs().argmax(0)
    a_fit, a_held = standardise(x_fit, x_held)
    by_unit = lambda a: a.reshape(len(a), len(parts), units)  # noqa: E731 - each unit's values together
    weight, bias = fit_logistic(by_unit(a_fit), fit.labels, separate=True)
    single_fit = accuracy((by_unit(a_fit) * weight).sum(1) + bias, fit.labels)
    single_held = accuracy((by_unit(a_held) * weight).sum(1) + bias, held.labels)
    weight_all, bias_all = fit_logistic(a_fit, fit.labels, separate=False)
    all_held = float(accuracy(a_held @ weight_all + bias_all, held.labels))
    scores = [UnitScore(u, float(r[strongest[u], u]), float(single_held[u]), parts[int(strongest[u])])
              for u in range(units)]
    ranked = sorted(scores, key=lambda s: -abs(s.correlation))[:max(top, 0)]
    best = scores[int(single_fit.argmax())]
    return NeuronAnswer(len(fit), len(held), ranked, best, all_held, float(accuracy(held_logits, held.labels)))


@dataclass(frozen=True)
class ReviewAblation:
    value: float
    reviews: int
    base: Loss  # text: the loss (binary cross-entropy); feature: the accuracy
    clamped: Loss
    random: list[Loss]

    @property
    def random_as_harmful(self) -> int:
        """How many random sets lower the accuracy at least as much as the chosen units."""
        drop = self.base.feature - self.clamped.feature
        return sum(self.base.feature - loss.feature >= drop for loss in self.random)

    def to_dict(self) -> dict:
        as_dict = lambda loss: {"units": loss.units, "loss": loss.text, "accuracy": loss.feature}  # noqa: E731
        return {"value": self.value, "reviews": self.reviews, "base": as_dict(self.base),
                "clamped": as_dict(self.clamped), "random": [as_dict(loss) for loss in self.random],
                "random_as_harmful": self.random_as_harmful}


def ablate_reviews(model: SentimentRNN, data: Encoded, units: list[int], value: float = 0.0,
                   state: str = "hidden", random_count: int = 5, seed: int = 0, progress=None) -> ReviewAblation:
    """The loss and accuracy on ``data`` with ``units`` of the summary held at ``value`` at every
    word (unit u < H: the forward direction's u; else the backward one's u - H), without, and
    with random sets of as many units instead."""
    total = units_of(model)
    units = check_units(units, total)
    if state == "cell" and model.config.cell != "lstm":
        raise RnntuiError(f"a {model.config.cell.upper()} has no cell state: clamp its hidden state (--state hidden)")
    if not 0 <= random_count <= 100:
        raise RnntuiError(f"--random-sets must be from 0 to 100, got {random_count}")
    if not len(data):
        raise RnntuiError("there are no reviews to measure on")
    drawn = random_sets(units, total, random_count, seed)
    sets = [[], units, *drawn]
    read = summaries(model, data, sets, value, state, progress)
    found = [Loss(unit_set, float(F.binary_cross_entropy_with_logits(logits, data.labels)),
                  float(accuracy(logits, data.labels))) for unit_set, (_, logits) in zip(sets, read, strict=True)]
    return ReviewAblation(value, len(data), found[0], found[1], found[2:])
