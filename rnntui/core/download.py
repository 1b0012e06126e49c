"""Downloading a file over HTTP: retried, checked by the caller, written atomically."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rnntui.core.errors import DownloadError, StorageError
from rnntui.core.files import write_atomically

# progress(bytes_so_far, total_bytes_or_None)
Progress = Callable[[int, int | None], None]


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
