"""What the chat's session hands its clients: ``ModelInfo``, what the UI shows about the current
model, and ``HeldOut``, a consistent copy of the weights with the text an exact evaluation reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntui.charlm.model import CharRNN


@dataclass
class ModelInfo:
    """What the UI shows about the current model."""

    name: str
    step: int
    device: str
    cell: str
    hidden_size: int
    vocab_size: int
    corpus: str | None
    example_seed: str = "The island"  # a seed text to suggest (corpus.example_seed)
    hard_wrapped: bool = True  # its text is prose wrapped at a fixed width (corpus.looks_hard_wrapped)


@dataclass
class HeldOut:
    """What an exact evaluation needs (``evaluate.evaluate_ids``) and what it reports."""

    model: CharRNN
    ids: np.ndarray
    val_fraction: float
    corpus_name: str
    step: int
    train_ids: np.ndarray | None = None  # the training split, for dynamic evaluation's statistics
