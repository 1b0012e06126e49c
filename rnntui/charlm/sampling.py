"""Sampling one character at a time, with the book's semantics and without its overhead.

The book warms the state on all but the last character of the seed text, then repeatedly
samples from ``softmax(logits * scale_factor)`` and feeds the sample back. ``Sampler`` does
exactly that; for an LSTM it folds the embedding and the input projection into one lookup
table per character and reuses its buffers, so each character costs one matrix-vector
product per layer plus the output layer.

Optionally, as nanoGPT's ``top_k`` and the nucleus (top-p) sampling of later tools, the
distribution can be cut to its most likely characters before the draw (``truncate``): off by
default, as in the book.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from rnntui.charlm.limits import MAX_SCALE_FACTOR, MAX_SEED_CHARACTERS  # noqa: F401 - re-exported
from rnntui.charlm.model import CharRNN
from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import RnntuiError
from rnntui.core.settings import MAX_RANDOM_SEED


def check_scale_factor(scale_factor: float) -> float:
    try:
        value = float(scale_factor)
    except (TypeError, ValueError):
        raise RnntuiError(f"the scale factor must be a number, got {scale_factor!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise RnntuiError(f"the scale factor must be a finite number above 0, got {scale_factor}")
    if value > MAX_SCALE_FACTOR:
        raise RnntuiError(f"the scale factor must be at most {MAX_SCALE_FACTOR:g}, got {value:g}")
    return value



def check_random_seed(random_seed: int | None) -> int | None:
    if random_seed is not None and not 0 <= random_seed <= MAX_RANDOM_SEED:
        raise RnntuiError(f"--random-seed must be from 0 to 2**63 - 1, got {random_seed}")
    return random_seed


def check_top_k(top_k: object) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise RnntuiError(f"top-k must be a whole number, 0 (off) or more, got {top_k!r}")
    return top_k


def check_top_p(top_p: object) -> float:
    try:
        value = float(top_p)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RnntuiError(f"top-p must be a number, got {top_p!r}") from None
    if not 0 < value <= 1:  # NaN fails too
        raise RnntuiError(f"top-p must be above 0 and at most 1 (1: off), got {top_p}")
    return value


def truncate(probs: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """``probs`` (a CPU vector) cut to its ``top_k`` most likely entries (0: all) and to the
    smallest set of most likely entries whose probabilities add up to ``top_p`` (1: all),
    renormalised. The most likely entry always stays."""
    # In NumPy: on a vector this short, torch's per-operation overhead is most of the cost
    # (torch's sort-and-scatter took about twice as long).
    p = probs.numpy()
    order = np.argsort(-p, kind="stable")
    values = p[order]
    keep = len(values) if not top_k else min(top_k, len(values))
    if top_p < 1.0:
        # Entry i stays if the mass before it, cumulative[i - 1], is short of top_p; entry 0 always.
        cumulative = np.cumsum(values)
        keep = min(keep, 1 + int(np.searchsorted(cumulative[:-1], top_p, side="left")))
    kept = np.zeros_like(p)
    kept[order[:keep]] = values[:keep]
    return torch.from_numpy(kept / kept.sum())


@dataclass(frozen=True)
class SampledChar:
    char: str
    # Of this character under the distribution it was drawn from: softmax(logits * scale_factor),
    # truncated and renormalised when top_k or top_p is set.
    probability: float
    top: tuple[tuple[str, float], ...]  # the most likely candidates, best first


class Sampler:
    """Streams characters from a copy of a model's weights (training may go on meanwhile).

    ``scale_factor``, ``top_k``, ``top_p`` and ``choose`` may be changed between two
    characters; the next one uses the new values. ``candidates`` is how many of the most likely characters each
    ``SampledChar`` lists, with their probabilities (for a display).
    ``resume`` goes on from where the last stream stopped, with its state carried.
    """

    def __init__(self, model: CharRNN, vocab: Vocab, scale_factor: float = 1.0,
                 random_seed: int | None = None, candidates: int = 0, top_k: int = 0,
                 top_p: float = 1.0) -> None:
        self.vocab = vocab
        self.scale_factor = check_scale_factor(scale_factor)
        self.top_k = check_top_k(top_k)
        self.top_p = check_top_p(top_p)
        self.candidates = min(candidates, len(vocab))
        # Picks the next character from the candidates instead of drawing it (textgenrnn's
        # interactive mode): a character of the vocabulary, or None to draw as usual.
        self.choose: Callable[[tuple[tuple[str, float], ...]], str | None] | None = None
        self.generator = torch.Generator()
        if random_seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(random_seed)
        self.config = model.config
        self._carried = None  # (the next character's id, the state) where the last stream stopped
        # A float32 CPU copy: batch-1 steps are latency-bound, the CPU does them best.
        state = {k: v.detach().to("cpu", torch.float32).clone() for k, v in model.state_dict().items()}
        self._build(state)

    def _build(self, state: dict[str, torch.Tensor]) -> None:
        config = self.config
        # The module warms the state on the seed text and steps GRUs and plain RNNs.
        self.model = CharRNN(config)
        self.model.load_state_dict(state)
        self.model.eval()
        self.fc_weight = state["fc.weight"].contiguous()
        self.fc_bias = state["fc.bias"]
        embedding = state["embedding.weight"]
        if config.cell == "lstm":
            self.w_hh_t, self.w_ih_t, self.bias = [], [], []
            for layer in range(config.layers):
                w_ih, w_hh = state[f"rnn.weight_ih_l{layer}"], state[f"rnn.weight_hh_l{layer}"]
                bias = state[f"rnn.bias_ih_l{layer}"] + state[f"rnn.bias_hh_l{layer}"]
                if layer == 0:
                    # Embedding then input projection: one (V, 4H) row per character.
                    self.input_table = embedding @ w_ih.t() + bias
                self.w_ih_t.append(w_ih.t().contiguous())
                self.w_hh_t.append(w_hh.t().contiguous())
                self.bias.append(bias)

    @torch.inference_mode()
    def warm(self, ids: torch.Tensor):
        """The state after reading ``ids`` in one full-sequence call (None for no ids)."""
        if len(ids) == 0:
            return None
        _, state = self.model(ids.view(1, -1))
        return state

    def stream(self, seed_text: str, length: int) -> Iterator[SampledChar]:
        """Yield ``length`` characters continuing ``seed_text`` (which is not yielded)."""
        if length < 0:
            raise RnntuiError(f"the length must be 0 or more, got {length}")
        ids = torch.from_numpy(self.vocab.encode(seed_text))
        return self._stream(ids, length)

    def resume(self, length: int) -> Iterator[SampledChar]:
        """Yield ``length`` more characters after the last one the previous stream yielded,
        exactly as if that stream had been longer."""
        if self._carried is None:
            raise RnntuiError("nothing to continue: no text has been generated yet")
        if length < 0:
            raise RnntuiError(f"the length must be 0 or more, got {length}")
        return self._stream(None, length)

    @torch.inference_mode()
    def _stream(self, ids: torch.Tensor | None, length: int) -> Iterator[SampledChar]:
        step = self._lstm_step if self.config.cell == "lstm" else self._module_step
        if ids is None:
            last, state = self._carried
        else:
            last, state = int(ids[-1]), self._warmed_state(ids[:-1])
        chars = self.vocab.char_array
        uniform = torch.empty(1)
        for _ in range(length):
            logits, state = step(last, state)
            probs = torch.softmax(logits * self.scale_factor, dim=-1)
            if self.top_k or self.top_p < 1.0:
                probs = truncate(probs, self.top_k, self.top_p)
            top = ()
            if self.candidates:
                values, indices = probs.topk(self.candidates)
                # A top-k / top-p cut leaves characters at 0: they cannot be drawn, so not listed.
                top = tuple((chars[i], p) for i, p in zip(indices.tolist(), values.tolist(), strict=True) if p > 0)
            picked = self.choose(top) if self.choose is not None else None
            if picked is not None:
                last = self.vocab.char2int[picked]
            else:
                # Inverse-CDF sampling: one uniform draw, no distribution object per character.
                uniform.uniform_(generator=self.generator)
                cdf = probs.cumsum(0)
                last = min(int(torch.searchsorted(cdf, uniform * cdf[-1])), len(chars) - 1)
            self._carried = (last, state)  # fed to the model by the next step, here or in resume()
            yield SampledChar(chars[last], float(probs[last]), top)

    def _warmed_state(self, ids: torch.Tensor):
        """The state after ``ids``, in the form the step function takes."""
        state = self.warm(ids)
        if self.config.cell == "lstm":
            layers, hidden = self.config.layers, self.config.hidden_size
            if state is None:
                h = torch.zeros(layers, hidden)
                c = torch.zeros(layers, hidden)
            else:
                h, c = state[0][:, 0].clone(), state[1][:, 0].clone()
            state = (h, c)
        return state

    def _lstm_step(self, char_id: int, state):
        h, c = state
        x = None
        for layer in range(self.config.layers):
            if layer == 0:
                gates = torch.addmm(self.input_table[char_id:char_id + 1], h[0:1], self.w_hh_t[0])
            else:
                gates = torch.addmm(self.bias[layer].view(1, -1), x, self.w_ih_t[layer])
                gates.addmm_(h[layer:layer + 1], self.w_hh_t[layer])
            i, f, g, o = gates.view(4, -1)  # PyTorch's gate order
            c_new = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            c[layer] = c_new
            h[layer] = h_new
            x = h_new.view(1, -1)
        logits = torch.addmv(self.fc_bias, self.fc_weight, x[0])
        return logits, (h, c)

    def _module_step(self, char_id: int, state):
        logits, state = self.model(torch.tensor([[char_id]]), state)
        return logits[0, 0], state


def generate_text(sampler: Sampler, seed_text: str, length: int) -> str:
    """The book's ``sample()``: the seed text followed by ``length`` sampled characters."""
    return seed_text + "".join(s.char for s in sampler.stream(seed_text, length))
