"""The default corpus, Project Gutenberg ebook #1268 (*The Mysterious Island*): fetched into the
user cache, or imported from a local copy."""

from __future__ import annotations

import os
from pathlib import Path

from rnntui.charlm.corpus import END_MARKER, START_MARKER
from rnntui.core import paths
from rnntui.core.download import Progress, download_verified
from rnntui.core.errors import DownloadError
from rnntui.core.files import write_atomically

DEFAULT_URL = "https://www.gutenberg.org/ebooks/1268.txt.utf-8"
TITLE = "THE MYSTERIOUS ISLAND"

def corpus_url() -> str:
    return os.environ.get(paths.ENV_CORPUS_URL) or DEFAULT_URL


def verify_book(data: bytes) -> None:
    """Raise ``DownloadError`` unless ``data`` is the whole of *The Mysterious Island*."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DownloadError("the downloaded file is not UTF-8 text") from None
    start = START_MARKER.search(text)
    if not start or TITLE not in text[start.start():start.end() + 2000].upper():
        raise DownloadError("the downloaded file is not The Mysterious Island (no Gutenberg start marker and title)")
    if not END_MARKER.search(text, start.end()):
        raise DownloadError("the downloaded file is incomplete (no Gutenberg end marker)")


def ensure_default_corpus(progress: Progress | None = None, attempts: int = 3,
                          timeout: float = 30.0, backoff: float = 1.0) -> Path:
    """The cached book, downloading and verifying it first if it is not there yet."""
    target = paths.default_corpus_path()
    if target.is_file():
        return target
    url = corpus_url()
    try:
        return download_verified(url, target, verify_book, progress, attempts, timeout, backoff)
    except DownloadError as problem:
        raise DownloadError(
            f"could not download the default corpus from {url} ({problem}); if you have a copy of the book, "
            "rnntui corpus --fetch FILE puts it in the cache; or pass --corpus PATH to train on a text file you "
            "have") from None


def import_book(source: Path) -> Path:
    """Put a local copy of *The Mysterious Island* in the cache, where a download would put it
    (for a machine without internet): checked as a download is, written atomically."""
    from rnntui.charlm.corpus import max_corpus_bytes
    from rnntui.core.errors import CorpusError
    from rnntui.core.files import open_regular

    with open_regular(Path(source), "file", CorpusError) as f:
        data = f.read(max_corpus_bytes() + 1)
    try:
        verify_book(data)
    except DownloadError as error:
        raise DownloadError(str(error).replace("the downloaded file", str(source))) from None
    target = paths.default_corpus_path()
    write_atomically(target, data)
    return target
