"""What the app keeps between sessions: its settings (scale factor, reply length and sampling,
line breaks, theme, chart, the movie reviews' path) and the seed texts typed, each a small JSON file in the data folder,
replaced atomically.

Each reply setting that is a number is specified once, in REPLY_NUMBERS (its range, default and
label): reading the settings file, the ctrl+l form and the form's error messages all use that one
specification. A missing, broken or foreign file, or a value out of range, gives the defaults.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rnntui.core.errors import RnntuiError
from rnntui.core.files import write_atomically
from rnntui.tui.numbers import NumberRange

HISTORY_LIMIT = 200  # seed texts kept, as a shell keeps its history


@dataclass(frozen=True)
class NumberSetting:
    """A reply setting that is a number: ``kind`` (int or float) in [low, high] (or (low, high]
    with ``low_open``), ``default`` when absent or not valid, ``label`` in the form."""

    name: str
    kind: type
    low: float
    high: float
    default: int | float
    label: str
    shown: str = "{}"  # the form's format of the current value
    low_open: bool = False

    @property
    def range(self) -> NumberRange:
        return NumberRange(self.kind, self.low, self.high, low_open=self.low_open)

    def valid(self, value: object) -> bool:
        """Whether a saved ``value`` is one this setting accepts."""
        return self.range.fits(value)

    def parse(self, text: str) -> int | float:
        """``text`` as this setting's value, or ValueError saying what it must be."""
        return self.range.parse(text)


MAX_LENGTH = 100_000
MAX_TOP_K = 10_000
MAX_SAMPLE_EVERY = 1_000_000
SCALE_RANGE = (0.1, 10.0)  # the app's ladder, from its bottom to its top

REPLY_NUMBERS: tuple[NumberSetting, ...] = (
    NumberSetting("length", int, 1, MAX_LENGTH, 500, f"characters per reply (1 to {MAX_LENGTH:,})"),
    NumberSetting("scale_factor", float, *SCALE_RANGE, 1.0, "scale factor (ctrl+↑ / ctrl+↓ step through it)",
                  "{:g}"),
    # 0 and 1: every character, as in the book.
    NumberSetting("top_k", int, 0, MAX_TOP_K, 0, "top-k: only the k most likely characters (0: all)"),
    NumberSetting("top_p", float, 0, 1, 1.0, "top-p: the most likely ones that add up to p (1: all)", "{:g}",
                  low_open=True),
    NumberSetting("sample_every", int, 0, MAX_SAMPLE_EVERY, 0, "while training, a reply every N steps (0: none)"),
)
NUMBERS_BY_NAME = {setting.name: setting for setting in REPLY_NUMBERS}

# On / off reply settings: (name, label in the form).
REPLY_SWITCHES = (("reflow", "join wrapped lines into paragraphs (off: lines as written)"),
                  ("adapt", "adapt to the seed text first (a copy learns from it)"))


@dataclass
class Settings:
    scale_factor: float = NUMBERS_BY_NAME["scale_factor"].default
    length: int = NUMBERS_BY_NAME["length"].default
    top_k: int = NUMBERS_BY_NAME["top_k"].default
    top_p: float = NUMBERS_BY_NAME["top_p"].default
    theme: str | None = None  # None: Textual's default
    chart: bool | None = None  # shown or hidden with ctrl+b; None: shown where there is room
    # A reply's wraps inside a paragraph shown as spaces (ctrl+l); None: decided from the model's
    # text (joined for hard-wrapped prose, such as Gutenberg's books; as written for code or poetry).
    reflow: bool | None = None
    sample_every: int = NUMBERS_BY_NAME["sample_every"].default  # while training, a reply every N steps
    adapt: bool = False  # a reply's model first learns from its seed text (dynamic evaluation; ctrl+l)
    # The movie reviews the reviews mode trains on, as given in the app (a tarball or folder);
    # None: rnntui --reviews-data, or the cached download.
    reviews_data: str | None = None


def read_settings(path: Path) -> Settings:
    """The saved settings; each one that is missing or not valid takes its default."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(saved, dict):
        return Settings()
    settings = Settings()
    for spec in REPLY_NUMBERS:
        if spec.valid(saved.get(spec.name)):
            setattr(settings, spec.name, spec.kind(saved[spec.name]))
    for name in ("theme", "reviews_data"):
        if isinstance(saved.get(name), str) and saved[name]:
            setattr(settings, name, saved[name])
    for name in ("chart", "reflow", "adapt"):
        if isinstance(saved.get(name), bool):
            setattr(settings, name, saved[name])
    return settings


def write_settings(path: Path, settings: Settings) -> None:
    """Replace the file atomically; raises StorageError with a one-line reason on failure."""
    write_atomically(path, json.dumps(asdict(settings), indent=1).encode("utf-8"))


def read_history(path: Path) -> list[str]:
    """The saved seed texts, oldest first; nothing if the file is missing or not ours."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, str) and item][-HISTORY_LIMIT:]


def write_history(path: Path, items: list[str]) -> None:
    write_atomically(path, json.dumps(items[-HISTORY_LIMIT:], ensure_ascii=False).encode("utf-8"))


class SettingsStore:
    """The settings file and what it holds; ``remember`` keeps a change for the next session."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.settings = read_settings(path)
        self.error: str | None = None  # why they cannot be saved, said once

    def remember(self, **changes) -> str | None:
        """Write the settings with ``changes`` (a tiny atomic write); the first failure gives the
        warning to show, and later changes are then kept for this session only."""
        settings = replace(self.settings, **changes)
        if settings == self.settings or self.error is not None:
            return None
        try:
            write_settings(self.path, settings)
        except RnntuiError as error:
            self.error = f"settings are not being saved ({error})"
            return self.error
        self.settings = settings
        return None
