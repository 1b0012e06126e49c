"""Building trainers, for the CLI and the app alike: fresh, resumed or fine-tuned, and their
checkpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from rnntui.charlm.checkpoint import Checkpoint
from rnntui.charlm.corpus import Corpus, load_corpus
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.trainer import TrainConfig, Trainer, check_training_memory, make_optimizer
from rnntui.charlm.vocab import Vocab
from rnntui.core.device import resolve_device, resolve_precision
from rnntui.core.distributed import DistInfo
from rnntui.core.errors import RnntuiError
from rnntui.core.history import History
from rnntui.core.paths import default_corpus_path
from rnntui.core.training import saved_state


def new_trainer(corpus: Corpus, config: TrainConfig, embed_dim: int = 256, hidden_size: int = 512,
                layers: int = 1, cell: str = "lstm", dropout: float = 0.0,
                dist_info: DistInfo | None = None, weight_dropout: float = 0.0) -> Trainer:
    """A fresh model (the book's by default) ready to train on ``corpus``."""
    config.validate()
    device = resolve_device(config.device)
    try:
        model_config = ModelConfig(len(corpus.vocab), embed_dim, hidden_size, layers, cell, dropout,
                                   weight_dropout)
    except ValueError as error:
        raise RnntuiError(str(error)) from None
    check_training_memory(model_config, config)  # before the model is allocated
    # Seed before building the model, so the initial weights follow --random-seed too.
    torch.manual_seed(config.random_seed)
    model = CharRNN(model_config)
    train_ids, val_ids = corpus.split(config.val_fraction)
    return Trainer(model, train_ids, val_ids, config, device, resolve_precision(config.precision, device),
                   dist_info=dist_info)


def resume_trainer(checkpoint: Checkpoint, corpus: Corpus, config: TrainConfig,
                   dist_info: DistInfo | None = None) -> Trainer:
    """Continue ``checkpoint``'s run on ``corpus`` (which must fit its vocabulary)."""
    if corpus.vocab.char_array != checkpoint.vocab.char_array:
        raise RnntuiError(
            f"the corpus {corpus.name} has a different character set ({len(corpus.vocab)} "
            f"characters) from the checkpoint's ({len(checkpoint.vocab)}, trained on "
            f"{(checkpoint.corpus or {}).get('name', 'another text')}); resume on the same corpus"
        )
    config.validate()
    device = resolve_device(config.device)
    model = checkpoint.build_model(device)
    optimizer = make_optimizer(model, config.lr)
    train_ids, val_ids = corpus.split(config.val_fraction)
    trainer = Trainer(model, train_ids, val_ids, config, device,
                      resolve_precision(config.precision, device), optimizer=optimizer,
                      step=checkpoint.step, history=History.from_dict(checkpoint.history),
                      elapsed=checkpoint.elapsed, dist_info=dist_info)
    try:
        if checkpoint.optimizer_state:
            # The file's kernel choice (fused or not) is the saving torch's; keep this one's.
            kernels = [(group.get("fused"), group.get("foreach")) for group in optimizer.param_groups]
            optimizer.load_state_dict(checkpoint.optimizer_state)
            for group, (fused, foreach) in zip(optimizer.param_groups, kernels, strict=True):
                group["fused"], group["foreach"] = fused, foreach
        if checkpoint.rng_state:
            trainer.set_rng_state(checkpoint.rng_state)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as error:
        raise RnntuiError(f"the checkpoint's optimizer or generator state cannot be restored ({error}); "
                          "it was not saved by this model's training run") from None
    return trainer


def finetune_trainer(base: Checkpoint, corpus: Corpus, config: TrainConfig, dist_info: DistInfo | None = None,
                     **model_changes) -> tuple[Trainer, Corpus]:
    """A new run on ``corpus`` that starts from ``base``'s weights (transfer learning, as
    textgenrnn does): the same architecture, a fresh optimizer, step 0.

    The vocabulary becomes the union of the two texts' characters. Characters the base model
    knows keep their embedding and output rows; new ones get freshly initialised rows. Returns
    the trainer and ``corpus`` in the new vocabulary's ids (the one to save checkpoints with).
    ``model_changes``: dropout rates to train with (the architecture itself is ``base``'s).
    """
    config.validate()
    vocab = Vocab(tuple(sorted(set(base.vocab.char_array) | set(corpus.vocab.char_array))))
    corpus = corpus.recoded(vocab)
    try:
        model_config = replace(base.model_config, vocab_size=len(vocab), **model_changes)
    except (TypeError, ValueError) as error:
        raise RnntuiError(str(error)) from None
    torch.manual_seed(config.random_seed)  # the new characters' rows follow --random-seed
    model = CharRNN(model_config)
    state = model.state_dict()
    rows = torch.tensor([vocab.char2int[c] for c in base.vocab.char_array])
    for name, weights in base.model_state.items():
        if name not in state or state[name].shape[1:] != weights.shape[1:]:
            raise RnntuiError(f"the model to fine-tune has an unexpected weight {name}; it is not an rnntui model")
        if name in VOCAB_ROWS:
            state[name][rows] = weights.to(state[name].dtype)
        else:
            state[name].copy_(weights)
    model.load_state_dict(state)
    device = resolve_device(config.device)
    train_ids, val_ids = corpus.split(config.val_fraction)
    trainer = Trainer(model, train_ids, val_ids, config, device,
                      resolve_precision(config.precision, device), dist_info=dist_info)
    return trainer, corpus


# The weights with one row per character: the rest of the model does not depend on the vocabulary.
VOCAB_ROWS = ("embedding.weight", "fc.weight", "fc.bias")


def finetune_provenance(base: Checkpoint, base_path: Path) -> dict:
    """What a fine-tuned model started from, for its checkpoint's record."""
    return {"checkpoint": Path(base_path).name, "step": base.step,
            "corpus": (base.corpus or {}).get("name"),
            "val_loss": (base.provenance or {}).get("val_loss")}


def recorded_corpus_path(checkpoint: Checkpoint) -> Path | None:
    """The text to train ``checkpoint`` on when none is given: the file it was trained on, if
    it is still there; None for the default book. A model trained on a file that has gone is
    an error that says so, rather than training on the book instead."""
    default_name = default_corpus_path().name
    record = checkpoint.corpus or {}
    path = record.get("path")
    if path and Path(path).is_file():
        return Path(path)
    name = record.get("name")
    if name is None or name == default_name:
        return None
    where = f"which is no longer at {path}" if path else "and its checkpoint does not say where that is"
    raise RnntuiError(f"this model was trained on {name}, {where}; pass that text with --corpus PATH")


def recorded_encoding(checkpoint: Checkpoint | None) -> str | None:
    """The encoding the model's text was read in, when it was not UTF-8 (None: UTF-8)."""
    return ((checkpoint.corpus if checkpoint is not None else None) or {}).get("encoding")


def training_ids_at_hand(checkpoint: Checkpoint, path: Path | None = None, encoding: str | None = None,
                         fraction: float | None = None):
    """The training split of the text a model learns from, in its ids, if that file is at hand
    (None otherwise): ``path`` (default: the one the checkpoint records, else the book if it is
    downloaded), read in ``encoding`` (default: the recorded one), cut at ``fraction``
    (default: the checkpoint's, or 0.1). For dynamic evaluation's gradient statistics."""
    try:
        path = path or recorded_corpus_path(checkpoint) or default_corpus_path()
        if not path.is_file():
            return None
        corpus = load_corpus(path, encoding or recorded_encoding(checkpoint), vocab=checkpoint.vocab)
    except RnntuiError:
        return None
    if fraction is None:
        fraction = (checkpoint.train_config or {}).get("val_fraction", 0.1)
    return corpus.split(fraction if 0.0 <= fraction < 1.0 else 0.1)[0]


def corpus_change_note(checkpoint: Checkpoint, corpus: Corpus) -> str | None:
    """A line to say when ``corpus`` is not the text ``checkpoint`` was trained on byte for byte
    (edited since, with the same characters): training it is allowed, but not silently."""
    recorded = (checkpoint.corpus or {}).get("sha256")
    if not recorded or recorded == corpus.sha256:
        return None
    return (f"{corpus.name} has changed since this model was trained on it (its sha256 differs); "
            "training goes on with the text as it is now")


# What training may change in a model that has been trained: regularisation, not its shape
# (`rnntui train --resume` flags, the app's training settings).
CHANGEABLE_ON_RESUME = ("dropout", "weight_dropout")


def with_model_changes(checkpoint: Checkpoint, changes: dict) -> Checkpoint:
    """``checkpoint`` with new values of the CHANGEABLE_ON_RESUME settings in ``changes`` (other
    keys are left out); values the model's config refuses raise RnntuiError."""
    changes = {k: v for k, v in changes.items() if k in CHANGEABLE_ON_RESUME}
    if not changes:
        return checkpoint
    try:
        return replace(checkpoint, model_config=replace(checkpoint.model_config, **changes))
    except ValueError as error:
        raise RnntuiError(str(error)) from None


def resumed_config(checkpoint: Checkpoint, **overrides) -> TrainConfig:
    """The checkpoint's training settings with ``overrides`` (those not None) applied."""
    base = TrainConfig.from_dict(checkpoint.train_config or {})
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def trainer_checkpoint(trainer: Trainer, corpus: Corpus, provenance: dict | None = None) -> Checkpoint:
    """Everything needed to resume ``trainer`` exactly."""
    saved = saved_state(trainer)
    return Checkpoint(
        model_config=trainer.model.config,
        vocab=corpus.vocab,
        model_state=saved.model_state,
        step=saved.step,
        optimizer_state=saved.optimizer_state,
        rng_state=saved.rng_state,
        history=saved.history,
        corpus=corpus.identity(),
        train_config=trainer.config.to_dict(),
        elapsed=saved.elapsed,
        provenance=provenance or {},
    )
