"""A number typed into a form, read and range-checked: the one parser of the app's settings
dialogs and its saved reply settings, which say alike what a value must be."""

from __future__ import annotations

import math
from collections.abc import Callable


def bound(value: float) -> str:
    """A range's end as a person reads it: 65,536 rather than 65536 or 6.5536e+04."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def number_parser(kind: type, low: float, high: float, *, low_open: bool = False,
                  high_open: bool = False) -> Callable[[str], int | float]:
    """A parser that accepts ``kind`` values in the range, or raises ValueError saying which."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    words = "a whole number" if kind is int else "a number"
    if math.isinf(high):
        wanted = f"{words} {'above' if low_open else 'of at least'} {bound(low)}"
    elif low_open or high_open:
        wanted = f"{words} in {left}{bound(low)}, {bound(high)}{right}"
    else:
        wanted = f"{words} from {bound(low)} to {bound(high)}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text.strip())
        except ValueError:
            value = math.nan
        fits = (math.isfinite(value) and (value > low if low_open else value >= low)
                and (value < high if high_open else value <= high))
        if not fits:
            raise ValueError(wanted)
        return value

    return parse
