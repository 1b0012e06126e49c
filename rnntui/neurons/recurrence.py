"""One recurrent layer stepped by hand, the same maths as ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``,
so that what ``nn.LSTM`` keeps to itself can be read (each step's cell state and gates) and
changed (units clamped to a value at every step, as an ablation does)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnntui.charlm.lstm import right_multiplier

GATE_COUNT = {"lstm": 4, "gru": 3, "rnn": 1}
# The gates a reading can record, by cell (nn.LSTM's order is input, forget, cell input, output).
GATES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update"), "rnn": ()}
STATES = ("hidden", "cell")


@dataclass(frozen=True)
class CellWeights:
    """One direction of one layer: ``nn.RNNBase``'s four weights and its cell."""

    cell: str
    weight_ih: torch.Tensor  # (gates * H, inputs)
    weight_hh: torch.Tensor  # (gates * H, H)
    bias_ih: torch.Tensor
    bias_hh: torch.Tensor

    @property
    def hidden_size(self) -> int:
        return self.weight_hh.shape[1]

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs @ W_ih.T`` plus the biases that do not depend on the state (for a GRU the
        hidden bias stays apart: its reset gate multiplies it)."""
        projected = inputs @ self.weight_ih.t() + self.bias_ih
        return projected if self.cell == "gru" else projected + self.bias_hh


def layer_weights(rnn: nn.RNNBase, layer: int = 0, reverse: bool = False) -> CellWeights:
    cell = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(rnn)]
    if cell == "rnn" and rnn.nonlinearity != "tanh":
        raise ValueError("only tanh RNN cells are read")
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    found = []
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        weight = getattr(rnn, name + suffix, None)
        found.append(weight.detach() if weight is not None else
                     torch.zeros(GATE_COUNT[cell] * rnn.hidden_size))
    return CellWeights(cell, *found)


@dataclass
class Clamp:
    """Units held at ``value`` at every step: of the cell state (``state="cell"``, which then
    also gives their hidden state) or of the hidden state. Shapes ``(rows, H)``: one row per
    sequence read at once, so that several ablations share one pass."""

    mask: torch.Tensor  # 1.0 where a unit is clamped
    value: float = 0.0
    state: str = "hidden"

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.mask * self.value, x, 1.0 - self.mask)


def clamp_rows(unit_sets: list[list[int]], repeat: int, hidden: int, value: float, state: str) -> Clamp:
    """A ``Clamp`` for ``len(unit_sets) * repeat`` rows: set k's units on rows
    ``k * repeat ... (k + 1) * repeat - 1`` (an empty set clamps nothing)."""
    mask = torch.zeros(len(unit_sets) * repeat, hidden)
    for k, units in enumerate(unit_sets):
        if units:
            mask[k * repeat:(k + 1) * repeat, units] = 1.0
    return Clamp(mask, value, state)


def run_layer(weights: CellWeights, projected: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
              clamp: Clamp | None = None, record_cell: bool = False, record_gates: bool = False,
              reset: tuple[int, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict, tuple]:
    """Step one layer over ``projected`` ``(T, B, gates * H)`` (its input projections, see
    ``CellWeights.input_projection``) from ``state`` ``(h, c)`` (``c`` unused but for an LSTM).
    Returns the hidden states ``(T, B, H)``, the recorded cell states and gates by name
    (``(T, B, H)`` each), and the final state. ``reset``: ``(step, rows)``, those rows' state is
    zeroed just before that step (a stream reaching the start of the text)."""
    steps, batch = projected.shape[:2]
    hidden = weights.hidden_size
    times_weight = right_multiplier(weights.weight_hh, batch)
    outputs = projected.new_empty(steps, batch, hidden)
    recorded: dict[str, torch.Tensor] = {}
    if record_cell and weights.cell == "lstm":
        recorded["cell"] = projected.new_empty(steps, batch, hidden)
    if record_gates:
        recorded |= {name: projected.new_empty(steps, batch, hidden) for name in GATES[weights.cell]}
    h, c = state
    for t in range(steps):
        if reset is not None and t == reset[0]:
            h, c = h.clone(), c.clone()
            h[reset[1]], c[reset[1]] = 0.0, 0.0
        hh = times_weight(h)
        if weights.cell == "lstm":
            i, f, g, o = (projected[t] + hh).chunk(4, dim=1)
            i, f, o, g = i.sigmoid(), f.sigmoid(), o.sigmoid(), g.tanh()
            c = torch.addcmul(i * g, f, c)
            if clamp is not None and clamp.state == "cell":
                c = clamp.apply(c)
            h = o * c.tanh()
            gates = {"input": i, "forget": f, "output": o}
        elif weights.cell == "gru":
            hh = hh + weights.bias_hh
            r = (projected[t][:, :hidden] + hh[:, :hidden]).sigmoid()
            z = (projected[t][:, hidden:2 * hidden] + hh[:, hidden:2 * hidden]).sigmoid()
            n = torch.addcmul(projected[t][:, 2 * hidden:], r, hh[:, 2 * hidden:]).tanh()
            h = torch.addcmul(n, z, h - n)
            gates = {"reset": r, "update": z}
        else:
            h = (projected[t] + hh).tanh()
            gates = {}
        if clamp is not None and (clamp.state == "hidden" or weights.cell != "lstm"):
            h = clamp.apply(h)
        outputs[t] = h
        if "cell" in recorded:
            recorded["cell"][t] = c
        if record_gates:
            for name, gate in gates.items():
                recorded[name][t] = gate
    return outputs, recorded, (h, c)

