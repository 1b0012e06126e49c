"""A word-level LSTM language model of movie reviews, to give the review classifier a start:
``Embedding(V, E) -> LSTM(E, H)`` read forward (each word predicts the next) and, when
``bidirectional``, backward too (each review reversed: each word predicts the one before it),
with one softmax over the vocabulary shared by both directions (as ELMo shares it).

Its embedding and recurrent layer are named and shaped as ``SentimentRNN``'s (``embedding.*``,
``rnn.*``, the backward direction in the ``*_reverse`` weights), so a classifier starts from
them by copying those tensors, and each direction reads a review exactly as the classifier's
does: from a zero state, over the review's own words (``SentimentRNN.one_direction``).

The softmax over a 30,000-word vocabulary costs most of a step on a CPU; ``softmax``
"adaptive" (Grave et al. 2017: the frequent words in a small head, the rare ones in clusters of
smaller vectors) is several times cheaper than "full" (``benchmarks/pretrain.py`` measures),
and "tied" is the full softmax over the embedding's own vectors (a projection to its size first).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rnntui.sentiment.model import MAX_SIZE, SentimentConfig, SentimentRNN

SOFTMAXES = ("adaptive", "full", "tied")


@dataclass(frozen=True)
class ReviewLMConfig:
    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128
    bidirectional: bool = True
    dropout: float = 0.1  # on the embedded words and on the recurrent layer's outputs
    softmax: str = "adaptive"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embed_dim", "hidden_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= (2_000_000 if name == "vocab_size" else MAX_SIZE):
                raise ValueError(f"{name} must be at least 1 and not absurd, got {value!r}")
        if self.vocab_size < 3:
            raise ValueError(f"vocab_size must be at least 3 (padding, unknown and a word), got {self.vocab_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.softmax not in SOFTMAXES:
            raise ValueError(f"softmax must be one of {', '.join(SOFTMAXES)}, got {self.softmax!r}")

    @property
    def cutoffs(self) -> list[int]:
        """The adaptive softmax's clusters: the 2,000 most frequent words in its head, then the
        next 8,000, then the rest (fewer where the vocabulary is small)."""
        return [c for c in (2_000, 10_000) if c < self.vocab_size - 1] or [self.vocab_size // 2]

    def classifier_config(self, **settings) -> SentimentConfig:
        """The settings of a classifier that can start from this model's layers."""
        return SentimentConfig(vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_size=self.hidden_size,
                               cell="lstm", bidirectional=self.bidirectional, **settings)

    def to_dict(self) -> dict:
        return asdict(self)


class ReviewLM(nn.Module):
    def __init__(self, config: ReviewLMConfig) -> None:
        super().__init__()
        self.config = config
        # The classifier's own embedding and recurrent layer (and its way of reading one direction).
        encoder = SentimentRNN(config.classifier_config(fc_hidden=1))
        self.embedding, self.rnn, self._one_way = encoder.embedding, encoder.rnn, encoder._one_way
        self._encoder = (encoder,)  # no submodule: its classifier layers are not part of the LM
        self.dropout = nn.Dropout(config.dropout)
        size, words = config.hidden_size, config.vocab_size
        if config.softmax == "adaptive":
            self.head = nn.AdaptiveLogSoftmaxWithLoss(size, words, config.cutoffs, div_value=4.0)
        elif config.softmax == "full":
            self.head = nn.Linear(size, words)
        else:
            self.head = nn.Linear(size, config.embed_dim)  # then the embedding's vectors score each word
            self.bias = nn.Parameter(torch.zeros(words))

    def encoder(self) -> SentimentRNN:
        return self._encoder[0]

    def directions(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each direction's outputs ``(batch, time, hidden)`` and the words they read, in that
        direction's order (the backward direction's are each review reversed within its length)."""
        found = []
        for reverse in (False, True) if self.config.bidirectional else (False,):
            words = reverse_ids(ids, lengths) if reverse else ids
            outputs = self.encoder().one_direction(self.dropout(self.embedding(words)), reverse)
            found.append((outputs, words))
        return found

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The summed negative log-likelihood of each review's words after its first (before its
        last, read backward), in nats, and how many words that is."""
        hidden, targets = [], []
        for outputs, words in self.directions(ids, lengths):
            predicted = torch.arange(ids.shape[1] - 1, device=ids.device)[None, :] + 1 < lengths[:, None]
            hidden.append(self.dropout(outputs[:, :-1])[predicted])
            targets.append(words[:, 1:][predicted])
        hidden, targets = torch.cat(hidden), torch.cat(targets)
        return self.nll(hidden, targets).sum(), len(targets)

    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(batch, hidden)`` states to each word's log-probability ``(batch, vocabulary)``."""
        if self.config.softmax == "adaptive":
            return self.head.log_prob(hidden)
        if self.config.softmax == "full":
            return F.log_softmax(self.head(hidden), dim=-1)
        return F.log_softmax(F.linear(self.head(hidden), self.embedding.weight, self.bias), dim=-1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Each target word's negative log-likelihood given the hidden state before it."""
        if self.config.softmax == "adaptive":
            return -self.head(hidden, targets).output
        if self.config.softmax == "full":
            logits = self.head(hidden)
        else:
            logits = F.linear(self.head(hidden), self.embedding.weight, self.bias)
        return F.cross_entropy(logits, targets, reduction="none")


def reverse_ids(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row of ``(batch, time)`` word ids with its first ``length`` words in reverse order."""
    steps, lengths = torch.arange(ids.shape[1], device=ids.device), lengths.to(ids.device)
    return ids.gather(1, torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps))
