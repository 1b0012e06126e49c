"""Review language model checkpoints: the file every rnntui checkpoint shares
(``rnntui.core.checkpoint``) with ``"task": "review-lm"`` in the header, so that the other commands
refuse it in one line. Everything in the payload is checked here before a model is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from rnntui.core.checkpoint import RunCheckpoint, read_checked, run_fields, save_run
from rnntui.core.checks import NUMBER, TEXT, WHOLE, PayloadChecks, check_payload, check_torch_rng, model_settings
from rnntui.core.tasks import REVIEW_LM_TASK
from rnntui.sentiment.checkpoint import check_word_vocab
from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig
from rnntui.sentiment.pretrain.trainer import PretrainConfig
from rnntui.sentiment.tokens import WordVocab

TASK = REVIEW_LM_TASK
DATA_FIELDS = {"name": TEXT, "train_reviews": WHOLE, "unlabelled_reviews": WHOLE, "valid_reviews": WHOLE,
               "train_texts": WHOLE, "train_words": WHOLE, "valid_words": WHOLE, "split_seed": WHOLE}
PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "wall_time_s": NUMBER}


@dataclass
class LMCheckpoint(RunCheckpoint):
    model_config: ReviewLMConfig
    vocab: WordVocab
    data: dict | None = None
    model_class: ClassVar[type[ReviewLM]] = ReviewLM

    def best_val_loss(self) -> float | None:
        return min((v for _, v in self.history.get("val", [])), default=None)

    def summary(self) -> dict:
        return self.header_summary({"best_val_loss": self.best_val_loss()}, {"data": self.data})


def save_lm_checkpoint(checkpoint: LMCheckpoint, path: str | Path) -> Path:
    """Atomically, as every rnntui checkpoint."""
    return save_run(checkpoint, path, TASK, {"vocab": list(checkpoint.vocab.words), "data": checkpoint.data})


def load_lm_checkpoint(path: str | Path) -> LMCheckpoint:
    payload, config = read_checked(path, TASK, check_lm_payload)
    return LMCheckpoint(model_config=config, vocab=WordVocab(tuple(payload["vocab"])), data=payload.get("data"),
                        **run_fields(payload))


def model_config(values: object) -> ReviewLMConfig:
    return model_settings(values, ReviewLMConfig, whole=("vocab_size", "embed_dim", "hidden_size"),
                          rates=("dropout",), names=("softmax",), flags=("bidirectional",))


def check_lm_payload(payload: object) -> ReviewLMConfig:
    """Raise ``InvalidField`` unless a model can be built from ``payload``; returns its settings."""
    return check_payload(payload, LM_CHECKS)


def _meta_model(config: ReviewLMConfig) -> ReviewLM:
    with torch.device("meta"):  # no memory is allocated
        return ReviewLM(config)


def state_shapes(config: ReviewLMConfig) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in _meta_model(config).state_dict().items()}


def parameter_shapes(config: ReviewLMConfig) -> list[tuple[int, ...]]:
    """In the order of ``model.parameters()``, as Adam's state numbers them."""
    return [tuple(p.shape) for p in _meta_model(config).parameters()]


LM_CHECKS = PayloadChecks(model_config=model_config, check_vocab=check_word_vocab, state_shapes=state_shapes,
                          parameter_shapes=parameter_shapes, check_rng_state=check_torch_rng,
                          records={"data": DATA_FIELDS, "provenance": PROVENANCE_FIELDS}, train_config=PretrainConfig)
