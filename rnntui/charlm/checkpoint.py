"""A language model's checkpoint: the file every task shares (``rnntui.core.checkpoint``) with
``"task": "text"``, its characters and its corpus record; everything in it is checked
(``rnntui.charlm.checks``) before a model is built from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from rnntui.charlm.checks import check_text_payload
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.vocab import Vocab
from rnntui.core.checkpoint import RunCheckpoint, read_checked, run_fields, save_run
from rnntui.core.tasks import TEXT_TASK

TASK = TEXT_TASK


@dataclass
class Checkpoint(RunCheckpoint):
    """Everything needed to sample from a model, evaluate it, or resume training exactly."""

    model_config: ModelConfig
    vocab: Vocab
    corpus: dict | None = None  # name, sha256, characters
    model_class: ClassVar[type[CharRNN]] = CharRNN

    def summary(self) -> dict:
        val = [v for _, v in self.history.get("val", [])]
        return {
            "step": self.step,
            "best_val_loss": min(val) if val else None,
            "last_val_loss": val[-1] if val else None,
            "model": self.model_config.to_dict(),
            "vocab_size": len(self.vocab),
            "corpus": self.corpus,
            "created": self.created,
            "provenance": self.provenance,
        }


def save_checkpoint(checkpoint: Checkpoint, path: str | Path, half: bool = False) -> Path:
    """Write ``checkpoint`` atomically: a temporary file beside ``path``, fsync, rename.

    ``half`` stores floating-point weights as float16 (they load back as float32) and drops
    the optimizer state: for shipping a model, not for resuming.
    """
    return save_run(checkpoint, path, TASK, {"vocab": list(checkpoint.vocab.char_array), "corpus": checkpoint.corpus},
                    half)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Read and verify a checkpoint; tensors land on ``device`` (a GPU file loads on a CPU).
    Everything in it is checked (``rnntui.charlm.checks``) before it is returned."""
    payload, model_config = read_checked(path, TASK, check_text_payload, device)
    return Checkpoint(model_config=model_config, vocab=Vocab(tuple(payload["vocab"])), corpus=payload.get("corpus"),
                      **run_fields(payload))
