"""The review classifier's training settings (``rnntui sentiment train``'s flags): each declared
once, with its flag's help and its range. No torch here (see core/settings)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnntui.core.errors import RnntuiError
from rnntui.core.settings import MAX_RANDOM_SEED, check_whole_numbers, setting

MAX_EPOCHS = 10_000
MAX_BATCH = 1 << 14
MAX_RATE = 1_000_000  # --lr and --grad-clip: far above any that trains
EMBEDDING_INITS = ("random", "nb", "ppmi", "ppmi+nb")
LR_SCHEDULES = ("constant", "linear")


@dataclass
class SentimentTrainConfig:
    """The book's settings by default; ``max_words`` 0 keeps every word of the training reviews."""

    epochs: int = setting(10, "passes over the training reviews, in all (10)", low=1, high=MAX_EPOCHS)
    batch_size: int = setting(32, "reviews per step (32)", low=1, high=MAX_BATCH)
    lr: float = setting(1e-3, "Adam learning rate (0.001)")
    # Longer reviews keep their first and last max_tokens / 2 words (0: all).
    max_tokens: int = setting(0, "read only the first and last N/2 words of longer reviews (0: whole reviews, up to "
                              "5,000 words, the most any review contributes)", low=0, high=1 << 24)
    max_words: int = setting(0, "vocabulary: the N most frequent words of the training reviews (0: all)",
                             low=0, high=1 << 24)
    min_count: int = setting(1, "vocabulary: words seen at least N times (1)", low=1, high=1 << 30)
    eval_every: int = setting(0, "also validate every N steps into each epoch (0: at its end only)",
                              low=0, high=1 << 30)
    patience: int = setting(0, "stop after N validations without a better accuracy (0: never)", low=0, high=1 << 30)
    grad_clip: float = setting(0.0, "clip the gradient norm to this (0: never, as the book)")
    random_seed: int = setting(1, "seed for the weights, the batches and dropout (1)", low=0, high=MAX_RANDOM_SEED)
    # How a new model's embedding starts. "nb": each word's naive-Bayes log-count ratio in its
    # first dimension (how much likelier the word is in positive training reviews than in negative
    # ones), so the recurrence starts from a useful signal instead of noise. "ppmi": word vectors
    # from how words co-occur in the training and unlabelled reviews (sentiment/embedding.py), so
    # words of like meaning start alike; "ppmi+nb": both. "random": as the book.
    init_embedding: str = setting(
        "random", "how a new model's embedding starts. nb: each word's naive-Bayes log-count ratio in the first "
        "dimension; ppmi: word vectors from how words co-occur in the training and unlabelled reviews (seconds; "
        "about 2 GB of memory); ppmi+nb: both; random: as the book (random)", choices=EMBEDDING_INITS)
    # Fine-tuning a model started from a language model (Howard & Ruder 2018): the recurrent layer
    # learns at lr / layer_lr_decay and the embedding at lr / layer_lr_decay ** 2 (1: all at lr);
    # gradual_unfreezing trains the layers above the recurrent one alone in the first epoch, the
    # recurrent layer too in the second, and the embedding from the third.
    layer_lr_decay: float = setting(1.0, "discriminative learning rates: the recurrent layer learns at --lr / F, the "
                                    "embedding at --lr / F^2 (1: all at --lr; Howard & Ruder used 2.6)")
    # "linear": each update's rate falls from lr at the first step to nearly 0 at the last (the
    # fine-tuning schedule of later transfer learning), so the last epochs settle instead of
    # swinging; computed from the step alone, so a resumed run goes on exactly.
    lr_schedule: str = setting("constant", "the learning rate over the run: constant (as the book), or linear: "
                               "from --lr at the first step down to 0 at the last", choices=LR_SCHEDULES)
    gradual_unfreezing: bool = setting(False, "train the classifier's layers alone in the first epoch, the recurrent "
                                       "layer too in the second, all from the third", switch="on")

    def validate(self) -> None:
        check_whole_numbers(self)
        for name, low_open in (("lr", True), ("grad_clip", False)):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and (value > 0 if low_open else value >= 0) and value <= MAX_RATE
            if not ok:
                low = "above 0" if low_open else "of at least 0"
                raise RnntuiError(f"--{name.replace('_', '-')} must be a number {low} and at most {MAX_RATE:,}, "
                                  f"got {value!r}")
        decay = self.layer_lr_decay
        if not (isinstance(decay, (int, float)) and not isinstance(decay, bool) and math.isfinite(decay)
                and 1 <= decay <= 1e3):
            raise RnntuiError(f"--layer-lr-decay must be a number from 1 to 1000, got {decay!r}")
        if not isinstance(self.gradual_unfreezing, bool):
            raise RnntuiError(f"gradual_unfreezing must be true or false, got {self.gradual_unfreezing!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise RnntuiError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.init_embedding not in EMBEDDING_INITS:
            raise RnntuiError(f"--init-embedding must be one of {', '.join(EMBEDDING_INITS)}, "
                              f"got {self.init_embedding!r}")
        if self.max_tokens == 1:
            raise RnntuiError("--max-tokens must be 0 (whole reviews) or at least 2")

    @property
    def embedding_starts(self) -> set[str]:
        """What the embedding starts from: {"random"}, {"nb"}, {"ppmi"} or both of the last."""
        return set(self.init_embedding.split("+"))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SentimentTrainConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)
