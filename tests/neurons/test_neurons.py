"""``rnntui.neurons`` and ``rnntui neurons``: on tiny models whose weights are set by hand so that
one unit is known to track a feature (a cell that is on between “ and ”; a review unit that adds
up the verdict's words), ``find`` must rank that unit first and ``ablate`` must show that it
matters more than random units; the reading itself must be ``nn.LSTM``'s maths."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rnntui.charlm.checkpoint import Checkpoint, save_checkpoint
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.vocab import Vocab
from rnntui.neurons import FEATURE_NAMES
from rnntui.neurons.ablate import ablate
from rnntui.neurons.activations import read
from rnntui.neurons.features import FEATURES, feature_values, target_mask
from rnntui.neurons.find import find_units
from rnntui.neurons.rank import correlations, rank_span
from rnntui.neurons.step import look_at_step
from tests.helpers import reviews_tarball, run

QUOTE_UNIT = 0


def quoted_text(n_chars: int = 3_000, seed: int = 0) -> str:
    """Made-up sentences of made-up words, some of them in “quotes”, some (in parentheses)."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(3, 9))]
        if rng.random() < 0.5:
            cut = rng.randrange(len(words))
            words[cut:] = ["\u201c" + " ".join(words[cut:]) + "\u201d"]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words) + 1), "(" + rng.choice("abc") + ")")
        sentence = " ".join(words) + rng.choice(".!?") + rng.choice([" ", "\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n_chars]


def quote_model(vocab: Vocab, hidden: int = 8, seed: int = 0) -> CharRNN:
    """An LSTM whose cell-state unit 0 is 1 from “ up to ” and 0 elsewhere (its closing quote
    resets it), and whose output layer predicts ” from it; the other units are random."""
    torch.manual_seed(seed)
    size = len(vocab)
    model = CharRNN(ModelConfig(vocab_size=size, embed_dim=size, hidden_size=hidden)).eval()
    opening, closing = vocab.char2int["\u201c"], vocab.char2int["\u201d"]
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(size))  # each character its own input
        rnn = model.rnn
        for weight in (rnn.weight_ih_l0, rnn.weight_hh_l0):
            weight.normal_(0.0, 0.3)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        i, f, g, o = (block * hidden + QUOTE_UNIT for block in range(4))
        for row in (i, f, g, o):
            rnn.weight_ih_l0[row] = 0.0
            rnn.weight_hh_l0[row] = 0.0
        rnn.bias_ih_l0[i], rnn.weight_ih_l0[i, opening] = -10.0, 20.0  # write only at “
        rnn.bias_ih_l0[f] = 10.0  # keep, but forget at “ and at ”
        rnn.weight_ih_l0[f, opening] = rnn.weight_ih_l0[f, closing] = -20.0
        rnn.bias_ih_l0[g] = rnn.bias_ih_l0[o] = 10.0  # write +1; show the cell
        model.fc.weight.normal_(0.0, 0.1)
        model.fc.bias.zero_()
        model.fc.weight[closing, QUOTE_UNIT], model.fc.bias[closing] = 8.0, -4.0
    return model


@pytest.fixture(scope="module")
def quotes():
    text = quoted_text()
    vocab = Vocab.from_text(text)
    return text, vocab, vocab.encode(text), quote_model(vocab)


# -- the features ----------------------------------------------------------------------------------

def test_each_feature_marks_the_characters_it_names():
    text = 'a “b c” (d (e)) "f" 2.\nGo'
    assert inside(text, "inside-quotes") == "“b c”\"f\""
    assert inside(text, "inside-parentheses") == "(d (e))"
    assert feature_values(text, "inside-parentheses")[text.index("e")] == 2
    assert inside(text, "digit") == "2" and inside(text, "vowel") == "aeo"
    assert inside(text, "word-start") == "abcdef2G"
    assert inside(text, "after-sentence-end") == "\nG"
    assert feature_values(text, "line-position")[-2:].tolist() == [0, 1]
    assert inside(text, "regex", r"\(\w") == "(d(e"
    marked = target_mask(text, "inside-quotes")
    assert "".join(c for c, on in zip(text, marked, strict=True) if on) == "”\""
    assert "".join(c for c, on in zip(text, target_mask(text, "line-position"), strict=True) if on) == "\n"
    assert tuple(FEATURES) == FEATURE_NAMES  # the parser's list is the engine's


def inside(text: str, name: str, pattern: str | None = None) -> str:
    return "".join(c for c, v in zip(text, feature_values(text, name, pattern), strict=True) if v > 0)


def test_correlations_are_pearsons_and_a_constant_unit_scores_zero():
    rng = np.random.default_rng(0)
    activations = torch.from_numpy(rng.normal(size=(500, 4)).astype(np.float32) + 3.0)
    feature = (rng.random(500) > 0.5).astype(np.float32)
    activations[:, 1] += torch.from_numpy(feature)
    activations[:, 3] = 2.0
    expected = [np.corrcoef(activations[:, k].numpy(), feature)[0, 1] for k in range(3)]
    found = correlations(activations, feature)
    assert np.allclose(found[:3].numpy(), expected, atol=1e-5) and found[3] == 0.0


# -- reading -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_reading_is_the_torch_modules_maths(cell):
    torch.manual_seed(1)
    model = CharRNN(ModelConfig(vocab_size=12, embed_dim=6, hidden_size=10, layers=2, cell=cell)).eval()
    ids = np.random.default_rng(0).integers(0, 12, size=200)
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(ids)[None])
        outputs, _ = model.rnn(model.embedding(torch.from_numpy(ids)[None]))
    reading = read(model, ids, losses=True, warmup=None)[0]
    expected = torch.nn.functional.cross_entropy(logits[0, :-1], torch.from_numpy(ids[1:]), reduction="none")
    assert torch.allclose(reading.hidden, outputs[0], atol=1e-5)
    assert torch.allclose(reading.losses, expected, atol=1e-5)
    assert (reading.cell is not None) == (cell == "lstm")


def test_the_cell_state_and_gates_are_the_lstms(quotes):
    text, vocab, ids, model = quotes
    reading = read(model, ids[:50], gates=True, warmup=None)[0]
    rnn = model.rnn
    with torch.no_grad():
        x = model.embedding.weight[int(ids[10])]
        a = rnn.weight_ih_l0 @ x + rnn.weight_hh_l0 @ reading.hidden[9] + rnn.bias_ih_l0 + rnn.bias_hh_l0
    i, f, g, o = a.chunk(4)
    assert torch.allclose(reading.gates["input"][10], i.sigmoid(), atol=1e-5)
    assert torch.allclose(reading.gates["forget"][10], f.sigmoid(), atol=1e-5)
    assert torch.allclose(reading.cell[10], f.sigmoid() * reading.cell[9] + i.sigmoid() * g.tanh(), atol=1e-5)
    assert torch.allclose(reading.hidden[10], o.sigmoid() * reading.cell[10].tanh(), atol=1e-5)


def test_parallel_streams_read_as_one_pass_does(quotes, monkeypatch):
    from rnntui.neurons import activations

    text, vocab, ids, model = quotes
    monkeypatch.setattr(activations, "STREAM_LENGTH", 500)  # 6 streams, each warmed on 200 characters
    assert activations.plan(len(ids), 200).streams == 6
    streamed, exact = read(model, ids, warmup=200)[0], read(model, ids, warmup=None)[0]
    assert torch.allclose(streamed.hidden, exact.hidden, atol=1e-4)
    assert torch.allclose(streamed.cell, exact.cell, atol=1e-4)


def test_a_clamped_unit_holds_its_value_and_the_others_read_on(quotes):
    text, vocab, ids, model = quotes
    free, held = read(model, ids[:300], [[], [3]], clamp_value=0.5, clamp_state="hidden", warmup=None)
    assert torch.all(held.hidden[:, 3] == 0.5) and not torch.all(free.hidden[:, 3] == 0.5)
    free, off = read(model, ids[:300], [[], [QUOTE_UNIT]], clamp_state="cell", warmup=None)
    assert torch.all(off.cell[:, QUOTE_UNIT] == 0) and torch.all(off.hidden[:, QUOTE_UNIT] == 0)
    assert free.cell[:, QUOTE_UNIT].max() > 0.9


def test_a_plain_rnn_step_shows_the_chapters_sum():
    torch.manual_seed(0)
    vocab = Vocab(tuple("abcdef"))
    model = CharRNN(ModelConfig(vocab_size=6, embed_dim=4, hidden_size=5, cell="rnn")).eval()
    ids = vocab.encode("abcfed")
    step = look_at_step(model, vocab, ids, 3, [1, 4])
    terms = step.sum_terms
    assert step.char == "f" and np.allclose(terms["tanh"], step.values["hidden"], atol=1e-6)
    assert np.allclose(np.add(np.add(terms["input"], terms["recurrent"]), terms["bias"]), terms["sum"], atol=1e-6)
    assert abs(sum(p for _, p in step.next_chars) - 1.0) < 0.35  # the five likeliest of six


# -- find and ablate on a unit known to track quotes ------------------------------------------------

def test_find_ranks_the_quote_unit_first(quotes):
    text, vocab, ids, model = quotes
    found = find_units(model, text, ids, "inside-quotes", top=3)
    assert found.ranked["cell"][0].unit == QUOTE_UNIT and found.ranked["cell"][0].score > 0.9
    assert found.ranked["hidden"][0].unit == QUOTE_UNIT
    assert all(abs(r.score) < found.ranked["cell"][0].score for r in found.ranked["cell"][1:])


def test_a_span_inside_quotes_selects_the_quote_unit(quotes):
    text, vocab, ids, model = quotes
    start = text.index("\u201c")
    end = text.index("\u201d", start)
    reading = read(model, ids[:2000], warmup=None)[0]
    assert rank_span(reading.cell, start + 1, end, 1)[0].unit == QUOTE_UNIT


def test_switching_the_quote_unit_off_hurts_closing_quotes_more_than_random_units(quotes):
    text, vocab, ids, model = quotes
    result = ablate(model, ids, [QUOTE_UNIT], target_mask(text, "inside-quotes"), random_count=5)
    change = result.clamped.feature - result.base.feature
    assert result.feature_characters == text.count("\u201d")
    assert change > 3.0  # the closing quote was foretold by the unit
    assert all(loss.feature - result.base.feature < change / 10 for loss in result.random)
    assert result.random_as_harmful == 0 and len({tuple(loss.units) for loss in result.random}) > 1


# -- the command line ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quote_files(quotes, tmp_path_factory):
    text, vocab, ids, model = quotes
    folder = tmp_path_factory.mktemp("neurons")
    checkpoint = folder / "quotes.ckpt"
    save_checkpoint(Checkpoint(model.config, vocab, model.state_dict()), checkpoint)
    text_file = folder / "text.txt"
    text_file.write_text(text, encoding="utf-8")
    return checkpoint, text_file


def test_cli_find_show_and_ablate(quote_files, capsys):
    checkpoint, text_file = quote_files
    common = ["--checkpoint", str(checkpoint), "--text-file", str(text_file)]
    code, out, _ = run(capsys, "neurons", "find", "--feature", "inside-quotes", *common, "--top", "2", "--json")
    found = json.loads(out)
    assert code == 0 and found["cell"][0]["unit"] == QUOTE_UNIT and len(found["hidden"]) == 2
    text = text_file.read_text(encoding="utf-8")
    start = text.index("\u201c")
    span = f"{start + 1}:{text.index(chr(0x201d), start)}"
    code, out, _ = run(capsys, "neurons", "find", "--span", span, *common, "--json")
    found = json.loads(out)
    assert code == 0 and found["measure"] == "selectivity" and found["cell"][0]["unit"] == QUOTE_UNIT
    code, out, _ = run(capsys, "neurons", "find", "--feature", "inside-quotes", *common)
    assert code == 0 and "cell state" in out and f"unit {QUOTE_UNIT:5d}" in out.splitlines()[3]
    code, out, _ = run(capsys, "neurons", "show", "--unit", "0", *common, "--chars", "300", "--json")
    shown = json.loads(out)
    assert code == 0 and len(shown["values"]) == len(shown["text"]) == 300 and shown["state"] == "cell"
    code, out, _ = run(capsys, "neurons", "show", "--unit", "0", *common, "--chars", "300", "--at", "5")
    lines = out.splitlines()
    first_line = shown["text"].split("\n")[0]
    levels = lines[lines.index(first_line) + 1]
    quoted = [level for char, level in zip(first_line, levels, strict=True) if char == "\u201c"]
    assert len(levels) == len(first_line) and all(level in "6789" for level in quoted or "9")
    assert "next character:" in out and "forget" in out
    code, out, _ = run(capsys, "neurons", "ablate", "--unit", "0", *common, "--random-sets", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["random_as_harmful"] == 0 and len(result["random"]) == 3
    assert result["clamped"]["feature"] > result["base"]["feature"] + 3
    code, out, _ = run(capsys, "neurons", "ablate", "--unit", "0", *common, "--random-sets", "2")
    assert code == 0 and "0 of 2 random sets" in out


def test_ablate_on_a_text_without_the_feature_s_characters_writes_valid_json(quote_files, capsys):
    """The text has no digits: the loss on them is no number, which JSON writes as null (json.dumps
    would write NaN, which strict parsers refuse) and the table as a dash."""
    checkpoint, text_file = quote_files
    argv = ["neurons", "ablate", "--unit", "0", "--feature", "digit", "--checkpoint", str(checkpoint),
            "--text-file", str(text_file), "--random-sets", "1"]
    code, out, _ = run(capsys, *argv, "--json")

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    result = json.loads(out, parse_constant=refuse)
    assert code == 0 and result["feature_characters"] == 0 and result["base"]["text"] > 0
    assert result["base"]["feature"] is None and result["random"][0]["feature"] is None
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "nan" not in out and "as trained" in out and "on the whole text" in out


@pytest.mark.parametrize("argv, message", [
    (["show", "--unit", "99"], "unit 99 does not exist: this model's units are 0 to 7"),
    (["find", "--regex", "(a"], "is not a valid regular expression"),
    (["find", "--feature", "regex"], "--feature regex needs --regex PATTERN"),
    (["find"], "choose what to track"),
    (["find", "--span", "5-9"], "is not START:END"),
    (["find", "--span", "5:999999"], "is not inside the text"),
    (["find", "--feature", "vowel", "--top", "0"], "--top must be at least 1"),
    (["find", "--feature", "digit"], "the feature does not vary over the text"),
    (["ablate", "--unit", "0", "--random-sets", "-1"], "--random-sets must be from 0 to 100"),
    (["show", "--unit", "0", "--at", "100000"], "--at 100000 is not in the text"),
    (["show", "--unit", "0", "--layer", "3"], "--layer 3 does not exist"),
    (["find", "--feature", "vowel", "--chars", "1"], "--chars must be at least 2"),
    (["find", "--feature", "vowel", "--threads", "0"], "--threads must be from 1 to 1,024"),
])
def test_cli_bad_input_is_one_line(quote_files, capsys, argv, message):
    checkpoint, text_file = quote_files
    code, _, err = run(capsys, "neurons", *argv, "--checkpoint", str(checkpoint), "--text-file", str(text_file))
    one_error_line(code, err, message)


def test_cli_needs_a_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "neurons")
    one_error_line(exit_.value.code, capsys.readouterr().err, "choose a command: find, show or ablate")


def test_cli_bad_text_is_one_line(quote_files, capsys, tmp_path):
    checkpoint, _ = quote_files
    empty, foreign = tmp_path / "empty.txt", tmp_path / "foreign.txt"
    empty.write_text("")
    foreign.write_text("xyz \u00e9")
    for path, message in [(empty, "is empty: there is no text to read"), (foreign, "character(s) the model never saw"),
                          (tmp_path / "none.txt", "does not exist")]:
        code, _, err = run(capsys, "neurons", "find", "--feature", "vowel", "--checkpoint", str(checkpoint),
                           "--text-file", str(path))
        one_error_line(code, err, message)


def one_error_line(code, err, match):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]


# -- the review model ---------------------------------------------------------------------------------

TONE = {"great": 1.0, "wonderful": 1.0, "loved": 1.0, "awful": -1.0, "boring": -1.0, "hated": -1.0}
NEUTRAL = "film plot actor scene story music camera ending".split()


def verdict_model(hidden: int = 4, seed: int = 0):
    """A bidirectional review LSTM whose forward unit 0 adds up the verdict's words (+1 for a
    word of praise, -1 for one of blame) and whose classifier reads that unit alone."""
    from rnntui.sentiment.model import SentimentConfig, SentimentRNN
    from rnntui.sentiment.tokens import PAD, UNK, WordVocab

    vocab = WordVocab((PAD, UNK, *TONE, *NEUTRAL))
    torch.manual_seed(seed)
    size = len(vocab)
    model = SentimentRNN(SentimentConfig(vocab_size=size, embed_dim=size, hidden_size=hidden, fc_hidden=2,
                                         bidirectional=True)).eval()
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(size))
        rnn = model.rnn
        i, f, g, o = (block * hidden for block in range(4))
        for row in (i, f, g, o):
            rnn.weight_ih_l0[row], rnn.weight_hh_l0[row] = 0.0, 0.0
            rnn.bias_ih_l0[row], rnn.bias_hh_l0[row] = 0.0, 0.0
        rnn.bias_ih_l0[i], rnn.bias_ih_l0[f], rnn.bias_ih_l0[o] = -10.0, 10.0, 10.0
        for word, sign in TONE.items():
            rnn.weight_ih_l0[i, vocab.index[word]] = 20.0
            rnn.weight_ih_l0[g, vocab.index[word]] = 5.0 * sign
        model.fc1.weight.zero_()
        model.fc1.bias.zero_()
        model.fc1.weight[0, 0], model.fc1.weight[1, 0] = 5.0, -5.0
        model.fc2.weight.copy_(torch.tensor([[1.0, -1.0]]))
        model.fc2.bias.zero_()
    return model, vocab


@pytest.fixture(scope="module")
def review_files(tmp_path_factory):
    from rnntui.sentiment.checkpoint import SentimentCheckpoint, save_sentiment_checkpoint

    folder = tmp_path_factory.mktemp("reviews")
    model, vocab = verdict_model()
    checkpoint = folder / "verdict.ckpt"
    save_sentiment_checkpoint(SentimentCheckpoint(model.config, vocab, model.state_dict()), checkpoint)
    return checkpoint, reviews_tarball(folder / "reviews.tar.gz", per_folder=100)


def test_the_verdict_unit_is_found_and_alone_classifies(review_files, capsys):
    checkpoint, data = review_files
    code, out, _ = run(capsys, "neurons", "find", "--checkpoint", str(checkpoint), "--data", str(data), "--json")
    answer = json.loads(out)
    assert code == 0 and answer["ranked"][0]["unit"] == 0 and answer["ranked"][0]["correlation"] > 0.9
    assert answer["best_single"]["unit"] == 0 and answer["best_single"]["accuracy"] == 1.0
    assert answer["model_accuracy"] == 1.0 and answer["all_units_accuracy"] >= 0.95
    assert answer["fit_reviews"] + answer["held_out_reviews"] == 40  # the validation fifth of 200
    code, out, _ = run(capsys, "neurons", "find", "--checkpoint", str(checkpoint), "--data", str(data))
    assert code == 0 and "the best unit alone: 0 (forward)" in out


def test_switching_the_verdict_unit_off_costs_accuracy_random_units_do_not(review_files, capsys):
    checkpoint, data = review_files
    code, out, _ = run(capsys, "neurons", "ablate", "--unit", "0", "--checkpoint", str(checkpoint), "--data",
                       str(data), "--random-sets", "4", "--json")
    result = json.loads(out)
    assert code == 0 and result["base"]["accuracy"] == 1.0 and result["clamped"]["accuracy"] <= 0.6
    assert all(loss["accuracy"] == 1.0 for loss in result["random"]) and result["random_as_harmful"] == 0


def test_show_a_review_unit_word_by_word(review_files, capsys):
    checkpoint, _ = review_files
    code, out, _ = run(capsys, "neurons", "show", "--unit", "0", "--checkpoint", str(checkpoint), "--review",
                       "film plot great music", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["words"] == ["film", "plot", "great", "music"]
    assert abs(shown["values"][0]) < 0.01 and shown["values"][2] > 0.5 and shown["probability_positive"][3] > 0.9
    code, out, _ = run(capsys, "neurons", "show", "--unit", "0", "--checkpoint", str(checkpoint), "--review",
                       "hated it")
    assert code == 0 and out.splitlines()[1].split()[0] == "1"  # the most negative level, on "hated"


@pytest.mark.parametrize("argv, message", [
    (["show", "--unit", "8"], "unit 8 does not exist: this model's units are 0 to 7"),
    (["show", "--unit", "1", "--review", "!!"], "the review is empty"),
    (["find", "--feature", "vowel"], "--feature is for a character model"),
    (["ablate", "--unit", "1", "--reviews", "0"], "--reviews must be at least 1"),
])
def test_review_bad_input_is_one_line(review_files, capsys, argv, message):
    checkpoint, data = review_files
    extra = ["--review", "good"] if argv[0] == "show" and "--review" not in argv else []
    code, _, err = run(capsys, "neurons", *argv, *extra, "--checkpoint", str(checkpoint), "--data", str(data))
    one_error_line(code, err, message)


def concat_verdict_model():
    """The verdict model read with concat pooling: its classifier reads forward unit 0's mean over
    the review (the summary's column 4H + 0) instead of its last state."""
    from dataclasses import replace

    from rnntui.sentiment.model import SentimentRNN

    model, vocab = verdict_model()
    pooled = SentimentRNN(replace(model.config, pooling="concat")).eval()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("fc1.")}
    pooled.load_state_dict(state, strict=False)
    units = 2 * model.config.hidden_size
    with torch.no_grad():
        pooled.fc1.weight.zero_()
        pooled.fc1.bias.zero_()
        pooled.fc1.weight[0, 2 * units], pooled.fc1.weight[1, 2 * units] = 20.0, -20.0
    return pooled, vocab


def test_a_concat_pooling_model_has_its_verdict_unit_found_and_switched_off(review_files, tmp_path, capsys):
    """Pooling (what a language model's start makes): a unit's summary is its last state, max and
    mean; the unit whose mean the classifier reads is found, alone classifies, and switched off
    costs accuracy where random units do not."""
    from rnntui.sentiment.checkpoint import SentimentCheckpoint, save_sentiment_checkpoint

    _, data = review_files
    model, vocab = concat_verdict_model()
    checkpoint = save_sentiment_checkpoint(SentimentCheckpoint(model.config, vocab, model.state_dict()),
                                           tmp_path / "pooled.ckpt")
    code, out, _ = run(capsys, "neurons", "find", "--checkpoint", str(checkpoint), "--data", str(data), "--json")
    answer = json.loads(out)
    assert code == 0 and answer["model_accuracy"] == 1.0
    top = answer["ranked"][0]
    assert top["unit"] == 0 and top["part"] in ("last", "max", "mean") and abs(top["correlation"]) > 0.8
    assert answer["best_single"]["unit"] == 0 and answer["best_single"]["accuracy"] == 1.0
    code, out, _ = run(capsys, "neurons", "find", "--checkpoint", str(checkpoint), "--data", str(data))
    assert code == 0 and out.splitlines()[2].split()[-1] == top["part"] and "the best unit alone: 0 (forward)" in out
    code, out, _ = run(capsys, "neurons", "ablate", "--unit", "0", "--checkpoint", str(checkpoint), "--data",
                       str(data), "--random-sets", "4", "--json")
    result = json.loads(out)
    assert code == 0 and result["base"]["accuracy"] == 1.0 and result["clamped"]["accuracy"] <= 0.6
    assert all(loss["accuracy"] == 1.0 for loss in result["random"])


def test_clamped_summaries_pool_as_the_model_does():
    """Nothing clamped, the hand-stepped reading gives the model's own summary and verdict."""
    from rnntui.neurons.sentiment import summaries
    from rnntui.sentiment.trainer import Encoded

    model, vocab = concat_verdict_model()
    data = Encoded([vocab.encode("film great plot"), vocab.encode("awful film"), vocab.encode("music")],
                   torch.tensor([1.0, 0.0, 1.0]))
    (plain, plain_logits), _ = summaries(model, data, [[], [3]])  # stepped by hand, the first set unclamped
    assert plain.shape == (3, 3 * 8)
    (own, own_logits), = summaries(model, data)
    assert torch.allclose(own, plain, atol=1e-5) and torch.allclose(own_logits, plain_logits, atol=1e-5)


# -- the page's script and the benchmark (slow: the bundled models read thousands of characters) ------

@pytest.mark.slow
def test_the_page_is_written_from_the_commands(tmp_path, monkeypatch, capsys):
    from tests.helpers import ROOT, run_script

    text = quoted_text(30_000, seed=3)
    corpus = tmp_path / "book.txt"
    corpus.write_text(text.replace(" ab ", " 1868 "), encoding="utf-8")  # digits, made up too
    data = reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=100)
    out = tmp_path / "page.md"
    code, stdout, _ = run_script(ROOT / "scripts" / "neurons_doc.py", "--corpus", corpus, "--data", data, "--out", out,
                                 monkeypatch=monkeypatch, capsys=capsys)
    page = out.read_text(encoding="utf-8")
    assert code == 0 and f"wrote {out}" in stdout
    assert page.count("rnntui neurons find --feature") == len(FEATURE_NAMES) and "--corpus book.txt" in page
    assert "rnntui neurons ablate --sentiment --unit" in page and "The sentiment-unit answer" in page
    assert str(tmp_path) not in page  # files are named, never where they are
    code, stdout, _ = run_script(ROOT / "benchmarks" / "neurons.py", "--corpus", corpus, "--chars", "2000",
                                 monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and "read and rank every unit for inside-quotes (s)" in stdout


# -- what the app's view adds: replies compared, the review's verdict word by word --------------------

def test_replies_with_the_units_on_are_the_samplers_and_the_quote_unit_off_never_closes_a_quote(quotes):
    from rnntui.charlm.sampling import Sampler, generate_text
    from rnntui.neurons.reply import compare_replies

    text, vocab, ids, model = quotes
    seed_text = "abc \u201cdef gh"  # inside a quotation: the quote unit predicts its closing quote
    found = compare_replies(model, vocab, seed_text, 60, [QUOTE_UNIT], "cell", scale_factor=1.0, random_seed=3)
    expected = generate_text(Sampler(model, vocab, 1.0, random_seed=3), seed_text, 60)[len(seed_text):]
    assert found.on == expected and len(found.off) == 60
    assert "\u201d" in found.on and "\u201d" not in found.off
    assert found.parted_at is not None and found.on[:found.parted_at] == found.off[:found.parted_at]
    same = compare_replies(model, vocab, seed_text, 30, [5], "hidden", value=0.0, scale_factor=1.0, random_seed=3)
    assert same.on == expected[:30]  # the same draws whatever is switched off


def test_the_review_trace_is_the_verdict_word_by_word_and_the_verdict_unit_follows_it():
    from rnntui.neurons.sentiment import review_trace
    from rnntui.sentiment.predict import Predictor

    model, vocab = verdict_model()
    review = "film great story awful boring scene loved ending great music"
    trace = review_trace(model, vocab, review, top=3)
    effects = Predictor(model, vocab).explain(review)
    assert trace.words == review.split() and trace.probabilities == [e.probability for e in effects]
    assert trace.activations.shape == (10, 8)
    assert trace.ranked[0].unit == 0 and trace.ranked[0].score > 0.9
    assert review_trace(model, vocab, "great", top=3).ranked == []  # one word: nothing to correlate with


def test_the_next_characters_with_the_quote_unit_off_lose_the_closing_quote(quotes):
    import re

    from rnntui.neurons.step import next_chars_with_units_off

    text, vocab, ids, model = quotes
    at = re.search("\u201c[^\u201d]{5,}", text).start() + 3  # well inside a quotation
    on = look_at_step(model, vocab, ids, at, [QUOTE_UNIT]).next_chars
    off = next_chars_with_units_off(model, vocab, ids, at, [QUOTE_UNIT], "cell")
    assert on[0][0] == "\u201d" and "\u201d" not in dict(off)
    assert next_chars_with_units_off(model, vocab, ids, at, [3], "cell")[0][0] == "\u201d"  # another unit: kept
