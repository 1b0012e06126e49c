"""Review language model checkpoints: the file format of every rnntui checkpoint
(``rnntui.charlm.checkpoint``) with ``"task": "review-lm"`` in the header, so that the other commands
refuse it in one line. Everything in the payload is checked here before a model is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnntui.charlm.checkpoint import _history_lists, read_payload, run_payload, write_file
from rnntui.core.checks import (
    NUMBER,
    TEXT,
    WHOLE,
    Bad,
    _check_record,
    _is_finite,
    _is_int,
    check_adam_state,
    check_generators,
    check_history,
    check_required,
    check_state_dict,
    check_step,
    check_times,
    check_train_config,
    refuse,
    shown,
)
from rnntui.sentiment.checkpoint import _check_vocab
from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig
from rnntui.sentiment.pretrain.trainer import PretrainConfig
from rnntui.sentiment.tokens import WordVocab

TASK = "review-lm"
DATA_FIELDS = {"name": TEXT, "train_reviews": WHOLE, "unlabelled_reviews": WHOLE, "valid_reviews": WHOLE,
               "train_texts": WHOLE, "train_words": WHOLE, "valid_words": WHOLE, "split_seed": WHOLE}
PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "wall_time_s": NUMBER}


@dataclass
class LMCheckpoint:
    model_config: ReviewLMConfig
    vocab: WordVocab
    model_state: dict[str, torch.Tensor]
    step: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    history: dict = field(default_factory=lambda: {"train": [], "val": []})
    train_config: dict | None = None
    data: dict | None = None
    elapsed: float = 0.0
    provenance: dict = field(default_factory=dict)
    created: str = ""

    def build_model(self) -> ReviewLM:
        model = ReviewLM(self.model_config)
        model.load_state_dict(self.model_state)  # shapes were checked when the file was read
        return model

    def best_val_loss(self) -> float | None:
        return min((v for _, v in self.history.get("val", [])), default=None)

    def summary(self) -> dict:
        return {"step": self.step, "model": self.model_config.to_dict(), "vocab_size": len(self.vocab),
                "best_val_loss": self.best_val_loss(), "data": self.data, "created": self.created,
                "provenance": self.provenance}


def save_lm_checkpoint(checkpoint: LMCheckpoint, path: str | Path) -> Path:
    """Atomically, as every rnntui checkpoint."""
    payload = {**run_payload(checkpoint, half=False), "vocab": list(checkpoint.vocab.words), "data": checkpoint.data}
    return write_file(Path(path), {"task": TASK, **checkpoint.summary()}, payload)


def load_lm_checkpoint(path: str | Path) -> LMCheckpoint:
    path = Path(path)
    _, payload = read_payload(path, TASK)
    try:
        config = check_lm_payload(payload)
    except Bad as problem:
        raise refuse(path, problem) from None
    return LMCheckpoint(
        model_config=config, vocab=WordVocab(tuple(payload["vocab"])),
        model_state={k: v.float() for k, v in payload["model_state"].items()}, step=payload["step"],
        optimizer_state=payload.get("optimizer_state"), rng_state=payload.get("rng_state"),
        history=_history_lists(payload.get("history")), train_config=payload.get("train_config"),
        data=payload.get("data"), elapsed=float(payload.get("elapsed", 0.0)),
        provenance=payload.get("provenance") or {}, created=payload.get("created", ""))


def check_lm_payload(payload: object) -> ReviewLMConfig:
    """Raise ``Bad`` unless a model can be built from ``payload``; returns its settings."""
    check_required(payload)
    config = _model_config(payload["model_config"])
    _check_vocab(payload["vocab"], config.vocab_size)
    shapes = state_shapes(config)
    check_state_dict(payload["model_state"], shapes)
    check_step(payload["step"])
    if payload.get("optimizer_state") is not None:
        check_adam_state(payload["optimizer_state"], parameter_shapes(config))
    rng_state = payload.get("rng_state")
    if rng_state is not None:
        check_generators(rng_state, ("torch",))
        if rng_state.get("torch") is None:
            raise Bad("rng_state has no generator state")
    check_history(payload.get("history"))
    _check_record("data", payload.get("data"), DATA_FIELDS)
    _check_record("provenance", payload.get("provenance"), PROVENANCE_FIELDS)
    if payload.get("train_config") is not None:
        check_train_config(payload["train_config"], PretrainConfig)
    check_times(payload)
    return config


def _model_config(values: object) -> ReviewLMConfig:
    if not isinstance(values, dict):
        raise Bad(f"model_config is a {type(values).__name__}, not a dictionary")
    unknown = set(values) - set(ReviewLMConfig.__dataclass_fields__)
    if unknown:
        raise Bad(f"model_config has unknown settings ({', '.join(sorted(map(str, unknown)))})")
    for name in ("vocab_size", "embed_dim", "hidden_size"):
        if name in values and not _is_int(values[name]):
            raise Bad(f"model_config's {name} is {shown(values[name])}, not a whole number")
    if "dropout" in values and not _is_finite(values["dropout"]):
        raise Bad(f"model_config's dropout is {shown(values['dropout'])}, not a rate")
    if not isinstance(values.get("softmax", ""), str) or not isinstance(values.get("bidirectional", True), bool):
        raise Bad("model_config's softmax or bidirectional is damaged")
    try:
        return ReviewLMConfig(**values)
    except (TypeError, ValueError) as error:
        raise Bad(f"its model settings cannot be used ({error})") from None


def _meta_model(config: ReviewLMConfig) -> ReviewLM:
    with torch.device("meta"):  # no memory is allocated
        return ReviewLM(config)


def state_shapes(config: ReviewLMConfig) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in _meta_model(config).state_dict().items()}


def parameter_shapes(config: ReviewLMConfig) -> list[tuple[int, ...]]:
    """In the order of ``model.parameters()``, as Adam's state numbers them."""
    return [tuple(p.shape) for p in _meta_model(config).parameters()]
