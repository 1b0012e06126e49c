"""The one place rnntui relies on torch's private details, to skip work torch does for
``torch.compile`` (which rnntui never uses).

If a torch release renames ``__dynamo_disable`` or the ``__wrapped__`` chain of
``Optimizer.step``, nothing breaks outright: ``skip_compiler_import`` then does nothing (the
first training step waits about 2.4 s for torch._dynamo to import, as it would without it), and
``optimizer_step`` falls back to calling ``step`` through its wrappers.
``tests/core/test_memory.py`` holds ``optimizer_step`` to ``optimizer.step()``'s results.
"""

from __future__ import annotations

import sys

import torch

# torch wraps some Optimizer methods for torch.compile, and each wrapper imports
# torch._dynamo the first time it runs: about 2.4 s on 2 CPU cores, between pressing ctrl+t
# (or starting `rnntui train`) and the first step, for a program that never compiles. The
# methods hidden from the compiler keep a cache of their hidden form, filled on that first
# call; filled in advance with the method itself (where dynamo is not loaded, so that nothing
# in the process compiles), they run without the import. step() has a wrapper with no such
# cache, and optimizer_step() calls the method under it.
_HIDDEN_FROM_COMPILER = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def skip_compiler_import() -> None:
    if "torch._dynamo" in sys.modules:
        return
    for name in _HIDDEN_FROM_COMPILER:
        method = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if method is not None and getattr(method, "__dynamo_disable", None) is None:
            setattr(method, "__dynamo_disable", method)


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``, as its wrappers run it without hooks, profiler or compiler: the
    update itself, with gradients off (see skip_compiler_import for why)."""
    step = type(optimizer).step
    while hasattr(step, "__wrapped__"):  # profiler and hooks, then torch.compile's graph breaks
        step = step.__wrapped__
    with torch.no_grad():
        step(optimizer)
