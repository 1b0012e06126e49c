"""Words as the book cuts them, and the vocabulary of the training reviews."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rnntui.core.errors import RnntuiError

_TAG = re.compile(r"<[^>]*>")
_EMOTICON = re.compile(r"(?::|;|=)(?:-)?(?:\)|\(|D|P)")
_NON_WORD = re.compile(r"[\W]+")

PAD, UNK = "<pad>", "<unk>"


def tokenize(text: str) -> list[str]:
    """The book's tokenizer, quirks kept so that accuracies compare with its: HTML tags
    removed (without a space), lower case, split on non-word characters, and the emoticons it
    found (``:)``, ``;-(``...) appended without their noses, the first one joined to the last
    word."""
    text = _TAG.sub("", text)
    emoticons = _EMOTICON.findall(text.lower())
    text = _NON_WORD.sub(" ", text.lower()) + " ".join(emoticons).replace("-", "")
    return text.split()


@dataclass(frozen=True)
class WordVocab:
    """Word ids: 0 is padding, 1 an unknown word, then the words, most frequent first."""

    words: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {word: i for i, word in enumerate(self.words)})

    @classmethod
    def build(cls, texts: Iterable[str], max_words: int | None = None, min_count: int = 1) -> WordVocab:
        """From the training reviews only (never the validation or test ones)."""
        counts = Counter(word for text in texts for word in tokenize(text))
        ranked = sorted((word for word, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        if not ranked:  # a model of no words would read every review as unknown words
            seen = f" seen {min_count:,} times or more: lower --min-count" if min_count > 1 else ""
            raise RnntuiError(f"the training text holds no word{seen}")
        return cls((PAD, UNK, *ranked[:max_words]))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        unknown = self.index[UNK]
        return [self.index.get(word, unknown) for word in tokenize(text)]

    def unknown_share(self, encoded: list[list[int]]) -> float:
        """The share of the words of ``encoded`` reviews (word ids) that this vocabulary lacks."""
        unknown = self.index[UNK]
        words = sum(len(ids) for ids in encoded)
        return sum(ids.count(unknown) for ids in encoded) / words if words else 0.0
