"""Sentiment checkpoints: the file every task shares (``rnntui.core.checkpoint``: a magic line,
a JSON header, a weights-only payload, written atomically) with ``"task": "sentiment"`` in the
header, so that each command refuses the other task's files in one line. Everything in the
payload is checked here before a model is built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rnntui.core.checkpoint import RunCheckpoint, read_checked, run_fields, save_run
from rnntui.core.checks import (
    NUMBER,
    TEXT,
    WHOLE,
    InvalidField,
    PayloadChecks,
    check_payload,
    check_torch_rng,
    is_finite,
    model_settings,
)
from rnntui.core.tasks import SENTIMENT_TASK
from rnntui.sentiment.model import SentimentConfig, SentimentRNN, state_shapes
from rnntui.sentiment.tokens import PAD, UNK, WordVocab
from rnntui.sentiment.trainer import SentimentTrainConfig

TASK = SENTIMENT_TASK
MAX_WORD_LENGTH = 1000
DATA_FIELDS = {"name": TEXT, "train_reviews": WHOLE, "valid_reviews": WHOLE, "split_seed": WHOLE,
               "unlabelled_reviews": WHOLE, "train_characters": WHOLE}
PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "wall_time_s": NUMBER, "test_accuracy": NUMBER,
                     "test_loss": NUMBER, "test_reviews": WHOLE, "soup": dict}


@dataclass
class SentimentCheckpoint(RunCheckpoint):
    model_config: SentimentConfig
    vocab: WordVocab
    history: dict = field(default_factory=lambda: {"train": [], "val": [], "accuracy": []})
    data: dict | None = None  # which reviews it learnt from (name, counts, the split's seed)
    model_class: ClassVar[type[SentimentRNN]] = SentimentRNN

    def best_accuracy(self) -> float | None:
        """The best validation accuracy of its run, or a soup's own (sentiment/soup.py)."""
        soup = (self.provenance or {}).get("soup")
        if isinstance(soup, dict) and is_finite(soup.get("val_accuracy")):
            return float(soup["val_accuracy"])
        return max((a for _, a in self.history.get("accuracy", [])), default=None)

    def summary(self) -> dict:
        return self.header_summary({"best_val_accuracy": self.best_accuracy()}, {"data": self.data})


def save_sentiment_checkpoint(checkpoint: SentimentCheckpoint, path: str | Path, half: bool = False) -> Path:
    """Atomically, as every rnntui checkpoint; ``half``: float16 weights and no optimizer state,
    for shipping."""
    return save_run(checkpoint, path, TASK, {"vocab": list(checkpoint.vocab.words), "data": checkpoint.data}, half)


def load_sentiment_checkpoint(path: str | Path) -> SentimentCheckpoint:
    payload, config = read_checked(path, TASK, check_sentiment_payload)
    return SentimentCheckpoint(model_config=config, vocab=WordVocab(tuple(payload["vocab"])), data=payload.get("data"),
                               **run_fields(payload))


def model_config(values: object) -> SentimentConfig:
    return model_settings(values, SentimentConfig, whole=("vocab_size", "embed_dim", "hidden_size", "fc_hidden"),
                          rates=("dropout", "word_dropout"), names=("cell", "pooling"), flags=("bidirectional",))


def check_word_vocab(words: object, size: int) -> None:
    """A vocabulary of words (a review model's), beginning with the padding and unknown words."""
    if not isinstance(words, (list, tuple)) or not all(
            isinstance(w, str) and 0 < len(w) <= MAX_WORD_LENGTH for w in words):
        raise InvalidField("vocab is not a list of words")
    if len(words) != size:
        raise InvalidField(f"vocab has {len(words):,} words but the model's weights are for {size:,}")
    if list(words[:2]) != [PAD, UNK] or len(set(words)) != len(words):
        raise InvalidField(f"vocab does not begin with {PAD} and {UNK}, or repeats a word")


SENTIMENT_CHECKS = PayloadChecks(
    model_config=model_config, check_vocab=check_word_vocab, state_shapes=state_shapes,
    parameter_shapes=lambda config: list(state_shapes(config).values()), check_rng_state=check_torch_rng,
    records={"data": DATA_FIELDS, "provenance": PROVENANCE_FIELDS}, train_config=SentimentTrainConfig)


def check_sentiment_payload(payload: object) -> SentimentConfig:
    """Raise ``InvalidField`` unless a model can be built from ``payload``; returns its settings."""
    return check_payload(payload, SENTIMENT_CHECKS)
