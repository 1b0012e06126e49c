import pytest
import torch

from rnntui.charlm.model import CharRNN, ModelConfig, training_flops_per_char


@pytest.mark.parametrize("layers", [1, 2])
def test_manual_rnn_matches_nn_rnn(layers):
    """Chapter 15 part one, with the bias of the hidden path added once, not twice."""
    torch.manual_seed(1)
    rnn = torch.nn.RNN(input_size=5, hidden_size=2, num_layers=layers, batch_first=True)
    x = torch.randn(1, 3, 5)
    expected, _ = rnn(x)
    h = [torch.zeros(2) for _ in range(layers)]
    outputs = []
    for t in range(3):
        inp = x[0, t]
        for layer in range(layers):
            w_xh = getattr(rnn, f"weight_ih_l{layer}")
            w_hh = getattr(rnn, f"weight_hh_l{layer}")
            b_xh = getattr(rnn, f"bias_ih_l{layer}")
            b_hh = getattr(rnn, f"bias_hh_l{layer}")
            h[layer] = torch.tanh(inp @ w_xh.T + b_xh + h[layer] @ w_hh.T + b_hh)
            inp = h[layer]
        outputs.append(inp)
    assert torch.allclose(torch.stack(outputs), expected[0], atol=1e-6)
    # The book's listing adds b_hh twice; that is not what nn.RNN computes.
    wrong = torch.tanh(x[0, 0] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + 2 * rnn.bias_hh_l0)
    if layers == 1:
        assert not torch.allclose(wrong, expected[0, 0], atol=1e-4)


def test_default_is_the_books_model():
    model = CharRNN(ModelConfig(80))
    assert model.embedding.weight.shape == (80, 256)
    assert isinstance(model.rnn, torch.nn.LSTM)
    assert (model.rnn.input_size, model.rnn.hidden_size, model.rnn.num_layers) == (256, 512, 1)
    assert model.fc.weight.shape == (80, 512)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_state_carries_across_pieces(cell):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(10, 8, 16, layers=2, cell=cell)).eval()
    x = torch.randint(0, 10, (3, 12))
    whole, _ = model(x)
    first, state = model(x[:, :5])
    second, _ = model(x[:, 5:], state)
    assert whole.shape == (3, 12, 10)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="cell"):
        ModelConfig(10, cell="transformer")
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(10, dropout=1.5)


def test_flop_count_is_written_out():
    # 2 * 4 * 512 * (256 + 512) + 2 * 512 * 80, times 3 for forward + backward.
    assert training_flops_per_char(ModelConfig(80)) == 3 * (2 * 4 * 512 * 768 + 2 * 512 * 80)
    assert training_flops_per_char(ModelConfig(80), input_lookup=True) == 3 * (2 * 4 * 512 * 512 + 2 * 512 * 80)
