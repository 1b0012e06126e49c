"""How a reply is drawn, as its header names it: the scale factor, the cut of the distribution
(top-k, top-p) and whether it adapts to its seed text; and the changes made while it streams."""

from __future__ import annotations

Drawing = tuple[float, int, float]  # the scale factor, top-k (0: none) and top-p (1: none)

# The scale factor moves along round values that include the book's examples (0.5, 1, 2, 3).
SCALE_LADDER = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
                4.0, 5.0, 7.5, 10.0)


def next_scale(current: float, direction: int) -> float:
    if direction > 0:
        return next((s for s in SCALE_LADDER if s > current + 1e-9), SCALE_LADDER[-1])
    return next((s for s in reversed(SCALE_LADDER) if s < current - 1e-9), SCALE_LADDER[0])


def sampling_cut(top_k: int, top_p: float) -> list[tuple[str, str]]:
    """The cut of the distribution that replies draw from, as (name, value) pairs; none when
    they draw from all of it, as in the book."""
    cut = [("top-k", f"{top_k}")] if top_k else []
    return cut + ([("top-p", f"{top_p:g}")] if top_p < 1 else [])


def drawn_with(drawing: Drawing, adapt: bool) -> str:
    scale_factor, top_k, top_p = drawing
    cut = "".join(f" · {name} {value}" for name, value in sampling_cut(top_k, top_p))
    return f"scale factor {scale_factor:.2f}{cut}{' · adapted to the seed text' if adapt else ''}"


def change_note(before: Drawing, after: Drawing, at: int, chained: bool, adapt: bool) -> tuple[str, bool]:
    """What a reply's header adds for settings changed while it streamed, from character ``at``
    on: "· scale factor 0.30 → 0.50 at char 57", then " → 1.20 at char 90" while only the scale
    factor changes (``chained``: the header ends in such a chain); and whether it ends in one now."""
    if before[1:] != after[1:]:  # the cut changed too: name all the settings
        return f" · then {drawn_with(after, adapt)} from char {at:,}", False
    if chained:
        return f" → {after[0]:.2f} at char {at:,}", True
    return f" · scale factor {before[0]:.2f} → {after[0]:.2f} at char {at:,}", True
