"""The training-time LSTM must be nn.LSTM in everything but speed: outputs, final state and
every gradient, with and without oneDNN's packed weights."""

import pytest
import torch
from torch import nn

from rnntui.charlm import lstm
from rnntui.charlm.corpus import encode_text
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.trainer import TrainConfig, Trainer
from tests.helpers import make_text


def _outputs_and_grads(fast: bool, emb, rnn, x, state, weights):
    params = [*emb.parameters(), *rnn.parameters(), *state]
    for p in params:
        p.grad = None
    if fast:
        out, (h, c) = lstm.lstm_train_forward(emb, rnn, x, state)
    else:
        out, (h, c) = rnn(emb(x), state)
    w_out, w_h, w_c = weights
    ((out * w_out).sum() + (h * w_h).sum() + (c * w_c).sum()).backward()
    return [out.detach(), h.detach(), c.detach()] + [p.grad.clone() for p in params]


def _setup(dtype, batch=5, steps=7, vocab=11, embed=6, hidden=8):
    torch.manual_seed(3)
    emb = nn.Embedding(vocab, embed).to(dtype)
    rnn = nn.LSTM(embed, hidden, batch_first=True).to(dtype)
    x = torch.randint(0, vocab, (batch, steps))
    # Repeated characters in a batch exercise the accumulation of table-row gradients.
    x[0, :3] = 4
    state = tuple(torch.randn(1, batch, hidden, dtype=dtype, requires_grad=True) for _ in range(2))
    weights = (torch.randn(batch, steps, hidden, dtype=dtype), torch.randn(1, batch, hidden, dtype=dtype),
               torch.randn(1, batch, hidden, dtype=dtype))
    return emb, rnn, x, state, weights


def test_matches_nn_lstm_exactly_in_float64():
    emb, rnn, x, state, weights = _setup(torch.float64)
    fast = _outputs_and_grads(True, emb, rnn, x, state, weights)
    slow = _outputs_and_grads(False, emb, rnn, x, state, weights)
    assert len(fast) == len(slow) == 3 + 1 + 4 + 2  # outputs, embedding, LSTM weights, initial state
    for a, b in zip(fast, slow, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_matches_nn_lstm_from_a_zero_state():
    """Without a state the first step skips the recurrent product (the state is zeros) and the
    backward pass skips the initial state's gradients; nothing else may change."""
    emb, rnn, x, _, weights = _setup(torch.float64)
    results = []
    for fast in (True, False):
        for p in [*emb.parameters(), *rnn.parameters()]:
            p.grad = None
        out, (h, c) = lstm.lstm_train_forward(emb, rnn, x) if fast else rnn(emb(x))
        ((out * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()).backward()
        results.append([out.detach(), h.detach(), c.detach()]
                       + [p.grad.clone() for p in [*emb.parameters(), *rnn.parameters()]])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_backward_passes_gradcheck():
    torch.manual_seed(0)
    steps, batch, hidden, vocab = 4, 3, 5, 6
    ids = torch.randint(0, vocab, (steps, batch))
    ids[:2, 0] = 1  # a repeated character: its table row's gradient accumulates
    args = (ids,
            torch.randn(vocab, 4 * hidden, dtype=torch.float64, requires_grad=True),
            torch.randn(batch, hidden, dtype=torch.float64, requires_grad=True),
            torch.randn(batch, hidden, dtype=torch.float64, requires_grad=True),
            torch.randn(4 * hidden, hidden, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(lstm._Recurrence.apply, args)
    assert torch.autograd.gradcheck(lstm._Recurrence.apply, (args[0], args[1], None, None, args[4]))


@pytest.mark.parametrize("packed", [True, False])
def test_matches_nn_lstm_in_float32(monkeypatch, packed):
    if packed and not lstm.use_packed_weights:
        pytest.skip("this torch build has no oneDNN packed linear")
    monkeypatch.setattr(lstm, "use_packed_weights", packed)
    emb, rnn, x, state, weights = _setup(torch.float32, batch=16, steps=12, embed=32, hidden=64)
    fast = _outputs_and_grads(True, emb, rnn, x, state, weights)
    slow = _outputs_and_grads(False, emb, rnn, x, state, weights)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert lstm.use_packed_weights is packed  # the packed path ran without falling back


def test_charrnn_uses_it_only_to_train_on_the_cpu(monkeypatch):
    calls = []
    real = lstm.lstm_train_forward
    monkeypatch.setattr(lstm, "lstm_train_forward", lambda *a: calls.append(1) or real(*a))
    model = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16))
    x = torch.randint(0, 9, (2, 5))
    logits, (h, c) = model(x)
    assert calls and logits.shape == (2, 5, 9) and h.shape == c.shape == (1, 2, 16)
    calls.clear()
    with torch.inference_mode():
        model(x)
    assert not calls  # sampling and evaluation keep nn.LSTM
    gru = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16, cell="gru"))
    gru(x)
    two_layers = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16, layers=2))
    two_layers(x)
    assert not calls


def test_trainer_loss_curve_is_the_nn_lstm_curve(monkeypatch):
    vocab, ids = encode_text(make_text(4000))
    train_ids, val_ids = ids[:3600], ids[3600:]

    def losses() -> list[float]:
        torch.manual_seed(0)
        model = CharRNN(ModelConfig(len(vocab), embed_dim=16, hidden_size=32))
        config = TrainConfig(steps=6, batch_size=8, seq_length=20, eval_every=0)
        trainer = Trainer(model, train_ids, val_ids, config, torch.device("cpu"))
        return [event.train_loss for event in trainer.run()]

    fast = losses()
    monkeypatch.setattr(lstm, "can_use", lambda *a: False)
    slow = losses()
    assert len(fast) == 6 and fast[-1] < fast[0]
    assert fast == pytest.approx(slow, abs=1e-4)


def _train_mode_loss_and_grads(model: CharRNN, x: torch.Tensor, seed: int):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    logits, _ = model(x)
    loss = logits.square().mean()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_weight_dropout_is_the_same_on_both_paths(monkeypatch):
    torch.manual_seed(5)
    model = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16, weight_dropout=0.5))
    x = torch.randint(0, 9, (4, 6))
    fast_loss, fast_grads = _train_mode_loss_and_grads(model, x, seed=11)
    monkeypatch.setattr(lstm, "can_use", lambda *a: False)
    slow_loss, slow_grads = _train_mode_loss_and_grads(model, x, seed=11)
    torch.testing.assert_close(fast_loss, slow_loss, rtol=1e-5, atol=1e-6)
    for name, grad in fast_grads.items():
        torch.testing.assert_close(grad, slow_grads[name], rtol=1e-4, atol=1e-5)
    # Half the recurrent weights were dropped, so their gradient is zero there.
    zero_share = (fast_grads["rnn.weight_hh_l0"] == 0).float().mean().item()
    assert 0.35 < zero_share < 0.65


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_weight_dropout_acts_in_training_only(cell):
    torch.manual_seed(5)
    plain = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16, cell=cell))
    dropped = CharRNN(ModelConfig(vocab_size=9, embed_dim=8, hidden_size=16, cell=cell, weight_dropout=0.4))
    dropped.load_state_dict(plain.state_dict())
    x = torch.randint(0, 9, (3, 7))
    assert not torch.allclose(plain(x)[0], dropped(x)[0])  # training: different masks per call
    assert not torch.allclose(dropped(x)[0], dropped(x)[0])
    plain.eval()
    dropped.eval()
    with torch.inference_mode():
        torch.testing.assert_close(plain(x)[0], dropped(x)[0])  # evaluation: the full weights
    dropped.train()
    _, grads = _train_mode_loss_and_grads(dropped, x, seed=1)
    assert grads["rnn.weight_hh_l0"].abs().sum() > 0
    assert dict(dropped.named_parameters())["rnn.weight_hh_l0"].requires_grad
