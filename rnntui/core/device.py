"""Choosing the device and the numeric precision for training."""

from __future__ import annotations

import os
import re

import torch

from rnntui.core.errors import RnntuiError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA (this process's local rank under torchrun), then MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in DEVICES and not re.fullmatch(r"cuda:\d+", name):
        raise RnntuiError(f"unknown device {name!r}; use one of {', '.join(DEVICES)} (or cuda:N)")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RnntuiError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RnntuiError("--device mps was asked for but MPS is not available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise RnntuiError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}") from None


def default_threads() -> int:
    """One thread fewer than the cores this process may run on, at least 1. torch's threads
    wait for each other after every operation: with a thread per core, one core shared with
    another busy process holds them all up (benchmarks/threads.py measures the cliff)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def set_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads to ``threads``, or when it is None to ``default_threads`` (never
    more than torch's own default), unless OMP_NUM_THREADS says how many; returns the count.
    Threads started afterwards take it too (the app's training and generating ones)."""
    if threads is not None:
        torch.set_num_threads(threads)
    elif not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(min(default_threads(), torch.get_num_threads()))
    return torch.get_num_threads()


def cpu_name() -> str:
    """The processor's model name (for benchmark tables and a model's provenance)."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bf16_lstm_works(device: torch.device) -> bool:
    """Some oneDNN builds cannot run a bfloat16 LSTM at all; try a tiny one."""
    try:
        rnn = torch.nn.LSTM(8, 8, batch_first=True).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out, _ = rnn(torch.zeros(2, 3, 8, device=device))
            out.float().sum().backward()
        return True
    except RuntimeError:
        return False


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto``: bfloat16 autocast where the hardware does bf16 natively and it runs, else fp32.

    The benchmark compares the two loss curves; on CPUs without native bf16 it is slower, so
    ``auto`` never picks it there.
    """
    if name not in PRECISIONS:
        raise RnntuiError(f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}")
    if name == "fp32":
        return "fp32"
    if name == "bf16":
        if not bf16_lstm_works(device):
            raise RnntuiError(f"bfloat16 training does not run on this {device.type}; use --precision fp32")
        return "bf16"
    native = (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (
        device.type == "cpu" and cpu_has_native_bf16()
    )
    return "bf16" if native and bf16_lstm_works(device) else "fp32"
