"""What a checkpoint records about how it was made, and how ``rnntui info`` words it: the chain
of commands of a resumed model, its wall time, a sentiment model's test accuracy."""

from __future__ import annotations

import json

import pytest

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.core.info import made_lines
from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
from tests.helpers import SMALL, TINY, reviews_tarball, run


def as_typed(monkeypatch, capsys, *argv):
    """Run ``rnntui ARGV`` as a person types it (the record keeps the command line)."""
    monkeypatch.setattr("sys.argv", ["/usr/bin/rnntui", *argv])
    return run(capsys, *argv)


def info_line(capsys, path, label: str) -> str:
    code, out, _ = run(capsys, "info", str(path))
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith(label + ":"))


def test_info_of_a_resumed_model_shows_every_run_s_command(monkeypatch, capsys, corpus_file, tmp_path):
    out = tmp_path / "m.ckpt"
    first = ["train", "--corpus", str(corpus_file), "--steps", "4", "--out", str(out), *TINY]
    second = ["train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "6", "--lr", "0.002"]
    third = ["train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "7", "--json"]
    for argv in (first, second, third):
        assert as_typed(monkeypatch, capsys, *argv)[0] == 0
    chain = " && ".join("rnntui " + " ".join(argv) for argv in (first, second, third))
    assert load_checkpoint(out).provenance["command"] == chain
    assert info_line(capsys, out, "command") == f"command:     {chain}"


@pytest.fixture
def reviews(tmp_path):
    return reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=40)


def test_sentiment_train_test_measures_prints_and_records_the_test_accuracy(monkeypatch, capsys, reviews, tmp_path):
    out = tmp_path / "s.ckpt"
    code, stdout, _ = run(capsys, "sentiment", "train", "--data", str(reviews), "--epochs", "3", "--out", str(out),
                          "--test", *SMALL)
    assert code == 0
    code, evaluated, _ = run(capsys, "sentiment", "evaluate", "--checkpoint", str(out), "--data", str(reviews),
                             "--json")
    measured = json.loads(evaluated)
    assert f"test accuracy {measured['test_accuracy']:.4f}, loss {measured['test_loss']:.4f} on the 80 test " \
           f"reviews (step 12); recorded in {out}" in stdout
    provenance = load_sentiment_checkpoint(out).provenance
    assert provenance["test_accuracy"] == pytest.approx(measured["test_accuracy"])
    assert provenance["test_loss"] == pytest.approx(measured["test_loss"])
    assert provenance["test_reviews"] == 80
    assert info_line(capsys, out, "test") == f"test:        accuracy {measured['test_accuracy']:.4f} on 80 test reviews"
    code, stdout, _ = run(capsys, "sentiment", "train", "--data", str(reviews), "--resume", str(out), "--epochs", "4",
                          "--test", "--json")
    last = json.loads(stdout.splitlines()[-1])
    assert code == 0 and last["reviews"] == 80 and last["step"] == 16
    assert load_sentiment_checkpoint(out).provenance["test_accuracy"] == pytest.approx(last["test_accuracy"])
    # Without --test, a resumed model's old figure is not kept: it measured other weights.
    run(capsys, "sentiment", "train", "--data", str(reviews), "--resume", str(out), "--epochs", "5")
    assert "test_accuracy" not in load_sentiment_checkpoint(out).provenance


def test_a_resumed_sentiment_model_keeps_its_chain_and_adds_up_its_wall_time(monkeypatch, capsys, reviews, tmp_path):
    out = tmp_path / "s.ckpt"
    first = ["sentiment", "train", "--data", str(reviews), "--epochs", "1", "--out", str(out), *SMALL]
    second = ["sentiment", "train", "--data", str(reviews), "--resume", str(out), "--epochs", "2"]
    code, said, _ = as_typed(monkeypatch, capsys, *first)
    assert code == 0 and "(1 epoch of 4 steps)" in said
    assert "(1 epoch set)" in info_line(capsys, out, "training")
    once = load_sentiment_checkpoint(out)
    assert as_typed(monkeypatch, capsys, *second)[0] == 0
    twice = load_sentiment_checkpoint(out)
    assert twice.provenance["command"] == "rnntui " + " ".join(first) + " && rnntui " + " ".join(second)
    assert twice.provenance["wall_time_s"] >= once.provenance["wall_time_s"]
    assert twice.provenance["wall_time_s"] >= twice.elapsed - 0.1  # training time is part of the wall time
    assert "(2 epochs set)" in info_line(capsys, out, "training")


def test_wall_time_is_written_as_the_training_time_is():
    made = dict(made_lines({"machine": "AMD EPYC", "wall_time_s": 290.0}, training_seconds=255.0))
    assert made["made on"] == "AMD EPYC, 0:04:50 of wall time"
    # A record written before resumed runs added up their wall time holds the last run's only.
    made = dict(made_lines({"machine": "AMD EPYC", "wall_time_s": 180.0}, training_seconds=255.0))
    assert made["made on"] == "AMD EPYC, 0:03:00 of wall time in its last run"
    # A record that chains its runs chained their wall times too: it is every run's, whatever the
    # training time says (a run killed between two saves loses a little of each).
    chained = {"machine": "AMD EPYC", "wall_time_s": 250.0, "command": "rnntui sentiment pretrain && rnntui "
               "sentiment pretrain --resume lm.ckpt"}
    assert dict(made_lines(chained, training_seconds=255.0))["made on"] == "AMD EPYC, 0:04:10 of wall time"


def test_the_metrics_file_is_flushed_at_least_once_a_second(tmp_path, monkeypatch):
    """rnntui watch follows the file: a run that estimates validation loss rarely (or never)
    still writes its steps out within a second, not only on evaluation steps."""
    import argparse
    import types

    from rnntui.charlm.trainer import TrainEvent
    from rnntui.cli import report as cli

    clock = [100.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])
    trainer = types.SimpleNamespace(config=types.SimpleNamespace(steps=10), step=0, dist=types.SimpleNamespace(
        world_size=1), model=types.SimpleNamespace(config=types.SimpleNamespace(cell="lstm")), device="cpu",
        precision="fp32", stop=lambda: None)
    args = argparse.Namespace(json=True, log_every=10, seed_text="The", top_k=0, top_p=1.0, scale_factor=1.0)
    out = tmp_path / "w.ckpt"
    metrics = tmp_path / "w.ckpt.metrics.jsonl"
    with cli.Reporter(args, trainer, out) as report:
        report.event(TrainEvent(step=1, total_steps=10, train_loss=2.0, val_loss=None, chars_per_s=100.0,
                                elapsed=0.1, lr=0.005))
        assert metrics.read_text() == ""  # buffered: less than a second since the last write out
        clock[0] += 1.5
        report.event(TrainEvent(step=2, total_steps=10, train_loss=1.9, val_loss=None, chars_per_s=100.0,
                                elapsed=0.2, lr=0.005))
        assert metrics.read_text().count("\n") == 2  # both steps are on disk for a watcher


@pytest.mark.parametrize("program, recorded", [
    ("/usr/bin/rnntui", "rnntui sentiment train --epochs 2"),
    ("/home/me/src/rnntui/__main__.py", "rnntui sentiment train --epochs 2"),  # python -m rnntui
    ("/home/me/train.py", "/home/me/train.py sentiment train --epochs 2"),
])
def test_the_record_names_the_command_as_it_was_run(monkeypatch, program, recorded):
    from rnntui.cli.run import command_line

    monkeypatch.setattr("sys.argv", [program, "sentiment", "train", "--epochs", "2"])
    assert command_line() == recorded
