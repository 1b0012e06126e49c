"""A model soup: one classifier whose weights are the average of several fine-tuned from the same
language model (Wortsman et al. 2022, "Model soups"). Runs fine-tuned from one pretrained start
stay in one basin of the loss, so their average is a model of its own, no larger and no slower
than each, and often steadier than any of them; classifiers started at random do not share a
basin, and their average is noise, so they are refused.

The greedy recipe: measure each classifier on the validation reviews, then, from the best, add
the others one at a time in order of accuracy, keeping one only when the soup's validation
accuracy does not fall. The test reviews play no part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from rnntui.core.errors import RnntuiError
from rnntui.core.provenance import kept_starts
from rnntui.sentiment.checkpoint import SentimentCheckpoint
from rnntui.sentiment.model import SentimentConfig

# What identifies the language model a classifier started from, wherever its file was then.
START_FIELDS = ("step", "val_loss", "train_words")

Measure = Callable[[dict[str, torch.Tensor]], tuple[float, float]]  # weights -> (loss, accuracy)


@dataclass
class Ingredient:
    name: str  # the file's name, as the soup's record keeps it
    checkpoint: SentimentCheckpoint
    loss: float = float("nan")  # on the validation reviews, once measured
    accuracy: float = float("nan")


@dataclass
class Soup:
    members: list[Ingredient]
    loss: float
    accuracy: float
    tried: list[tuple[list[str], float, float]] = field(default_factory=list)  # each soup tried, in order


def start_of(checkpoint: SentimentCheckpoint) -> tuple | None:
    """The language model ``checkpoint`` was fine-tuned from (its step, loss and words), or None."""
    from_lm = (checkpoint.provenance or {}).get("from_lm")
    if not isinstance(from_lm, dict):
        return None
    return tuple(from_lm.get(name) for name in START_FIELDS)


def check_ingredients(ingredients: list[Ingredient]) -> None:
    """Refuse, in one line, classifiers that cannot be averaged: fewer than two, a soup, one twice
    (the same weights), another shape or vocabulary, another validation split (seed or reviews), or
    not all fine-tuned from one language model."""
    if len(ingredients) < 2:
        raise RnntuiError("a soup needs at least two classifiers fine-tuned from one language model")
    first = ingredients[0]
    for other in ingredients:
        if start_of(other.checkpoint) is None:
            raise RnntuiError(f"{other.name} was not fine-tuned from a language model (rnntui sentiment train "
                              "--from-lm): only classifiers from one pretrained start can be averaged")
    for other in ingredients:
        soup = (other.checkpoint.provenance or {}).get("soup")
        if isinstance(soup, dict):  # its members would count as one, and one of them beside it counted twice
            raise RnntuiError(f"{other.name} is itself a soup: give the classifiers it was made of instead")
    for i, other in enumerate(ingredients):
        for earlier in ingredients[:i]:  # a copy: its weight would count twice
            if same_weights(other.checkpoint.model_state, earlier.checkpoint.model_state):
                raise RnntuiError(f"{other.name} holds the same weights as {earlier.name}: each classifier goes "
                                  "into the soup once")
    for other in ingredients[1:]:
        if shape_of(other.checkpoint.model_config) != shape_of(first.checkpoint.model_config):
            raise RnntuiError(f"{other.name} is not the shape of {first.name}: a soup averages classifiers of one "
                              "shape")
        if other.checkpoint.vocab.words != first.checkpoint.vocab.words:
            raise RnntuiError(f"{other.name} reads another vocabulary than {first.name}")
        if start_of(other.checkpoint) != start_of(first.checkpoint):
            raise RnntuiError(f"{other.name} was fine-tuned from another language model than {first.name} (step, "
                              "loss or words differ): only classifiers from one pretrained start can be averaged")
        other_split = split_seed(other.checkpoint) != split_seed(first.checkpoint)
        if other_split or counts_differ(other.checkpoint, first.checkpoint):
            raise RnntuiError(f"{other.name} held out other validation reviews than {first.name} (another split "
                              "or other reviews): it may have trained on those that choose the soup")


def shape_of(config: SentimentConfig) -> SentimentConfig:
    """``config`` without its dropout, which acts only in training: classifiers trained with
    other dropout are models of one shape, to be averaged as Wortsman et al. average runs of
    other settings."""
    return replace(config, dropout=0.0, word_dropout=0.0)


def split_seed(checkpoint: SentimentCheckpoint) -> object:
    return (checkpoint.data or {}).get("split_seed")


# Counts of the reviews a classifier was split from: the same seed on other reviews holds out
# others. Compared where both records hold one (older checkpoints lack the characters).
REVIEW_COUNTS = ("train_reviews", "valid_reviews", "train_characters")


def counts_differ(a: SentimentCheckpoint, b: SentimentCheckpoint) -> bool:
    recorded = [((a.data or {}).get(name), (b.data or {}).get(name)) for name in REVIEW_COUNTS]
    return any(x is not None and y is not None and x != y for x, y in recorded)


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(a[name].shape == b[name].shape and torch.equal(a[name], b[name]) for name in a)


def average_weights(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of each weight over ``states`` (in float32, then in the first one's precision)."""
    return {name: (sum(state[name].float() for state in states) / len(states)).to(tensor.dtype)
            for name, tensor in states[0].items()}


def greedy_soup(ingredients: list[Ingredient], measure: Measure,
                on_measured: Callable[[str, float, float], None] | None = None) -> Soup:
    """The greedy soup of ``ingredients`` (checked first), each judged by ``measure`` on the
    validation reviews; ``on_measured(what, loss, accuracy)`` hears each measurement."""
    check_ingredients(ingredients)
    for ingredient in ingredients:
        ingredient.loss, ingredient.accuracy = measure(ingredient.checkpoint.model_state)
        if on_measured:
            on_measured(ingredient.name, ingredient.loss, ingredient.accuracy)
    ranked = sorted(ingredients, key=lambda ingredient: -ingredient.accuracy)  # stable: ties keep their order
    best = ranked[0]
    soup = Soup([best], best.loss, best.accuracy)
    for candidate in ranked[1:]:
        members = [*soup.members, candidate]
        loss, accuracy = measure(average_weights([member.checkpoint.model_state for member in members]))
        names = [member.name for member in members]
        soup.tried.append((names, loss, accuracy))
        if on_measured:
            on_measured(" + ".join(names), loss, accuracy)
        if accuracy >= soup.accuracy:
            soup.members, soup.loss, soup.accuracy = members, loss, accuracy
    return soup


def soup_checkpoint(soup: Soup, made: dict) -> SentimentCheckpoint:
    """The soup as a checkpoint: the averaged weights in the best member's checkpoint (its settings,
    data record and curves), no optimizer state (a soup is not resumed), the training time of all
    its members, and a record of what went into it and how it scored; ``made``: the soup's own
    command and machine."""
    base = soup.members[0].checkpoint
    record = {"val_accuracy": soup.accuracy, "val_loss": soup.loss,
              "ingredients": [{"checkpoint": member.name, "step": member.checkpoint.step,
                               "val_accuracy": member.accuracy,
                               "command": str((member.checkpoint.provenance or {}).get("command", ""))}
                              for member in soup.members]}
    elapsed = sum(member.checkpoint.elapsed for member in soup.members)
    return replace(base, model_state=average_weights([member.checkpoint.model_state for member in soup.members]),
                   optimizer_state=None, rng_state=None, elapsed=elapsed, created="",
                   provenance={**kept_starts(base.provenance), **made, "wall_time_s": round(elapsed, 1),
                               "soup": record})
