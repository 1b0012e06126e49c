"""One step looked at closely: at one character, the chosen units' gates, cell state and hidden
state, the next-character distribution, and for a plain RNN the chapter's own sum
``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)`` with its numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from rnntui.charlm.model import CharRNN
from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import RnntuiError
from rnntui.neurons.ablate import check_units
from rnntui.neurons.activations import read


@dataclass(frozen=True)
class Step:
    position: int
    char: str
    units: list[int]
    values: dict[str, list[float]]  # "hidden", "cell", and each gate: one value per unit
    next_chars: list[tuple[str, float]]  # the five likeliest next characters and their probabilities
    sum_terms: dict[str, list[float]] | None  # a one-layer plain RNN's: input, recurrent, bias, sum, tanh

    def to_dict(self) -> dict:
        return asdict(self)


@torch.inference_mode()
def look_at_step(model: CharRNN, vocab: Vocab, ids: np.ndarray, position: int, units: list[int],
                 layer: int = -1) -> Step:
    """The step at ``position`` of ``ids`` (read exactly, from the text's start), in layer ``layer``."""
    if not 0 <= position < len(ids):
        raise RnntuiError(f"--at {position} is not in the text's {len(ids):,} characters")
    prefix = np.asarray(ids[:position + 1])
    if len(prefix) < 2:  # read needs two characters; the first step alone is the same with a second after it
        prefix = np.append(prefix, prefix)
    reading = read(model, prefix, layer=layer, gates=True, warmup=None)[0]
    at = position
    values = {"hidden": reading.hidden[at, units].tolist()}
    if reading.cell is not None:
        values["cell"] = reading.cell[at, units].tolist()
    values |= {name: gate[at, units].tolist() for name, gate in reading.gates.items()}
    top_layer = read(model, prefix, keep=("hidden",), warmup=None)[0] if layer % model.config.layers != \
        model.config.layers - 1 else reading
    probabilities = torch.softmax(model.fc(top_layer.hidden[at]), dim=-1)
    top = probabilities.topk(min(5, len(probabilities)))
    next_chars = [(vocab.char_array[i], float(p)) for p, i in zip(top.values, top.indices.tolist(), strict=True)]
    terms = None
    if model.config.cell == "rnn" and model.config.layers == 1:
        rnn = model.rnn
        x = model.embedding.weight[int(ids[position])]
        h_before = reading.hidden[at - 1] if at > 0 else torch.zeros(model.config.hidden_size)
        input_term = rnn.weight_ih_l0[units] @ x
        recurrent_term = rnn.weight_hh_l0[units] @ h_before
        bias = rnn.bias_ih_l0[units] + rnn.bias_hh_l0[units]
        total = input_term + recurrent_term + bias
        terms = {"input": input_term.tolist(), "recurrent": recurrent_term.tolist(), "bias": bias.tolist(),
                 "sum": total.tolist(), "tanh": total.tanh().tolist()}
    return Step(position, vocab.char_array[int(ids[position])], list(units), values, next_chars, terms)


@torch.inference_mode()
def next_chars_with_units_off(model: CharRNN, vocab: Vocab, ids: np.ndarray, position: int, units: list[int],
                              state: str = "cell", value: float = 0.0, top: int = 5) -> list[tuple[str, float]]:
    """The ``top`` likeliest characters after ``position`` with ``units`` of the last layer's
    ``state`` held at ``value`` at every step up to it (read exactly, from the text's start)."""
    if not 0 <= position < len(ids):
        raise RnntuiError(f"--at {position} is not in the text's {len(ids):,} characters")
    units = check_units(units, model.config.hidden_size)
    prefix = np.asarray(ids[:position + 1])
    if len(prefix) < 2:  # as in look_at_step
        prefix = np.append(prefix, prefix)
    reading = read(model, prefix, [units], clamp_value=value, clamp_state=state, keep=("hidden",), warmup=None)[0]
    probabilities = torch.softmax(model.fc(reading.hidden[position]), dim=-1)
    found = probabilities.topk(min(top, len(probabilities)))
    return [(vocab.char_array[i], float(p)) for p, i in zip(found.values, found.indices.tolist(), strict=True)]
