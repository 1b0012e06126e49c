"""Sentiment checkpoints: the language model's file format (``rnntui.charlm.checkpoint``: a magic line,
a JSON header, a weights-only payload, written atomically) with ``"task": "sentiment"`` in the
header, so that each command refuses the other task's files in one line. Everything in the
payload is checked here before a model is built from it."""

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
    check_tensors,
    check_times,
    check_train_config,
    refuse,
    shown,
)
from rnntui.sentiment.model import SentimentConfig, SentimentRNN, state_shapes
from rnntui.sentiment.tokens import PAD, UNK, WordVocab
from rnntui.sentiment.trainer import SentimentTrainConfig

TASK = "sentiment"
MAX_WORD_LENGTH = 1000
DATA_FIELDS = {"name": TEXT, "train_reviews": WHOLE, "valid_reviews": WHOLE, "split_seed": WHOLE,
               "unlabelled_reviews": WHOLE}
PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "wall_time_s": NUMBER, "test_accuracy": NUMBER,
                     "test_loss": NUMBER, "test_reviews": WHOLE}


@dataclass
class SentimentCheckpoint:
    model_config: SentimentConfig
    vocab: WordVocab
    model_state: dict[str, torch.Tensor]
    step: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    history: dict = field(default_factory=lambda: {"train": [], "val": [], "accuracy": []})
    train_config: dict | None = None
    data: dict | None = None  # which reviews it learnt from (name, counts, the split's seed)
    elapsed: float = 0.0
    provenance: dict = field(default_factory=dict)
    created: str = ""

    def build_model(self, device: torch.device | str = "cpu") -> SentimentRNN:
        model = SentimentRNN(self.model_config)
        model.load_state_dict(self.model_state)  # shapes were checked when the file was read
        return model.to(device)

    def best_accuracy(self) -> float | None:
        return max((a for _, a in self.history.get("accuracy", [])), default=None)

    def summary(self) -> dict:
        return {"step": self.step, "model": self.model_config.to_dict(), "vocab_size": len(self.vocab),
                "best_val_accuracy": self.best_accuracy(), "data": self.data, "created": self.created,
                "provenance": self.provenance}


def save_sentiment_checkpoint(checkpoint: SentimentCheckpoint, path: str | Path, half: bool = False) -> Path:
    """Atomically, as ``rnntui.charlm.checkpoint.save_checkpoint``; ``half``: float16 weights and no
    optimizer state, for shipping."""
    payload = {**run_payload(checkpoint, half), "vocab": list(checkpoint.vocab.words), "data": checkpoint.data}
    return write_file(Path(path), {"task": TASK, **checkpoint.summary()}, payload)


def load_sentiment_checkpoint(path: str | Path) -> SentimentCheckpoint:
    path = Path(path)
    _, payload = read_payload(path, TASK)
    try:
        config = check_sentiment_payload(payload)
    except Bad as problem:
        raise refuse(path, problem) from None
    return SentimentCheckpoint(
        model_config=config,
        vocab=WordVocab(tuple(payload["vocab"])),
        model_state={k: v.float() for k, v in payload["model_state"].items()},
        step=payload["step"],
        optimizer_state=payload.get("optimizer_state"),
        rng_state=payload.get("rng_state"),
        history=_history_lists(payload.get("history")),
        train_config=payload.get("train_config"),
        data=payload.get("data"),
        elapsed=float(payload.get("elapsed", 0.0)),
        provenance=payload.get("provenance") or {},
        created=payload.get("created", ""),
    )


def check_sentiment_payload(payload: object) -> SentimentConfig:
    """Raise ``Bad`` unless a model can be built from ``payload``; returns its settings."""
    check_required(payload)
    check_tensors(payload)
    config = _model_config(payload["model_config"])
    _check_vocab(payload["vocab"], config.vocab_size)
    check_state_dict(payload["model_state"], state_shapes(config))
    check_step(payload["step"])
    if payload.get("optimizer_state") is not None:
        check_adam_state(payload["optimizer_state"], list(state_shapes(config).values()))
    rng_state = payload.get("rng_state")
    if rng_state is not None:
        check_generators(rng_state, ("torch",))
        if rng_state.get("torch") is None:
            raise Bad("rng_state has no generator state")
    check_history(payload.get("history"))
    _check_record("data", payload.get("data"), DATA_FIELDS)
    _check_record("provenance", payload.get("provenance"), PROVENANCE_FIELDS)
    if payload.get("train_config") is not None:
        check_train_config(payload["train_config"], SentimentTrainConfig)
    check_times(payload)
    return config


def _model_config(values: object) -> SentimentConfig:
    if not isinstance(values, dict):
        raise Bad(f"model_config is a {type(values).__name__}, not a dictionary")
    unknown = set(values) - set(SentimentConfig.__dataclass_fields__)
    if unknown:
        raise Bad(f"model_config has unknown settings ({', '.join(sorted(map(str, unknown)))})")
    for name in ("vocab_size", "embed_dim", "hidden_size", "fc_hidden"):
        if name in values and not _is_int(values[name]):
            raise Bad(f"model_config's {name} is {shown(values[name])}, not a whole number")
    if "dropout" in values and not _is_finite(values["dropout"]):
        raise Bad(f"model_config's dropout is {shown(values['dropout'])}, not a rate")
    if not isinstance(values.get("cell", "lstm"), str) or not isinstance(values.get("bidirectional", False), bool) \
            or not isinstance(values.get("pooling", "last"), str):
        raise Bad("model_config's cell, bidirectional or pooling is damaged")
    try:
        return SentimentConfig(**values)
    except (TypeError, ValueError) as error:
        raise Bad(f"its model settings cannot be used ({error})") from None


def _check_vocab(words: object, size: int) -> None:
    if not isinstance(words, (list, tuple)) or not all(
            isinstance(w, str) and 0 < len(w) <= MAX_WORD_LENGTH for w in words):
        raise Bad("vocab is not a list of words")
    if len(words) != size:
        raise Bad(f"vocab has {len(words):,} words but the model's weights are for {size:,}")
    if list(words[:2]) != [PAD, UNK] or len(set(words)) != len(words):
        raise Bad(f"vocab does not begin with {PAD} and {UNK}, or repeats a word")
