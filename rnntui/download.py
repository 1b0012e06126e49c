"""Fetching the default corpus, Project Gutenberg ebook #1268, into the user cache."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rnntui import paths
from rnntui.corpus import END_MARKER, START_MARKER
from rnntui.errors import DownloadError, StorageError
from rnntui.files import write_atomically

DEFAULT_URL = "https://www.gutenberg.org/ebooks/1268.txt.utf-8"
TITLE = "THE MYSTERIOUS ISLAND"

# progress(bytes_so_far, total_bytes_or_None)
Progress = Callable[[int, int | None], None]


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


def fetch(url: str, timeout: float, progress: Progress | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "rnntui"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        chunks, received = [], 0
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if progress:
                progress(received, total)
    data = b"".join(chunks)
    if total is not None and len(data) < total:
        raise DownloadError(f"the download stopped early ({len(data)} of {total} bytes)")
    return data


def download_verified(url: str, target: Path, verify: Callable[[bytes], None], progress: Progress | None = None,
                      attempts: int = 3, timeout: float = 30.0, backoff: float = 1.0) -> Path:
    """``url``'s bytes, checked by ``verify`` (which raises ``DownloadError``), written
    atomically to ``target``; retried with a growing pause, except where retrying cannot help
    (an HTTP 4xx, a cache that cannot be written). ``DownloadError`` with the last problem."""
    problem = "unknown error"
    for attempt in range(attempts):
        try:
            data = fetch(url, timeout, progress)
            verify(data)
            write_atomically(target, data)
            return target
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code} {error.reason}"
            if 400 <= error.code < 500:
                break  # retrying a 404 will not help
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", None) or error
            problem = f"network error: {reason}"
        except DownloadError as error:
            problem = str(error)
        except StorageError as error:  # writing into the cache failed
            problem = str(error)
            break
        if attempt + 1 < attempts:
            time.sleep(backoff * (attempt + 1))
    raise DownloadError(problem)


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
    from rnntui.corpus import max_corpus_bytes
    from rnntui.errors import CorpusError
    from rnntui.files import open_regular

    with open_regular(Path(source), "file", CorpusError) as f:
        data = f.read(max_corpus_bytes() + 1)
    try:
        verify_book(data)
    except DownloadError as error:
        raise DownloadError(str(error).replace("the downloaded file", str(source))) from None
    target = paths.default_corpus_path()
    write_atomically(target, data)
    return target
