"""Building a sentiment trainer, new or resumed from a checkpoint, and the checkpoint of a
trainer: the one place the command line and the app both go through."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnntui.core.errors import RnntuiError
from rnntui.core.paths import checkpoints_dir
from rnntui.core.training import saved_state
from rnntui.sentiment.checkpoint import SentimentCheckpoint
from rnntui.sentiment.embedding import ppmi_vectors
from rnntui.sentiment.epochs import resume_review_trainer
from rnntui.sentiment.model import SentimentConfig, SentimentRNN
from rnntui.sentiment.reviews import Reviews, split_train_valid
from rnntui.sentiment.tokens import WordVocab
from rnntui.sentiment.trainer import (
    CLASSIFIER_CURVES,
    Encoded,
    SentimentTrainConfig,
    SentimentTrainer,
    check_batch_memory,
    encode,
    log_count_ratios,
    make_optimizer,
    truncate,
)

SPLIT_SEED = 1  # the 20,000 / 5,000 cut of the training reviews, the same for every run


@dataclass
class Prepared:
    vocab: WordVocab
    train: Encoded
    valid: Encoded
    data: dict  # what the checkpoint records about the reviews
    unlabelled: list[list[int]] = field(default_factory=list)  # word ids, for a "ppmi" start


def prepare(reviews: Reviews, config: SentimentTrainConfig, name: str, vocab: WordVocab | None = None,
            unlabelled: list[str] | None = None) -> Prepared:
    """The training split's vocabulary (or the resumed model's), and both splits as word ids;
    ``unlabelled`` reviews (their text only) are kept for a ``ppmi`` start."""
    train, valid = split_train_valid(reviews.train, seed=SPLIT_SEED)
    if vocab is None:
        vocab = WordVocab.build((review.text for review in train), max_words=config.max_words or None,
                                min_count=config.min_count)
    data = split_record(name, train, valid, SPLIT_SEED)
    if unlabelled:
        data["unlabelled_reviews"] = len(unlabelled)
    return Prepared(vocab, encode(train, vocab, config.max_tokens), encode(valid, vocab, config.max_tokens), data,
                    [truncate(vocab.encode(text), 0) for text in unlabelled or ()])


def split_record(name: str, train: list, valid: list, seed: int) -> dict:
    """What a checkpoint records of the reviews it was trained on: how they were split, and counts
    that tell other reviews (on resume, or when a soup is chosen)."""
    return {"name": name, "train_reviews": len(train), "valid_reviews": len(valid), "split_seed": seed,
            "train_characters": sum(len(review.text) for review in train)}


def recorded_seed(checkpoint: SentimentCheckpoint) -> int:
    return (checkpoint.data or {}).get("split_seed", SPLIT_SEED)


def reviews_record(reviews: Reviews, checkpoint: SentimentCheckpoint, name: str) -> dict:
    """The record ``checkpoint``'s training would have kept of ``reviews``, split as it split
    its own: where a count differs from its record, they are other reviews."""
    seed = recorded_seed(checkpoint)
    return split_record(name, *split_train_valid(reviews.train, seed=seed), seed)


def held_out_reviews(reviews: Reviews, checkpoint: SentimentCheckpoint, limit: int | None = None) -> Encoded:
    """The validation reviews ``checkpoint``'s training held out (its recorded split), encoded as
    it read them (the first ``limit`` of them, if given)."""
    _, valid = split_train_valid(reviews.train, seed=recorded_seed(checkpoint))
    if limit is not None:
        valid = valid[:limit]
    max_tokens = (checkpoint.train_config or {}).get("max_tokens", 0)
    return encode(valid, checkpoint.vocab, max_tokens if isinstance(max_tokens, int) else 0)


def new_trainer(prepared: Prepared, config: SentimentTrainConfig, **model_settings) -> SentimentTrainer:
    """A new model of the book's sizes (or ``model_settings``), weights drawn from the run's seed,
    its embedding started as ``config.init_embedding`` says (a ``ppmi`` start takes about 15 s
    for the whole dataset)."""
    config.validate()
    try:
        model_config = SentimentConfig(vocab_size=len(prepared.vocab), **model_settings)
    except ValueError as error:
        raise RnntuiError(str(error)) from None
    check_batch_memory(model_config, config.batch_size, [len(ids) for ids in prepared.train.ids], True)
    torch.manual_seed(config.random_seed)
    model = SentimentRNN(model_config)
    with torch.no_grad():
        if "ppmi" in config.embedding_starts:
            generator = torch.Generator().manual_seed(config.random_seed)
            vectors = ppmi_vectors(prepared.train.ids + prepared.unlabelled, len(prepared.vocab),
                                   model_config.embed_dim, generator)
            model.embedding.weight[:len(vectors)] = vectors
        if "nb" in config.embedding_starts:
            model.embedding.weight[:, 0] = log_count_ratios(prepared.train, len(prepared.vocab))
    return SentimentTrainer(model, prepared.train, prepared.valid, config)


NOT_RESUMABLE = ("this checkpoint has no optimizer state (it was saved for shipping, or averaged from several runs); "
                 "it cannot be resumed")


def resume_trainer(checkpoint: SentimentCheckpoint, prepared: Prepared, config: SentimentTrainConfig
                   ) -> SentimentTrainer:
    """Continue exactly where ``checkpoint`` stopped: same weights, optimizer and generators."""
    return resume_review_trainer(
        checkpoint, CLASSIFIER_CURVES, NOT_RESUMABLE,
        lambda model: make_optimizer(model, config),
        lambda model, **place: SentimentTrainer(model, prepared.train, prepared.valid, config, **place))


def resumed_config(checkpoint: SentimentCheckpoint, **overrides) -> SentimentTrainConfig:
    """The checkpoint's training settings with the given ones (not None) replacing them."""
    values = dict(checkpoint.train_config or {})
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SentimentTrainConfig.from_dict(values)


def trainer_checkpoint(trainer: SentimentTrainer, prepared: Prepared, provenance: dict | None = None
                       ) -> SentimentCheckpoint:
    """A consistent checkpoint of the trainer (weights, optimizer and generators of one step)."""
    saved = saved_state(trainer)
    return SentimentCheckpoint(
        model_config=trainer.model.config, vocab=prepared.vocab, model_state=saved.model_state, step=saved.step,
        optimizer_state=saved.optimizer_state, rng_state=saved.rng_state, history=saved.history,
        train_config=trainer.config.to_dict(), data=prepared.data, elapsed=saved.elapsed,
        provenance=dict(provenance or {}))


def new_checkpoint_path(model_config: SentimentConfig) -> Path:
    """Where a new classifier is saved unless told: the data folder, under its shape and the time."""
    kind = f"{'bi' if model_config.bidirectional else ''}{model_config.cell}{model_config.hidden_size}"
    return checkpoints_dir() / f"imdb-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.ckpt"
