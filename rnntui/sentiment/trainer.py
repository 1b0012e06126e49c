"""Training the many-to-one model: the book's loop (batch 32, Adam 0.001, binary cross-entropy on
logits) over batches of reviews of similar lengths, with the language model's qualities:
pause / resume / stop from another thread, exact resume, a guard against NaN, early stopping.

A run's place is its step alone: epoch ``step // batches_per_epoch`` visits its batches in an
order drawn from ``(random_seed, epoch)``, so a resumed run recomputes the order and continues
with the next batch; dropout's generator is saved at each step's end (``rng_state``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from rnntui.charlm.trainer import TrainingDiverged
from rnntui.core import memory
from rnntui.core.control import RunControl
from rnntui.core.errors import RnntuiError
from rnntui.sentiment.config import SentimentTrainConfig
from rnntui.sentiment.model import SentimentConfig, SentimentRNN, length_buckets, pad_batch, state_shapes
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


@dataclass
class SentimentEvent:
    step: int
    total_steps: int
    epoch: float  # epochs done, with a fraction for the one in progress
    train_loss: float
    val_loss: float | None  # set on validation steps
    val_accuracy: float | None
    reviews_per_s: float
    elapsed: float  # seconds of training, across resumes, pauses excluded
    new_best: bool = False  # the best validation accuracy so far


@dataclass
class SentimentHistory:
    """Loss every step; validation loss and accuracy at each validation."""

    train: list[tuple[int, float]] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)
    accuracy: list[tuple[int, float]] = field(default_factory=list)

    def best_accuracy(self) -> float | None:
        return max((a for _, a in self.accuracy), default=None)

    def validations_since_best(self) -> int:
        if not self.accuracy:
            return 0
        best = max(range(len(self.accuracy)), key=lambda i: (self.accuracy[i][1], -i))
        return len(self.accuracy) - 1 - best

    def to_dict(self) -> dict:
        return {name: [list(point) for point in getattr(self, name)] for name in ("train", "val", "accuracy")}

    @classmethod
    def from_dict(cls, values: dict | None) -> SentimentHistory:
        values = values or {}
        return cls(*([(int(s), float(v)) for s, v in values.get(name, [])] for name in ("train", "val", "accuracy")))


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


class SentimentTrainer(RunControl):
    """Trains ``model`` on ``train``; ``run()`` yields one ``SentimentEvent`` per batch."""

    def __init__(self, model: SentimentRNN, train: Encoded, valid: Encoded, config: SentimentTrainConfig,
                 optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                 history: SentimentHistory | None = None, elapsed: float = 0.0) -> None:
        super().__init__()
        config.validate()
        if not len(train):
            raise RnntuiError("there are no training reviews")
        check_batch_memory(model.config, config.batch_size, [len(ids) for ids in train.ids], True)
        self.model = model
        self.train, self.valid, self.config = train, valid, config
        self.optimizer = optimizer or make_optimizer(model, config)
        if len(self.optimizer.param_groups) not in (1, len(LAYERS) + 1) or (
                config.layer_lr_decay != 1) != (len(self.optimizer.param_groups) > 1):
            raise RnntuiError("--layer-lr-decay cannot change once a model has trained (its optimizer has "
                              f"{len(self.optimizer.param_groups)} parameter groups)")
        for group, lr in zip(self.optimizer.param_groups, group_lrs(config, len(self.optimizer.param_groups)),
                             strict=True):
            group["lr"] = lr
        self.step, self.elapsed = step, elapsed
        self.history = history or SentimentHistory()
        self.batches_per_epoch = math.ceil(len(train) / config.batch_size)
        self._lengths = [len(ids) for ids in train.ids]
        self._order: tuple[int, list[list[int]]] | None = None
        self.early_stopped = False
        # Held while the weights change, so a copy taken for predicting or saving is consistent.
        self.lock = threading.RLock()
        self._boundary = {"torch": torch.get_rng_state()}

    @property
    def total_steps(self) -> int:
        return self.config.epochs * self.batches_per_epoch

    def batches(self, epoch: int) -> list[list[int]]:
        """Epoch ``epoch``'s batches of review indices, the same order every time it is asked."""
        if self._order is None or self._order[0] != epoch:
            generator = torch.Generator().manual_seed(self.config.random_seed * 1_000_003 + epoch)
            self._order = (epoch, length_buckets(self._lengths, self.config.batch_size, generator))
        return self._order[1]

    def snapshot(self) -> dict[str, torch.Tensor]:
        with self.lock:
            return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def rng_state(self) -> dict:
        """Dropout's generator as it was when the last step ended (see ``snapshot``)."""
        with self.lock:
            return self._boundary

    def set_rng_state(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        self._boundary = {"torch": state["torch"]}

    def train_step(self, batch: list[int]) -> float:
        self.model.train()
        if self.config.gradual_unfreezing:
            frozen = frozen_layers(self.config, self.step // self.batches_per_epoch)
            for name, weight in self.model.named_parameters():
                weight.requires_grad_(layer_of(name) not in frozen)
        ids, lengths = pad_batch([self.train.ids[i] for i in batch])
        logits = self.model(ids, lengths)
        loss = F.binary_cross_entropy_with_logits(logits, self.train.labels[batch])
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(self._diverged("loss", value))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.config.grad_clip or math.inf
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip).item()
        if not math.isfinite(norm):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(self._diverged("gradient norm", norm))
        with self.lock:
            self.optimizer.step()
            self.step += 1
            self._boundary = {"torch": torch.get_rng_state()}
        return value

    def _diverged(self, what: str, value: object) -> str:
        return (f"training diverged at step {self.step + 1} (the {what} became {value}); the weights are "
                f"those of step {self.step}. Try a lower --lr (now {self.config.lr:g})")

    def validate(self) -> tuple[float, float] | None:
        if not len(self.valid):
            return None
        return evaluate_reviews(self.model, self.valid)

    def run(self) -> Iterator[SentimentEvent]:
        """Train until ``config.epochs`` (a total, so a resumed run continues to it) or ``stop()``."""
        config, per_epoch = self.config, self.batches_per_epoch
        speed = None
        while self.step < self.total_steps:
            self.wait_while_paused()
            if self.stopping:
                return
            started = time.perf_counter()
            epoch, position = divmod(self.step, per_epoch)
            batch = self.batches(epoch)[position]
            train_loss = self.train_step(batch)
            rate = len(batch) / max(time.perf_counter() - started, 1e-9)  # validation not counted
            self.history.train.append((self.step, train_loss))
            val_loss = accuracy = None
            new_best = False
            into_epoch = self.step % per_epoch  # 0: the epoch just ended
            # Every eval_every steps into each epoch, so that an epoch's end is not followed by
            # another validation a step later.
            if into_epoch == 0 or (config.eval_every and into_epoch % config.eval_every == 0):
                result = self.validate()
                if result is not None:
                    val_loss, accuracy = result
                    self.history.val.append((self.step, val_loss))
                    self.history.accuracy.append((self.step, accuracy))
                    since_best = self.history.validations_since_best()
                    new_best = since_best == 0
                    if config.patience and since_best >= config.patience and self.step < self.total_steps:
                        self.early_stopped = True
                        self.stop()
            spent = time.perf_counter() - started
            self.elapsed += spent
            speed = rate if speed is None else 0.95 * speed + 0.05 * rate
            yield SentimentEvent(self.step, self.total_steps, self.step / per_epoch, train_loss, val_loss,
                                 accuracy, speed, self.elapsed, new_best)
