"""Training the review language model (``rnntui sentiment pretrain``): batches of whole reviews
of similar lengths (each read from a zero state, as the classifier reads it), Adam, the
gradient norm clipped, with the classifier trainer's qualities: pause / resume / stop from
another thread, exact resume, a guard against NaN, and validation (perplexity on held-out
unlabelled reviews) every ``eval_every`` steps.

A run's place is its step alone, as for ``SentimentTrainer``: epoch ``step // batches_per_epoch``
visits its batches in an order drawn from ``(random_seed, epoch)``, and dropout's generator is
saved at each step's end.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from rnntui.charlm.trainer import TrainingDiverged
from rnntui.core.control import RunControl
from rnntui.core.errors import RnntuiError
from rnntui.sentiment.model import length_buckets
from rnntui.sentiment.pretrain.config import PretrainConfig
from rnntui.sentiment.pretrain.model import ReviewLM
from rnntui.sentiment.tokens import WordVocab
from rnntui.sentiment.trainer import truncate

EVAL_BATCH = 128


class Texts:
    """Reviews as word ids, all in one tensor (70,000 reviews as Python lists of ints would take
    gigabytes); reviews of fewer than two words, which have no word to predict, are left out."""

    def __init__(self, vocab: WordVocab, texts, max_tokens: int) -> None:
        flat, offsets = array("i"), [0]
        for text in texts:
            ids = truncate(vocab.encode(text), max_tokens)
            if len(ids) >= 2:
                flat.extend(ids)
                offsets.append(len(flat))
        self.ids = torch.frombuffer(flat, dtype=torch.int32).clone() if flat else torch.zeros(0, dtype=torch.int32)
        self.offsets = torch.tensor(offsets)
        self.lengths = (self.offsets[1:] - self.offsets[:-1]).tolist()

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def words(self) -> int:
        return len(self.ids)

    def batch(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Reviews ``indices`` as ``(batch, longest)`` ids padded with 0, and their lengths."""
        lengths = torch.tensor([self.lengths[i] for i in indices])
        ids = torch.zeros(len(indices), int(lengths.max()), dtype=torch.long)
        for row, i in enumerate(indices):
            start = int(self.offsets[i])
            ids[row, :self.lengths[i]] = self.ids[start:start + self.lengths[i]]
        return ids, lengths


@dataclass
class PretrainEvent:
    step: int
    total_steps: int
    epoch: float
    train_loss: float  # nats per predicted word
    val_loss: float | None  # set on validation steps
    words_per_s: float
    elapsed: float  # seconds of training, across resumes, pauses excluded
    new_best: bool = False

    @property
    def val_perplexity(self) -> float | None:
        return None if self.val_loss is None else math.exp(min(self.val_loss, 700.0))


@dataclass
class PretrainHistory:
    train: list[tuple[int, float]] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"train": [list(p) for p in self.train], "val": [list(p) for p in self.val]}

    @classmethod
    def from_dict(cls, values: dict | None) -> PretrainHistory:
        values = values or {}
        return cls(*([(int(s), float(v)) for s, v in values.get(name, [])] for name in ("train", "val")))


@torch.inference_mode()
def evaluate_lm(model: ReviewLM, texts: Texts, batch_size: int = EVAL_BATCH) -> float:
    """Mean negative log-likelihood per predicted word (nats; its exp is the perplexity)."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: texts.lengths[i])
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        loss, n = model(*texts.batch(order[start:start + batch_size]))
        total, count = total + loss.item(), count + n
    return total / max(count, 1)


class PretrainTrainer(RunControl):
    """Trains ``model`` on ``train``; ``run()`` yields one ``PretrainEvent`` per batch."""

    def __init__(self, model: ReviewLM, train: Texts, valid: Texts, config: PretrainConfig,
                 optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                 history: PretrainHistory | None = None, elapsed: float = 0.0) -> None:
        super().__init__()
        config.validate()
        if not len(train):
            raise RnntuiError("there are no training reviews of two words or more")
        self.model, self.train, self.valid, self.config = model, train, valid, config
        self.optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=config.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = config.lr
        self.step, self.elapsed = step, elapsed
        self.history = history or PretrainHistory()
        self.batches_per_epoch = math.ceil(len(train) / config.batch_size)
        self._order: tuple[int, list[list[int]]] | None = None
        self.lock = threading.RLock()  # held while the weights change (see SentimentTrainer)
        self._boundary = {"torch": torch.get_rng_state()}

    @property
    def total_steps(self) -> int:
        return self.config.epochs * self.batches_per_epoch

    def batches(self, epoch: int) -> list[list[int]]:
        if self._order is None or self._order[0] != epoch:
            generator = torch.Generator().manual_seed(self.config.random_seed * 1_000_003 + epoch)
            self._order = (epoch, length_buckets(self.train.lengths, self.config.batch_size, generator))
        return self._order[1]

    def snapshot(self) -> dict[str, torch.Tensor]:
        with self.lock:
            return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def rng_state(self) -> dict:
        with self.lock:
            return self._boundary

    def set_rng_state(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        self._boundary = {"torch": state["torch"]}

    def train_step(self, batch: list[int]) -> tuple[float, int]:
        self.model.train()
        ids, lengths = self.train.batch(batch)
        total, count = self.model(ids, lengths)
        loss = total / count
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(self._diverged("loss", value))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip or math.inf).item()
        if not math.isfinite(norm):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(self._diverged("gradient norm", norm))
        with self.lock:
            self.optimizer.step()
            self.step += 1
            self._boundary = {"torch": torch.get_rng_state()}
        return value, int(lengths.sum())

    def _diverged(self, what: str, value: object) -> str:
        return (f"training diverged at step {self.step + 1} (the {what} became {value}); the weights are "
                f"those of step {self.step}. Try a lower --lr (now {self.config.lr:g})")

    def run(self) -> Iterator[PretrainEvent]:
        """Train until ``config.epochs`` (a total, so a resumed run continues to it) or ``stop()``."""
        per_epoch, speed = self.batches_per_epoch, None
        while self.step < self.total_steps:
            self.wait_while_paused()
            if self.stopping:
                return
            started = time.perf_counter()
            epoch, position = divmod(self.step, per_epoch)
            train_loss, words = self.train_step(self.batches(epoch)[position])
            rate = words / max(time.perf_counter() - started, 1e-9)  # validation not counted
            self.history.train.append((self.step, train_loss))
            val_loss, new_best = None, False
            into_epoch = self.step % per_epoch
            if len(self.valid) and (into_epoch == 0 or (self.config.eval_every
                                                        and into_epoch % self.config.eval_every == 0)):
                val_loss = evaluate_lm(self.model, self.valid)
                new_best = all(val_loss < v for _, v in self.history.val)
                self.history.val.append((self.step, val_loss))
            self.elapsed += time.perf_counter() - started
            speed = rate if speed is None else 0.95 * speed + 0.05 * rate
            yield PretrainEvent(self.step, self.total_steps, self.step / per_epoch, train_loss, val_loss, speed,
                                self.elapsed, new_best)
