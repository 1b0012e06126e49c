"""Exact validation loss: one pass over the held-out tail, state carried across chunks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.charlm.model import CharRNN


@torch.inference_mode()
def evaluate_ids(model: CharRNN, ids: np.ndarray, device: torch.device | str = "cpu",
                 chunk: int = 2048, progress: Callable[[int, int], None] | None = None) -> tuple[float, int]:
    """Mean cross-entropy (nats/char) of predicting ``ids[1:]``, each character from all of
    the text before it; returns ``(loss, characters predicted)``. ``progress(done, total)``
    is called after each chunk."""
    model.eval()
    data = torch.from_numpy(np.asarray(ids, dtype=np.int64)).to(device)
    total, count, state = 0.0, 0, None
    for start in range(0, len(data) - 1, chunk):
        piece = data[start:start + chunk + 1]
        logits, state = model(piece[:-1].view(1, -1), state)
        total += F.cross_entropy(logits[0].float(), piece[1:], reduction="sum").item()
        count += len(piece) - 1
        if progress is not None:
            progress(count, len(data) - 1)
    if count == 0:
        return float("nan"), 0
    return total / count, count


def held_out_tail(corpus, val_fraction: float, hint: str = "") -> np.ndarray:
    """The ids of ``corpus``'s held-out last ``val_fraction``; RnntuiError (ending in ``hint``)
    when it has nothing to predict: a loss of nan over 0 characters would look like a result."""
    from rnntui.core.errors import RnntuiError

    _, tail = corpus.split(val_fraction)
    if len(tail) < 2:
        raise RnntuiError(f"{corpus.name} is too short to evaluate: its held-out last "
                          f"{val_fraction:.0%} has {len(tail)} character(s){hint}")
    return tail


def held_out_loss(checkpoint, corpus, device: torch.device | str = "cpu", val_fraction: float | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[float, int, float]:
    """Exact loss of ``checkpoint`` on ``corpus``'s held-out tail, with the split it was trained
    with unless ``val_fraction`` says otherwise: ``(loss, characters, val_fraction)``."""
    from rnntui.core.errors import RnntuiError

    if val_fraction is None:
        val_fraction = (checkpoint.train_config or {}).get("val_fraction", 0.1)
    if not 0.0 < val_fraction < 1.0:
        raise RnntuiError(f"--val-fraction must be in (0, 1) to evaluate, got {val_fraction}")
    tail = held_out_tail(corpus, val_fraction, hint="; pass a longer text or a larger --val-fraction")
    loss, count = evaluate_ids(checkpoint.build_model(device), tail, device, progress=progress)
    return loss, count, val_fraction
