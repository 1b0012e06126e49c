"""Files rnntui reads and writes: atomic writes, regular files only, and the rule that rnntui
replaces a file only when it is an rnntui checkpoint it was asked to replace (no torch here: the
app's first frame and the corpus download use it too)."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from rnntui.core.errors import CheckpointError, RnntuiError, StorageError

CHECKPOINT_MAGIC = b"RNNTUI-CHECKPOINT\n"
CHECKPOINT_MAX_HEADER = 1 << 20  # the JSON header's line, at most
# How every checkpoint rnntui writes begins (its JSON header's first field follows the magic line).
CHECKPOINT_START = CHECKPOINT_MAGIC + b'{"format_version": '
# A temporary file is ".<name>.rnntui-XXXXXXXX.tmp" beside <name>: a name rnntui can tell for its
# own when a killed save leaves one behind. Before 2026-12-02 it was ".<name>.XXXXXXXX.tmp".
TEMP_MARK = ".rnntui-"
_TEMP_TAIL = r"[a-z0-9_]{8}\.tmp"


def write_atomically(path: Path, data: bytes, error_type: type[RnntuiError] = StorageError) -> None:
    """Replace ``path`` with ``data`` so that a crash or a full disk leaves the old file whole;
    a failure raises ``error_type`` (``CheckpointError`` for checkpoints) with a one-line reason."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=folder)
    except OSError as error:
        raise error_type(f"cannot write in {folder}: {reason(error)}") from None
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
    except BaseException as error:  # a full disk, or an interrupt forced mid-write
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise error_type(f"cannot write {path}: {reason(error)}; "
                                  "the previous file, if any, is unchanged") from None
        raise
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
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(temp)
    except (FileExistsError, NotADirectoryError):
        raise CheckpointError(f"cannot write in {folder}: part of that path is a file, not a folder{hint}") from None
    except OSError as error:
        raise CheckpointError(f"cannot write in {folder}: {reason(error)}{hint}") from None


def reason(error: OSError, reading: bool = False) -> str:
    """What went wrong, in words a person can act on (``reading``: while reading a file)."""
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied" if reading else "permission denied (read-only folder?)"
    if error.errno == errno.ELOOP:
        return "it is a symbolic link that loops (or too many links deep)"
    return error.strerror or str(error)


# -- reading ---------------------------------------------------------------------------------

def checkpoint_header_line(f: BinaryIO) -> bytes | None:
    """The JSON header's line of a checkpoint file opened at its start (at most
    ``CHECKPOINT_MAX_HEADER`` bytes), or None when the file does not begin with rnntui's magic line."""
    if f.read(len(CHECKPOINT_MAGIC)) != CHECKPOINT_MAGIC:
        return None
    return f.readline(CHECKPOINT_MAX_HEADER)


def open_regular(path: Path, what: str, error: type[RnntuiError] = RnntuiError) -> BinaryIO:
    """``path`` opened for reading in binary, only if it is a regular file: a FIFO would block
    the reader for ever, and a device (``/dev/zero``) never ends. Opened non-blocking, so that a
    FIFO swapped in after a check cannot block either; ``what`` names it in the message."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory, not a file") from None
    except OSError as failure:
        raise error(f"cannot read {what} {path}: {reason(failure, reading=True)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{what} {path} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is not a regular file (a {file_kind(mode)}); name a file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


# -- what rnntui may replace -----------------------------------------------------------------

def output_target(path: Path) -> Path:
    """The file a write to ``path`` lands in: a symbolic link's target, so that the link stays
    a link (a rename over the link itself would replace it with a plain file)."""
    if not os.path.islink(path):
        return Path(path)
    try:
        os.stat(path)
    except FileNotFoundError:
        pass  # a link to a file not made yet: that file is written
    except OSError as error:
        raise CheckpointError(f"cannot write {path}: {reason(error)}") from None
    return Path(os.path.realpath(path))


def is_checkpoint_file(path: Path) -> bool:
    """True if ``path`` is a regular file that starts as every rnntui checkpoint does."""
    try:
        with open_regular(path, "file") as f:
            return f.read(len(CHECKPOINT_MAGIC)) == CHECKPOINT_MAGIC
    except RnntuiError:
        return False


def replace_problem(path: Path, allowed: bool) -> str | None:
    """Why rnntui must not write a checkpoint to ``path`` (None when it may): it replaces an
    existing file only when that file is an rnntui checkpoint and ``allowed`` (the person asked
    to replace it: --resume of it, --overwrite, the app's own file or a confirmed save as)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None  # a new file (or a link to one not made yet)
    except OSError as error:
        return f"cannot write {path}: {reason(error)}"
    if stat.S_ISDIR(mode):
        return f"{path} is a folder; name a file in it, e.g. {Path(path) / 'model.ckpt'}"
    if not stat.S_ISREG(mode):
        return f"{path} is a {file_kind(mode)}, not a regular file; rnntui writes checkpoints only to files"
    if not is_checkpoint_file(path):
        return f"{path} exists and is not an rnntui checkpoint; rnntui will not replace it"
    if not allowed:
        return f"{path} is the checkpoint of another run"
    return None


def refuse_replacing(path: Path, allowed: bool, hint: str = "") -> None:
    """Raise ``CheckpointError`` if ``replace_problem`` says ``path`` must not be written;
    ``hint`` ends the message (what to do instead)."""
    problem = replace_problem(path, allowed)
    if problem is not None:
        raise CheckpointError(problem + hint)


def same_file(a: Path | None, b: Path | None) -> bool:
    """True if ``a`` and ``b`` name the same file (through links, relative paths, ...)."""
    if a is None or b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


# -- what a killed save leaves behind --------------------------------------------------------

def stale_temp_files(path: Path, older_than: float, names: str | None = None) -> list[Path]:
    """Temporary files that a save of ``path`` left behind (killed before its rename), last
    changed before ``older_than`` (a time.time()): rnntui's naming, parsed exactly, and inside,
    the start of a checkpoint as rnntui writes it (or nothing: killed before it wrote): a file
    of that name holding anything else is not rnntui's. ``names``: a regular expression for the
    files saved there instead of ``path``'s own name (the step-numbered snapshots)."""
    folder = path.parent
    target = names if names is not None else re.escape(path.name)
    new = re.compile(r"\." + target + re.escape(TEMP_MARK) + _TEMP_TAIL + r"\Z")
    old = re.compile(r"\." + target + r"\." + _TEMP_TAIL + r"\Z")
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        if new.match(entry.name) is None and old.match(entry.name) is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_mtime >= older_than:
            continue
        if not _starts_like_a_checkpoint(Path(entry.path)):
            continue
        found.append(Path(entry.path))
    return found


def _starts_like_a_checkpoint(path: Path) -> bool:
    """``path`` begins as a checkpoint that rnntui writes (however little of it was written)."""
    try:
        with open_regular(path, "file") as f:
            start = f.read(len(CHECKPOINT_START))
    except (RnntuiError, OSError):
        return False
    return CHECKPOINT_START.startswith(start)


def remove_stale_temp_files(path: Path, older_than: float, names: str | None = None) -> list[Path]:
    """Delete ``stale_temp_files(path, older_than, names)``; call with the lock on ``path``
    held, so that no other rnntui is writing one of them now. Returns what was removed."""
    removed = []
    for temp in stale_temp_files(path, older_than, names):
        try:
            temp.unlink()
            removed.append(temp)
        except OSError:
            pass
    return removed
