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


def check_fits(needed: int, what: str, advice: str) -> None:
    """Refuse, before allocating, work estimated to need ``needed`` bytes when this machine has
    less memory: ``what`` needs about N GiB ...; ``advice`` says what to change."""
    total = physical_memory()
    if total and needed > total:
        from rnntui.core.errors import RnntuiError

        raise RnntuiError(f"{what} needs about {needed / 2**30:,.1f} GiB of memory, more than this machine's "
                          f"{total / 2**30:.1f} GiB; {advice}")


GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections; Python's default is 700


def tune_garbage_collector() -> None:
    """Freeze every object alive now (torch's and the app's modules: they live as long as the
    process) and collect young objects less often (the app calls this once torch is loaded).

    With torch imported, a full collection went through some 200,000 objects and held the GIL,
    and so the screen, for 0.1-0.3 s; while a reply streamed they came about once a second,
    with thousands of young collections besides: 4 of 14 seconds went on collecting, and the
    reply streamed about a fifth slower (benchmarks/streaming.py). Frozen objects are left out
    of every collection, and a young collection after 10,000 allocations instead of 700 makes
    full ones rare too; the cost is cyclic garbage kept a little longer (refcounting frees the
    rest at once).
    """
    import gc

    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
