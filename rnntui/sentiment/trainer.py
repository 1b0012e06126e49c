"""Training the many-to-one model: the book's loop (batch 32, Adam 0.001, binary cross-entropy on
logits) over batches of reviews of similar lengths, with the language model's qualities:
pause / resume / stop from another thread, exact resume, a guard against NaN, early stopping
(the loop is sentiment/epochs.py's, shared with the review language model).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rnntui.core import memory
from rnntui.core.errors import RnntuiError
from rnntui.core.history import Curves, History
from rnntui.core.training import StepEvent
from rnntui.sentiment.config import SentimentTrainConfig
from rnntui.sentiment.epochs import ReviewTrainer
from rnntui.sentiment.model import SentimentConfig, SentimentRNN, pad_batch, state_shapes
from rnntui.sentiment.reviews import Review
from rnntui.sentiment.tokens import WordVocab

EVAL_BATCH = 256  # reviews per batch when only predicting (no gradients to keep)
# The most words of a review the model reads (its first and last halves), whatever --max-tokens
# says: the longest review of the dataset has 2,498, and a crafted 1 MB one could have 500,000,
# which a batch of 32 would turn into gigabytes of activations.
MAX_REVIEW_WORDS = 5_000


@dataclass
class Encoded:
    """Reviews as word ids, with their labels."""

    ids: list[list[int]]
    labels: torch.Tensor  # float32, 1.0 for positive

    def __len__(self) -> int:
        return len(self.ids)


def truncate(ids: list[int], max_tokens: int) -> list[int]:
    """The first and last ``max_tokens / 2`` words of a long review (0: ``MAX_REVIEW_WORDS``, and
    never more): the opening states what it is about, the end usually gives the verdict."""
    max_tokens = min(max_tokens or MAX_REVIEW_WORDS, MAX_REVIEW_WORDS)
    if len(ids) <= max_tokens:
        return ids
    head = max_tokens // 2
    return ids[:head] + ids[len(ids) - (max_tokens - head):]


def log_count_ratios(data: Encoded, vocab_size: int, smoothing: float = 1.0) -> torch.Tensor:
    """Each word's naive-Bayes log-count ratio over the training reviews (Wang & Manning 2012):
    ``log(p / |p|) - log(q / |q|)``, where p and q count the positive and negative reviews it
    appears in (plus ``smoothing``). 0 for padding."""
    positive = torch.full((vocab_size,), smoothing)
    negative = torch.full((vocab_size,), smoothing)
    for ids, label in zip(data.ids, data.labels.tolist(), strict=True):
        (positive if label == 1.0 else negative)[torch.tensor(sorted(set(ids)), dtype=torch.long)] += 1
    ratios = torch.log(positive / positive.sum()) - torch.log(negative / negative.sum())
    ratios[0] = 0.0
    return ratios


def encode(reviews: list[Review], vocab: WordVocab, max_tokens: int = 0) -> Encoded:
    return Encoded([truncate(vocab.encode(review.text), max_tokens) for review in reviews],
                   torch.tensor([float(review.label) for review in reviews]))


def memory_bytes(model_config: SentimentConfig, batch_size: int, words: int, training: bool) -> int:
    """A rough upper estimate of what a batch of ``batch_size`` reviews of ``words`` words needs:
    the weights (with their gradients and Adam's two moments when ``training``), and each word's
    embedding and recurrent activations (the gates and states kept for the backward pass). At the
    bundled model's sizes, measured peaks are 64-94% of it (benchmarks/sentiment_memory.py)."""
    parameters = sum(math.prod(shape) for shape in state_shapes(model_config).values())
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[model_config.cell]
    directions = 2 if model_config.bidirectional else 1
    embedded = model_config.embed_dim * directions  # a reversed copy for the backward direction
    if training:
        per_word = 2 * embedded + directions * (3 * gates + 6) * model_config.hidden_size
    else:
        per_word = embedded + directions * 3 * model_config.hidden_size  # no gates kept
    return 4 * ((4 if training else 1) * parameters + batch_size * words * per_word) + 16 * batch_size * words


def check_batch_memory(model_config: SentimentConfig, batch_size: int, lengths: list[int], training: bool) -> None:
    """Refuse a model and batch that could not fit in this machine's memory, before allocating;
    ``lengths``: the reviews' lengths in words (a batch pays for its longest)."""
    batch_size = max(min(batch_size, len(lengths)), 1)
    words = min(max(lengths, default=1), MAX_REVIEW_WORDS)
    memory.check_fits(memory_bytes(model_config, batch_size, max(words, 1), training),
                      f"{'training' if training else 'evaluating'} this model at batch {batch_size:,} × "
                      f"{words:,} words", "lower --batch-size or --max-tokens, or use a smaller model")


@dataclass(kw_only=True)
class SentimentEvent(StepEvent):
    epoch: float  # epochs done, with a fraction for the one in progress
    val_accuracy: float | None  # set on validation steps, with val_loss
    reviews_per_s: float


# The classifier's curves: its best model is the one of the best validation accuracy.
CLASSIFIER_CURVES = Curves(("train", "val", "accuracy"), best="accuracy", higher_is_better=True)


LAYERS = ("embedding", "rnn")  # from the bottom; the rest (the classifier's head) learns at lr


def make_optimizer(model: SentimentRNN, config: SentimentTrainConfig) -> torch.optim.Optimizer:
    """Adam over the model's weights: one group at ``lr``, or with ``layer_lr_decay`` one group per
    layer (the embedding, the recurrent layer, the rest), each at its own rate."""
    if config.layer_lr_decay == 1:
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    groups = [[p for name, p in model.named_parameters() if layer_of(name) == layer] for layer in (*LAYERS, "head")]
    return torch.optim.Adam([{"params": params} for params in groups], lr=config.lr)


def layer_of(name: str) -> str:
    return next((layer for layer in LAYERS if name.startswith(layer + ".")), "head")


def group_lrs(config: SentimentTrainConfig, groups: int) -> list[float]:
    """Each parameter group's learning rate (see ``make_optimizer``)."""
    if groups == 1:
        return [config.lr]
    return [config.lr / config.layer_lr_decay ** (len(LAYERS) - i) for i in range(len(LAYERS))] + [config.lr]


def frozen_layers(config: SentimentTrainConfig, epoch: int) -> tuple[str, ...]:
    """The layers that do not learn in ``epoch`` (from 0) under gradual unfreezing."""
    if not config.gradual_unfreezing:
        return ()
    return LAYERS[:max(len(LAYERS) - epoch, 0)]


@torch.inference_mode()
def evaluate_reviews(model: SentimentRNN, data: Encoded, batch_size: int = EVAL_BATCH,
                     progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Mean binary cross-entropy and accuracy over ``data``, in batches of similar lengths."""
    check_batch_memory(model.config, batch_size, [len(ids) for ids in data.ids], False)
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    total_loss, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        ids, lengths = pad_batch([data.ids[i] for i in batch])
        logits = model(ids, lengths)
        labels = data.labels[batch]
        total_loss += F.binary_cross_entropy_with_logits(logits, labels, reduction="sum").item()
        correct += int(((logits > 0).float() == labels).sum())
        if progress is not None:
            progress(min(start + batch_size, len(order)), len(order))
    return total_loss / max(len(data), 1), correct / max(len(data), 1)


class SentimentTrainer(ReviewTrainer):
    """Trains ``model`` on ``train``; ``run()`` yields one ``SentimentEvent`` per batch."""

    def __init__(self, model: SentimentRNN, train: Encoded, valid: Encoded, config: SentimentTrainConfig,
                 optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                 history: History | None = None, elapsed: float = 0.0) -> None:
        config.validate()
        if not len(train):
            raise RnntuiError("there are no training reviews")
        check_batch_memory(model.config, config.batch_size, [len(ids) for ids in train.ids], True)
        optimizer = optimizer or make_optimizer(model, config)
        if len(optimizer.param_groups) not in (1, len(LAYERS) + 1) or (
                config.layer_lr_decay != 1) != (len(optimizer.param_groups) > 1):
            raise RnntuiError("--layer-lr-decay cannot change once a model has trained (its optimizer has "
                              f"{len(optimizer.param_groups)} parameter groups)")
        for group, lr in zip(optimizer.param_groups, group_lrs(config, len(optimizer.param_groups)), strict=True):
            group["lr"] = lr
        super().__init__(model, optimizer, config, [len(ids) for ids in train.ids], step,
                         history or History(CLASSIFIER_CURVES), elapsed)
        self.train, self.valid = train, valid

    def train_step(self, batch: list[int]) -> tuple[float, int]:
        """One update on reviews ``batch``: its loss, and how many reviews it read."""
        self.model.train()
        if self.config.gradual_unfreezing:
            frozen = frozen_layers(self.config, self.step // self.batches_per_epoch)
            for name, weight in self.model.named_parameters():
                weight.requires_grad_(layer_of(name) not in frozen)
        if self.config.lr_schedule == "linear":
            left = 1 - self.step / self.total_steps
            rates = group_lrs(self.config, len(self.optimizer.param_groups))
            for group, lr in zip(self.optimizer.param_groups, rates, strict=True):
                group["lr"] = lr * left
        ids, lengths = pad_batch([self.train.ids[i] for i in batch])
        logits = self.model(ids, lengths)
        loss = F.binary_cross_entropy_with_logits(logits, self.train.labels[batch])
        value = loss.item()
        self.check_loss(value)
        self.update(loss, self.model.parameters(), self.config.grad_clip)
        return value, len(batch)

    def measure(self) -> dict[str, float] | None:
        if not len(self.valid):
            return None
        loss, accuracy = evaluate_reviews(self.model, self.valid)
        return {"val": loss, "accuracy": accuracy}

    def event(self, train_loss: float, figures: dict[str, float], speed: float, new_best: bool) -> SentimentEvent:
        return SentimentEvent(step=self.step, total_steps=self.total_steps, epoch=self.step / self.batches_per_epoch,
                              train_loss=train_loss, val_loss=figures.get("val"),
                              val_accuracy=figures.get("accuracy"), reviews_per_s=speed, elapsed=self.elapsed,
                              new_best=new_best)
