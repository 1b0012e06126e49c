import math

import pytest
import torch

from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.sampling import Sampler, generate_text, truncate
from rnntui.charlm.vocab import Vocab
from rnntui.core.errors import RnntuiError, SeedTextError

VOCAB = Vocab(tuple(sorted(set("The island is a rock.\nWho?"))))


def model(cell="lstm", layers=1, seed=0):
    torch.manual_seed(seed)
    return CharRNN(ModelConfig(len(VOCAB), 12, 24, layers=layers, cell=cell))


def test_scale_factor_sharpens_like_the_books_example():
    """The book: logits [1, 1, 3] give probabilities [0.106, 0.106, 0.787]; x2 sharpens,
    x0.5 flattens."""
    logits = torch.tensor([1.0, 1.0, 3.0])
    base = torch.softmax(logits, 0)
    assert base.tolist() == pytest.approx([0.1065, 0.1065, 0.7870], abs=1e-4)
    assert torch.softmax(logits * 2.0, 0)[2] > base[2] > torch.softmax(logits * 0.5, 0)[2]
    # And the sampler really samples from softmax(logits * scale_factor).
    m = model()
    for scale in (0.5, 1.0, 2.0):
        sampler = Sampler(m, VOCAB, scale, random_seed=1, candidates=len(VOCAB))
        first = next(sampler.stream("The", 1))
        with torch.inference_mode():
            logits, _ = m.eval()(torch.from_numpy(VOCAB.encode("The")).view(1, -1))
        expected = torch.softmax(logits[0, -1] * scale, 0)
        reported = {c: p for c, p in first.top}
        for char, p in reported.items():
            assert p == pytest.approx(expected[VOCAB.char2int[char]].item(), abs=1e-5)
        assert first.probability == pytest.approx(reported[first.char], abs=1e-6)


@pytest.mark.parametrize("cell, layers", [("lstm", 1), ("lstm", 2), ("gru", 1), ("rnn", 2)])
def test_fast_step_matches_the_model(cell, layers):
    """Character by character, the sampler's probabilities equal a full-sequence forward."""
    m = model(cell, layers)
    sampler = Sampler(m, VOCAB, 1.0, random_seed=3, candidates=len(VOCAB))
    text = "The is"
    produced = list(sampler.stream(text, 30))
    full = text + "".join(s.char for s in produced)
    with torch.inference_mode():
        logits, _ = m.eval()(torch.from_numpy(VOCAB.encode(full)).view(1, -1))
    probs = torch.softmax(logits[0], -1)
    for i, s in enumerate(produced):
        expected = probs[len(text) - 1 + i, VOCAB.char2int[s.char]].item()
        assert s.probability == pytest.approx(expected, abs=1e-5)


def test_same_seed_same_text_and_output_starts_with_seed():
    m = model()
    a = generate_text(Sampler(m, VOCAB, 1.0, random_seed=7), "The island", 200)
    b = generate_text(Sampler(m, VOCAB, 1.0, random_seed=7), "The island", 200)
    c = generate_text(Sampler(m, VOCAB, 1.0, random_seed=8), "The island", 200)
    assert a == b != c
    assert a.startswith("The island") and len(a) == len("The island") + 200


def test_one_character_seed_and_zero_length():
    sampler = Sampler(model(), VOCAB, 1.0, random_seed=1)
    assert len(generate_text(sampler, "T", 10)) == 11
    assert generate_text(sampler, "The", 0) == "The"


def test_scale_factor_changes_mid_stream():
    m = model()
    sampler = Sampler(m, VOCAB, 1.0, random_seed=1, candidates=3)
    stream = sampler.stream("The island", 50)
    before = [next(stream) for _ in range(5)]
    sampler.scale_factor = 1000.0
    after = [next(stream) for _ in range(20)]
    # An untrained model is near uniform at 1.0; at 1000 it is near greedy from the next
    # character on (ties between two near-equal logits aside).
    assert max(s.probability for s in before) < 0.2
    assert sum(s.probability for s in after) / len(after) > 0.8
    assert all(s.char in (s.top[0][0], s.top[1][0]) for s in after)


@pytest.mark.parametrize("cell, layers", [("lstm", 2), ("gru", 1)])
def test_resume_goes_on_as_if_the_stream_had_been_longer(cell, layers):
    m = model(cell, layers)
    whole = "".join(c.char for c in Sampler(m, VOCAB, 1.0, random_seed=5).stream("The", 80))
    sampler = Sampler(m, VOCAB, 1.0, random_seed=5)
    stream = sampler.stream("The", 500)
    first = "".join(next(stream).char for _ in range(50))  # stopped after 50, as escape does
    stream.close()
    assert first + "".join(c.char for c in sampler.resume(30)) == whole
    with pytest.raises(RnntuiError, match="nothing to continue"):
        Sampler(m, VOCAB).resume(10)


def test_errors():
    sampler = Sampler(model(), VOCAB, 1.0)
    with pytest.raises(SeedTextError, match="'é'"):
        list(sampler.stream("The é", 5))
    with pytest.raises(SeedTextError, match="empty"):
        list(sampler.stream("", 5))
    for bad in (0, -1, math.nan, math.inf, 1e6):
        with pytest.raises(RnntuiError, match="scale factor"):
            Sampler(model(), VOCAB, bad)


def test_sampler_copies_the_weights():
    m = model()
    sampler = Sampler(m, VOCAB, 1.0, random_seed=1)
    before = generate_text(sampler, "The", 40)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(1.0)
    sampler.generator.manual_seed(1)
    assert generate_text(sampler, "The", 40) == before


def test_truncate_keeps_the_top_k_and_the_nucleus_renormalised():
    # Binary fractions, so that the sums are exact; not in order: the kept ones are found by value.
    probs = torch.tensor([0.0625, 0.5, 0.1875, 0.25])
    assert truncate(probs).tolist() == probs.tolist()
    assert truncate(probs, top_k=1).tolist() == [0, 1, 0, 0]
    assert truncate(probs, top_k=2).tolist() == pytest.approx([0, 2 / 3, 0, 1 / 3])
    # top-p: the fewest most likely whose mass reaches p. 0.5 + 0.25 reaches 0.75; 0.76 needs a third.
    assert truncate(probs, top_p=0.75).tolist() == pytest.approx([0, 2 / 3, 0, 1 / 3])
    assert truncate(probs, top_p=0.76).tolist() == pytest.approx([0, 0.5 / 0.9375, 0.1875 / 0.9375, 0.25 / 0.9375])
    assert truncate(probs, top_p=0.01).tolist() == [0, 1, 0, 0]  # the most likely always stays
    assert truncate(probs, top_k=3, top_p=0.5).tolist() == [0, 1, 0, 0]  # both cuts apply
    assert truncate(probs, top_k=100).tolist() == pytest.approx(probs.tolist())


def full_model_probs(m, text: str, scale_factor: float) -> torch.Tensor:
    with torch.inference_mode():
        logits, _ = m.eval()(torch.from_numpy(VOCAB.encode(text)).view(1, -1))
    return torch.softmax(logits[0] * scale_factor, -1)


def test_top_k_one_is_greedy_whatever_the_random_seed():
    m = model()
    texts = {generate_text(Sampler(m, VOCAB, 1.0, random_seed=seed, top_k=1), "The", 40) for seed in range(4)}
    assert len(texts) == 1
    text = texts.pop()
    probs = full_model_probs(m, text, 1.0)
    for i in range(len("The"), len(text)):
        assert VOCAB.char2int[text[i]] == int(probs[i - 1].argmax())
    # Without the cut, the same seeds give different texts (the untrained model is near uniform).
    assert len({generate_text(Sampler(m, VOCAB, 1.0, random_seed=seed), "The", 40) for seed in range(4)}) == 4


@pytest.mark.parametrize("scale_factor, top_p", [(1.0, 0.3), (0.5, 0.6), (2.0, 0.9)])
def test_top_p_draws_only_from_the_nucleus(scale_factor, top_p):
    m = model()
    sampler = Sampler(m, VOCAB, scale_factor, random_seed=2, candidates=len(VOCAB), top_p=top_p)
    produced = list(sampler.stream("The is", 60))
    text = "The is" + "".join(s.char for s in produced)
    probs = full_model_probs(m, text, scale_factor)
    outside = 0
    for i, sampled in enumerate(produced):
        expected = truncate(probs[len("The is") - 1 + i], top_p=top_p)
        char_id = VOCAB.char2int[sampled.char]
        assert expected[char_id] > 0, "drawn from outside the nucleus"
        # What the sampler reports is the distribution it drew from: the cut one.
        assert sampled.probability == pytest.approx(float(expected[char_id]), abs=1e-5)
        assert dict(sampled.top)[sampled.char] == pytest.approx(sampled.probability)
        outside += int((expected == 0).sum())
    assert outside > 0  # the cut did leave characters out


def test_top_k_and_top_p_change_mid_stream():
    sampler = Sampler(model(), VOCAB, 1.0, random_seed=1, candidates=3)
    stream = sampler.stream("The island", 50)
    before = [next(stream) for _ in range(10)]
    sampler.top_k = 1
    after = [next(stream) for _ in range(10)]
    assert max(s.probability for s in before) < 0.3  # near uniform
    assert all(s.probability == 1.0 and s.char == s.top[0][0] for s in after)


def test_top_k_and_top_p_errors():
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(RnntuiError, match="top-k"):
            Sampler(model(), VOCAB, top_k=bad)
    for bad in (0, -0.1, 1.01, math.nan, "x"):
        with pytest.raises(RnntuiError, match="top-p"):
            Sampler(model(), VOCAB, top_p=bad)


def test_choose_picks_the_next_character_instead_of_drawing():
    m = model()
    shown_tops = []

    def second_best_then_draw(top):
        shown_tops.append(top)
        return top[1][0] if len(shown_tops) <= 5 else None

    sampler = Sampler(m, VOCAB, 1.0, random_seed=4, candidates=3)
    sampler.choose = second_best_then_draw
    produced = list(sampler.stream("The", 8))
    assert [s.char for s in produced[:5]] == [top[1][0] for top in shown_tops[:5]]
    # Each pick is fed back: the candidates offered next are the model's after the picked text.
    text = "The" + "".join(s.char for s in produced)
    probs = full_model_probs(m, text, 1.0)
    for i, top in enumerate(shown_tops):
        assert top[0][1] == pytest.approx(float(probs[len("The") - 1 + i].max()), abs=1e-5)
    # After the five picks, None: the model draws the last three itself.
    assert len(produced) == 8 and len(shown_tops) == 8
