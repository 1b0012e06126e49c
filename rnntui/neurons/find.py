"""``find``: read a text once and rank every unit, of the cell state and of the hidden state
separately, by how well it tracks a feature or a span of the text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntui.model import CharRNN
from rnntui.neurons.activations import WARMUP, read
from rnntui.neurons.features import feature_values
from rnntui.neurons.rank import Ranked, rank_span, rank_units


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
    values = None if span is not None else feature_values(text, feature or "", pattern)
    if span is not None:
        rank_units_by = lambda acts: rank_span(acts, span[0], span[1], top)  # noqa: E731
        what, measure = f"span {span[0]}:{span[1]}", "selectivity"
    else:
        rank_units_by = lambda acts: rank_units(acts, values, top)  # noqa: E731
        what, measure = (f"regex {pattern}" if feature == "regex" else feature), "correlation"
    if span is not None:
        from rnntui.neurons.rank import span_feature

        span_feature(len(ids), *span)  # a bad span fails before the text is read
    reading = read(model, ids, layer=layer, warmup=warmup, progress=progress)[0]
    states = ("cell", "hidden") if reading.cell is not None else ("hidden",)
    return Found(what, len(ids), measure, {state: rank_units_by(reading.state(state)) for state in states})
