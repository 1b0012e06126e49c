"""``rnntui sentiment pretrain`` and ``rnntui sentiment train --from-lm`` from the command line, on
made-up reviews: a classifier starts from the language model's layers, and a language model
that does not fit is refused in one line."""

from __future__ import annotations

import json

import pytest
import torch

from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
from rnntui.sentiment.model import SentimentConfig, SentimentRNN
from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint
from rnntui.sentiment.trainer import SentimentTrainConfig, frozen_layers, group_lrs, make_optimizer
from tests.helpers import TINY_REVIEW_LM as LM_SMALL
from tests.helpers import one_error_line, reviews_tarball, run

CLASSIFIER = ["--fc-hidden", "16", "--batch-size", "16", "--lr", "0.01"]


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    """One epoch (12 steps) of a tiny language model of 180 made-up reviews, both ways."""
    from rnntui.cli import main

    folder = tmp_path_factory.mktemp("from-lm")
    data = reviews_tarball(folder / "reviews.tar.gz", per_folder=50, unlabelled=120)
    out = folder / "lm.ckpt"
    assert main(["sentiment", "pretrain", "--data", str(data), "--out", str(out), *LM_SMALL]) == 0
    return out, data


def test_pretrain_reports_perplexity_and_resumes_to_more_epochs(language_model, tmp_path, capsys):
    out, data = language_model
    metrics = [json.loads(line) for line in out.with_name("lm.ckpt.metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, 13))
    assert [m["step"] for m in metrics if m["val_perplexity"] is not None] == [5, 10, 12]
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(out.read_bytes())
    code, stdout, _ = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(copy),
                          "--epochs", "2")
    assert code == 0 and "from step 12 to 24" in stdout and load_lm_checkpoint(copy).step == 24
    # The record keeps the first run's command before the resume's (rnntui info shows the chain).
    first, resumed = load_lm_checkpoint(out).provenance, load_lm_checkpoint(copy).provenance
    assert resumed["command"] == f"{first['command']} && {first['command']}"
    assert resumed["wall_time_s"] >= first["wall_time_s"]  # added up (a quick run may round to 0.0 s)
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(copy), "--epochs", "3",
                       "--hidden-size", "8")
    one_error_line(code, err, "fixed once trained: drop --hidden-size")
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(copy), "--epochs", "3",
                       "--max-words", "5")
    one_error_line(code, err, "--max-words: fixed once a language model has trained")


def test_resuming_on_other_reviews_says_so(language_model, tmp_path, capsys):
    """Its epochs are then counted in other batches: allowed, as rnntui train allows an edited text,
    but said in one line; the reviews it trained on resume without a word."""
    out, data = language_model
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(out.read_bytes())
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(copy), "--epochs", "2")
    assert code == 0 and "rnntui:" not in err
    other = reviews_tarball(tmp_path / "other.tar.gz", per_folder=50, unlabelled=120, seed=7)
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(other), "--resume", str(copy), "--epochs", "3")
    notes = [line for line in err.splitlines() if line.startswith("rnntui:")]
    words = load_lm_checkpoint(out).data["train_words"]
    assert code == 0 and len(notes) == 1 and notes[0].startswith("rnntui: note: other.tar.gz is not the text this "
                                                                   f"language model trained on ({words:,} words")
    assert load_lm_checkpoint(copy).step == 36


@pytest.mark.parametrize("command", ["pretrain", "train"])
@pytest.mark.parametrize("flags, match", [(["--dropout", "1.5"], "--dropout must be in [0, 1), got 1.5"),
                                          (["--hidden-size", "0"], "--hidden-size must be at least 1")])
def test_bad_model_settings_are_refused_before_the_reviews_are_read(tmp_path, capsys, monkeypatch, flags, match,
                                                                    command):
    import rnntui.cli.pretrain
    import rnntui.cli.sentiment

    def never(*_):
        raise AssertionError("the reviews were read")

    monkeypatch.setattr(rnntui.cli.pretrain, "reviews_from", never)
    monkeypatch.setattr(rnntui.cli.sentiment, "reviews_from", never)
    code, _, err = run(capsys, "sentiment", command, "--data", str(tmp_path / "reviews.tar.gz"),
                       "--out", str(tmp_path / "lm.ckpt"), *flags)
    one_error_line(code, err, match)
    assert code == 2 and not (tmp_path / "lm.ckpt").exists()


def test_info_describes_a_review_language_model(language_model, capsys):
    out, _ = language_model
    code, stdout, _ = run(capsys, "info", str(out))
    assert code == 0 and "LSTM read forward and backward, embedding 8, hidden 16, adaptive softmax" in stdout
    assert "12 steps in" in stdout and "(epoch 1.00 of 1)" in stdout and "perplexity" in stdout
    code, stdout, _ = run(capsys, "info", str(out), "--json")
    info = json.loads(stdout)
    assert code == 0 and info["task"] == "review-lm" and info["best_val_perplexity"] < 18


@pytest.mark.slow  # a process of its own; the save on a signal is rnntui train's, tested there
def test_a_signal_saves_the_language_model_and_resume_continues_it(language_model, tmp_path, capsys):
    """SIGTERM (as ctrl+c) finishes the step in flight, saves and exits 0; --resume goes on from there."""
    import os
    import signal
    import subprocess
    import sys

    _, data = language_model
    out = tmp_path / "sig.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "rnntui", "sentiment", "pretrain", "--data", str(data),
                             "--out", str(out), "--epochs", "10000", "--log-every", "1", *LM_SMALL],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:
        if line.startswith("step 3/"):
            break
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    step = load_lm_checkpoint(out).step
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr
    assert step >= 3 and f"stopped at step {step}" in stdout
    code, stdout, _ = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(out),
                          "--epochs", "1")
    assert code == 0 and f"from step {step} to 12" in stdout and load_lm_checkpoint(out).step == 12


def test_pretrain_needs_unlabelled_reviews(tmp_path, capsys):
    data = reviews_tarball(tmp_path / "labelled.tar.gz", per_folder=10)
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--out", str(tmp_path / "lm.ckpt"))
    one_error_line(code, err, "none were found: pass --unlabelled")


def test_a_classifier_starts_from_the_language_models_layers(language_model, tmp_path, capsys):
    """With gradual unfreezing the first epoch trains only the classifier's head, so after it the
    embedding and both directions of the recurrent layer are still the language model's, exactly."""
    lm_path, data = language_model
    out = tmp_path / "c.ckpt"
    code, _, _ = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(lm_path), "--epochs", "1",
                     "--gradual-unfreezing", "--out", str(out), *CLASSIFIER)
    assert code == 0
    lm, classifier = load_lm_checkpoint(lm_path), load_sentiment_checkpoint(out)
    assert classifier.vocab == lm.vocab and classifier.model_config.bidirectional
    assert classifier.model_config.hidden_size == 16 and classifier.model_config.embed_dim == 8
    copied = [name for name in classifier.model_state if name.startswith(("embedding.", "rnn."))]
    assert len(copied) == 9 and "rnn.weight_ih_l0_reverse" in copied  # the embedding, 4 per direction
    for name in copied:
        assert torch.equal(classifier.model_state[name], lm.model_state[name]), name
    assert not torch.equal(classifier.model_state["fc1.weight"], SentimentRNN(classifier.model_config).fc1.weight)
    assert classifier.provenance["from_lm"]["step"] == lm.step == 12
    code, stdout, _ = run(capsys, "info", str(out))
    assert code == 0 and f"started from the language model {lm_path} (step 12)" in stdout
    # A resumed run's record still says where the model started.
    code, _, _ = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(out), "--epochs", "2")
    assert code == 0 and load_sentiment_checkpoint(out).provenance["from_lm"] == classifier.provenance["from_lm"]
    # Without unfreezing, the same epoch moves every layer away from where it started.
    code, _, _ = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(lm_path), "--epochs", "1",
                     "--out", str(tmp_path / "d.ckpt"), *CLASSIFIER)
    moved = load_sentiment_checkpoint(tmp_path / "d.ckpt")
    assert code == 0 and not torch.equal(moved.model_state["rnn.weight_hh_l0"], lm.model_state["rnn.weight_hh_l0"])


@pytest.mark.parametrize("flags, match, ending", [
    (["--hidden-size", "8"], "--hidden-size 8: the language model in", "keeps its hidden size; drop --hidden-size"),
    (["--embed-dim", "4"], "--embed-dim 4: the language model in", "keeps its embedding size; drop --embed-dim"),
    (["--cell", "gru"], "--cell gru: the language model in",
     "has lstm, and a classifier started from it keeps its cell;"),
    (["--max-words", "5"], "--max-words 5: the language model in", "drop --max-words"),
    (["--init-embedding", "ppmi"], "--from-lm starts the embedding from the language model", "drop --init-embedding"),
])
def test_a_language_model_of_another_size_or_vocabulary_is_refused_in_one_line(language_model, tmp_path, capsys,
                                                                                 flags, match, ending):
    lm_path, data = language_model
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(lm_path),
                       "--out", str(tmp_path / "c.ckpt"), *flags)
    assert code == 2
    one_error_line(code, err, match)
    assert ending in err
    assert not (tmp_path / "c.ckpt").exists()


def test_the_classifier_records_the_language_models_whole_path(language_model, tmp_path, capsys, monkeypatch):
    """--from-lm given relative to the folder it ran in: the record holds the whole path, so that
    ctrl+g in the app, started elsewhere, writes with that language model."""
    import shutil

    lm_path, data = language_model
    shutil.copy(lm_path, tmp_path / "lm.ckpt")
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", "lm.ckpt", "--epochs", "1",
                     "--out", "c.ckpt", *CLASSIFIER)
    assert code == 0
    recorded = load_sentiment_checkpoint(tmp_path / "c.ckpt").provenance["from_lm"]["checkpoint"]
    assert recorded == str(tmp_path / "lm.ckpt")  # the app looks for no path that is not whole


def test_a_vocabulary_cut_is_refused_with_a_language_model_in_one_line(language_model, tmp_path, capsys):
    """The classifier reads the language model's vocabulary: --min-count would change nothing."""
    lm_path, data = language_model
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(lm_path),
                       "--out", str(tmp_path / "c.ckpt"), "--min-count", "5")
    one_error_line(code, err, "--min-count 5: a classifier started from the language model in")
    assert code == 2 and not (tmp_path / "c.ckpt").exists()


def test_a_language_model_of_other_words_is_refused_in_one_line(language_model, tmp_path, capsys):
    """A language model of the same size that learned other words (another language, other text):
    the reviews would be read as unknown words, so no classifier starts from it."""
    from dataclasses import replace

    from rnntui.sentiment.pretrain.checkpoint import save_lm_checkpoint
    from rnntui.sentiment.tokens import WordVocab

    lm_path, data = language_model
    lm = load_lm_checkpoint(lm_path)
    other = WordVocab((*lm.vocab.words[:2], *(f"mot{i}" for i in range(len(lm.vocab) - 2))))
    other_path = save_lm_checkpoint(replace(lm, vocab=other), tmp_path / "other.ckpt")
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(other_path),
                       "--out", str(tmp_path / "c.ckpt"), *CLASSIFIER)
    one_error_line(code, err, "knows 0% of the words of the training reviews in reviews.tar.gz")
    assert code == 2 and not (tmp_path / "c.ckpt").exists()


def test_from_lm_refuses_a_classifier_file_and_a_resume(language_model, tmp_path, capsys):
    from rnntui.sentiment.checkpoint import SentimentCheckpoint, save_sentiment_checkpoint

    lm_path, data = language_model
    vocab = load_lm_checkpoint(lm_path).vocab
    model = SentimentRNN(SentimentConfig(len(vocab)))
    classifier = save_sentiment_checkpoint(SentimentCheckpoint(model.config, vocab, model.state_dict()),
                                           tmp_path / "c.ckpt")
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--from-lm", str(classifier),
                       "--out", str(tmp_path / "x.ckpt"))
    one_error_line(code, err, "is a sentiment model (movie reviews), not a language model of movie reviews")
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(classifier),
                       "--from-lm", str(lm_path))
    one_error_line(code, err, "drop it when resuming")


def test_discriminative_rates_and_gradual_unfreezing():
    config = SentimentTrainConfig(lr=0.01, layer_lr_decay=2.0, gradual_unfreezing=True)
    model = SentimentRNN(SentimentConfig(30))
    optimizer = make_optimizer(model, config)
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 4, 4]  # embedding, lstm, fc1 and fc2
    assert group_lrs(config, 3) == [0.0025, 0.005, 0.01]
    assert [frozen_layers(config, epoch) for epoch in range(4)] == [("embedding", "rnn"), ("embedding",), (), ()]
    plain = SentimentTrainConfig(lr=0.01)
    assert len(make_optimizer(model, plain).param_groups) == 1 and frozen_layers(plain, 0) == ()


def test_a_language_model_too_big_for_memory_is_refused_before_it_is_made(language_model, capsys, monkeypatch,
                                                                          tmp_path):
    """As rnntui train and sentiment train refuse a model: the largest sizes, on a machine of 16
    GiB, are refused in one line with an estimate, before a weight is allocated; the small model
    of the same reviews still trains."""
    _, data = language_model
    monkeypatch.setattr("rnntui.core.memory.physical_memory", lambda: 16 << 30)
    out = tmp_path / "big.ckpt"
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--out", str(out), *LM_SMALL,
                       "--embed-dim", "16384", "--hidden-size", "16384", "--softmax", "full", "--json")
    one_error_line(code, err, "training this language model at batch 16 ×")
    assert "GiB of memory, more than this machine's 16.0 GiB" in err and not out.exists()
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(data), "--out", str(out), *LM_SMALL)
    assert code == 0, err


def test_a_resumed_language_model_already_at_its_epochs_trains_nothing(language_model, capsys, tmp_path):
    """As the review classifier and rnntui train: said on stdout, exit 0, the file untouched; and a
    negative --save-every is refused before anything is read."""
    out, data = language_model
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(out.read_bytes())
    code, stdout, _ = run(capsys, "sentiment", "pretrain", "--data", str(data), "--resume", str(copy), "--epochs", "1")
    assert code == 0 and f"{copy} is already at epoch 1: nothing to train" in stdout
    assert copy.read_bytes() == out.read_bytes()
    code, _, err = run(capsys, "sentiment", "pretrain", "--data", str(tmp_path / "missing"), "--save-every", "-1")
    one_error_line(code, err, "--save-every must be 0 or more, got -1")


def test_the_apps_review_session_starts_a_new_model_from_a_language_model(language_model, tmp_path):
    """What ctrl+t does in the reviews mode when a language model is chosen: its layers copied,
    the recipe's settings, the sizes given for a new model ignored, the start recorded in the file
    and kept by a later run's saves."""
    from rnntui.sentiment.from_lm import RECIPE_MODEL, RECIPE_TRAINING
    from rnntui.sentiment.session import ReviewSession

    lm_path, data = language_model
    lm = load_lm_checkpoint(lm_path)
    session = ReviewSession(data, SentimentTrainConfig(batch_size=16, eval_every=5),
                            {"embed_dim": 64, "hidden_size": 128, "fc_hidden": 16})
    session.from_lm = lm_path
    trainer = session.ensure_trainer()
    model = trainer.model
    assert session.started_new and session.path.parent == tmp_path / "data" / "checkpoints"
    assert model.config.embed_dim == 8 and model.config.hidden_size == 16 and model.config.fc_hidden == 16
    assert {name: getattr(model.config, name) for name in RECIPE_MODEL} == RECIPE_MODEL
    assert {name: getattr(trainer.config, name) for name in RECIPE_TRAINING} == RECIPE_TRAINING
    assert session.prepared.vocab == lm.vocab
    for name in ("embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0_reverse"):
        assert torch.equal(model.state_dict()[name], lm.model_state[name])
    saved = session.save()
    assert load_sentiment_checkpoint(saved).provenance["from_lm"]["checkpoint"] == str(lm_path)
    # Opened again (it saved its optimizer state, so ctrl+t resumes it): its saves keep the record.
    again = ReviewSession(data, SentimentTrainConfig(batch_size=16, eval_every=5))
    again.open(saved)
    assert not again.starts_new_model
    again.ensure_trainer()
    assert load_sentiment_checkpoint(again.save()).provenance["from_lm"]["step"] == lm.step


def test_the_apps_start_from_a_missing_language_model_is_one_line(language_model, tmp_path):
    from rnntui.core.errors import RnntuiError
    from rnntui.sentiment.session import ReviewSession

    _, data = language_model
    session = ReviewSession(data)
    session.from_lm = tmp_path / "gone.ckpt"
    with pytest.raises(RnntuiError, match="gone.ckpt"):
        session.ensure_trainer()
    assert session.trainer is None
