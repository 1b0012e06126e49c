"""The Large Movie Review Dataset (Maas et al. 2011), read as it comes: the tarball
``aclImdb_v1.tar.gz`` or its extracted ``aclImdb/`` folder, ``{train,test}/{pos,neg}/ID_RATING.txt``.
The label is the folder. Read without extracting anything to disk (a tarball's member names
cannot place files anywhere), and only the members of that layout."""

from __future__ import annotations

import io
import random
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnntui.errors import RnntuiError

LABELS = {"neg": 0, "pos": 1}
SPLITS = ("train", "test")
# aclImdb/train/pos/0_9.txt: a split, a label, an id and the reviewer's rating.
MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
# aclImdb/train/unsup/0_0.txt: the 50,000 unlabelled reviews (no rating).
UNLABELLED_MEMBER = re.compile(r"(?:^|/)aclImdb/train/unsup/(\d+)_0\.txt$")
MAX_REVIEW_BYTES = 1 << 20  # the longest in the dataset is under 14 KB
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
        yield from _from_tarball(path, pattern, io.BytesIO(data))
    elif path.is_dir():
        yield from _from_folder(path, pattern)
    elif path.is_file():
        yield from _from_tarball(path, pattern)
    else:
        raise DataError(f"no reviews at {path}: it does not exist")


def _text(data: bytes, where: str) -> str:
    if len(data) > MAX_REVIEW_BYTES:
        raise DataError(f"{where} is over 1 MB: not a review of the dataset")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text") from None


def _from_folder(folder: Path, pattern: re.Pattern) -> Iterator[tuple[re.Match, str]]:
    root = folder if folder.name == "aclImdb" else folder / "aclImdb"
    if not root.is_dir():
        raise DataError(f"{folder} holds no aclImdb/ folder of reviews")
    for file in sorted(root.glob("*/*/*.txt")):
        match = pattern.search(file.relative_to(root.parent).as_posix())
        if match and file.is_file():
            yield match, _text(file.read_bytes(), str(file))


def _from_tarball(path: Path, pattern: re.Pattern, fileobj: BinaryIO | None = None
                  ) -> Iterator[tuple[re.Match, str]]:
    try:
        with tarfile.open(path, "r:*", fileobj=fileobj) as archive:
            for member in archive:
                match = pattern.search(member.name)
                if not match or not member.isfile():
                    continue  # other files (the .feat files, the other reviews) are not read
                handle = archive.extractfile(member)
                data = handle.read(MAX_REVIEW_BYTES + 1) if handle is not None else b""
                yield match, _text(data, f"{path}:{member.name}")
    except (tarfile.TarError, EOFError, OSError) as error:
        first = (str(error).splitlines() or ["truncated"])[0].rstrip(":")
        raise DataError(f"{path} is not a readable tarball of reviews ({type(error).__name__}: {first}); "
                        "download it again") from None


def split_train_valid(train: list[Review], seed: int = 1, valid_share: float = VALID_SHARE
                      ) -> tuple[list[Review], list[Review]]:
    """The training reviews cut into training and validation sets, the same way every time
    (``seed``); the test reviews are kept for the final test accuracy only."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    cut = len(train) - int(round(len(train) * valid_share))
    return [train[i] for i in order[:cut]], [train[i] for i in order[cut:]]
