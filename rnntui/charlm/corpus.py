"""Reading a training text: Gutenberg stripping, encoding to a compact id array, the split."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import CorpusError
from rnntui.core.files import open_regular, reason

START_MARKER = re.compile(r"^[ \t]*\*\*\*[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG EBOOK.*$",
                    re.IGNORECASE | re.MULTILINE)
END_MARKER = re.compile(r"^[ \t]*(?:\*\*\*[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG EBOOK"
                  r"|End of (?:the |this )?Project Gutenberg).*$",
                  re.IGNORECASE | re.MULTILINE)
ENV_MAX_CORPUS_MB = "RNNTUI_MAX_CORPUS_MB"
DEFAULT_MAX_CORPUS_MB = 1000
# Encode in slices so a 200 MB text never needs a 4-bytes-per-character copy of itself.
_CHUNK = 8_000_000


def strip_gutenberg(text: str) -> str:
    """The book between Project Gutenberg's START and END marker lines, trimmed.

    Text without markers is returned unchanged (apart from trimming).
    """
    start = START_MARKER.search(text)
    begin = start.end() if start else 0
    end = END_MARKER.search(text, begin)
    finish = end.start() if end else len(text)
    return text[begin:finish].strip()


def decode_bytes(raw: bytes, name: str, encoding: str | None = None) -> str:
    """Decode a corpus file: UTF-8 (BOM tolerated) unless ``encoding`` says otherwise."""
    if encoding is None:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise CorpusError(f"{name} looks like UTF-16 text; pass --encoding utf-16 to read it")
        if b"\x00" in raw[:65536]:
            raise CorpusError(f"{name} looks like a binary file (it contains NUL bytes), not text")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CorpusError(
                f"{name} is not UTF-8 (bad byte at offset {error.start}); "
                "pass --encoding latin-1 (or the file's real encoding) to read it anyway; in the app, "
                "ctrl+n's encoding field"
            ) from None
    else:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise CorpusError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as error:
            raise CorpusError(f"{name} is not valid {encoding} (offset {error.start})") from None
        text = text.lstrip("\ufeff")
    # Normalise line endings so a CRLF copy of a book trains the same model.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def max_corpus_bytes() -> int:
    """The largest corpus file rnntui reads: ``RNNTUI_MAX_CORPUS_MB`` megabytes (1,000 by
    default; reading needs about five times a text's size in memory while it is encoded)."""
    value = os.environ.get(ENV_MAX_CORPUS_MB, "")
    try:
        megabytes = float(value) if value else DEFAULT_MAX_CORPUS_MB
    except ValueError:
        raise CorpusError(f"{ENV_MAX_CORPUS_MB}={value!r} is not a number of megabytes") from None
    return int(megabytes * 1_000_000)


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """The cleaned text of a corpus file, and the sha256 of the file's bytes. Only a regular
    file is read (a pipe would block, a device never end), and no more than the size limit."""
    path = Path(path)
    limit = max_corpus_bytes()
    with open_regular(path, "corpus", CorpusError) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            raw = f.read(limit + 1) if size <= limit else b""
        except OSError as error:
            raise CorpusError(f"cannot read corpus {path}: {reason(error)}") from None
    if size > limit or len(raw) > limit:
        size = max(size, len(raw))
        raise CorpusError(f"corpus {path} is {size / 1e6:,.0f} MB, over rnntui's limit of {limit / 1e6:,.0f} MB "
                          f"(reading a text takes about five times its size in memory); set "
                          f"{ENV_MAX_CORPUS_MB}={int(size / 1e6) + 1} to read it anyway")
    digest = hashlib.sha256(raw).hexdigest()
    text = decode_bytes(raw, str(path), encoding)
    del raw
    return strip_gutenberg(text), digest


MAX_SEED_FILE = 10_000_000


def read_seed_file(path: str | Path, encoding: str | None = None, what: str = "seed file",
                   too_long: str = "") -> str:
    """A seed text (or another short text, ``what``) from a file: UTF-8 unless ``encoding`` says
    otherwise, line endings normalised, at most 10 MB (``too_long`` ends the message if over)."""
    path = Path(path)
    with open_regular(path, what, CorpusError) as f:
        try:
            raw = f.read(MAX_SEED_FILE + 1)
        except OSError as error:
            raise CorpusError(f"cannot read {what} {path}: {reason(error)}") from None
    if len(raw) > MAX_SEED_FILE:
        raise CorpusError(f"{what} {path} is over {MAX_SEED_FILE // 1_000_000} MB{too_long}")
    return decode_bytes(raw, str(path), encoding)


def encode_text(text: str) -> tuple[Vocab, np.ndarray]:
    """The vocabulary of ``text`` and its ids as the smallest unsigned integer array that fits."""
    codepoints = set()
    for i in range(0, len(text), _CHUNK):
        codepoints.update(np.unique(_codepoints(text[i:i + _CHUNK])).tolist())
    table = np.array(sorted(codepoints), dtype=np.uint32)
    ids = np.empty(len(text), dtype=ids_dtype(len(table)))
    for i in range(0, len(text), _CHUNK):
        ids[i:i + _CHUNK] = np.searchsorted(table, _codepoints(text[i:i + _CHUNK]))
    return Vocab(tuple(chr(c) for c in table.tolist())), ids


def ids_dtype(vocab_size: int) -> type:
    """The smallest unsigned integer type that holds ``vocab_size`` character ids."""
    return np.uint8 if vocab_size <= 256 else np.uint16 if vocab_size <= 65536 else np.int32


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass
class Corpus:
    """An encoded training text and where it came from."""

    name: str
    sha256: str
    vocab: Vocab
    ids: np.ndarray  # character ids, uint8 for books (compact: 1 byte per character)
    path: str = ""  # where it was read from (absolute), so a model can train on its text again
    encoding: str | None = None  # how it was decoded, when not UTF-8 (recorded, to read it again so)

    @property
    def characters(self) -> int:
        return int(self.ids.shape[0])

    def split(self, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """Training head and held-out validation tail (the last ``val_fraction`` of the text)."""
        if not 0.0 <= val_fraction < 1.0:
            raise CorpusError(f"--val-fraction must be in [0, 1), got {val_fraction}")
        cut = self.characters - int(round(self.characters * val_fraction))
        return self.ids[:cut], self.ids[cut:]

    def identity(self) -> dict:
        found = {"name": self.name, "sha256": self.sha256, "characters": self.characters}
        found |= {"path": self.path} if self.path else {}
        return found | ({"encoding": self.encoding} if self.encoding else {})

    def recoded(self, vocab: Vocab) -> Corpus:
        """The same text in ``vocab``'s ids: a model with a larger vocabulary than the text
        (trained on another text, or fine-tuned from one) reads it so."""
        if vocab.char_array == self.vocab.char_array:
            return self
        if not set(self.vocab.char_array) <= set(vocab.char_array):
            extra = sorted(set(self.vocab.char_array) - set(vocab.char_array))
            shown = ", ".join(repr(c) for c in extra[:8])
            raise CorpusError(
                f"corpus {self.name} has {len(extra)} character(s) the model's vocabulary lacks "
                f"({shown}); it was trained on a different text. Train a new model for this corpus, "
                "or fine-tune this one on it"
            )
        remap = np.array([vocab.char2int[c] for c in self.vocab.char_array], dtype=np.int64)
        return replace(self, vocab=vocab, ids=remap[self.ids].astype(ids_dtype(len(vocab))))


def load_corpus(path: str | Path, encoding: str | None = None, vocab: Vocab | None = None) -> Corpus:
    """Read, strip and encode a corpus file. With ``vocab``, the text must fit that vocabulary
    (resuming or evaluating a model trained on another text)."""
    path = Path(path)
    text, digest = read_text(path, encoding)
    if not text.strip():
        raise CorpusError(f"corpus {path} has no text (empty, or only Gutenberg boilerplate)")
    found, ids = encode_text(text)
    if len(found) < 2:
        raise CorpusError(f"corpus {path} has only one distinct character; nothing to learn")
    del text
    corpus = Corpus(name=path.name, sha256=digest, vocab=found, ids=ids, path=str(path.resolve()),
                    encoding=encoding if encoding and encoding.lower().replace("-", "") not in ("utf8",) else None)
    return corpus.recoded(vocab) if vocab is not None else corpus


BOOK_SEED = "The island"  # the chapter's seed text, for the book's models


def example_seed(vocab: Vocab, text: str | None = None, book: bool = False) -> str:
    """A seed text to suggest for a model: the chapter's "The island" for the book's models (or
    when nothing else is known and the model can read it), else the start of a line of the
    model's own ``text``: its first two words, from a line a little way in (past a title)."""
    if (book or text is None) and all(c in vocab for c in BOOK_SEED):
        return BOOK_SEED
    if text:
        lines = text.split("\n")  # a line's own start: an indented line does not count
        for line in lines[len(lines) // 20:]:
            seed = " ".join(line.split()[:2])[:24]
            if line[:1].isalpha() and len(line.strip()) >= 8 and all(c in vocab for c in seed):
                return seed
    letters = [c for c in vocab.char_array if c.isalpha()]
    return "".join(letters[:3]) or vocab.char_array[0]


def looks_hard_wrapped(text: str) -> bool:
    """True if ``text`` reads as prose wrapped at a fixed width, as Project Gutenberg's books
    are (most lines end near the same column), so that a line break inside a paragraph is a
    wrap, not meant; False for code, poetry and lists, whose line breaks are their own."""
    lengths = sorted(len(line) for line in text.split("\n") if line.strip())
    if len(lengths) < 20:
        return False
    width = lengths[int(len(lengths) * 0.9)]
    if not 50 <= width <= 100:
        return False
    long = sum(1 for length in lengths if length >= 0.75 * width)
    return long >= 0.6 * len(lengths)
