"""What a language model's checkpoint must hold beyond every task's fields
(``rnntui.core.checks``): its model settings, its characters, its generators and place in the
text, and the records of its corpus and of how it was made."""

from __future__ import annotations

import torch

from rnntui.charlm.model import MAX_SETTING, ModelConfig, state_shapes
from rnntui.charlm.trainer import TrainConfig
from rnntui.core.checkpoint import CORPUS_FIELDS
from rnntui.core.checks import (
    NUMBER,
    TEXT,
    WHOLE,
    InvalidField,
    PayloadChecks,
    check_generators,
    check_payload,
    check_record,
    is_int,
    model_settings,
)

PROVENANCE_FIELDS = {"command": TEXT, "machine": TEXT, "evaluated_with": TEXT, "val_loss": NUMBER,
                     "val_characters": WHOLE, "wall_time_s": NUMBER, "steps": WHOLE, "finetuned_from": dict,
                     "run_id": TEXT}
FINETUNED_FROM_FIELDS = {"checkpoint": TEXT, "step": WHOLE, "corpus": TEXT, "val_loss": NUMBER}


def model_config(values: object) -> ModelConfig:
    return model_settings(values, ModelConfig, whole=tuple(MAX_SETTING), rates=("dropout", "weight_dropout"),
                          names=("cell",))


def check_vocab(vocab: object, size: int) -> None:
    if not isinstance(vocab, (list, tuple)) or not all(isinstance(c, str) and len(c) == 1 for c in vocab):
        raise InvalidField("vocab is not a list of characters")
    if len(vocab) != size:
        raise InvalidField(f"vocab has {len(vocab):,} characters but the model's weights are for {size:,}")
    if list(vocab) != sorted(set(vocab)):
        raise InvalidField("vocab is not sorted distinct characters")


def parameter_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """As Adam's state numbers them: the order of ``model.parameters()``, the state's own."""
    return list(state_shapes(config).values())


def check_rng_state(state: object, config: ModelConfig) -> None:
    check_generators(state, ("windows", "torch"))
    streams = state.get("streams")
    if streams is None:
        return
    if not isinstance(streams, dict) or not all(is_int(streams.get(k)) for k in ("epoch", "pos")):
        raise InvalidField("rng_state's streams are not a place in the text")
    carried = streams.get("carried")
    parts = carried if isinstance(carried, (tuple, list)) else [] if carried is None else [carried]
    for part in parts:
        if not isinstance(part, torch.Tensor) or part.dim() != 3 or part.shape[0] != config.layers \
                or part.shape[2] != config.hidden_size or not part.is_floating_point():
            raise InvalidField("rng_state's carried state does not fit the model")
    layout = streams.get("layout")
    if layout is not None and not (isinstance(layout, (list, tuple)) and all(is_int(v) for v in layout)):
        raise InvalidField("rng_state's stream layout is not a list of numbers")


TEXT_CHECKS = PayloadChecks(model_config=model_config, check_vocab=check_vocab, state_shapes=state_shapes,
                            parameter_shapes=parameter_shapes, check_rng_state=check_rng_state,
                            records={"corpus": CORPUS_FIELDS, "provenance": PROVENANCE_FIELDS},
                            train_config=TrainConfig)


def check_text_payload(payload: object) -> ModelConfig:
    """Raise ``InvalidField`` unless ``payload`` is a language model's checkpoint rnntui can
    build a model from; returns its model settings."""
    config = check_payload(payload, TEXT_CHECKS)
    finetuned_from = (payload.get("provenance") or {}).get("finetuned_from")
    check_record("provenance's finetuned_from", finetuned_from, FINETUNED_FROM_FIELDS)
    return config
