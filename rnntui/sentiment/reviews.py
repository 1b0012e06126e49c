"""The Large Movie Review Dataset (Maas et al. 2011), read as it comes: the tarball
``aclImdb_v1.tar.gz`` or its extracted ``aclImdb/`` folder, ``{train,test}/{pos,neg}/ID_RATING.txt``.
The label is the folder. Read without extracting anything to disk (a tarball's member names
cannot place files anywhere), and only the members of that layout."""

from __future__ import annotations

import io
import random
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnntui.errors import RnntuiError

LABELS = {"neg": 0, "pos": 1}
SPLITS = ("train", "test")
# aclImdb/train/pos/0_9.txt: a split, a label, an id and the reviewer's rating.
MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
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
    if data is not None:
        found = _from_tarball(path, io.BytesIO(data))
    elif path.is_dir():
        found = _from_folder(path)
    elif path.is_file():
        found = _from_tarball(path)
    else:
        raise DataError(f"no reviews at {path}: it does not exist")
    reviews = Reviews(*(sorted(found[split], key=lambda r: (r.label, r.id)) for split in SPLITS))
    missing = [f"{split}/{name}" for split in SPLITS for name, label in LABELS.items()
               if not any(review.label == label for review in getattr(reviews, split))]
    if missing:
        raise DataError(f"{path} has no reviews in {', '.join(missing)}: expected aclImdb/{{train,test}}/{{pos,neg}}/"
                        "ID_RATING.txt")
    return reviews


def check_counts(reviews: Reviews, where: str, expected: int = PER_FOLDER) -> None:
    """The whole dataset: ``expected`` reviews in each of train/pos, train/neg, test/pos, test/neg."""
    for split in SPLITS:
        for name, label in LABELS.items():
            count = sum(review.label == label for review in getattr(reviews, split))
            if count != expected:
                raise DataError(f"{where} has {count:,} reviews in {split}/{name}, not the dataset's "
                                f"{expected:,}: it is incomplete or another dataset")


def _review(split_label_id_rating: tuple, data: bytes, where: str) -> Review:
    _, label, number, rating = split_label_id_rating
    if len(data) > MAX_REVIEW_BYTES:
        raise DataError(f"{where} is over 1 MB: not a review of the dataset")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text") from None
    return Review(text, LABELS[label], int(rating), int(number))


def _from_folder(folder: Path) -> dict[str, list[Review]]:
    root = folder if folder.name == "aclImdb" else folder / "aclImdb"
    if not root.is_dir():
        raise DataError(f"{folder} holds no aclImdb/ folder of reviews")
    found: dict[str, list[Review]] = {split: [] for split in SPLITS}
    for split in SPLITS:
        for label in LABELS:
            for file in sorted((root / split / label).glob("*.txt")):
                match = MEMBER.search(file.relative_to(root.parent).as_posix())
                if match and file.is_file():
                    found[split].append(_review(match.groups(), file.read_bytes(), str(file)))
    return found


def _from_tarball(path: Path, fileobj: BinaryIO | None = None) -> dict[str, list[Review]]:
    found: dict[str, list[Review]] = {split: [] for split in SPLITS}
    try:
        with tarfile.open(path, "r:*", fileobj=fileobj) as archive:
            for member in archive:
                match = MEMBER.search(member.name)
                if not match or not member.isfile():
                    continue  # other files (the .feat files, the unlabelled reviews) are not read
                handle = archive.extractfile(member)
                data = handle.read(MAX_REVIEW_BYTES + 1) if handle is not None else b""
                found[match.group(1)].append(_review(match.groups(), data, f"{path}:{member.name}"))
    except (tarfile.TarError, EOFError, OSError) as error:
        first = (str(error).splitlines() or ["truncated"])[0].rstrip(":")
        raise DataError(f"{path} is not a readable tarball of reviews ({type(error).__name__}: {first}); "
                        "download it again") from None
    return found


def split_train_valid(train: list[Review], seed: int = 1, valid_share: float = VALID_SHARE
                      ) -> tuple[list[Review], list[Review]]:
    """The training reviews cut into training and validation sets, the same way every time
    (``seed``); the test reviews are kept for the final test accuracy only."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    cut = len(train) - int(round(len(train) * valid_share))
    return [train[i] for i in order[:cut]], [train[i] for i in order[cut:]]
