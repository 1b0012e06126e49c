"""A training-time LSTM layer for the CPU: the same weights and maths as ``nn.LSTM``, less work.

* The embedding followed by the LSTM's input weights is one ``(V, 4H)`` table of gate
  pre-activations, so the ``(batch * time, E) x (E, 4H)`` input product becomes a row lookup
  (a third of the training FLOPs of the book's model). Its gradient is accumulated per
  vocabulary row, then mapped back to the embedding and the input weights with two tiny products.
* The recurrence has a hand-written backward pass: the gate derivatives of every time step are
  formed in a few whole-sequence operations, each step then costs one small matrix product
  back in time, and the recurrent weights' gradient is one large product at the end.
* The small per-step products use oneDNN with the weights packed once per training step,
  where this torch build has it.

This is used for one-layer LSTMs being trained on the CPU in float32 (the book's model);
everything else, and inference, uses ``nn.LSTM``. ``tests/test_lstm.py`` holds it to
``nn.LSTM``'s outputs and gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

# nn.LSTM stores the gates as (input, forget, cell, output). Inside we use
# (input, forget, output, cell) so the three sigmoid gates are one contiguous slice.
_SIGMOID_FIRST = (0, 1, 3, 2)


def _onednn_linear_available() -> bool:
    ops = getattr(torch.ops, "mkldnn", None)
    return (torch.backends.mkldnn.is_available() and hasattr(ops, "_reorder_linear_weight")
            and hasattr(ops, "_linear_pointwise"))


# oneDNN's linear with a weight packed for this batch size runs the small per-step products
# about 1.5x faster than a plain matmul on AVX2 CPUs. Turned off (here, for good) if it fails.
use_packed_weights = _onednn_linear_available()


def right_multiplier(weight: torch.Tensor, batch: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> x @ weight.T`` for many ``x`` of ``batch`` rows, with ``weight`` packed once."""
    global use_packed_weights
    if use_packed_weights and weight.dtype == torch.float32:
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, batch)
            return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")
        except (RuntimeError, TypeError, AttributeError):
            use_packed_weights = False
    return lambda x: x @ weight.t()


def _gate_order(hidden_size: int, device: torch.device) -> torch.Tensor:
    blocks = [torch.arange(g * hidden_size, (g + 1) * hidden_size, device=device) for g in _SIGMOID_FIRST]
    return torch.cat(blocks)


class _Recurrence(torch.autograd.Function):
    """``gates_in``: ``(T, B, 4H)`` input pre-activations (biases included), gate order i, f, o, g,
    with the cell gate's (g) doubled, as are its rows of ``weight_hh``. Returns the hidden
    states ``(T, B, H)`` and the final cell state ``(B, H)``."""

    @staticmethod
    def forward(ctx, gates_in: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
                weight_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch, width = gates_in.shape
        hidden = width // 4
        times_weight = right_multiplier(weight_hh, batch)
        acts = torch.empty_like(gates_in)  # activated gates
        hs = gates_in.new_empty(steps, batch, hidden)
        cs = gates_in.new_empty(steps, batch, hidden)
        tanh_cs = gates_in.new_empty(steps, batch, hidden)
        h, c = h0, c0
        for t in range(steps):
            a = acts[t]
            torch.add(gates_in[t], times_weight(h), out=a)
            # One sigmoid for all four gates: the cell gate's input arrives doubled and
            # tanh(z) = 2 * sigmoid(2z) - 1 (tanh is the slower function on the CPU).
            a.sigmoid_()
            a[:, 3 * hidden:].mul_(2).sub_(1)
            i, f, o, g = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 2 * hidden:3 * hidden], a[:, 3 * hidden:]
            torch.mul(f, c, out=cs[t]).addcmul_(i, g)
            torch.tanh(cs[t], out=tanh_cs[t])
            torch.mul(o, tanh_cs[t], out=hs[t])
            h, c = hs[t], cs[t]
        ctx.save_for_backward(acts, hs, cs, tanh_cs, h0, c0, weight_hh)
        return hs, cs[-1].clone()

    @staticmethod
    def backward(ctx, grad_hs: torch.Tensor | None, grad_c_last: torch.Tensor | None):
        acts, hs, cs, tanh_cs, h0, c0, weight_hh = ctx.saved_tensors
        steps, batch, hidden = hs.shape
        i, f, o, g = (acts[..., k * hidden:(k + 1) * hidden] for k in range(4))
        c_prev = torch.cat([c0.unsqueeze(0), cs[:-1]])
        h_prev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        # Whole-sequence factors, so each step below is a handful of operations:
        # d(pre-activation) = dc * factor for i, f, g; = dh * factor for o.
        factors = torch.empty_like(acts)
        torch.mul(g, i * (1 - i), out=factors[..., :hidden])
        torch.mul(c_prev, f * (1 - f), out=factors[..., hidden:2 * hidden])
        torch.mul(tanh_cs, o * (1 - o), out=factors[..., 2 * hidden:3 * hidden])
        torch.mul(i, (1 - g * g) * 0.5, out=factors[..., 3 * hidden:])  # d/d(2z) of tanh(z)
        dc_from_h = o * (1 - tanh_cs * tanh_cs)
        del c_prev

        grad_hs = grad_hs if grad_hs is not None else torch.zeros_like(hs)
        dgates = torch.empty_like(acts)
        dh = torch.zeros_like(h0)
        dc = grad_c_last.clone() if grad_c_last is not None else torch.zeros_like(c0)
        view = (batch, 4, hidden)
        times_weight_t = right_multiplier(weight_hh.t().contiguous(), batch)
        for t in range(steps - 1, -1, -1):
            dh = dh + grad_hs[t]
            dc.addcmul_(dh, dc_from_h[t])
            d = dgates[t]
            torch.mul(dc.unsqueeze(1), factors[t].view(view), out=d.view(view))
            torch.mul(dh, factors[t, :, 2 * hidden:3 * hidden], out=d[:, 2 * hidden:3 * hidden])
            dh = times_weight_t(d)
            dc.mul_(f[t])
        grad_weight = (h_prev.view(-1, hidden).t() @ dgates.view(-1, 4 * hidden)).t()
        return dgates, dh, dc, grad_weight


def lstm_train_forward(embedding: nn.Embedding, lstm: nn.LSTM, x: torch.Tensor,
                       state: tuple[torch.Tensor, torch.Tensor] | None = None,
                       weight_dropout: float = 0.0,
                       ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """``lstm(embedding(x), state)`` for a one-layer, batch-first ``nn.LSTM``, with gradients
    for every parameter and the initial state; returns ``(batch, time, H)`` outputs and
    ``(h, c)`` shaped ``(1, batch, H)`` as ``nn.LSTM`` does. ``weight_dropout`` drops
    recurrent weights (one mask for the whole batch), as ``CharRNN`` does on other paths."""
    hidden = lstm.hidden_size
    order = _gate_order(hidden, x.device)
    table = embedding.weight @ lstm.weight_ih_l0.t()
    if lstm.bias:
        table = table + (lstm.bias_ih_l0 + lstm.bias_hh_l0)
    scale = torch.ones(4 * hidden, device=x.device, dtype=table.dtype)
    scale[3 * hidden:] = 2.0  # the cell gate's doubled input, see _Recurrence
    table = table[:, order] * scale
    weight_hh = lstm.weight_hh_l0
    if weight_dropout > 0.0:
        weight_hh = nn.functional.dropout(weight_hh, weight_dropout)
    weight_hh = weight_hh[order] * scale[:, None]
    gates_in = nn.functional.embedding(x.t(), table)  # (T, B, 4H), time-major
    batch = x.shape[0]
    if state is None:
        zeros = gates_in.new_zeros(batch, hidden)
        h0, c0 = zeros, zeros
    else:
        h0, c0 = state[0][0], state[1][0]
    hs, c_last = _Recurrence.apply(gates_in, h0, c0, weight_hh)
    return hs.transpose(0, 1), (hs[-1].unsqueeze(0), c_last.unsqueeze(0))


def can_use(lstm: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``lstm_train_forward`` applies: a one-layer, unidirectional LSTM without
    projections, training on the CPU in float32 (inference and GPUs keep ``nn.LSTM``)."""
    return (isinstance(lstm, nn.LSTM) and lstm.num_layers == 1 and not lstm.bidirectional
            and lstm.proj_size == 0 and lstm.batch_first and x.device.type == "cpu"
            and torch.is_grad_enabled() and lstm.weight_hh_l0.dtype == torch.float32
            and not _cpu_autocast())


def _cpu_autocast() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()
