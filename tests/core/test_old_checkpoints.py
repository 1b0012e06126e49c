"""Checkpoints written by an earlier rnntui load unchanged and behave as they did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def old(tmp_path):
    """A copy of the fixtures, so that nothing a command writes lands in the tests' folder."""
    target = tmp_path / "old"
    shutil.copytree(FIXTURES, target)
    return target


def test_an_old_text_model_generates_what_it_generated(old, capsys):
    code, out, err = run(capsys, "generate", "--checkpoint", str(old / "text-model.ckpt"),
                         "--seed-text", "the island", "--length", "40", "--random-seed", "3")
    assert code == 0, err
    assert out == "the island\n?G\nW!nletToBS!WCvrshEv\nDDHfB?FoB !FR\nGb\n"


def test_an_old_text_model_is_described(old, capsys):
    code, out, err = run(capsys, "info", str(old / "text-model.ckpt"))
    assert code == 0, err
    assert "3 steps" in out and "embedding 8" in out.lower()


def test_an_old_review_model_judges_as_it_did(old, capsys):
    code, out, err = run(capsys, "sentiment", "predict", "--checkpoint", str(old / "review-model.ckpt"),
                         "--json", "The film was great and the music wonderful")
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["probability_positive"] == pytest.approx(0.42058879137039185, abs=1e-6)
    assert (verdict["words"], verdict["unknown_words"]) == (8, 4)


def test_an_old_review_language_model_starts_a_classifier(old, capsys, reviews_file):
    out_path = old / "from-lm.ckpt"
    code, out, err = run(capsys, "sentiment", "train", "--data", str(reviews_file), "--from-lm",
                         str(old / "review-lm.ckpt"), "--fc-hidden", "8", "--batch-size", "8",
                         "--epochs", "1", "--out", str(out_path))
    assert code == 0, err
    code, out, err = run(capsys, "info", str(out_path))
    assert code == 0, err
    assert "review-lm.ckpt" in out  # the classifier names the language model it started from
