"""Keeping freed training buffers in the process instead of handing them back to the kernel.

A training step on the CPU allocates and frees tens of megabytes of activations and gradients.
glibc's malloc gives large freed blocks back to the kernel (blocks over its mmap threshold at
once, the top of the heap past its trim threshold), so the next step page-faults on every 4 KiB
it touches again: about 10,000 faults a step for the book's model at batch 64 x 40, a tenth of
the step's time or more. Raising the two thresholds keeps that memory for the next step; the
process's resident size stays near the training peak it reaches anyway. One arena for all
threads: otherwise each thread (the app trains in one) gets its own arena, whose heaps are
unmapped whenever they empty. Call this before starting threads for it to cover them.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit systems
_TRIM_THRESHOLD = 1 << 30

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks (once per process); False where it is not glibc."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - musl has a mallopt that does nothing
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Setting either threshold by hand also stops glibc from adjusting them itself.
    settings = ((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_ARENA_MAX, 1))
    return all([bool(mallopt(option, value)) for option, value in settings])


def physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
