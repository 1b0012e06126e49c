"""A training setting declared once: a config dataclass field whose metadata carries its command-line
flag's help, its range, and whether the app may change it between two steps. The commands' flags,
the configs' range checks and ``--resume``'s overrides are all read from there. No torch here: the
command line's parser is built from these declarations, and stays quick."""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any

# The largest seed torch's generators take.
MAX_RANDOM_SEED = 2**63 - 1


def is_int(value: object) -> bool:
    """A whole number, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def setting(default: Any, help: str | None = None, *, low: int | None = None, high: int | None = None,
            high_words: str | None = None, choices: tuple[str, ...] | None = None, switch: str | None = None,
            live: bool = False) -> Any:
    """A config field: ``default``; ``help``, its flag's help (None: no flag); a whole number's
    range ``low`` to ``high`` (None: no limit; ``high_words``, how an error writes ``high``);
    ``choices``, the names it takes; ``switch``, how a yes-or-no flag is given ("on": the flag
    turns it on; "both": --name and --no-name); ``live``: the app may change it between steps."""
    return field(default=default, metadata={"help": help, "low": low, "high": high, "high_words": high_words,
                                            "choices": choices, "switch": switch, "live": live})


def flag(name: str) -> str:
    """The command-line flag of the setting ``name``."""
    return "--" + name.replace("_", "-")


def check_model_flags(model_config: Any, **model_settings) -> None:
    """Build ``model_config`` (a model's config class) from the flags' ``model_settings`` at the
    smallest vocabulary it takes, so that settings no data makes right are refused before the data
    is read, in the flags' words (each config's message starts with the setting's name)."""
    from rnntui.core.errors import RnntuiError

    try:
        model_config(vocab_size=3, **model_settings)
    except ValueError as error:
        name, _, rest = str(error).partition(" ")
        raise RnntuiError(f"{flag(name)} {rest}") from None


def flag_settings(config: Any) -> list[Field]:
    """The fields of the config class (or instance) ``config`` that a command takes as flags."""
    return [f for f in fields(config) if f.metadata.get("help")]


def given(args: Any, config: Any) -> dict:
    """The values of ``config``'s flags in the parsed ``args`` (None where one was left out): a new
    run's settings, or what ``--resume`` changes of a checkpoint's."""
    return {f.name: getattr(args, f.name) for f in flag_settings(config)}


def live_settings(config: Any) -> tuple[str, ...]:
    """The settings of ``config`` that the app may change between two steps."""
    return tuple(f.name for f in fields(config) if f.metadata.get("live"))


def whole_ranges(config: Any) -> list[tuple[str, int, int | None, str | None]]:
    """``(name, low, high, high_words)`` of each whole-number setting of ``config`` with a range."""
    return [(f.name, f.metadata["low"], f.metadata["high"], f.metadata["high_words"]) for f in fields(config)
            if f.metadata.get("low") is not None]


def whole_range(config: Any, name: str) -> tuple[int, int]:
    """The range ``low`` to ``high`` declared for the whole-number setting ``name`` of ``config``."""
    return next((low, high) for found, low, high, _ in whole_ranges(config) if found == name)


def check_whole_numbers(config: Any) -> None:
    """Raise ``RnntuiError`` naming the flag of the first whole-number setting of ``config`` that
    is not one, or is out of its range."""
    from rnntui.core.errors import RnntuiError

    for name, low, high, high_words in whole_ranges(config):
        value = getattr(config, name)
        if not is_int(value) or not low <= value <= high:
            raise RnntuiError(f"{flag(name)} must be a whole number from {low:,} to {high_words or f'{high:,}'}, "
                              f"got {value!r}")
