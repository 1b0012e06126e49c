"""Writing files so that a crash or a full disk never leaves half of one (no torch here: the
app's first frame and the corpus download use it too)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from rnntui.errors import CheckpointError


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash or a full disk leaves the old file whole."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise CheckpointError(f"cannot write in {folder}: {reason(error)}") from None
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except OSError as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise CheckpointError(f"cannot write {path}: {reason(error)}; "
                              "the previous file, if any, is unchanged") from None
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def check_writable(path: Path, hint: str = "") -> None:
    """Fail now, rather than after hours of training, if ``path`` could not be written later;
    ``hint`` ends the message (how to choose another place)."""
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; name a file in it, e.g. {path / 'model.ckpt'}")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(temp)
    except (FileExistsError, NotADirectoryError):
        raise CheckpointError(f"cannot write in {folder}: part of that path is a file, not a folder{hint}") from None
    except OSError as error:
        raise CheckpointError(f"cannot write in {folder}: {reason(error)}{hint}") from None


def reason(error: OSError) -> str:
    """What went wrong, in words a person can act on."""
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only folder?)"
    return error.strerror or str(error)
