"""Reading a text with a character model and keeping what is inside it: each character's hidden
state, cell state and gates, and the loss of predicting the next character, with units clamped
or not.

A long text is read as parallel streams (one batch row each), so that each step is one matrix
product for many characters instead of one: stream s reads its stretch of the text after
warming up on the ``warmup`` characters before it (the first starts from a zero state at the
text's start, as ``rnntui evaluate`` does). A state that would depend on more than ``warmup``
characters back is so cut short; ``warmup=None`` or a short text reads it in one stream,
exactly. ``benchmarks/neurons.py`` measures both."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.charlm.model import CharRNN
from rnntui.core.errors import RnntuiError
from rnntui.neurons.recurrence import GATES, clamp_rows, layer_weights, run_layer

WARMUP = 500  # characters each stream reads before its stretch
STREAM_LENGTH = 4000  # a stream's stretch, at least (so the warm-up costs at most an eighth more)
MAX_STREAMS = 64
CHUNK = 256  # steps read between two collections of what is kept (bounds the memory)


@dataclass
class Reading:
    """What one pass kept, for one set of clamped units (``(characters, H)`` tensors)."""

    hidden: torch.Tensor | None = None
    cell: torch.Tensor | None = None  # an LSTM's only
    gates: dict[str, torch.Tensor] = field(default_factory=dict)
    losses: torch.Tensor | None = None  # (characters - 1,): nats to predict each next character

    def state(self, name: str) -> torch.Tensor:
        found = self.hidden if name == "hidden" else self.cell
        if found is None:
            raise RnntuiError(f"this model has no {name} state (only an LSTM has a cell state)")
        return found


@dataclass(frozen=True)
class Layout:
    """Where each stream reads: stream s covers ``[s * length, (s + 1) * length)`` of the text,
    after ``warmup`` steps on the characters before it."""

    characters: int
    streams: int
    length: int
    warmup: int

    @property
    def steps(self) -> int:
        return self.warmup + self.length

    def positions(self) -> torch.Tensor:
        """``(steps, streams)``: the text position each stream reads at each step (negative
        before the text's start, at or past ``characters`` after its end)."""
        steps = torch.arange(self.steps)[:, None]
        return torch.arange(self.streams)[None, :] * self.length - self.warmup + steps


def plan(characters: int, warmup: int | None = WARMUP) -> Layout:
    if warmup is None or characters < 2 * STREAM_LENGTH:
        return Layout(characters, 1, characters, 0)
    streams = min(MAX_STREAMS, characters // STREAM_LENGTH)
    return Layout(characters, streams, math.ceil(characters / streams), warmup)


def check_ids(model: CharRNN, ids: np.ndarray) -> torch.Tensor:
    if len(ids) < 2:
        raise RnntuiError(f"the text is too short to read: {len(ids)} character(s), at least 2 are needed")
    return torch.from_numpy(np.asarray(ids, dtype=np.int64))


@torch.inference_mode()
def read(model: CharRNN, ids: np.ndarray, unit_sets: list[list[int]] | None = None, clamp_value: float = 0.0,
         clamp_state: str = "hidden", layer: int = -1, keep: tuple[str, ...] = ("hidden", "cell"),
         gates: bool = False, losses: bool = False, warmup: int | None = WARMUP,
         progress: Callable[[int, int], None] | None = None) -> list[Reading]:
    """Read ``ids`` once for each set of units in ``unit_sets`` (default: one reading, nothing
    clamped), those units of layer ``layer`` held at ``clamp_value`` at every step. Each
    ``Reading`` keeps the states named in ``keep`` and, with ``gates``, the gates of that layer
    (``GATES``), and with ``losses`` each next character's loss. ``progress(done, total)``
    after each chunk of steps."""
    model.eval()
    config = model.config
    layer = layer % config.layers
    data = check_ids(model, ids)
    unit_sets = unit_sets or [[]]
    layout = plan(len(data), warmup)
    sets, streams, hidden = len(unit_sets), layout.streams, config.hidden_size
    rows = sets * streams
    clamp = clamp_rows(unit_sets, streams, hidden, clamp_value, clamp_state) if any(unit_sets) else None
    weights = [layer_weights(model.rnn, n) for n in range(config.layers)]
    table = weights[0].input_projection(model.embedding.weight)
    positions = layout.positions()
    grid = data[positions.clamp(0, len(data) - 1)].repeat(1, sets)  # (steps, rows)
    state = [(torch.zeros(rows, hidden), torch.zeros(rows, hidden)) for _ in weights]
    reset = None
    if layout.warmup:  # the first stream of each set starts at the text's start from zero
        reset = torch.arange(sets) * streams
    readings = [Reading() for _ in unit_sets]
    store = _Store(readings, layout, keep, gates, losses, config.cell, hidden)
    for start in range(0, layout.steps, CHUNK):
        stop = min(start + CHUNK, layout.steps)
        outputs = None
        for n, cell in enumerate(weights):
            projected = table[grid[start:stop]] if n == 0 else cell.input_projection(outputs)
            here = layout.warmup - start if reset is not None and start <= layout.warmup < stop else None
            outputs, recorded, state[n] = run_layer(
                cell, projected, state[n], clamp if n == layer else None,
                record_cell=n == layer and "cell" in keep, record_gates=n == layer and gates,
                reset=None if here is None else (here, reset))
            if n == layer:
                kept = {"hidden": outputs, **recorded}
        logits = model.fc(outputs) if losses else None
        store.add(start, stop, kept, logits, positions, data)
        if progress is not None:
            progress(len(data) * stop // layout.steps, len(data))
    return store.finish()


class _Store:
    """Puts each chunk's rows back in text order, one ``Reading`` per set of units."""

    def __init__(self, readings: list[Reading], layout: Layout, keep: tuple[str, ...], gates: bool,
                 losses: bool, cell: str, hidden: int) -> None:
        self.readings, self.layout, self.losses = readings, layout, losses
        names = [name for name in keep if name == "hidden" or (name == "cell" and cell == "lstm")]
        self.names = names + (list(GATES[cell]) if gates else [])
        n = layout.characters
        self.values = [{name: torch.empty(n, hidden) for name in self.names} for _ in readings]
        if losses:
            for reading in readings:
                reading.losses = torch.empty(n - 1)

    def add(self, start: int, stop: int, kept: dict, logits: torch.Tensor | None, positions: torch.Tensor,
            data: torch.Tensor) -> None:
        n = self.layout.characters
        where = positions[start:stop]
        valid = (where >= 0) & (where < n) & (torch.arange(start, stop)[:, None] >= self.layout.warmup)
        if not valid.any():
            return
        streams = self.layout.streams
        predicts = valid & (where < n - 1)
        targets = data[(where + 1)[predicts]]
        for k, reading in enumerate(self.readings):
            rows = slice(k * streams, (k + 1) * streams)
            for name in self.names:
                self.values[k][name][where[valid]] = kept[name][:, rows][valid]
            if self.losses:
                reading.losses[where[predicts]] = F.cross_entropy(
                    logits[:, rows][predicts].float(), targets, reduction="none")

    def finish(self) -> list[Reading]:
        for reading, values in zip(self.readings, self.values, strict=True):
            for name, tensor in values.items():
                if name in ("hidden", "cell"):
                    setattr(reading, name, tensor)
                else:
                    reading.gates[name] = tensor
        return self.readings
