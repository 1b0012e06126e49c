"""The one way rnntui writes a checkpoint among a person's files, for either model, from the app or
the command line: write where a link points, check the folder first, hold the file's lock, replace
only an rnntui checkpoint and only when allowed, clear what a killed save left, then write
atomically (the model's own ``save`` does that)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rnntui.core.files import check_writable, output_target, refuse_replacing, remove_stale_temp_files
from rnntui.core.lock import OutputLock


@contextmanager
def locked_output(path: Path, writable_hint: str = "", lock_alternative: str = "") -> Iterator[float]:
    """Hold ``path``'s lock for the ``with`` block, once its folder is known writable (and made,
    for the lock); yields when the lock was taken, which ``remove_stale_temp_files`` needs.
    ``writable_hint`` ends the error of that check; ``lock_alternative`` says, in the lock's
    errors, what to do instead (they name the process that holds the lock)."""
    check_writable(path, writable_hint)
    with OutputLock(path, lock_alternative) as lock:
        yield lock.acquired_at


def claim_output(path: Path, may_replace: bool, locked_at: float, hint: str = "") -> None:
    """With ``path``'s lock held: refuse to go on if ``path`` holds something not to be replaced
    (anything but an rnntui checkpoint, and one of those unless ``may_replace``), then remove
    the temporary files a killed save of it left."""
    refuse_replacing(path, may_replace, hint)
    remove_stale_temp_files(path, locked_at)


def save_checkpoint_safely(path: Path, save: Callable[[Path], object], may_replace: bool, hint: str = "") -> Path:
    """Write a checkpoint to ``path`` with ``save(target)`` (an atomic write of the model's
    checkpoint) under the whole protocol above; returns the file written (a link's target)."""
    target = output_target(Path(path))
    with locked_output(target) as locked_at:
        claim_output(target, may_replace, locked_at, hint)
        save(target)
    return target
