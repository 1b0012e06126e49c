"""Writing a review on from what has been typed, with the review language model: its forward
direction reads the typed words from a zero state (as it read every review in training), then
draws one word at a time from ``softmax(log_probs * scale_factor)`` and reads it back, as the
chapter samples characters. Padding and the unknown word are never drawn.

The words come out as the model knows them: the book's tokenizer's lower-case words, without
punctuation (its vocabulary has none).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from rnntui.core.errors import RnntuiError
from rnntui.sentiment.pretrain.checkpoint import LMCheckpoint
from rnntui.sentiment.pretrain.model import ReviewLM

DEFAULT_SCALE_FACTOR = 1.5  # a little bolder than the model's own distribution, which rambles
MAX_WARM_WORDS = 2_000  # of a longer text, its last words warm the state (the rest change little)


class NothingToWriteOn(RnntuiError):
    """The text has no word to start from."""


class ReviewWriter:
    """Continues review text with ``checkpoint``'s language model (its forward direction)."""

    def __init__(self, checkpoint: LMCheckpoint) -> None:
        model = checkpoint.build_model()
        assert isinstance(model, ReviewLM)
        self.model = model.eval()
        self.vocab = checkpoint.vocab
        config = model.config
        # The forward direction alone, as a one-way layer that carries its state between calls.
        self.rnn = nn.LSTM(config.embed_dim, config.hidden_size, batch_first=True)
        self.rnn.load_state_dict(model.encoder().direction_weights(reverse=False))
        self.rnn.eval()

    def words(self, text: str, count: int, scale_factor: float = DEFAULT_SCALE_FACTOR,
              generator: torch.Generator | None = None) -> Iterator[str]:
        """Up to ``count`` words that follow ``text``, one at a time."""
        ids = self.vocab.encode(text)[-MAX_WARM_WORDS:]
        if not ids:
            raise NothingToWriteOn("type a few words first: the language model writes on from them")
        if not scale_factor > 0:
            raise RnntuiError(f"the scale factor must be above 0, got {scale_factor}")
        with torch.no_grad():
            outputs, state = self.rnn(self.model.embedding(torch.tensor([ids])))
            hidden = outputs[:, -1]
            for _ in range(count):
                log_probs = self.model.log_probs(hidden)[0] * scale_factor
                log_probs[:2] = float("-inf")  # padding and the unknown word
                word = int(torch.multinomial(F.softmax(log_probs, dim=-1), 1, generator=generator))
                yield self.vocab.words[word]
                outputs, state = self.rnn(self.model.embedding(torch.tensor([[word]])), state)
                hidden = outputs[:, -1]
