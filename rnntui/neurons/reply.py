"""A reply generated with units switched off beside one with them on: both continue the same seed
text, drawn with the same random seed, so that where they part is what the units did."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnntui.charlm.model import CharRNN
from rnntui.charlm.sampling import check_scale_factor
from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import RnntuiError
from rnntui.neurons.ablate import check_units
from rnntui.neurons.recurrence import clamp_rows, layer_weights, run_layer


@dataclass(frozen=True)
class Replies:
    seed_text: str
    on: str  # the model as trained
    off: str  # with the units held at the value at every step (the seed text's too)

    @property
    def parted_at(self) -> int | None:
        """The first character where the two replies differ (None where they do not)."""
        return next((i for i, (a, b) in enumerate(zip(self.on, self.off, strict=False)) if a != b),
                    None if len(self.on) == len(self.off) else min(len(self.on), len(self.off)))


@torch.inference_mode()
def compare_replies(model: CharRNN, vocab: Vocab, seed_text: str, length: int, units: list[int],
                    state: str = "cell", value: float = 0.0, scale_factor: float = 1.0, random_seed: int = 1,
                    layer: int = -1) -> Replies:
    """``length`` characters after ``seed_text`` with ``units`` of layer ``layer``'s ``state``
    held at ``value`` and without, drawn as ``Sampler`` draws (one uniform number per character
    from a generator seeded with ``random_seed``, the same numbers for both)."""
    model.eval()
    config = model.config
    units = check_units(units, config.hidden_size)
    if state == "cell" and config.cell != "lstm":
        raise RnntuiError(f"a {config.cell.upper()} has no cell state: switch off its hidden state")
    scale_factor = check_scale_factor(scale_factor)
    if not seed_text:
        raise RnntuiError("the seed text is empty: there is nothing to continue")
    layer = layer % config.layers
    weights = [layer_weights(model.rnn, n) for n in range(config.layers)]
    clamp = clamp_rows([[], units], 1, config.hidden_size, value, state)
    states = [(torch.zeros(2, config.hidden_size), torch.zeros(2, config.hidden_size)) for _ in weights]
    generators = [torch.Generator().manual_seed(random_seed) for _ in range(2)]
    chars = vocab.char_array
    inputs = torch.from_numpy(vocab.encode(seed_text).astype("int64"))[:, None].repeat(1, 2)  # (steps, 2)
    replies: list[list[str]] = [[], []]
    for _ in range(length):
        outputs = None
        for n, cell in enumerate(weights):
            projected = cell.input_projection(model.embedding(inputs) if n == 0 else outputs)
            outputs, _, states[n] = run_layer(cell, projected, states[n], clamp if n == layer else None)
        probabilities = torch.softmax(model.fc(outputs[-1]) * scale_factor, dim=-1)
        picked = []
        for row, generator in enumerate(generators):
            uniform = torch.empty(1).uniform_(generator=generator)
            cdf = probabilities[row].cumsum(0)
            picked.append(min(int(torch.searchsorted(cdf, uniform * cdf[-1])), len(chars) - 1))
            replies[row].append(chars[picked[-1]])
        inputs = torch.tensor([picked])
    return Replies(seed_text, "".join(replies[0]), "".join(replies[1]))
