"""The chapter's many-to-one model: ``Embedding(V, 20) -> LSTM(20, 64) -> Linear(64, 64) ->
ReLU -> Linear(64, 1)``, reading each review to its last word (padding never enters the
recurrence before it) and judging it from the final hidden state; ``sigmoid`` of its output is the
probability that the review is positive."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.func import functional_call

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
POOLINGS = ("last", "concat")
POOLED = {"last": ("last",), "concat": ("last", "max", "mean")}  # what a summary holds of each unit, in order
MAX_SIZE = 1 << 14
_LAYER_WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


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
    # On the embedded words, before the recurrent layer (0: as the book): the regularisation a model
    # started from a language model (which trained with it) needs once it fits its training reviews.
    word_dropout: float = 0.0
    # What the classifier reads of each direction: its state after the review's last word (the
    # book's), or "concat": that, and the maximum and the mean of its states over the review's
    # words (Howard & Ruder 2018's concat pooling).
    pooling: str = "last"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("vocab_size", "embed_dim", "hidden_size", "fc_hidden"):
            value = getattr(self, name)
            if not 1 <= value <= (2_000_000 if name == "vocab_size" else MAX_SIZE):
                raise ValueError(f"{name} must be at least 1 and not absurd, got {value}")
        for name in ("dropout", "word_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """Its layers and sizes in words, as ``rnntui info`` names them."""
        way = "bidirectional " if self.bidirectional else ""
        return (f"{way}{self.cell.upper()}, embedding {self.embed_dim}, hidden {self.hidden_size}, "
                f"linear {self.fc_hidden}, {self.vocab_size:,} words")


class SentimentRNN(nn.Module):
    def __init__(self, config: SentimentConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.rnn = CELLS[config.cell](config.embed_dim, config.hidden_size, batch_first=True,
                                      bidirectional=config.bidirectional)
        # A one-way layer of the same shape that runs either direction's weights (functional_call
        # swaps them in): weightless (on "meta", so it draws nothing from the random generator)
        # and in a tuple, so that it is no submodule and stays out of the state dict.
        self._one_way = (CELLS[config.cell](config.embed_dim, config.hidden_size, batch_first=True, device="meta"),)
        summary = config.hidden_size * (2 if config.bidirectional else 1) * (3 if config.pooling == "concat" else 1)
        self.dropout = nn.Dropout(config.dropout)
        self.word_dropout = nn.Dropout(config.word_dropout)
        self.fc1 = nn.Linear(summary, config.fc_hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(config.fc_hidden, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``ids``: ``(batch, time)`` word ids padded with 0 at the end; ``lengths``: each review's
        true length. Returns one logit per review (``sigmoid`` gives P(positive)).

        Each direction reads the padded batch as one tensor, and the summary is its output at the
        review's last word (the backward direction reads each review reversed within its
        length). That is the final state a packed sequence gives, since padding only comes after
        the words read, and it is about six times faster on the CPU, where a packed sequence
        steps the kernel through ever smaller batches; length buckets leave little padding."""
        embedded = self.word_dropout(self.embedding(ids))
        return self.classify(self.summaries(embedded, lengths, self.one_direction(embedded, reverse=False)))

    def summaries(self, embedded: torch.Tensor, lengths: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
        """Each review's summary from its embedded words ``(batch, time, features)``: the forward
        direction's outputs ``forward`` at its last word, and for a bidirectional model the
        backward direction's, read over the review reversed within its length."""
        outputs = [forward]
        if self.config.bidirectional:
            outputs.append(self.one_direction(reverse_each(embedded, lengths.to(embedded.device)), reverse=True))
        return self.pool(outputs, lengths)

    def pool(self, outputs: list[torch.Tensor], lengths: torch.Tensor) -> torch.Tensor:
        """The summary from each direction's outputs ``(batch, time, hidden)`` (the backward one's in
        its own reading order): each direction's last state, then with concat pooling the max and
        the mean of its states; so a summary is ``POOLED[pooling]`` parts of one value per unit."""
        first = outputs[0]
        rows = torch.arange(len(first), device=first.device)
        lengths = lengths.to(first.device)
        last = (lengths - 1).clamp(min=0)
        parts = [output[rows, last] for output in outputs]
        if self.config.pooling == "concat":  # over each review's words only, never its padding
            words = (torch.arange(first.shape[1], device=first.device)[None, :] < lengths[:, None])[..., None]
            parts += [output.masked_fill(~words, float("-inf")).amax(1) for output in outputs]
            parts += [(output * words).sum(1) / lengths.clamp(min=1)[:, None] for output in outputs]
        return torch.cat(parts, dim=1)

    def one_direction(self, inputs: torch.Tensor, reverse: bool) -> torch.Tensor:
        """The recurrent layer's forward (or backward) direction alone, read left to right over
        ``inputs`` ``(batch, time, features)``: its outputs ``(batch, time, hidden)``."""
        if not self.config.bidirectional:
            return self.rnn(inputs)[0]
        return functional_call(self._one_way[0], self.direction_weights(reverse), (inputs,))[0]

    def direction_weights(self, reverse: bool) -> dict[str, torch.Tensor]:
        """One direction's weights under a one-way layer's names (``weight_ih_l0``, ...)."""
        suffix = "_reverse" if reverse and self.config.bidirectional else ""
        return {name: getattr(self.rnn, name + suffix) for name in _LAYER_WEIGHTS}

    def classify(self, summary: torch.Tensor) -> torch.Tensor:
        """``(..., summary size)`` summaries to one logit each."""
        return self.fc2(self.relu(self.fc1(self.dropout(summary)))).squeeze(-1)


def state_shapes(config: SentimentConfig) -> dict[str, tuple[int, ...]]:
    """Each weight's shape, from a model built on the meta device (no memory is allocated)."""
    with torch.device("meta"):
        model = SentimentRNN(config)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def reverse_each(batch: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row of ``(batch, time, ...)`` with its first ``length`` steps in reverse order (the
    padding after them stays where it is)."""
    steps, lengths = torch.arange(batch.shape[1], device=batch.device), lengths.to(batch.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    return batch.gather(1, index[:, :, None].expand_as(batch))


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
