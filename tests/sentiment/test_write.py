"""Writing a review on with the review language model (the reviews mode's ctrl+g): the words it
draws are those the language model's forward direction gives after the text, one at a time."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnntui.sentiment.pretrain.checkpoint import LMCheckpoint
from rnntui.sentiment.pretrain.model import ReviewLM, ReviewLMConfig
from rnntui.sentiment.pretrain.write import NothingToWriteOn, ReviewWriter
from rnntui.sentiment.tokens import WordVocab

WORDS = WordVocab(("<pad>", "<unk>", *"the film was great awful plot acting music story not".split()))


def lm(softmax: str = "adaptive", bidirectional: bool = True, seed: int = 0) -> LMCheckpoint:
    torch.manual_seed(seed)
    model = ReviewLM(ReviewLMConfig(vocab_size=len(WORDS), embed_dim=8, hidden_size=16, softmax=softmax,
                                    bidirectional=bidirectional))
    return LMCheckpoint(model.config, WORDS, model.state_dict())


@pytest.mark.parametrize("softmax, bidirectional", [("adaptive", True), ("full", False), ("tied", True)])
def test_each_word_is_drawn_from_the_forward_direction_after_all_before_it(softmax, bidirectional):
    checkpoint = lm(softmax, bidirectional)
    written = list(ReviewWriter(checkpoint).words("The film was", 12, scale_factor=1.5,
                                                  generator=torch.Generator().manual_seed(3)))
    # The same draws, each from a whole pass over the text and the words written so far.
    model, generator = checkpoint.build_model().eval(), torch.Generator().manual_seed(3)
    ids = WORDS.encode("The film was")
    with torch.no_grad():
        for word in written:
            outputs = model.encoder().one_direction(model.embedding(torch.tensor([ids])), reverse=False)
            log_probs = model.log_probs(outputs[:, -1])[0] * 1.5
            log_probs[:2] = float("-inf")
            expected = int(torch.multinomial(F.softmax(log_probs, dim=-1), 1, generator=generator))
            assert word == WORDS.words[expected]
            ids.append(expected)
    assert len(written) == 12


def test_padding_and_the_unknown_word_are_never_written():
    checkpoint = lm("full")
    checkpoint.model_state["head.bias"][:2] = 50.0  # by far the likeliest "words"
    written = list(ReviewWriter(checkpoint).words("the plot", 50, generator=torch.Generator().manual_seed(0)))
    assert len(written) == 50 and not {"<pad>", "<unk>"} & set(written)


def test_a_text_without_a_word_is_refused_and_a_text_of_unknown_words_is_not():
    writer = ReviewWriter(lm())
    for text in ("", "   ", "?!, ..."):
        with pytest.raises(NothingToWriteOn, match="type a few words first"):
            next(writer.words(text, 5))
    assert len(list(writer.words("zyzzyva quux", 5))) == 5  # unknown words still warm the state


def test_the_scale_factor_sharpens_the_draw():
    writer = ReviewWriter(lm())

    def distinct(scale_factor: float) -> int:
        return len(set(writer.words("the", 200, scale_factor, torch.Generator().manual_seed(1))))

    assert distinct(50.0) < distinct(0.5)
    with pytest.raises(Exception, match="above 0"):
        next(writer.words("the", 5, 0.0))
