"""The chapter's many-to-one model: packed reviews, the final state, bucketed batches."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from rnntui.sentiment.model import SentimentConfig, SentimentRNN, length_buckets, pad_batch
from rnntui.sentiment.tokens import WordVocab


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("lstm", True), ("gru", False), ("rnn", True)])
def test_padding_changes_nothing(cell, bidirectional):
    """Packed sequences: a review scores the same alone as beside a longer one in a batch."""
    torch.manual_seed(0)
    model = SentimentRNN(SentimentConfig(50, 8, 12, 10, cell=cell, bidirectional=bidirectional)).eval()
    reviews = [[3, 4, 5], [6, 7, 8, 9, 10, 11, 12], [13]]
    ids, lengths = pad_batch(reviews)
    together = model(ids, lengths)
    alone = torch.cat([model(*pad_batch([review])) for review in reviews])
    assert together.shape == (3,) and torch.allclose(together, alone, atol=1e-6)


def test_the_books_sizes_by_default():
    model = SentimentRNN(SentimentConfig(1000))
    assert model.embedding.embedding_dim == 20 and model.rnn.hidden_size == 64
    assert model.fc1.in_features == 64 and model.fc1.out_features == 64 and model.fc2.out_features == 1
    with pytest.raises(ValueError, match="cell must be one of"):
        SentimentConfig(10, cell="transformer")


def test_buckets_cover_every_review_once_with_similar_lengths():
    rng = random.Random(0)
    lengths = [rng.randint(1, 1000) for _ in range(5000)]
    batches = length_buckets(lengths, 32, torch.Generator().manual_seed(1))
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(5000))
    # Within a batch the lengths are close: far less padding than random batches would need.
    padded = sum(32 * max(lengths[i] for i in batch) for batch in batches)
    assert padded < 1.1 * sum(lengths)
    assert batches == length_buckets(lengths, 32, torch.Generator().manual_seed(1))  # repeatable


def test_a_small_model_learns_made_up_reviews():
    rng = random.Random(0)
    words = "film plot actor scene story music camera ending".split()

    def review(positive: bool) -> str:
        tone = rng.choice(["great", "wonderful", "loved"] if positive else ["awful", "boring", "hated"])
        body = [rng.choice(words) for _ in range(rng.randint(5, 30))]
        body.insert(rng.randrange(len(body)), tone)
        return " ".join(body)

    texts = [(review(i % 2 == 1), i % 2) for i in range(400)]
    vocab = WordVocab.build(text for text, _ in texts)
    encoded = [vocab.encode(text) for text, _ in texts]
    labels = torch.tensor([label for _, label in texts], dtype=torch.float)
    torch.manual_seed(0)
    model = SentimentRNN(SentimentConfig(len(vocab), 8, 16, 16))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    for _ in range(8):
        for batch in length_buckets([len(e) for e in encoded], 32, generator):
            ids, lengths = pad_batch([encoded[i] for i in batch])
            loss = F.binary_cross_entropy_with_logits(model(ids, lengths), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        ids, lengths = pad_batch([vocab.encode(review(True)) for _ in range(50)] +
                                 [vocab.encode(review(False)) for _ in range(50)])
        predicted = (model(ids, lengths) > 0).float()
    accuracy = (predicted == torch.tensor([1.0] * 50 + [0.0] * 50)).float().mean().item()
    assert accuracy > 0.95


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_reading_to_the_last_word_is_what_a_packed_sequence_gives(cell, bidirectional):
    """The model reads the padded batch whole and takes each review's output at its last word
    (reversed within its length for the backward direction): the same logits and gradients as
    reading packed sequences, as the book does."""
    from torch.nn.utils.rnn import pack_padded_sequence

    from rnntui.sentiment.model import SentimentConfig, SentimentRNN, pad_batch

    torch.manual_seed(0)
    model = SentimentRNN(SentimentConfig(60, embed_dim=6, hidden_size=5, fc_hidden=4, cell=cell,
                                         bidirectional=bidirectional))
    ids, lengths = pad_batch([torch.randint(2, 60, (n,)).tolist() for n in (9, 3, 1, 6, 9, 2)])

    def packed_forward():
        packed = pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        hidden = model.rnn(packed)[1]
        hidden = hidden[0] if cell == "lstm" else hidden
        return model.classify(torch.cat(list(hidden), dim=1))

    def logits_and_grads(forward):
        model.zero_grad()
        logits = forward()
        logits.sum().backward()
        return logits.detach(), [p.grad.clone() for p in model.parameters()]

    fast, fast_grads = logits_and_grads(lambda: model(ids, lengths))
    packed, packed_grads = logits_and_grads(packed_forward)
    assert torch.allclose(fast, packed, atol=1e-6)
    for a, b in zip(fast_grads, packed_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_the_one_way_twin_adds_no_weights_and_draws_no_random_numbers():
    """The bidirectional model's helper layer is not saved and does not shift the random draws
    that initialise the model's own layers (a seed gives the weights it gave before)."""
    from torch import nn

    from rnntui.sentiment.model import SentimentConfig, SentimentRNN

    torch.manual_seed(0)
    model = SentimentRNN(SentimentConfig(60, embed_dim=6, hidden_size=5, fc_hidden=7, bidirectional=True))
    after_model = torch.rand(3)
    torch.manual_seed(0)
    layers = [nn.Embedding(60, 6, padding_idx=0), nn.LSTM(6, 5, batch_first=True, bidirectional=True),
              nn.Linear(10, 7), nn.Linear(7, 1)]
    assert torch.equal(torch.rand(3), after_model)
    assert set(model.state_dict()) == {f"{prefix}.{key}" for prefix, layer in zip(
        ["embedding", "rnn", "fc1", "fc2"], layers, strict=True) for key in layer.state_dict()}


def test_reverse_each_reverses_only_the_words():
    from rnntui.sentiment.model import reverse_each

    batch = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])[:, :, None]
    assert reverse_each(batch, torch.tensor([3, 2]))[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
