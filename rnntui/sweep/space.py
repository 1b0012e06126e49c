"""What a sweep varies: each setting's listed values (a grid) or range (sampled), read from the
command line's words (``10 20 40``, ``1e-4..1e-2 log``, ``0..0.5``). No Optuna here; ``suggest``
asks an Optuna trial for the values."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnntui.core.errors import RnntuiError

TRUE_WORDS = ("yes", "true", "on", "1")
FALSE_WORDS = ("no", "false", "off", "0")
KIND_WORDS = {"int": "a whole number", "float": "a number", "str": "a name", "bool": "yes or no"}


@dataclass(frozen=True)
class Setting:
    """One train flag a sweep can set: its config field's name, what it takes."""

    name: str
    kind: str  # "int", "float", "str" or "bool"
    choices: tuple | None = None
    one_value: bool = False  # the same for every trial (see sweep_parser.ONE_VALUE)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Values:
    """Listed values: every trial takes one of them (a grid)."""

    setting: Setting
    values: tuple

    def describe(self) -> str:
        return " ".join(show(v) for v in self.values)


@dataclass(frozen=True)
class Range:
    """A range: the sampler draws each trial's value from ``low`` to ``high``."""

    setting: Setting
    low: float
    high: float
    log: bool = False

    def describe(self) -> str:
        return f"{show(self.low)}..{show(self.high)}{' log' if self.log else ''}"


def show(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_value(setting: Setting, word: str):
    """``word`` as a value of ``setting``; RnntuiError saying what it takes."""
    try:
        if setting.kind == "bool":
            if word.lower() in TRUE_WORDS + FALSE_WORDS:
                return word.lower() in TRUE_WORDS
            raise ValueError
        value = {"int": int, "float": float, "str": str}[setting.kind](word)
    except ValueError:
        raise RnntuiError(f"{setting.flag}: {word!r} is not {KIND_WORDS[setting.kind]}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise RnntuiError(f"{setting.flag}: {word!r} is not a finite number")
    if setting.choices is not None and value not in setting.choices:
        raise RnntuiError(f"{setting.flag}: {word!r} is not one of {', '.join(map(str, setting.choices))}")
    return value


def parse(setting: Setting, words: list[str]) -> Values | Range:
    """The command line's words for ``setting``: values, or ``LOW..HIGH`` with ``log`` after it."""
    given = f"{setting.flag} {' '.join(words)}"
    if any(".." in word for word in words):
        if ".." not in words[0] or len(words) > 2 or (len(words) == 2 and words[1] != "log"):
            raise RnntuiError(f"{given}: a range is LOW..HIGH, alone, with log after it for a log scale")
        if setting.kind not in ("int", "float") or setting.one_value:
            raise RnntuiError(f"{given}: {setting.flag} takes {'one value' if setting.one_value else 'values'}, "
                              "not a range")
        low_word, high_word = words[0].split("..", 1)
        low, high = parse_value(setting, low_word), parse_value(setting, high_word)
        log = len(words) == 2
        if not low < high:
            raise RnntuiError(f"{given}: the range's low end must be below its high end")
        if log and low <= 0:
            raise RnntuiError(f"{given}: a log scale needs a low end above 0")
        return Range(setting, low, high, log)
    if "log" in words and setting.kind != "str":
        raise RnntuiError(f"{given}: log goes after a range, LOW..HIGH log")
    values = tuple(parse_value(setting, word) for word in words)
    if len(set(values)) < len(values):
        raise RnntuiError(f"{given}: a value is listed twice")
    if setting.one_value and len(values) > 1:
        raise RnntuiError(f"{given}: {setting.flag} is the same for every trial; give one value")
    return Values(setting, values)


@dataclass
class Space:
    """The settings a sweep varies (``swept``) and those every trial shares (``fixed``)."""

    swept: dict[str, Values | Range]
    fixed: dict[str, object]

    @property
    def is_grid(self) -> bool:
        return all(isinstance(dim, Values) for dim in self.swept.values())

    def grid(self) -> dict[str, list]:
        return {name: list(dim.values) for name, dim in self.swept.items()}

    def grid_size(self) -> int:
        return math.prod(len(dim.values) for dim in self.swept.values())

    def describe(self) -> dict[str, str]:
        """A record of the space, to tell whether a study continued is the one started."""
        return {**{name: dim.describe() for name, dim in self.swept.items()},
                **{name: show(value) for name, value in self.fixed.items()}}

    def corner_values(self) -> list[dict]:
        """The fixed settings with each swept value (or range end) in turn: each to be checked."""
        out = []
        for name, dim in self.swept.items():
            ends = dim.values if isinstance(dim, Values) else (dim.low, dim.high)
            out += [{**self.fixed, name: value} for value in ends]
        return out or [dict(self.fixed)]


def parse_space(settings: dict[str, Setting], given: dict[str, list[str] | None]) -> Space:
    """The space from the command line (``given``: each setting's words, None when left out)."""
    swept, fixed = {}, {}
    for name, words in given.items():
        if words is None:
            continue
        dim = parse(settings[name], words)
        if isinstance(dim, Values) and len(dim.values) == 1:
            fixed[name] = dim.values[0]
        else:
            swept[name] = dim
    return Space(swept, fixed)


def suggest(trial, space: Space) -> dict:
    """An Optuna trial's values of the swept settings."""
    params = {}
    for name, dim in space.swept.items():
        if isinstance(dim, Values):
            params[name] = trial.suggest_categorical(name, list(dim.values))
        elif dim.setting.kind == "int":
            params[name] = trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
        else:
            params[name] = trial.suggest_float(name, float(dim.low), float(dim.high), log=dim.log)
    return params
