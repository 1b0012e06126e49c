"""Training the review language model (``rnntui sentiment pretrain``): batches of whole reviews
of similar lengths (each read from a zero state, as the classifier reads it), Adam, the
gradient norm clipped, with the classifier trainer's qualities: pause / resume / stop from
another thread, exact resume, a guard against NaN, and validation (perplexity on held-out
unlabelled reviews) every ``eval_every`` steps. The loop is sentiment/epochs.py's, shared with
the classifier.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import torch

from rnntui.core.errors import RnntuiError
from rnntui.core.history import History
from rnntui.core.training import StepEvent
from rnntui.sentiment.epochs import ReviewTrainer
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


@dataclass(kw_only=True)
class PretrainEvent(StepEvent):
    epoch: float  # epochs done, with a fraction for the one in progress
    words_per_s: float  # train_loss and val_loss: nats per predicted word

    @property
    def val_perplexity(self) -> float | None:
        return None if self.val_loss is None else math.exp(min(self.val_loss, 700.0))


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


class PretrainTrainer(ReviewTrainer):
    """Trains ``model`` on ``train``; ``run()`` yields one ``PretrainEvent`` per batch."""

    def __init__(self, model: ReviewLM, train: Texts, valid: Texts, config: PretrainConfig,
                 optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                 history: History | None = None, elapsed: float = 0.0) -> None:
        config.validate()
        if not len(train):
            raise RnntuiError("there are no training reviews of two words or more")
        optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=config.lr)
        for group in optimizer.param_groups:
            group["lr"] = config.lr
        super().__init__(model, optimizer, config, train.lengths, step, history or History(), elapsed)
        self.train, self.valid = train, valid

    def train_step(self, batch: list[int]) -> tuple[float, int]:
        """One update on reviews ``batch``: its loss per predicted word, and how many words it read."""
        self.model.train()
        ids, lengths = self.train.batch(batch)
        total, count = self.model(ids, lengths)
        loss = total / count
        value = loss.item()
        self.check_loss(value)
        self.update(loss, self.model.parameters(), self.config.grad_clip)
        return value, int(lengths.sum())

    def measure(self) -> dict[str, float] | None:
        return {"val": evaluate_lm(self.model, self.valid)} if len(self.valid) else None

    def event(self, train_loss: float, figures: dict[str, float], speed: float, new_best: bool) -> PretrainEvent:
        return PretrainEvent(step=self.step, total_steps=self.total_steps, epoch=self.step / self.batches_per_epoch,
                             train_loss=train_loss, val_loss=figures.get("val"), words_per_s=speed,
                             elapsed=self.elapsed, new_best=new_best)
