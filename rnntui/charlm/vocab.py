"""The character vocabulary: the sorted set of characters, as in the book."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from rnntui.core.errors import SeedTextError


@dataclass(frozen=True)
class Vocab:
    """``char_array[i]`` is the character with id ``i``; ``char2int`` is its inverse."""

    char_array: tuple[str, ...]
    char2int: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if list(self.char_array) != sorted(set(self.char_array)):
            raise ValueError("vocabulary must be sorted distinct characters")
        if any(len(c) != 1 for c in self.char_array):
            raise ValueError("vocabulary entries must be single characters")
        object.__setattr__(self, "char2int", {c: i for i, c in enumerate(self.char_array)})

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.char_array)

    def __contains__(self, char: object) -> bool:
        return char in self.char2int

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text`` (raises ``SeedTextError`` naming unknown characters)."""
        self.check(text)
        return np.fromiter((self.char2int[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.char_array[int(i)] for i in ids)

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of ``text`` the model has never seen, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.char2int))

    def suggest(self, text: str) -> str:
        """A version of ``text`` the model can read: accents stripped, quotes and dashes
        straightened, anything else unknown dropped."""
        replacements = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "--", "\u2026": "...", "\t": " "}
        out = []
        for char in text:
            if char in self.char2int:
                out.append(char)
                continue
            candidates = [replacements.get(char, "")]
            # NFKD splits "é" into "e" + a combining accent; keep the known base letters.
            candidates.append("".join(c for c in unicodedata.normalize("NFKD", char) if c in self))
            for case in (char.lower(), char.upper()):
                candidates.append(case if case in self.char2int else "")
            out.append(next((c for c in candidates if c and all(x in self for x in c)), ""))
        return "".join(out)

    def check(self, text: str) -> None:
        """Raise ``SeedTextError`` if ``text`` is empty or has characters outside the vocabulary."""
        if not text:
            raise SeedTextError("the seed text is empty: type at least one character")
        unknown = self.unknown_chars(text)
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            hint = self.suggest(text)
            close = ""
            if hint:
                close = f"; try {hint[:60]!r}"
            elif len(unknown) == 1:
                near = difflib.get_close_matches(unknown[0], self.char_array, n=1, cutoff=0)
                close = f"; the closest known character is {near[0]!r}" if near else ""
            raise SeedTextError(
                f"the seed text has {len(unknown)} character(s) the model never saw: {shown}{close}"
            )
