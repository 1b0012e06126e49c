"""The Large Movie Review Dataset (Maas et al. 2011), read as it comes: the tarball
``aclImdb_v1.tar.gz`` or its extracted ``aclImdb/`` folder, ``{train,test}/{pos,neg}/ID_RATING.txt``.
The label is the folder. Read without extracting anything to disk (a tarball's member names
cannot place files anywhere), and only the members of that layout."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import re
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnntui.core.errors import RnntuiError
from rnntui.core.files import file_kind, open_regular, reason

LABELS = {"neg": 0, "pos": 1}
SPLITS = ("train", "test")
# aclImdb/train/pos/0_9.txt: a split, a label, an id and the reviewer's rating.
MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/([0-9]+)_([0-9]+)\.txt\Z")
# aclImdb/train/unsup/0_0.txt: the 50,000 unlabelled reviews (no rating).
UNLABELLED_MEMBER = re.compile(r"(?:^|/)aclImdb/train/unsup/([0-9]+)_0\.txt\Z")
MAX_REVIEW_BYTES = 1 << 20  # the longest in the dataset is under 14 KB
MAX_DIGITS = 9  # in an id or a rating of a file's name (the dataset's have at most 5)
# Compressed streams end with a checksum, which tarfile never reaches: it stops at the archive's
# end marker. Reading on to the stream's end makes these check it.
CHECKED_STREAMS = (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)
MAX_TRAILER = 1 << 20  # after the end marker, a tarball holds its last record's padding (10 KB)
PER_FOLDER = 12_500  # reviews in each of the four folders of the whole dataset
VALID_SHARE = 0.2  # the book: 20,000 of the 25,000 training reviews train, 5,000 validate


class DataError(RnntuiError):
    """The reviews cannot be read: a corrupt or truncated tarball, a missing folder, no reviews."""


@dataclass(frozen=True)
class Review:
    text: str
    label: int  # 1: positive, 0: negative
    rating: int  # the reviewer's 1-10
    id: int


@dataclass
class Reviews:
    train: list[Review]
    test: list[Review]


def read_reviews(path: str | Path, data: bytes | None = None) -> Reviews:
    """Every review under ``path`` (a ``.tar.gz`` or a folder holding ``aclImdb/``, or that
    folder itself; or ``data``, a tarball's bytes, named ``path``), in a fixed order;
    ``DataError`` saying what is wrong otherwise."""
    path = Path(path)
    found: dict[str, list[Review]] = {split: [] for split in SPLITS}
    for match, text in _matching(path, MEMBER, data):
        split, label, number, rating = match.groups()
        found[split].append(Review(text, LABELS[label], int(rating), int(number)))
    reviews = Reviews(*(sorted(found[split], key=lambda r: (r.label, r.id)) for split in SPLITS))
    missing = [f"{split}/{name}" for split in SPLITS for name, label in LABELS.items()
               if not any(review.label == label for review in getattr(reviews, split))]
    if missing:
        raise DataError(f"{path} has no reviews in {', '.join(missing)}: expected aclImdb/{{train,test}}/{{pos,neg}}/"
                        "ID_RATING.txt")
    return reviews


def read_unlabelled(path: str | Path) -> list[str]:
    """The unlabelled reviews (``aclImdb/train/unsup/ID_0.txt``) under ``path``, a tarball or a
    folder as for ``read_reviews``, in the order of their ids; none if it has none."""
    found = [(int(match.group(1)), text) for match, text in _matching(Path(path), UNLABELLED_MEMBER)]
    return [text for _, text in sorted(found)]


def check_counts(reviews: Reviews, where: str, expected: int = PER_FOLDER) -> None:
    """The whole dataset: ``expected`` reviews in each of train/pos, train/neg, test/pos, test/neg."""
    for split in SPLITS:
        for name, label in LABELS.items():
            count = sum(review.label == label for review in getattr(reviews, split))
            if count != expected:
                raise DataError(f"{where} has {count:,} reviews in {split}/{name}, not the dataset's "
                                f"{expected:,}: it is incomplete or another dataset")


def _matching(path: Path, pattern: re.Pattern, data: bytes | None = None) -> Iterator[tuple[re.Match, str]]:
    """The members of the tarball (or the files under the folder) at ``path`` whose names match
    ``pattern``, with their text."""
    if data is not None:
        found = _from_tarball(path, pattern, io.BytesIO(data))
    else:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise DataError(f"no reviews at {path}: it does not exist") from None
        except OSError as error:
            raise DataError(f"cannot read the reviews at {path}: {reason(error, reading=True)}") from None
        if stat.S_ISDIR(mode):
            found = _from_folder(path, pattern)
        elif stat.S_ISREG(mode):
            with open_regular(path, "the reviews", DataError) as f:
                yield from _checked_names(_from_tarball(path, pattern, f))
            return
        else:
            raise DataError(f"{path} is a {file_kind(mode)}, not a tarball or a folder of reviews")
    yield from _checked_names(found)


def _checked_names(found: Iterator[tuple[re.Match, str, str]]) -> Iterator[tuple[re.Match, str]]:
    """Each review whose name's numbers (id, rating) are of a sensible length: int() of a
    5,000-digit string fails, and the dataset's have at most 5 digits."""
    for match, text, where in found:
        if any(group.isdigit() and len(group) > MAX_DIGITS for group in match.groups()):
            raise DataError(f"{where} has a number of over {MAX_DIGITS} digits in its name: not an id "
                            "or a rating of the dataset")
        yield match, text


def _shown(name: str) -> str:
    """A file's name on one short line, whatever it holds."""
    name = name if name.isprintable() else ascii(name)
    return name if len(name) <= 200 else f"{name[:120]}...{name[-60:]}"


def _text(data: bytes, where: str) -> str:
    if len(data) > MAX_REVIEW_BYTES:
        raise DataError(f"{where} is over 1 MB: not a review of the dataset")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text") from None


def _from_folder(folder: Path, pattern: re.Pattern) -> Iterator[tuple[re.Match, str, str]]:
    root = folder if folder.name == "aclImdb" else folder / "aclImdb"
    if not root.is_dir():
        # A folder inside the dataset (aclImdb/train/unsup, say): the reviews' labels and splits
        # are read from the paths under aclImdb/, so it is the folder that holds it that is wanted.
        inside = next((parent for parent in folder.absolute().parents if parent.name == "aclImdb"), None)
        hint = f"; give {_shown(str(inside.parent))}, the folder that holds aclImdb/" if inside else ""
        raise DataError(f"{folder} holds no aclImdb/ folder of reviews{hint}")
    for file in sorted(root.glob("*/*/*.txt")):
        match = pattern.search(file.relative_to(root.parent).as_posix())
        if match:
            where = _shown(str(file))
            text = _review_file(file, where)
            if text is not None:
                yield match, text, where


def _review_file(file: Path, where: str) -> str | None:
    """The text of the review ``file``, its size checked before it is read; None if it is not a
    regular file (a folder, a link to nothing: passed over, as tarball members of other kinds)."""
    try:
        info = file.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise DataError(f"cannot read review {where}: {reason(error, reading=True)}") from None
    if not stat.S_ISREG(info.st_mode):
        return None
    if info.st_size > MAX_REVIEW_BYTES:
        raise DataError(f"{where} is over 1 MB: not a review of the dataset")
    with open_regular(file, "review", DataError) as f:
        try:
            data = f.read(MAX_REVIEW_BYTES + 1)
        except OSError as error:
            raise DataError(f"cannot read review {where}: {reason(error, reading=True)}") from None
    return _text(data, where)


def _from_tarball(path: Path, pattern: re.Pattern, fileobj: BinaryIO) -> Iterator[tuple[re.Match, str, str]]:
    try:
        with tarfile.open(path, "r:*", fileobj=fileobj) as archive:
            for member in archive:
                match = pattern.search(member.name)
                if not match or not member.isfile():
                    continue  # other files (the .feat files, the other reviews) are not read
                where = _shown(f"{path}:{member.name}")
                if member.size > MAX_REVIEW_BYTES:
                    raise DataError(f"{where} is over 1 MB: not a review of the dataset")
                handle = archive.extractfile(member)
                data = handle.read(MAX_REVIEW_BYTES + 1) if handle is not None else b""
                yield match, _text(data, where), where
            if isinstance(archive.fileobj, CHECKED_STREAMS) and archive.fileobj.read(MAX_TRAILER + 1)[MAX_TRAILER:]:
                raise DataError(f"{path} holds more than 1 MB after the archive's end: not a tarball of reviews")
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise DataError(f"cannot read {path}: {reason(error, reading=True)}") from None
        first = (str(error).splitlines() or ["truncated"])[0].rstrip(":")
        kind = "zlib" if isinstance(error, zlib.error) else type(error).__name__
        raise DataError(f"{path} is not a readable tarball of reviews ({kind}: {first}); give Stanford's "
                        "aclImdb_v1.tar.gz (downloaded again if it was cut short) or its extracted folder") from None


def split_train_valid(train: list[Review], seed: int = 1, valid_share: float = VALID_SHARE
                      ) -> tuple[list[Review], list[Review]]:
    """The training reviews cut into training and validation sets, the same way every time
    (``seed``); the test reviews are kept for the final test accuracy only."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    cut = len(train) - int(round(len(train) * valid_share))
    return [train[i] for i in order[:cut]], [train[i] for i in order[cut:]]
