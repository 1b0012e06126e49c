"""Word vectors from how words co-occur, to start a sentiment model's embedding: the positive
pointwise mutual information (PPMI) of each word with its neighbours, reduced by a truncated SVD
(Levy, Goldberg & Dagan 2015, with their context-distribution smoothing). No labels are used, so
the 50,000 unlabelled reviews of the dataset can add to the training reviews; the test reviews
never do. Words that are synonyms for the purpose of a verdict ("awful", "dreadful", "abysmal")
start close together, so a word seen a few times in training inherits what its neighbours
learnt.

Each word's row of the co-occurrence matrix counts the contexts of the ``contexts`` most frequent
words within ``window`` words of it, each weighted by 1 / distance, in one float32 array of
``rows x contexts`` (about 1.2 GB for 30,000 words and 10,000 contexts)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

WINDOW = 5
CONTEXTS = 10_000  # the most frequent words serve as contexts
MAX_ROWS = 50_000  # words rarer than this many keep their random start: too few sightings to place
SMOOTHING = 0.75  # contexts' counts to this power: rare contexts weigh less (Levy et al. 2015)


def ppmi_vectors(sequences: Iterable[list[int]], vocab_size: int, dim: int, generator: torch.Generator,
                 window: int = WINDOW, contexts: int = CONTEXTS, max_rows: int = MAX_ROWS) -> torch.Tensor:
    """``(min(vocab_size, max_rows), dim)`` vectors for the first word ids (id 0, padding, and
    1, unknown, are 0), scaled so that their entries have a standard deviation of 1, as the
    embedding's own ``N(0, 1)`` start. Words are separated by review: no window spans two."""
    rows, contexts = min(vocab_size, max_rows), min(vocab_size, contexts)
    # One stream of ids with ``window`` 0s after each review: a pair with a 0 (or a 1, the
    # unknown word) in it is not counted, so no window spans two reviews.
    gap = np.zeros(window, dtype=np.int64)
    stream = np.concatenate([part for ids in sequences for part in (np.asarray(ids, dtype=np.int64), gap)] or [gap])
    counts = torch.zeros(rows * contexts, dtype=torch.float32)
    for distance in range(1, window + 1):
        for word, context in ((stream[:-distance], stream[distance:]), (stream[distance:], stream[:-distance])):
            keep = (word > 1) & (word < rows) & (context > 1) & (context < contexts)
            cells = torch.from_numpy(word[keep] * contexts + context[keep])
            counts.index_add_(0, cells, torch.full((len(cells),), 1.0 / distance))
    return _reduce(counts.view(rows, contexts), dim, generator)


def _reduce(counts: torch.Tensor, dim: int, generator: torch.Generator) -> torch.Tensor:
    """PPMI of ``counts`` (in place), then its top ``dim`` singular directions."""
    rows = counts.shape[0]
    total = counts.sum()
    if total <= 0:
        return torch.zeros(rows, dim)
    word_share = counts.sum(1, keepdim=True) / total
    context_weight = counts.sum(0, keepdim=True) ** SMOOTHING
    context_share = context_weight / context_weight.sum()
    # max(0, log(p(word, context) / (p(word) p_smoothed(context)))), in place: a pair never seen
    # has a ratio of 0, which becomes log(1) = 0.
    counts.div_(total).div_(word_share.clamp(min=1e-30)).div_(context_share.clamp(min=1e-30))
    counts.clamp_(min=1.0).log_()
    rank = min(dim, *counts.shape)
    state = torch.get_rng_state()
    torch.set_rng_state(generator.get_state())  # svd_lowrank draws from the global generator
    try:
        left, singular, _ = torch.svd_lowrank(counts, q=rank, niter=4)
    finally:
        torch.set_rng_state(state)
    vectors = torch.zeros(rows, dim)
    vectors[:, :rank] = left * singular.sqrt()
    vectors[:2] = 0.0  # padding and the unknown word: no neighbours counted, only rounding left
    spread = vectors[2:].std()
    return vectors / spread if spread > 0 else vectors
