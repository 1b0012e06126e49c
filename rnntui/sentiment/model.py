"""The chapter's many-to-one model: ``Embedding(V, 20) -> LSTM(20, 64) -> Linear(64, 64) ->
ReLU -> Linear(64, 1)``, reading each review as a packed sequence (no padding in the
recurrence) and judging it from the final hidden state; ``sigmoid`` of its output is the
probability that the review is positive."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
MAX_SIZE = 1 << 14


@dataclass(frozen=True)
class SentimentConfig:
    """The book's sizes by default; ``bidirectional`` is its variant."""

    vocab_size: int
    embed_dim: int = 20
    hidden_size: int = 64
    fc_hidden: int = 64
    cell: str = "lstm"
    bidirectional: bool = False
    dropout: float = 0.0  # on the summary, before the classifier (0: as the book)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("vocab_size", "embed_dim", "hidden_size", "fc_hidden"):
            value = getattr(self, name)
            if not 1 <= value <= (2_000_000 if name == "vocab_size" else MAX_SIZE):
                raise ValueError(f"{name} must be at least 1 and not absurd, got {value}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


class SentimentRNN(nn.Module):
    def __init__(self, config: SentimentConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.rnn = CELLS[config.cell](config.embed_dim, config.hidden_size, batch_first=True,
                                      bidirectional=config.bidirectional)
        summary = config.hidden_size * (2 if config.bidirectional else 1)
        self.dropout = nn.Dropout(config.dropout)
        self.fc1 = nn.Linear(summary, config.fc_hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(config.fc_hidden, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``ids``: ``(batch, time)`` word ids padded with 0; ``lengths``: each review's true
        length. Returns one logit per review (``sigmoid`` gives P(positive))."""
        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        hidden = state[0] if isinstance(state, tuple) else state  # an LSTM's (h, c): h
        # The last layer's final state; both directions' for a bidirectional model.
        summary = torch.cat([hidden[-2], hidden[-1]], dim=1) if self.config.bidirectional else hidden[-1]
        return self.classify(summary)

    def classify(self, summary: torch.Tensor) -> torch.Tensor:
        """``(..., summary size)`` summaries to one logit each."""
        return self.fc2(self.relu(self.fc1(self.dropout(summary)))).squeeze(-1)


def pad_batch(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Word-id lists as a ``(batch, longest)`` tensor padded with 0, and their lengths (an
    empty review reads as one unknown word, so that every sequence has a final state)."""
    sequences = [seq or [1] for seq in sequences]
    lengths = torch.tensor([len(seq) for seq in sequences])
    ids = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = torch.tensor(seq)
    return ids, lengths


def length_buckets(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Batches of review indices of similar lengths, in a random order: a batch pays for its
    longest review, so sorting within random chunks of 50 batches wastes little on padding
    while each epoch still sees the batches shuffled."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        block = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [block[i:i + batch_size] for i in range(0, len(block), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]
