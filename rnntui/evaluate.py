"""Exact validation loss: one pass over the held-out tail, state carried across chunks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rnntui.model import CharRNN


@torch.inference_mode()
def evaluate_ids(model: CharRNN, ids: np.ndarray, device: torch.device | str = "cpu",
                 chunk: int = 2048) -> tuple[float, int]:
    """Mean cross-entropy (nats/char) of predicting ``ids[1:]``, each character from all of
    the text before it; returns ``(loss, characters predicted)``."""
    model.eval()
    data = torch.from_numpy(np.asarray(ids, dtype=np.int64)).to(device)
    total, count, state = 0.0, 0, None
    for start in range(0, len(data) - 1, chunk):
        piece = data[start:start + chunk + 1]
        logits, state = model(piece[:-1].view(1, -1), state)
        total += F.cross_entropy(logits[0].float(), piece[1:], reduction="sum").item()
        count += len(piece) - 1
    if count == 0:
        return float("nan"), 0
    return total / count, count
