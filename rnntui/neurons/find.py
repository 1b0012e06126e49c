"""``find``: read a text once and rank every unit, of the cell state and of the hidden state
separately, by how well it tracks a feature or a span of the text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntui.charlm.model import CharRNN
from rnntui.neurons.activations import WARMUP, read
from rnntui.neurons.features import feature_values
from rnntui.neurons.rank import Ranked, rank_span, rank_units, span_feature


@dataclass(frozen=True)
class Found:
    what: str  # the feature's name, "regex ...", or "span START:END"
    characters: int
    measure: str  # "correlation" or "selectivity"
    ranked: dict[str, list[Ranked]]  # by state: "cell" (an LSTM's), "hidden"

    def to_dict(self) -> dict:
        return {"what": self.what, "characters": self.characters, "measure": self.measure,
                **{state: [r.to_dict() for r in ranked] for state, ranked in self.ranked.items()}}


def find_units(model: CharRNN, text: str, ids: np.ndarray, feature: str | None = None, pattern: str | None = None,
               span: tuple[int, int] | None = None, top: int = 10, layer: int = -1,
               warmup: int | None = WARMUP, progress=None) -> Found:
    """The ``top`` units of each state for ``feature`` (by |correlation|) or for ``span`` (by
    |selectivity|, see ``rank.selectivity``), over ``text`` (whose ids are ``ids``)."""
    if span is not None:
        span_feature(len(ids), *span)  # a bad span fails before the text is read
        what, measure = f"span {span[0]}:{span[1]}", "selectivity"
    else:
        values = feature_values(text, feature or "", pattern)
        what, measure = (f"regex {pattern}" if feature == "regex" else feature), "correlation"
    reading = read(model, ids, layer=layer, warmup=warmup, progress=progress)[0]
    states = ("cell", "hidden") if reading.cell is not None else ("hidden",)
    ranked = {state: rank_span(reading.state(state), span[0], span[1], top) if span is not None
              else rank_units(reading.state(state), values, top) for state in states}
    return Found(what, len(ids), measure, ranked)
