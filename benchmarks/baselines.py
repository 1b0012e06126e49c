"""The book's own training step and sampler (chapter 15), as baselines for the benchmark.

Written the book's way on purpose: the model is called once per character with the
``(hidden, cell)`` state passed in and out, and sampling builds a ``Categorical`` per step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions.categorical import Categorical


class BookRNN(nn.Module):
    """The notebook's model: one character in, logits and the new state out."""

    def __init__(self, vocab_size: int, embed_dim: int = 256, rnn_hidden_size: int = 512) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn_hidden_size = rnn_hidden_size
        self.rnn = nn.LSTM(embed_dim, rnn_hidden_size, batch_first=True)
        self.fc = nn.Linear(rnn_hidden_size, vocab_size)

    def forward(self, x, hidden, cell):
        out = self.embedding(x).unsqueeze(1)
        out, (hidden, cell) = self.rnn(out, (hidden, cell))
        out = self.fc(out).reshape(out.size(0), -1)
        return out, hidden, cell

    def init_hidden(self, batch_size: int):
        hidden = torch.zeros(1, batch_size, self.rnn_hidden_size)
        cell = torch.zeros(1, batch_size, self.rnn_hidden_size)
        return hidden, cell


def book_train_step(model: BookRNN, optimizer, loss_fn, seq_batch: torch.Tensor,
                    target_batch: torch.Tensor) -> float:
    """One step of the notebook's training loop."""
    seq_length = seq_batch.shape[1]
    hidden, cell = model.init_hidden(seq_batch.shape[0])
    optimizer.zero_grad()
    loss = 0
    for c in range(seq_length):
        pred, hidden, cell = model(seq_batch[:, c], hidden, cell)
        loss += loss_fn(pred, target_batch[:, c])
    loss.backward()
    optimizer.step()
    return loss.item() / seq_length


def book_sample(model: BookRNN, starting_str: str, char2int: dict, char_array, len_generated_text: int = 500,
                scale_factor: float = 1.0) -> str:
    """The notebook's ``sample()``."""
    encoded_input = torch.tensor([char2int[s] for s in starting_str])
    encoded_input = torch.reshape(encoded_input, (1, -1))
    generated_str = starting_str
    model.eval()
    hidden, cell = model.init_hidden(1)
    for c in range(len(starting_str) - 1):
        _, hidden, cell = model(encoded_input[:, c].view(1), hidden, cell)
    last_char = encoded_input[:, -1]
    for _ in range(len_generated_text):
        logits, hidden, cell = model(last_char.view(1), hidden, cell)
        logits = torch.squeeze(logits, 0)
        scaled_logits = logits * scale_factor
        m = Categorical(logits=scaled_logits)
        last_char = m.sample()
        generated_str += str(char_array[last_char])
    return generated_str


def copy_weights(book: BookRNN, model) -> None:
    """Give an rnntui ``CharRNN`` the same weights as ``book`` (the layouts match)."""
    model.load_state_dict(book.state_dict())
