"""Dynamic evaluation: a copy of the model adapts to the text as it reads it, each segment
predicted before it is learnt from; and generation that adapts to its seed text."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.dynamic import (
    SEED_TEXT_CONFIG,
    Adapter,
    DynamicConfig,
    Mixture,
    adapted_copy,
    dynamic_loss,
    mixture_loss,
)
from rnntui.charlm.evaluate import evaluate_ids
from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.vocab import Vocab
from tests.helpers import TINY, run

# A text the small model below has not learnt, with a strong pattern to adapt to.
PATTERN = "abcab cabba " * 40
VOCAB = Vocab.from_text(PATTERN + "xyz")


def small_model(seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(ModelConfig(len(VOCAB), 8, 24))


def ids(text: str) -> np.ndarray:
    return VOCAB.encode(text)


@pytest.mark.parametrize("rule, lrs", [("sgd", (0.5,)), ("rms", (3e-3,)), ("rms", (1e-3, 3e-3))])
def test_dynamic_loss_is_below_the_static_loss_on_a_repetitive_text(rule, lrs):
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    static, _ = evaluate_ids(model, ids(PATTERN))
    config = DynamicConfig(rule=rule, lrs=lrs, decays=(0.0,), segment=20, stats_chars=200)
    result = dynamic_loss(model, ids(PATTERN), config, train_ids=ids(PATTERN[:300]))
    assert result.characters == len(PATTERN) - 1
    assert result.loss < static - 0.3, (result.loss, static)
    # The model given is left as it was: the adaptation happens on a copy.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_each_segment_is_predicted_before_it_is_learnt_from():
    """One segment as long as the text: nothing is learnt before every character is predicted,
    so the dynamic loss is the static one exactly. With shorter segments only the first one is."""
    model = small_model()
    text = ids(PATTERN[:200])
    static, _ = evaluate_ids(model, text)
    config = DynamicConfig(rule="sgd", lrs=(0.5,), segment=len(text))
    assert dynamic_loss(model, text, config).loss == pytest.approx(static, abs=1e-6)
    first, _ = evaluate_ids(model, text[:21])
    adapter = Adapter(model, DynamicConfig(rule="sgd", lrs=(0.5,), segment=20))
    total, count = adapter.read(torch.from_numpy(text[:21].astype(np.int64)))
    assert total / count == pytest.approx(first, abs=1e-6)


def test_the_rms_rule_scales_each_step_and_decays_toward_the_trained_weights():
    """θ ← θ − lr · g / (√MS + ε) + λ · r ⊙ (θ₀ − θ), with r = √MS / mean(√MS) at most 1/λ (the
    pull back is not scaled by lr, as in Krause et al.'s paper and code)."""
    model = small_model()
    params = list(model.parameters())
    statistics = [torch.full_like(p, 2.0) for p in params]
    statistics[0] = torch.full_like(params[0], 8.0)  # the embedding's typical gradient is larger
    decay = 0.2
    config = DynamicConfig(rule="rms", lrs=(0.1,), decays=(decay,), eps=0.0)
    learner = Adapter(model, config, statistics=statistics).learners[0]
    trained = [p.detach().clone() for p in learner.params]
    with torch.no_grad():
        for p in learner.params:
            p.add_(1.0)  # displaced by 1 from the trained weights
    grads = [torch.full_like(p, 4.0) for p in learner.params]
    learner._update(grads)
    mean = torch.cat([s.flatten() for s in statistics]).mean()
    for p, theta0, stat in zip(learner.params, trained, statistics, strict=True):
        r = min(float(stat.flatten()[0] / mean), 1 / decay)
        expected = 1.0 - 0.1 * 4.0 / float(stat.flatten()[0]) - 0.2 * r * 1.0
        assert torch.allclose(p.detach() - theta0, torch.full_like(p, expected), atol=1e-6)


def test_the_mixture_weights_each_learner_by_how_well_it_has_predicted():
    rng = np.random.default_rng(0)
    a, b = rng.exponential(1.0, 300), rng.exponential(1.3, 300)
    # Without sharing, the mixture is a Bayesian one: its total is the log of the two learners'
    # likelihoods of the whole text, averaged, so it is never worse than the better one by more
    # than log 2 in all.
    bayes = mixture_loss([a, b], share=0.0) * len(a)
    assert bayes == pytest.approx(-np.logaddexp(-a.sum(), -b.sum()) + np.log(2), rel=1e-9)
    assert bayes <= min(a.sum(), b.sum()) + np.log(2) + 1e-9
    # Sharing all of the weight again after each character: each one an even mix.
    even = -np.logaddexp(-a, -b) + np.log(2)
    assert mixture_loss([a, b], share=1.0) == pytest.approx(even.mean(), rel=1e-9)
    # Read in pieces, it carries its weights from one piece to the next.
    mixture = Mixture(2, 0.1)
    pieces = mixture.add([a[:120].tolist(), b[:120].tolist()]) + mixture.add([a[120:].tolist(), b[120:].tolist()])
    assert pieces / len(a) == pytest.approx(mixture_loss([a, b], 0.1), rel=1e-12)
    # A learner that predicts far better gets almost all of the weight.
    assert mixture_loss([a, a + 5.0], share=0.0) == pytest.approx(a.mean(), abs=np.log(2) / len(a) + 1e-9)


def test_learners_read_side_by_side_without_affecting_each_other():
    """A mixture's learners are the single learners at their rates, and its loss is the mixture of
    their losses on each character: what lets the benchmark score mixtures from single runs. A
    learner at rate 0 is the trained model, as it is."""
    model = small_model()
    text = ids(PATTERN[:300])
    static, _ = evaluate_ids(model, text)
    mixed = DynamicConfig(rule="sgd", lrs=(0.0, 0.5), share=0.1, segment=20)
    result = dynamic_loss(model, text, mixed, keep_char_losses=True)
    assert result.learner_losses[0] == pytest.approx(static, abs=1e-6)
    alone = dynamic_loss(model, text, DynamicConfig(rule="sgd", lrs=(0.5,), segment=20), keep_char_losses=True)
    assert np.allclose(result.char_losses[1], alone.char_losses[0], atol=1e-6)
    assert result.learner_losses[1] == pytest.approx(alone.loss, abs=1e-6)
    assert result.loss == pytest.approx(mixture_loss(result.char_losses, 0.1), abs=1e-9)
    assert result.loss < static - 0.3


@pytest.mark.parametrize("lrs", [(0.0, 0.5), (0.5, 0.0)])
def test_an_adapted_copy_is_the_learner_that_read_its_text_best(lrs):
    model = small_model()
    adapted = adapted_copy(model, ids(PATTERN[:360]), DynamicConfig(rule="sgd", lrs=lrs, segment=20))
    # The learner at rate 0 is the model as it is; the other has learnt the pattern and wins.
    assert any(not torch.equal(a, b) for a, b in zip(adapted.state_dict().values(),
                                                     model.state_dict().values(), strict=True))


def test_adapting_to_a_seed_text_makes_its_continuation_more_likely():
    model = small_model()
    seed, continuation = PATTERN[:360], PATTERN[360:480]
    config = DynamicConfig(rule="sgd", lrs=(0.5,), segment=20)
    adapted = adapted_copy(model, ids(seed), config)
    # The continuation's loss after reading the seed text, with and without adapting to it.
    before, _ = evaluate_ids(model, ids(seed + continuation)[len(seed) - 1:])
    after, _ = evaluate_ids(adapted, ids(seed + continuation)[len(seed) - 1:])
    assert after < before - 0.3


@pytest.mark.parametrize("argv, match", [
    (["--dynamic-lr", "-1"], "learning rate must be from 0 to 10"),
    (["--dynamic-lr", "nan"], "learning rate must be from 0 to 10"),
    (["--dynamic-lr", "1e-4", "1e-4", "1e-4", "1e-4", "1e-4"], "from 1 to 4 learning rates"),
    (["--segment", "0"], "segment must be from 1"),
    (["--dynamic-decay", "1"], "decay must be in [0, 1)"),
    (["--dynamic-lr", "1e-4", "2e-4", "--dynamic-decay", "0", "0", "0"], "one decay, or one per learning rate (2)"),
    (["--dynamic-share", "1.5"], "mixing share must be in [0, 1]"),
])
def test_bad_settings_are_one_line(capsys, argv, match, tmp_path):
    for command in (["evaluate", "--dynamic"], ["generate", "--adapt"]):
        code, _, err = run(capsys, *command, *argv)
        assert code == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err, err


@pytest.fixture
def trained(capsys, corpus_file, tmp_path):
    out = tmp_path / "d.ckpt"
    code, _, _ = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "30", "--out", str(out), *TINY)
    assert code == 0
    return out


def test_evaluate_dynamic_reports_both_and_leaves_the_checkpoint_alone(capsys, trained, corpus_file):
    before = trained.read_bytes()
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(corpus_file),
                       "--dynamic", "--dynamic-rule", "sgd", "--dynamic-lr", "0.05", "--json")
    assert code == 0
    result = json.loads(out)
    dynamic = result["dynamic"]
    assert dynamic["characters"] == result["characters"] and dynamic["rule"] == "sgd"
    assert dynamic["described"].startswith("SGD at lr 0.05")
    assert dynamic["lrs"] == [0.05] and dynamic["segment"] == 100 and len(dynamic["learner_losses"]) == 1
    assert dynamic["bits_per_char"] == pytest.approx(dynamic["val_loss"] / np.log(2))
    assert dynamic["val_loss"] < result["val_loss"]
    assert trained.read_bytes() == before
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(corpus_file), "--dynamic")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("validation loss ") and "bits/char" in lines[0]
    assert lines[1].startswith("dynamic evaluation ") and "RMS rule (Krause et al. 2018)" in lines[1]
    assert "the checkpoint is unchanged" in lines[1]
    assert lines[2].startswith("each learner alone: lr 5e-05: ")  # the default mixes two
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(corpus_file), "--dynamic",
                       "--dynamic-rule", "sgd", "--dynamic-lr", "0", "0.05", "--dynamic-share", "0.5", "--json")
    dynamic = json.loads(out)["dynamic"]
    assert code == 0 and dynamic["lrs"] == [0.0, 0.05] and dynamic["share"] == 0.5
    assert "mixed by how well each predicts (share 0.5)" in dynamic["described"]
    assert dynamic["learner_losses"][0] == pytest.approx(json.loads(out)["val_loss"], abs=1e-5)


def test_generate_adapt_is_repeatable_and_changes_what_is_written(capsys, trained, corpus_file, tmp_path):
    seed = tmp_path / "seed.txt"
    seed.write_text(corpus_file.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    common = ["generate", "--checkpoint", str(trained), "--seed-file", str(seed), "--length", "80",
              "--random-seed", "3"]
    first = run(capsys, *common, "--adapt")
    again = run(capsys, *common, "--adapt")
    plain = run(capsys, *common)
    assert first[0] == again[0] == plain[0] == 0
    assert first[1] == again[1] and first[1] != plain[1]
    assert first[1].startswith(seed.read_text(encoding="utf-8"))
    assert load_checkpoint(trained).step == 30


def test_the_apps_adapting_sampler_works_on_a_copy(corpus_file, tmp_path):
    from rnntui.charlm.session import Session
    from rnntui.charlm.trainer import TrainConfig
    from tests.helpers import TINY_MODEL

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu"), TINY_MODEL)
    session.open(corpus=corpus_file)
    before = {k: v.clone() for k, v in session.model.state_dict().items()}
    text = corpus_file.read_text(encoding="utf-8")[:600]
    plain = session.sampler(1.0, random_seed=1)
    adapted = session.sampler(1.0, random_seed=1, adapt_to=text)
    assert any(not torch.equal(a, b) for a, b in zip(plain.model.state_dict().values(),
                                                     adapted.model.state_dict().values(), strict=True))
    assert all(torch.equal(before[k], v) for k, v in session.model.state_dict().items())
    assert session._dynamic_statistics is not None  # gathered once, from the training text, then kept


def test_the_defaults_are_the_setting_the_benchmark_chose():
    """docs/dynamic-evaluation.md (benchmarks/dynamic_eval.py) names the setting its tuning chose;
    rnntui's defaults are set to it by hand, and must not drift from it."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "dynamic-evaluation.md").read_text(encoding="utf-8")
    chosen = re.search(r"^Chosen: (.*?)\. rnntui's defaults", doc, re.M)
    assert chosen is not None and chosen.group(1) == DynamicConfig().describe()
    sgd = DynamicConfig(rule="sgd", lrs=(DynamicConfig.SGD_LR,)).describe()
    assert f"| dynamic, {sgd} |" in doc  # the sgd rule's default rate is its best in the same tuning
    seed_text = re.search(r"^Chosen for seed texts: (.*?)\. rnntui's", doc, re.M)
    assert seed_text is not None and seed_text.group(1) == SEED_TEXT_CONFIG.describe()


def test_generate_adapts_with_the_seed_text_setting_and_evaluate_with_the_mixture():
    from rnntui.cli.common import dynamic_config
    from rnntui.cli.parser import build_parser

    parser = build_parser()
    assert dynamic_config(parser.parse_args(["evaluate", "--dynamic"])) == DynamicConfig()
    adapt = parser.parse_args(["generate", "--adapt"])
    assert dynamic_config(adapt) == SEED_TEXT_CONFIG
    own = dynamic_config(parser.parse_args(["generate", "--adapt", "--dynamic-lr", "3e-4"]))
    assert own.lrs == (3e-4,) and own.decays == (0.0,)  # rates of your own: no decay unless given
