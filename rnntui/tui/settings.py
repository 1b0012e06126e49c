"""The app's settings that outlive a session: scale factor, reply length and sampling, line
breaks, theme and chart.

Kept as a small JSON file in the data folder, next to the seed history, and replaced
atomically. A missing, broken or foreign file, or a value out of range, gives the defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from rnntui.files import write_atomically

MAX_LENGTH = 100_000
MAX_TOP_K = 10_000
MAX_SAMPLE_EVERY = 1_000_000
SCALE_RANGE = (0.1, 10.0)  # the app's ladder, from its bottom to its top


@dataclass
class Settings:
    scale_factor: float = 1.0
    length: int = 500
    top_k: int = 0  # 0: every character, as in the book
    top_p: float = 1.0  # 1: every character
    theme: str | None = None  # None: Textual's default
    chart: bool | None = None  # shown or hidden with ctrl+b; None: shown where there is room
    # A reply's wraps inside a paragraph shown as spaces (ctrl+l); None: decided from the model's
    # text (joined for hard-wrapped prose, such as Gutenberg's books; as written for code or poetry).
    reflow: bool | None = None
    sample_every: int = 0  # while training, a reply every this many steps (ctrl+l); 0: none
    adapt: bool = False  # a reply's model first learns from its seed text (dynamic evaluation; ctrl+l)


def valid_scale_factor(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and SCALE_RANGE[0] <= value <= SCALE_RANGE[1])


def valid_length(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LENGTH


def valid_top_k(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOP_K


def valid_sample_every(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAMPLE_EVERY


def valid_top_p(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1


def read_settings(path: Path) -> Settings:
    """The saved settings; each one that is missing or not valid takes its default."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(saved, dict):
        return Settings()
    settings = Settings()
    if valid_scale_factor(saved.get("scale_factor")):
        settings.scale_factor = float(saved["scale_factor"])
    if valid_length(saved.get("length")):
        settings.length = saved["length"]
    if valid_top_k(saved.get("top_k")):
        settings.top_k = saved["top_k"]
    if valid_top_p(saved.get("top_p")):
        settings.top_p = float(saved["top_p"])
    if isinstance(saved.get("theme"), str) and saved["theme"]:
        settings.theme = saved["theme"]
    if isinstance(saved.get("chart"), bool):
        settings.chart = saved["chart"]
    if isinstance(saved.get("reflow"), bool):
        settings.reflow = saved["reflow"]
    if isinstance(saved.get("adapt"), bool):
        settings.adapt = saved["adapt"]
    if valid_sample_every(saved.get("sample_every")):
        settings.sample_every = saved["sample_every"]
    return settings


def write_settings(path: Path, settings: Settings) -> None:
    """Replace the file atomically; raises RnntuiError with a one-line reason on failure."""
    write_atomically(path, json.dumps(asdict(settings), indent=1).encode("utf-8"))
