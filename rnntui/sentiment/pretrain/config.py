"""The review language model's training settings (``rnntui sentiment pretrain``'s flags): each
declared once, with its flag's help and its range. No torch here (see core/settings)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnntui.core.errors import RnntuiError
from rnntui.core.settings import MAX_RANDOM_SEED, check_whole_numbers, setting

MAX_BATCH = 1 << 14


@dataclass
class PretrainConfig:
    epochs: int = setting(1, "passes over the training text, in all (1)", low=1, high=10_000)
    batch_size: int = setting(32, "reviews per step (32)", low=1, high=MAX_BATCH)
    lr: float = setting(1e-3, "Adam learning rate (0.001)")
    # Longer reviews keep their first and last max_tokens / 2 words, as the classifier may.
    max_tokens: int = setting(400, "read only the first and last N/2 words of longer reviews (400; 0: whole reviews)",
                              low=0, high=1 << 24)
    max_words: int = setting(30_000, "vocabulary: the N most frequent words of the training text (30000)",
                             low=1, high=1 << 24)
    min_count: int = setting(1, "vocabulary: words seen at least N times (1)", low=1, high=1 << 30)
    valid_reviews: int = setting(500, "unlabelled reviews held out to measure perplexity on (500)",
                                 low=1, high=1 << 24)
    eval_every: int = setting(1000, "measure the perplexity every N steps, and at each epoch's end (1000)",
                              low=0, high=1 << 30)
    grad_clip: float = setting(1.0, "clip the gradient norm to this (1; 0: never)")
    random_seed: int = setting(1, "seed for the weights, the batches and dropout (1)", low=0, high=MAX_RANDOM_SEED)

    def validate(self) -> None:
        check_whole_numbers(self)
        for name, positive in (("lr", True), ("grad_clip", False)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    and (value > 0 if positive else value >= 0) and value <= 1e6):
                bound = "above" if positive else "of at least"
                raise RnntuiError(f"--{name.replace('_', '-')} must be a number {bound} 0, got {value!r}")
        if self.max_tokens == 1:
            raise RnntuiError("--max-tokens must be 0 (whole reviews) or at least 2")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> PretrainConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})
