"""Judging one review: the probability that it is positive, and (``explain``) the probability after
each word, so a person sees which words moved it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnntui.core.errors import RnntuiError
from rnntui.sentiment.model import SentimentRNN, pad_batch
from rnntui.sentiment.tokens import UNK, WordVocab, tokenize

MAX_EXPLAINED_WORDS = 2000  # a bidirectional model reads every prefix again: the cost grows as n^2
PREFIX_BATCH = 256


class EmptyReview(RnntuiError):
    """A review with no words in it: there is nothing to read."""


@dataclass(frozen=True)
class Prediction:
    probability: float  # that the review is positive
    words: int
    unknown: int  # words the model never saw while training (read as one unknown word)

    @property
    def label(self) -> str:
        return "positive" if self.probability >= 0.5 else "negative"

    def note(self) -> str | None:
        """A sentence when the verdict rests on little: no word of the review is known."""
        if self.unknown == self.words:
            return (f"none of the review's {self.words:,} words is in the model's vocabulary, so the verdict "
                    "says nothing about the review")
        return None


@dataclass(frozen=True)
class WordEffect:
    word: str
    known: bool
    probability: float  # after reading the review up to and including this word
    change: float  # what this word did to the running probability


class Predictor:
    """A model and its vocabulary, for one review at a time (on the CPU, in inference mode)."""

    def __init__(self, model: SentimentRNN, vocab: WordVocab) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self._unknown = vocab.index[UNK]

    def _ids(self, text: str) -> tuple[list[str], list[int]]:
        words = tokenize(text)
        if not words:
            raise EmptyReview("the review is empty: it has no words to judge")
        return words, [self.vocab.index.get(word, self._unknown) for word in words]

    @torch.inference_mode()
    def predict(self, text: str) -> Prediction:
        words, ids = self._ids(text)
        ids_tensor, lengths = pad_batch([ids])
        probability = torch.sigmoid(self.model(ids_tensor, lengths)).item()
        return Prediction(probability, len(words), sum(i == self._unknown for i in ids))

    @torch.inference_mode()
    def explain(self, text: str, limit: int = MAX_EXPLAINED_WORDS) -> list[WordEffect]:
        """The running probability after each word (of the first ``limit``), and the change each
        word made to it; the first word's change is from an even 0.5."""
        words, ids = self._ids(text)
        words, ids = words[:limit], ids[:limit]
        probabilities = self._prefix_probabilities(ids)
        effects, before = [], 0.5
        for word, word_id, probability in zip(words, ids, probabilities, strict=True):
            effects.append(WordEffect(word, word_id != self._unknown, probability, probability - before))
            before = probability
        return effects

    def _prefix_probabilities(self, ids: list[int]) -> list[float]:
        model = self.model
        embedded = model.embedding(torch.tensor([ids]))
        # The forward direction's output after word t is its summary of the prefix up to t: one
        # pass gives every prefix's.
        forward = model.one_direction(embedded, reverse=False)
        if not model.config.bidirectional and model.config.pooling == "last":
            return torch.sigmoid(model.classify(forward[0])).tolist()
        # The backward direction reads each prefix from its last word back to the first: a pass
        # per prefix (the cost grows as n^2), the prefixes batched; pooling too is over each prefix.
        found: list[float] = []
        for start in range(0, len(ids), PREFIX_BATCH):
            ends = torch.arange(start + 1, min(start + PREFIX_BATCH, len(ids)) + 1)
            longest = int(ends[-1])
            prefixes, outputs = (t[:, :longest].expand(len(ends), -1, -1) for t in (embedded, forward))
            found += torch.sigmoid(model.classify(model.summaries(prefixes, ends, outputs))).tolist()
        return found
