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


L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # the penalty's weights tried, chosen on the validation split


def binary_features(ids: list[list[int]], vocab_size: int) -> torch.Tensor:
    """Each review as a sparse row of 1s, one for each word it has (however often)."""
    rows = torch.cat([torch.full((len(set(seq)),), row) for row, seq in enumerate(ids)])
    cols = torch.cat([torch.tensor(sorted(set(seq)), dtype=torch.long) for seq in ids])
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows)), (len(ids), vocab_size),
                                   check_invariants=False).coalesce()


def fit_logistic(x: torch.Tensor, labels: torch.Tensor, l2: float, iterations: int = 300
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A logistic regression with an L2 penalty ``l2 / 2 * |w|^2`` (the bias free), fitted with
    L-BFGS on full-batch gradients, as scikit-learn's default solver fits one."""
    weights = torch.zeros(x.shape[1], 1, requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], lr=1, max_iter=iterations, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        logits = torch.sparse.mm(x, weights).squeeze(1) + bias
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels) + 0.5 * l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weights.detach(), bias.detach()


def accuracy(x: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor) -> float:
    predicted = (torch.sparse.mm(x, weights).squeeze(1) + bias) > 0
    return (predicted.float() == labels).float().mean().item()


def unigram_baseline(train_ids: list[list[int]], train_labels: torch.Tensor, valid_ids: list[list[int]],
                     valid_labels: torch.Tensor, test_ids: list[list[int]], test_labels: torch.Tensor,
                     vocab_size: int, l2_grid: tuple[float, ...] = L2_GRID) -> dict:
    """The bag of words an RNN must beat: a logistic regression on binary unigram features (each
    word present or not), its penalty chosen on the validation split, then scored once on the
    test reviews. Returns the test accuracy, the penalty chosen and every validation accuracy."""
    x_train, x_valid, x_test = (binary_features(ids, vocab_size) for ids in (train_ids, valid_ids, test_ids))
    train_labels, valid_labels = train_labels.float(), valid_labels.float()
    tried = {}
    for l2 in l2_grid:
        tried[l2] = (accuracy(x_valid, valid_labels, *fit_logistic(x_train, train_labels, l2)), l2)
    best = max(tried.values())[1]
    weights, bias = fit_logistic(x_train, train_labels, best)
    return {"test": accuracy(x_test, test_labels.float(), weights, bias), "l2": best,
            "valid": {l2: valid for l2, (valid, _) in tried.items()}}
