"""A number typed into a form, read and range-checked: the one range test of the app's settings
dialogs and its saved reply settings, which say alike what a value must be."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


def bound(value: float) -> str:
    """A range's end as a person reads it: 65,536 rather than 65536 or 6.5536e+04."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class NumberRange:
    """``kind`` values (int or float) from ``low`` to ``high``, either end open or closed."""

    kind: type
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def fits(self, value: object) -> bool:
        """Whether ``value`` (a saved setting, say) is one of this range's numbers."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        return (math.isfinite(value) and (value > self.low if self.low_open else value >= self.low)
                and (value < self.high if self.high_open else value <= self.high))

    def wanted(self) -> str:
        """What a value must be, as the form says it: "a whole number from 1 to 65,536"."""
        words = "a whole number" if self.kind is int else "a number"
        if math.isinf(self.high):
            return f"{words} {'above' if self.low_open else 'of at least'} {bound(self.low)}"
        if self.low_open or self.high_open:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{words} in {left}{bound(self.low)}, {bound(self.high)}{right}"
        return f"{words} from {bound(self.low)} to {bound(self.high)}"

    def parse(self, text: str) -> int | float:
        """``text`` as one of this range's numbers, or ValueError saying what it must be."""
        try:
            value = self.kind(text.strip())
        except ValueError:
            value = math.nan
        if not self.fits(value):
            raise ValueError(self.wanted())
        return value


def number_parser(kind: type, low: float, high: float, *, low_open: bool = False,
                  high_open: bool = False) -> Callable[[str], int | float]:
    """A parser that accepts ``kind`` values in the range, or raises ValueError saying which."""
    return NumberRange(kind, low, high, low_open, high_open).parse
