"""The character model's training settings (``rnntui train``'s flags, the app's settings form):
each declared once, with its flag's help and its range. No torch here (see core/settings)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnntui.core.errors import RnntuiError
from rnntui.core.settings import MAX_RANDOM_SEED, flag, is_int, setting, whole_ranges

# Far beyond what fits in memory on any machine rnntui runs on; a setting past them (a typo, or
# a crafted checkpoint) is refused before anything is allocated.
MAX_STEPS = 10**15
MAX_BATCH = 1 << 16
MAX_SEQ_LENGTH = 1 << 20
MAX_BATCH_CHARS = 1 << 26
KIND_WORDS = {"int": "whole number", "float": "number", "bool": "yes or no", "str": "name"}


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


@dataclass
class TrainConfig:
    """The book's settings by default: batch 64 x 40 characters, Adam at 0.005."""

    steps: int = setting(10_000, "total steps to train to (default 10000)", low=1, high=MAX_STEPS)
    batch_size: int = setting(64, "windows per step (64)", low=1, high=MAX_BATCH, live=True)
    seq_length: int = setting(40, "characters per window (40)", low=1, high=MAX_SEQ_LENGTH, live=True)
    lr: float = setting(0.005, "Adam learning rate (0.005)", live=True)
    # Cosine decay from lr to lr * lr_min_ratio over this many steps; 0 keeps lr constant.
    lr_decay_steps: int = setting(0, "cosine-decay the rate to a tenth over this many steps (0: constant)", low=0,
                                  live=True)
    lr_min_ratio: float = 0.1
    grad_clip: float = setting(5.0, "clip the gradient norm to this (5.0)")
    val_fraction: float = setting(0.1, "held-out tail of the text (0.1)")
    eval_every: int = setting(100, "estimate validation loss every N steps (100; 0: never)", low=0)
    # The periodic validation estimate uses this many fixed windows of eval_length characters.
    eval_windows: int = 32
    eval_length: int = 256
    save_every: int = setting(0, "save a checkpoint every N steps (0: only at the end)", low=0)
    random_seed: int = setting(1, "seed for weights and windows (1)", low=0, high=MAX_RANDOM_SEED,
                               high_words="2**63 - 1")
    device: str = setting("auto", "auto, cpu, cuda or mps (auto)")
    precision: str = setting("auto", "auto, fp32 or bf16 (auto: bf16 only where it is native and fast)")
    # Truncated backpropagation through time, as char-rnn trains: the text is cut into
    # batch_size streams read in consecutive windows, and each window starts from the state
    # the previous one ended in (no gradient flows back across windows). The model learns to
    # use context longer than one window, which is how it is sampled and evaluated.
    carry_state: bool = setting(False, "read the text as batch-size consecutive streams and carry the state from "
                                "window to window (truncated BPTT, as char-rnn); default: random windows",
                                switch="both", live=True)
    # Early stopping: stop after this many validation estimates in a row without a new best
    # (0: never). The model overfits a novel-sized text; this stops where it starts to.
    patience: int = setting(0, "stop early after N validation estimates in a row without a new best (0: never)",
                            low=0)

    def validate(self) -> None:
        """Raise ``RnntuiError`` naming the flag of the first setting that is out of range (or
        of the wrong type, in a crafted checkpoint's record)."""
        for name, spec in self.__dataclass_fields__.items():
            value, kind = getattr(self, name), spec.type
            ok = {"int": is_int(value), "float": is_number(value), "bool": isinstance(value, bool),
                  "str": isinstance(value, str)}[kind]
            if not ok:
                raise RnntuiError(f"{flag(name)} must be a {KIND_WORDS[kind]}, got {value!r}")
        for name, low, high, high_words in whole_ranges(self):
            value = getattr(self, name)
            if value < low or (high is not None and value > high):
                limit = f"{low} or more" if high is None else f"from {low} to {high_words or f'{high:,}'}"
                raise RnntuiError(f"{flag(name)} must be {limit}, got {value}")
        checks = [
            (self.batch_size * self.seq_length <= MAX_BATCH_CHARS,
             f"--batch-size × --seq-length must be at most {MAX_BATCH_CHARS:,} characters a step, got "
             f"{self.batch_size * self.seq_length:,}"),
            (math.isfinite(self.lr) and self.lr > 0, f"--lr must be a positive number, got {self.lr}"),
            (0.0 <= self.lr_min_ratio <= 1.0, f"lr_min_ratio must be in [0, 1], got {self.lr_min_ratio}"),
            (self.grad_clip > 0, f"--grad-clip must be a positive number (the largest gradient norm), "
             f"got {self.grad_clip}"),
            (0.0 <= self.val_fraction < 1.0, f"--val-fraction must be in [0, 1), got {self.val_fraction}"),
            (1 <= self.eval_windows <= 4096 and 1 <= self.eval_length <= MAX_SEQ_LENGTH,
             f"eval_windows and eval_length must be from 1 to 4,096 and {MAX_SEQ_LENGTH:,}"),
        ]
        for ok, message in checks:
            if not ok:
                raise RnntuiError(message)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)
