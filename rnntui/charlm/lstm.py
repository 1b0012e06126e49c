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
everything else, and inference, uses ``nn.LSTM``. ``tests/charlm/test_lstm.py`` holds it to
``nn.LSTM``'s outputs and gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


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


class _Recurrence(torch.autograd.Function):
    """``ids``: ``(T, B)`` character ids; ``table``: ``(V, 4H)`` their gate pre-activations
    (input product and biases), in ``nn.LSTM``'s gate order i, f, g, o, with the cell gate's
    (g) block doubled, as are its rows of ``weight_hh``; ``h0`` and ``c0`` None for zeros.
    Returns the hidden states ``(T, B, H)`` and the final cell state ``(B, H)``."""

    @staticmethod
    def forward(ctx, ids: torch.Tensor, table: torch.Tensor, h0: torch.Tensor | None,
                c0: torch.Tensor | None, weight_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch = ids.shape
        hidden = weight_hh.shape[1]
        times_weight = right_multiplier(weight_hh, batch)
        # Gate pre-activations from the table, then the activated gates, in place.
        acts = table.index_select(0, ids.reshape(-1)).view(steps, batch, 4 * hidden)
        # Slot 0 holds the initial state, so step t reads slot t and writes slot t + 1, and
        # the backward pass finds every step's previous state without a copy.
        hs = table.new_empty(steps + 1, batch, hidden)
        cs = table.new_empty(steps + 1, batch, hidden)
        hs[0] = 0.0 if h0 is None else h0
        cs[0] = 0.0 if c0 is None else c0
        tanh_cs = table.new_empty(steps, batch, hidden)
        # Every per-step view made up front: one unbind is cheaper than 40 indexing calls.
        step_acts, step_hs, step_cs, step_tanh = (x.unbind(0) for x in (acts, hs, cs, tanh_cs))
        i, f, g, o = (gate.unbind(0) for gate in _gates(acts))
        # 0-d tensors: a Python number is wrapped into a tensor on every call.
        two, one = acts.new_tensor(2.0), acts.new_tensor(1.0)
        for t in range(steps):
            a = step_acts[t]
            if t > 0 or h0 is not None:  # a zero state contributes nothing
                a.add_(times_weight(step_hs[t]))
            # One sigmoid for all four gates: the cell gate's input arrives doubled and
            # tanh(z) = 2 * sigmoid(2z) - 1 (tanh is the slower function on the CPU).
            a.sigmoid_()
            g[t].mul_(two).sub_(one)
            torch.mul(f[t], step_cs[t], out=step_cs[t + 1]).addcmul_(i[t], g[t])
            torch.tanh(step_cs[t + 1], out=step_tanh[t])
            torch.mul(o[t], step_tanh[t], out=step_hs[t + 1])
        ctx.save_for_backward(ids, acts, hs, cs, tanh_cs, weight_hh)
        ctx.vocab_size = table.shape[0]
        return hs[1:], cs[-1].clone()

    @staticmethod
    def backward(ctx, grad_hs: torch.Tensor | None, grad_c_last: torch.Tensor | None):
        ids, acts, hs, cs, tanh_cs, weight_hh = ctx.saved_tensors
        steps, batch = ids.shape
        hidden = hs.shape[-1]
        i, f, g, o = _gates(acts)
        # Whole-sequence factors, so each step below is a handful of operations:
        # d(pre-activation) = dc * factor for i, f, g and dh * factor for o.
        factors = torch.addcmul(acts, acts, acts, value=-1)  # s * (1 - s) of each sigmoid gate
        factor_i, factor_f, factor_g, factor_o = _gates(factors)
        factor_i.mul_(g)
        factor_f.mul_(cs[:-1])
        factor_o.mul_(tanh_cs)
        # d/d(2z) of tanh(z), times i, for the cell gate's doubled input.
        torch.addcmul(acts.new_tensor(0.5), g, g, value=-0.5, out=factor_g).mul_(i)
        dc_from_h = torch.addcmul(acts.new_tensor(1.0), tanh_cs, tanh_cs, value=-1).mul_(o)

        dgates = torch.empty_like(acts)
        dh = grad_hs[-1].clone() if grad_hs is not None else torch.zeros_like(hs[0])
        dc = grad_c_last.clone() if grad_c_last is not None else torch.zeros_like(cs[0])
        # The transpose a square block at a time, which stays in cache: 1 ms, not 2, for 512.
        weight_t = torch.cat([block.t() for block in weight_hh.split(hidden)], dim=1)
        times_weight_t = right_multiplier(weight_t, batch)
        step_d, step_dc_from_h, step_f = dgates.unbind(0), dc_from_h.unbind(0), f.unbind(0)
        step_d_ifg = dgates.view(steps, batch, 4, hidden)[:, :, :3].unbind(0)
        step_d_o, step_factor_o = _gates(dgates)[3].unbind(0), factor_o.unbind(0)
        step_factor_ifg = factors.view(steps, batch, 4, hidden)[:, :, :3].unbind(0)
        step_grad_hs = grad_hs.unbind(0) if grad_hs is not None else None
        for t in range(steps - 1, -1, -1):
            dc.addcmul_(dh, step_dc_from_h[t])
            torch.mul(dc.unsqueeze(1), step_factor_ifg[t], out=step_d_ifg[t])
            torch.mul(dh, step_factor_o[t], out=step_d_o[t])
            if t == 0:
                break
            dh = times_weight_t(step_d[t])
            if step_grad_hs is not None:
                dh.add_(step_grad_hs[t - 1])
            dc.mul_(step_f[t])
        # The initial state's gradients, only where it needs them (not for a zero state).
        grad_h0 = times_weight_t(step_d[0]) if ctx.needs_input_grad[2] else None
        grad_c0 = dc.mul_(step_f[0]) if ctx.needs_input_grad[3] else None
        flat = dgates.view(steps * batch, 4 * hidden)
        grad_weight = flat.t() @ hs[:-1].reshape(steps * batch, hidden)
        grad_table = flat.new_zeros(ctx.vocab_size, 4 * hidden).index_add_(0, ids.reshape(-1), flat)
        return None, grad_table, grad_h0, grad_c0, grad_weight


def _gates(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The four gate blocks (i, f, g, o) of ``(..., 4H)`` pre-activations, as views."""
    return x.unflatten(-1, (4, -1)).unbind(-2)


def lstm_train_forward(embedding: nn.Embedding, lstm: nn.LSTM, x: torch.Tensor,
                       state: tuple[torch.Tensor, torch.Tensor] | None = None,
                       weight_dropout: float = 0.0,
                       ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """``lstm(embedding(x), state)`` for a one-layer, batch-first ``nn.LSTM``, with gradients
    for every parameter and the initial state; returns ``(batch, time, H)`` outputs and
    ``(h, c)`` shaped ``(1, batch, H)`` as ``nn.LSTM`` does. ``weight_dropout`` drops
    recurrent weights (one mask for the whole batch), as ``CharRNN`` does on other paths."""
    hidden = lstm.hidden_size
    table = embedding.weight @ lstm.weight_ih_l0.t()
    if lstm.bias:
        table = table + (lstm.bias_ih_l0 + lstm.bias_hh_l0)
    scale = torch.ones(4 * hidden, device=x.device, dtype=table.dtype)
    scale[2 * hidden:3 * hidden] = 2.0  # the cell gate's doubled input, see _Recurrence
    weight_hh = lstm.weight_hh_l0
    if weight_dropout > 0.0:
        weight_hh = nn.functional.dropout(weight_hh, weight_dropout)
    h0, c0 = (None, None) if state is None else (state[0][0], state[1][0])
    hs, c_last = _Recurrence.apply(x.t(), table * scale, h0, c0, weight_hh * scale[:, None])
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
