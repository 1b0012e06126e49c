"""An advisory lock on a checkpoint being written, so that two runs never write one file.

The lock is ``<checkpoint>.lock`` beside it, held with ``flock`` for as long as the run lasts.
The operating system releases it when the process ends, however it ends, so a lock file left by
a killed run is stale by construction: the next run takes it over. Where ``fcntl`` does not
exist (Windows) there is no lock.
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

from rnntui.core.errors import CheckpointError, RnntuiError
from rnntui.core.files import open_regular, reason

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

SUFFIX = ".lock"
_CONTENT = re.compile(rb"\A(\d+\n)?\Z")  # what rnntui writes in one: its process id


def lock_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + SUFFIX)


def holder(path: Path) -> int | None:
    """The process id recorded in ``path``'s lock file, if any."""
    try:
        with open_regular(lock_path(path), "lock file") as f:
            text = f.read(64)
    except (OSError, RnntuiError):
        return None
    return int(text) if _CONTENT.match(text) and text.strip() else None


class OutputLock:
    """``with OutputLock(path):`` holds the lock on ``path`` (``acquired_at`` says since when),
    or raises ``CheckpointError`` naming the process that holds it. ``alternative`` ends each
    error: what to do instead ("choose another file with --out PATH")."""

    def __init__(self, path: Path, alternative: str = "") -> None:
        self.path = Path(path)
        self.file = lock_path(self.path)
        self.alternative = alternative
        self.fd: int | None = None
        self.acquired_at = time.time()

    def acquire(self) -> OutputLock:
        if fcntl is None:
            return self
        for _ in range(10):  # the holder may remove the file between our open and our lock
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                pid = holder(self.path)
                by = f" (process {pid})" if pid else ""
                instead = f", or {self.alternative}" if self.alternative else ""
                raise CheckpointError(f"{self.path} is being written by another rnntui run{by}; wait for "
                                      f"it to end{instead}") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.file).st_ino
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd, self.acquired_at = fd, time.time()
            return self
        raise CheckpointError(f"cannot lock {self.path}: its lock file keeps changing")

    def _open(self) -> int:
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as error:
            raise CheckpointError(f"cannot lock {self.path} ({self.file}: {reason(error)}){self._instead()}") from None
        # Never write over a file of the same name that is not a lock of ours.
        try:
            data = os.pread(fd, 64, 0) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except OSError:
            data = None
        if data is None or not _CONTENT.match(data):
            os.close(fd)
            raise CheckpointError(f"{self.file} exists and is not an rnntui lock file; rnntui will not "
                                  f"replace it{self._instead()}")
        return fd

    def _instead(self) -> str:
        return f"; {self.alternative}" if self.alternative else ""

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.file)  # still ours: we hold its lock
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
