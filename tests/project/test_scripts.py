"""The maintenance scripts in scripts/ and benchmarks/ that the docs' figures rely on.

Each runs in the test's own process, as ``python SCRIPT ...`` runs it (``runpy``, as
``__main__``): a process of its own would spend most of the test importing torch again."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

from rnntui.charlm.build import new_trainer, trainer_checkpoint
from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.charlm.trainer import TrainConfig
from tests.helpers import ROOT, TINY_MODEL, run_script

ENGLISH = """The boat was drawn up on the sand, and the two men walked along the shore towards the
rocks at the end of the bay. The wind had fallen in the night, and the sea was calm under a
grey sky. They had not eaten since the morning before, and they looked for shellfish among
the stones, but the tide was high and there were none to be found. At noon they reached a
stream that ran down from the hills, and they drank from it and rested in the shade of the
trees. Then they climbed the slope, for they wished to see the whole of the land from above,
and to know whether they were on an island or on the coast of some larger country.
"""


def tiny_run(corpus_file, tmp_path, steps: int, name: str, **model) -> Path:
    corpus = load_corpus(corpus_file)
    config = TrainConfig(steps=steps, batch_size=4, seq_length=8, eval_every=0, device="cpu", precision="fp32")
    trainer = new_trainer(corpus, config, **{**TINY_MODEL, **model})
    list(trainer.run())
    return save_checkpoint(trainer_checkpoint(trainer, corpus), tmp_path / name)




def average(*argv, monkeypatch, capsys) -> tuple[int, str, str]:
    return run_script(ROOT / "scripts" / "average_checkpoints.py", *argv, monkeypatch=monkeypatch, capsys=capsys)


def test_average_checkpoints_is_the_mean_of_the_weights(corpus_file, tmp_path, monkeypatch, capsys):
    a = tiny_run(corpus_file, tmp_path, 2, "a.ckpt")
    b = tiny_run(corpus_file, tmp_path, 5, "b.ckpt")
    code, _, err = average(tmp_path / "mean.ckpt", a, b, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    mean, first, last = (load_checkpoint(p) for p in (tmp_path / "mean.ckpt", a, b))
    for name, tensor in mean.model_state.items():
        assert torch.allclose(tensor, (first.model_state[name] + last.model_state[name]) / 2)
    assert mean.step == 5 and mean.optimizer_state is None
    assert mean.provenance["averaged"] == ["a.ckpt", "b.ckpt"]


def test_average_checkpoints_refuses_different_models(corpus_file, tmp_path, monkeypatch, capsys):
    a = tiny_run(corpus_file, tmp_path, 2, "a.ckpt")
    b = tiny_run(corpus_file, tmp_path, 2, "b.ckpt", hidden_size=24)
    code, _, err = average(tmp_path / "mean.ckpt", a, b, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "not the same model" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "mean.ckpt").exists()


def test_finetune_benchmark_prints_both_curves(tmp_path, monkeypatch, capsys):
    from rnntui.core.paths import bundled_model_path

    if not bundled_model_path().is_file():
        import pytest

        pytest.skip("no bundled model in this checkout")
    # Plain English, written for this test (not the README, whose characters change with it).
    text = tmp_path / "letters.txt"
    text.write_text(ENGLISH * 6, encoding="utf-8")
    code, out, err = run_script(ROOT / "benchmarks" / "finetune.py", "--corpus", text, "--steps", "2",
                                "--every", "1", "--lr", "0.005", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    rows = {line.split("|")[1].strip(): [float(cell) for cell in line.split("|")[2:5]]
            for line in out.splitlines() if line.startswith(("| fine-tuned", "| fresh"))}
    finetuned, fresh = rows["fine-tuned, lr 0.005"], rows["fresh, lr 0.005"]
    assert len(finetuned) == len(fresh) == 3  # steps 0, 1 and 2
    assert finetuned[0] < fresh[0] - 1.0  # the bundled model already knows English


def test_sampling_benchmark_counts_non_words_variety_and_loops(tmp_path, monkeypatch, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("sampling_benchmark", ROOT / "benchmarks" / "sampling.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    novel = {"the", "island", "was", "far"}
    result = benchmark.figures(["The island was far, the island was far.", "Thr island"], novel)
    # 10 words, one not in the novel; 4 and 2 distinct of 8 and 2; of the first text's five
    # 4-grams, "the island was far" comes back once.
    assert result["words"] == 10 and result["non_words"] == 10.0
    assert result["distinct"] == (100 * 4 / 8 + 100 * 2 / 2) / 2 and result["repeated"] == 20.0

    from rnntui.core.paths import bundled_model_path

    if not bundled_model_path().is_file():
        return
    novel_file = tmp_path / "novel.txt"
    novel_file.write_text(ROOT.joinpath("README.md").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run_script(ROOT / "benchmarks" / "sampling.py", "--corpus", novel_file, "--samples", "1",
                                "--length", "200", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(benchmark.SETTINGS)
    for row in rows[1:]:
        assert all(0 <= float(cell) <= 100 for cell in row[3:6]) and float(row[6].replace(",", "")) > 0


def test_streaming_benchmark_reports_a_run(tmp_path, monkeypatch, capsys):
    """One run of benchmarks/streaming.py, with Python's collector settings (the tuned ones would
    stay in this process)."""
    from rnntui.core.paths import bundled_model_path

    if not bundled_model_path().is_file():
        import pytest

        pytest.skip("no bundled model in this checkout")
    monkeypatch.setenv("RNNTUI_DATA_DIR", str(tmp_path))
    code, out, err = run_script(ROOT / "benchmarks" / "streaming.py", "--one", "default", "--seconds", "0.5",
                                monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["chars_s"] > 0 and result["collections"] >= 0 and result["longest_ms"] >= 0


def dynamic_eval(*argv, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["dynamic_eval.py", *map(str, argv)])
    runpy.run_path(str(ROOT / "benchmarks" / "dynamic_eval.py"), run_name="__main__")


def test_dynamic_eval_tunes_only_on_a_twin_of_the_training_text(corpus_file, tmp_path, monkeypatch, capsys):
    """--twin-text writes the training text (never the held-out tail) for a twin to train on, and
    --twin refuses a model trained on anything else, or of another architecture."""
    import pytest

    twin_text = tmp_path / "twin.txt"
    dynamic_eval("--corpus", corpus_file, "--twin-text", twin_text, monkeypatch=monkeypatch)
    whole = load_corpus(corpus_file).vocab.decode(load_corpus(corpus_file).ids)
    written = twin_text.read_text(encoding="utf-8")
    assert whole.startswith(written) and len(written) == len(whole) - round(len(whole) * 0.1)
    assert "rnntui train --corpus" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="exists; name a new file"):
        dynamic_eval("--corpus", corpus_file, "--twin-text", twin_text, monkeypatch=monkeypatch)
    assert twin_text.read_text(encoding="utf-8") == written

    other = tiny_run(corpus_file, tmp_path, 1, "other.ckpt")  # trained on the whole text, tail included
    with pytest.raises(SystemExit, match="was not trained on the training text"):
        dynamic_eval("--corpus", corpus_file, "--twin", other, monkeypatch=monkeypatch)
    small = tiny_run(twin_text, tmp_path, 1, "small.ckpt")
    with pytest.raises(SystemExit, match="is not the bundled model's architecture"):
        dynamic_eval("--corpus", corpus_file, "--twin", small, monkeypatch=monkeypatch)


def test_dynamic_eval_scores_every_mixture_of_two_rms_learners_from_their_losses():
    """The benchmark's third stage: every pair of the rms learners at 100-character segments (sgd's
    and other segment lengths left out), at each share, best first, each scored as the mixture of
    the two learners' losses on each character."""
    import itertools

    import numpy as np

    from rnntui.charlm.dynamic import mixture_loss

    bench = runpy.run_path(str(ROOT / "benchmarks" / "dynamic_eval.py"))
    single, rng = bench["single"], np.random.default_rng(1)
    rms = [single(0.0), single(1e-4), single(4e-4, 0.003), single(8e-4, 0.01)]
    singles = {config: rng.exponential(1.0, 200) for config in rms}
    singles[single(0.1, rule="sgd")] = np.zeros(200)  # would win every mixture if it were let in
    singles[single(2e-4, segment=50)] = np.zeros(200)
    pairs = bench["pair_grid"](singles)
    assert len(pairs) == 6 * len(bench["SHARES"])
    assert [loss for loss, _ in pairs] == sorted(loss for loss, _ in pairs)
    expected = min(mixture_loss([singles[a], singles[b]], share)
                   for a, b in itertools.combinations(rms, 2) for share in bench["SHARES"])
    best_loss, best = pairs[0]
    assert best_loss == expected and best.rule == "rms" and best.segment == 100 and len(best.lrs) == 2
    found = {config.learners()[0]: losses for config, losses in singles.items()}
    assert best_loss == mixture_loss([found[learner] for learner in best.learners()], best.share)


def test_dynamic_eval_writes_its_tables_below_the_docs_own_text(tmp_path):
    """--out docs/dynamic-evaluation.md rewrites only what follows the page's marker line: the
    page as committed is its own text and then the report, as the script writes them; a file
    without the marker is not the script's to write over."""
    import pytest

    bench = runpy.run_path(str(ROOT / "benchmarks" / "dynamic_eval.py"))
    write_report, marker = bench["write_report"], bench["REPORT_MARKER"]
    committed = (ROOT / "docs" / "dynamic-evaluation.md").read_text(encoding="utf-8")
    head, report = committed.split(marker + "\n\n")
    assert "## Every figure" in head and report.startswith("Bundled model (step 16,000)")
    page = tmp_path / "dynamic-evaluation.md"
    page.write_text(head + marker + "\n\nan older report\n", encoding="utf-8")
    write_report(page, report.removesuffix("\n"))
    assert page.read_text(encoding="utf-8") == committed

    new = tmp_path / "new.md"
    write_report(new, "| a | table |")
    assert new.read_text(encoding="utf-8") == "| a | table |\n"
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="has no line"):
        write_report(notes, "| a | table |")
    assert notes.read_text(encoding="utf-8") == "my notes\n"


def test_the_pretraining_benchmark_measures_each_softmax(monkeypatch, capsys):
    code, out, err = run_script(ROOT / "benchmarks" / "pretrain.py", "--sizes", "4x8", "--words", "300", "--length",
                                "12", "--batch-size", "4", "--steps", "1", monkeypatch=monkeypatch, capsys=capsys)
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("4x8")]
    assert code == 0, err
    assert [row[1] for row in rows] == ["adaptive", "full", "tied"] and rows[1][3] == "1.00x"
    assert all(float(row[2].replace(",", "")) > 0 for row in rows)


def test_the_short_reviews_benchmark_counts_a_models_verdicts(monkeypatch, capsys):
    from rnntui.core.paths import bundled_sentiment_model_path
    from tests.sentiment.short_reviews import SHORT_REVIEWS

    if not bundled_sentiment_model_path().is_file():
        pytest.skip("no bundled sentiment model")
    code, out, err = run_script(ROOT / "benchmarks" / "short_reviews.py", monkeypatch=monkeypatch, capsys=capsys)
    first = out.splitlines()[0]
    wrong = [line for line in out.splitlines()[1:] if line.startswith("  0.")]
    assert code == 0, err
    assert first.startswith("imdb-sentiment.ckpt: ") and f"{len(SHORT_REVIEWS) - len(wrong)} of 24 right" in first
    assert sum(label for _, label in SHORT_REVIEWS) == 12
