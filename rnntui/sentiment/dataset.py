"""Getting the Large Movie Review Dataset: ``--data PATH`` (the tarball or its extracted folder),
or the copy in the cache, downloaded once from Stanford (checked, retried, written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

from rnntui.core import paths
from rnntui.core.download import Progress, download_verified
from rnntui.core.errors import DownloadError
from rnntui.sentiment.reviews import PER_FOLDER, DataError, Reviews, check_counts, read_reviews, read_unlabelled

DEFAULT_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ENV_URL = "RNNTUI_IMDB_URL"
FILE_NAME = "aclImdb_v1.tar.gz"


def dataset_url() -> str:
    return os.environ.get(ENV_URL) or DEFAULT_URL


def cached_dataset_path() -> Path:
    return paths.cache_dir() / FILE_NAME


def ensure_dataset(progress: Progress | None = None, attempts: int = 3, timeout: float = 60.0,
                   backoff: float = 1.0, expected: int | None = None) -> Path:
    """The cached tarball, downloading and checking it first if it is not there yet (a copy is
    kept only once it reads as the whole dataset)."""
    target = cached_dataset_path()
    if target.is_file():
        return target
    expected = PER_FOLDER if expected is None else expected

    def verify(data: bytes) -> None:
        try:
            check_counts(read_reviews(FILE_NAME, data=data), "the downloaded file", expected)
        except DataError as error:
            raise DownloadError(str(error).replace(f"{FILE_NAME} is", "the downloaded file is")) from None

    url = dataset_url()
    try:
        return download_verified(url, target, verify, progress, attempts, timeout, backoff)
    except DownloadError as problem:
        # What to do instead is the caller's to say: the command line takes --data, the app asks.
        raise DownloadError(f"could not download the movie reviews from {url} ({problem})") from None


def load_reviews(data: Path | None, progress: Progress | None = None) -> tuple[Reviews, str]:
    """The reviews of ``data``, or of the cached dataset (downloaded if need be), and a name for
    them (recorded in checkpoints)."""
    path = Path(data) if data is not None else ensure_dataset(progress)
    return read_reviews(path), path.name


def load_unlabelled(data: Path | None, unlabelled: Path | None = None) -> list[str]:
    """The unlabelled reviews (``aclImdb/train/unsup``) of ``unlabelled`` (which must hold some),
    or else those of ``data`` or of the cached dataset, if it has them (the dataset as Stanford
    ships it does)."""
    if unlabelled is not None:
        found = read_unlabelled(unlabelled)
        if not found:
            raise DataError(f"{unlabelled} has no unlabelled reviews: expected aclImdb/train/unsup/ID_0.txt")
        return found
    path = Path(data) if data is not None else cached_dataset_path()
    return read_unlabelled(path) if path.exists() else []
