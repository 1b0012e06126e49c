"""What a unit might track: one number per character of a text (Karpathy, Johnson & Fei-Fei 2015
found cells for quotes, line position and bracket depth), and for each feature the characters
whose prediction depends on it, on which ``ablate`` measures the loss."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from rnntui.core.errors import RnntuiError

VOWELS = set("aeiouAEIOU")
SENTENCE_ENDS = set(".!?")


def inside_quotes(text: str) -> np.ndarray:
    """1 from an opening quote to its closing one (both included): “ and ”, and straight double
    quotes where the text uses them, each of which opens or closes in turn."""
    return _quotes(text)[0]


def _quotes(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Inside a quotation (as ``inside_quotes``), and True on each closing quote."""
    inside = np.zeros(len(text), dtype=np.float32)
    closing = np.zeros(len(text), dtype=bool)
    quoted = False
    for i, char in enumerate(text):
        if char == "\u201c" or (char == '"' and not quoted):
            quoted = True
        elif char == "\u201d" or (char == '"' and quoted):
            inside[i], closing[i] = quoted, quoted
            quoted = False
            continue
        inside[i] = quoted
    return inside, closing


def line_position(text: str) -> np.ndarray:
    """Characters since the last newline (0 for the newline itself and the first of a text)."""
    out = np.zeros(len(text), dtype=np.float32)
    column = 0
    for i, char in enumerate(text):
        out[i] = column
        column = 0 if char == "\n" else column + 1
    return out


def parenthesis_depth(text: str) -> np.ndarray:
    """How many parentheses are open here (the opening one counts, the closing one too)."""
    out = np.zeros(len(text), dtype=np.float32)
    depth = 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        out[i] = depth
        if char == ")":
            depth = max(depth - 1, 0)
    return out


def word_start(text: str) -> np.ndarray:
    """1 on the first letter or digit of each word."""
    out = np.zeros(len(text), dtype=np.float32)
    previous = " "
    for i, char in enumerate(text):
        out[i] = char.isalnum() and not previous.isalnum()
        previous = char
    return out


def after_sentence_end(text: str) -> np.ndarray:
    """1 from a sentence's end (. ! ?) to the first letter of the next sentence, included."""
    out = np.zeros(len(text), dtype=np.float32)
    ended = False
    for i, char in enumerate(text):
        if ended:
            out[i] = 1.0
            if char.isalnum():
                ended = False
        if char in SENTENCE_ENDS:
            ended = True
    return out


def vowel(text: str) -> np.ndarray:
    return np.fromiter((c in VOWELS for c in text), dtype=np.float32, count=len(text))


def digit(text: str) -> np.ndarray:
    return np.fromiter((c.isdigit() for c in text), dtype=np.float32, count=len(text))


FEATURES: dict[str, Callable[[str], np.ndarray]] = {
    "inside-quotes": inside_quotes,
    "line-position": line_position,
    "inside-parentheses": parenthesis_depth,
    "word-start": word_start,
    "after-sentence-end": after_sentence_end,
    "vowel": vowel,
    "digit": digit,
}

# What each feature's loss is measured on in ``ablate``: the characters a unit tracking it
# would help to predict. For a state (quotes, parentheses, line position) that is where the
# state ends: the closing quote or parenthesis, the line break; for the others, the
# characters where the feature is on.
TARGETS = {
    "inside-quotes": "closing quotes",
    "line-position": "line breaks",
    "inside-parentheses": "closing parentheses",
    "word-start": "the first character of each word",
    "after-sentence-end": "the characters from a sentence's end to the next one's first letter",
    "vowel": "vowels",
    "digit": "digits",
    "regex": "the characters inside the expression's matches",
}


def regex_feature(text: str, pattern: str) -> np.ndarray:
    """1 on the characters inside the matches of ``pattern`` (a Python regular expression)."""
    compiled = compile_regex(pattern)
    out = np.zeros(len(text), dtype=np.float32)
    for match in compiled.finditer(text):
        out[match.start():match.end()] = 1.0
    return out


def compile_regex(pattern: str, what: str = "--regex") -> re.Pattern:
    """``pattern`` compiled; ``what`` names where it came from in the one-line error."""
    if not pattern:
        raise RnntuiError(f"{what} is empty: give a regular expression that matches some characters")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise RnntuiError(f"{what} {pattern!r} is not a valid regular expression: {error}") from None


def feature_values(text: str, name: str, pattern: str | None = None) -> np.ndarray:
    """The feature ``name`` (one of ``FEATURES``, or ``regex`` with ``pattern``) on each character."""
    if name == "regex":
        if pattern is None:
            raise RnntuiError("--feature regex needs --regex PATTERN")
        return regex_feature(text, pattern)
    if name not in FEATURES:
        raise RnntuiError(f"unknown feature {name!r}: choose one of {', '.join([*FEATURES, 'regex'])}")
    return FEATURES[name](text)


def target_mask(text: str, name: str, pattern: str | None = None) -> np.ndarray:
    """True on the characters ``ablate`` measures the feature's loss on (``TARGETS``)."""
    if name == "inside-quotes":
        return _quotes(text)[1]
    if name == "line-position":
        return np.fromiter((c == "\n" for c in text), dtype=bool, count=len(text))
    if name == "inside-parentheses":
        return np.fromiter((c == ")" for c in text), dtype=bool, count=len(text))
    return feature_values(text, name, pattern) > 0
