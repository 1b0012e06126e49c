"""Building a review language model's trainer, new or resumed, and the checkpoint of a trainer.

What it reads: the classifier's 20,000 training reviews (their text only) and the unlabelled
reviews, less ``valid_reviews`` of the unlabelled ones held out to measure perplexity on. The
classifier's 5,000 validation reviews are left out as well as the test reviews, so that a
classifier started from this model is chosen on reviews that neither model has read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from rnntui.core import memory
from rnntui.core.errors import RnntuiError
from rnntui.core.history import LOSS_CURVES
from rnntui.core.training import saved_state
from rnntui.sentiment.build import SPLIT_SEED
from rnntui.sentiment.epochs import resume_review_trainer
from rnntui.sentiment.pretrain.checkpoint import LMCheckpoint
from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig
from rnntui.sentiment.pretrain.trainer import PretrainConfig, PretrainTrainer, Texts
from rnntui.sentiment.reviews import Reviews, split_train_valid
from rnntui.sentiment.tokens import WordVocab
from rnntui.sentiment.trainer import MAX_REVIEW_WORDS


@dataclass
class PreparedText:
    vocab: WordVocab
    train: Texts
    valid: Texts
    data: dict  # what the checkpoint records about the reviews


def prepare_text(reviews: Reviews, unlabelled: list[str], config: PretrainConfig, name: str,
                 vocab: WordVocab | None = None) -> PreparedText:
    """The training text's vocabulary (or the resumed model's) and the reviews as word ids."""
    if len(unlabelled) <= config.valid_reviews:
        raise RnntuiError(f"pretraining holds out {config.valid_reviews:,} unlabelled reviews to measure "
                          f"perplexity, and there are {len(unlabelled):,}: pass --unlabelled with more, or a "
                          "smaller --valid-reviews")
    labelled, _ = split_train_valid(reviews.train, seed=SPLIT_SEED)
    order = list(range(len(unlabelled)))
    random.Random(SPLIT_SEED).shuffle(order)
    held = sorted(order[:config.valid_reviews])
    texts = [review.text for review in labelled] + [unlabelled[i] for i in sorted(order[config.valid_reviews:])]
    if vocab is None:
        vocab = WordVocab.build(texts, max_words=config.max_words, min_count=config.min_count)
    train = Texts(vocab, texts, config.max_tokens)
    valid = Texts(vocab, [unlabelled[i] for i in held], config.max_tokens)
    data = {"name": name, "train_reviews": len(labelled), "unlabelled_reviews": len(unlabelled) - len(held),
            "valid_reviews": len(held), "train_texts": len(train), "train_words": train.words,
            "valid_words": valid.words, "split_seed": SPLIT_SEED}
    return PreparedText(vocab, train, valid, data)


def new_lm_trainer(prepared: PreparedText, config: PretrainConfig, **model_settings) -> PretrainTrainer:
    config.validate()
    try:
        model_config = ReviewLMConfig(vocab_size=len(prepared.vocab), **model_settings)
    except ValueError as error:
        raise RnntuiError(str(error)) from None
    check_lm_memory(model_config, config.batch_size, prepared.train.lengths)
    torch.manual_seed(config.random_seed)
    return PretrainTrainer(ReviewLM(model_config), prepared.train, prepared.valid, config)


def lm_memory_bytes(model_config: ReviewLMConfig, batch_size: int, words: int) -> int:
    """A rough upper estimate of what training on a batch of ``batch_size`` reviews of ``words``
    words needs, as ``sentiment.trainer.memory_bytes`` estimates the classifier's: the weights
    with their gradients and Adam's moments, and each word's activations in each direction (the
    embedding, the recurrent gates and states, and the softmax's scores, their probabilities and
    gradients: over the whole vocabulary, or the adaptive softmax's head)."""
    with torch.device("meta"):  # counted without allocating
        parameters = sum(p.numel() for p in ReviewLM(model_config).parameters())
    directions = 2 if model_config.bidirectional else 1
    scores = (model_config.cutoffs[0] + len(model_config.cutoffs) if model_config.softmax == "adaptive"
              else model_config.vocab_size)
    per_word = directions * (2 * model_config.embed_dim + (3 * 4 + 6) * model_config.hidden_size + 3 * scores)
    return 4 * (4 * parameters + batch_size * words * per_word) + 16 * batch_size * words


def check_lm_memory(model_config: ReviewLMConfig, batch_size: int, lengths: list[int]) -> None:
    """Refuse a language model and batch that could not fit in this machine's memory, before a
    weight is allocated; ``lengths``: the reviews' lengths in words (a batch pays for its longest)."""
    batch_size = max(min(batch_size, len(lengths)), 1)
    words = max(min(max(lengths, default=1), MAX_REVIEW_WORDS), 1)
    memory.check_fits(lm_memory_bytes(model_config, batch_size, words),
                      f"training this language model at batch {batch_size:,} × {words:,} words",
                      "lower --batch-size or --max-tokens, or use a smaller model")


LM_NOT_RESUMABLE = "this language model was saved without its optimizer state; it cannot be resumed"


def resume_lm_trainer(checkpoint: LMCheckpoint, prepared: PreparedText, config: PretrainConfig) -> PretrainTrainer:
    """Continue exactly where ``checkpoint`` stopped: same weights, optimizer and generator."""
    return resume_review_trainer(
        checkpoint, LOSS_CURVES, LM_NOT_RESUMABLE,
        lambda model: torch.optim.Adam(model.parameters(), lr=config.lr),
        lambda model, **place: PretrainTrainer(model, prepared.train, prepared.valid, config, **place))


def resumed_lm_config(checkpoint: LMCheckpoint, **overrides) -> PretrainConfig:
    """The checkpoint's settings, with the given ones (not None) replacing them; the ones that
    decide which reviews and words it reads cannot change."""
    values = dict(checkpoint.train_config or {})
    fixed = [name for name in ("max_tokens", "max_words", "min_count", "valid_reviews", "batch_size", "random_seed")
             if overrides.get(name) is not None and name in values and overrides[name] != values[name]]
    if fixed:
        flags = ", ".join("--" + name.replace("_", "-") for name in fixed)
        raise RnntuiError(f"{flags}: fixed once a language model has trained (they decide its words and batches); "
                          "drop them when resuming")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PretrainConfig.from_dict(values)


def lm_trainer_checkpoint(trainer: PretrainTrainer, prepared: PreparedText, provenance: dict | None = None
                          ) -> LMCheckpoint:
    """A consistent checkpoint of the trainer (weights, optimizer and generator of one step)."""
    saved = saved_state(trainer)
    return LMCheckpoint(model_config=trainer.model.config, vocab=prepared.vocab, model_state=saved.model_state,
                        step=saved.step, optimizer_state=saved.optimizer_state, rng_state=saved.rng_state,
                        history=saved.history, train_config=trainer.config.to_dict(), data=prepared.data,
                        elapsed=saved.elapsed, provenance=dict(provenance or {}))
