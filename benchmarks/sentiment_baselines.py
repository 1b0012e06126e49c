"""The book's sentiment training loop (chapter 15, part 1), as the benchmark's baseline, and a
bag-of-words anchor.

The book's way: a ``DataLoader`` with ``shuffle=True`` and a ``collate_fn`` that tokenizes each
review of the batch, looks its words up and pads the batch; the model packs it with
``pack_padded_sequence`` and ends in a sigmoid under ``BCELoss``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from rnntui.sentiment.tokens import WordVocab


class BookSentimentRNN(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int = 20, rnn_hidden_size: int = 64, fc_hidden_size: int = 64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = nn.LSTM(embed_dim, rnn_hidden_size, batch_first=True)
        self.fc1 = nn.Linear(rnn_hidden_size, fc_hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(fc_hidden_size, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, text, lengths):
        out = self.embedding(text)
        out = nn.utils.rnn.pack_padded_sequence(out, lengths.cpu().numpy(), enforce_sorted=False, batch_first=True)
        _, (hidden, _) = self.rnn(out)
        return self.sigmoid(self.fc2(self.relu(self.fc1(hidden[-1, :, :]))))


def book_loader(reviews: list, vocab: WordVocab, batch_size: int = 32, seed: int = 1) -> DataLoader:
    """``reviews``: (label, text) pairs, tokenized batch by batch as the notebook does."""

    def collate_batch(batch):
        labels, texts, lengths = [], [], []
        for label, text in batch:
            labels.append(float(label))
            ids = torch.tensor(vocab.encode(text) or [1], dtype=torch.int64)
            texts.append(ids)
            lengths.append(ids.size(0))
        return nn.utils.rnn.pad_sequence(texts, batch_first=True), torch.tensor(labels), torch.tensor(lengths)

    return DataLoader(reviews, batch_size=batch_size, shuffle=True, collate_fn=collate_batch,
                      generator=torch.Generator().manual_seed(seed))


def book_train(model: BookSentimentRNN, loader: DataLoader, batches: int) -> int:
    """The notebook's ``train()``, for ``batches`` batches; returns the reviews seen."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.BCELoss()
    model.train()
    seen = 0
    for number, (text_batch, label_batch, lengths) in enumerate(loader):
        if number == batches:
            break
        optimizer.zero_grad()
        pred = model(text_batch, lengths)[:, 0]
        loss = loss_fn(pred, label_batch)
        loss.backward()
        optimizer.step()
        seen += len(label_batch)
    return seen


def unigram_baseline(train_ids: list[list[int]], train_labels: torch.Tensor, test_ids: list[list[int]],
                     test_labels: torch.Tensor, vocab_size: int, epochs: int = 8, weight_decay: float = 1e-6) -> float:
    """Test accuracy of a logistic regression on binary unigram features (each word present or
    not), trained with Adam on full-batch gradients: the bag of words an RNN must beat."""

    def features(ids: list[list[int]]) -> torch.Tensor:
        rows = torch.cat([torch.full((len(set(seq)),), row) for row, seq in enumerate(ids)])
        cols = torch.cat([torch.tensor(sorted(set(seq)), dtype=torch.long) for seq in ids])
        return torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows)),
                                       (len(ids), vocab_size), check_invariants=False).coalesce()

    x_train, x_test = features(train_ids), features(test_ids)
    weights = torch.zeros(vocab_size, 1, requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weights, bias], lr=0.01, weight_decay=weight_decay)
    for _ in range(epochs * 25):
        logits = torch.sparse.mm(x_train, weights).squeeze(1) + bias
        loss = nn.functional.binary_cross_entropy_with_logits(logits, train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = (torch.sparse.mm(x_test, weights).squeeze(1) + bias) > 0
    return (predicted.float() == test_labels).float().mean().item()
