"""``rnntui sentiment train|evaluate|predict`` and ``rnntui info`` on sentiment checkpoints, with
made-up reviews in the dataset's layout; bad input is one line and a non-zero exit."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
from tests.helpers import SMALL, one_error_line, reviews_tarball, run


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory):
    """Trained once for the module (6 epochs of 10 steps on 160 made-up reviews)."""
    from rnntui.cli import main

    folder = tmp_path_factory.mktemp("sentiment")
    data = reviews_tarball(folder / "reviews.tar.gz", per_folder=100)
    out = folder / "s.ckpt"
    assert main(["sentiment", "train", "--data", str(data), "--epochs", "6", "--out", str(out), *SMALL]) == 0
    return out, data




def test_resuming_a_review_model_on_other_reviews_says_so(sentiment_model, tmp_path, capsys):
    """As a language model's resume does: allowed, said in one line; its own reviews say nothing."""
    out, data = sentiment_model
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(out.read_bytes())
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(copy), "--epochs", "7")
    assert code == 0 and "rnntui:" not in err
    characters = load_sentiment_checkpoint(copy).data["train_characters"]
    other = reviews_tarball(tmp_path / "other.tar.gz", per_folder=100, seed=7)  # as many reviews, other words
    code, _, err = run(capsys, "sentiment", "train", "--data", str(other), "--resume", str(copy), "--epochs", "8")
    notes = [line for line in err.splitlines() if line.startswith("rnntui:")]
    assert code == 0 and notes == [f"rnntui: note: other.tar.gz is not the text this review model trained on "
                                   f"({characters:,} characters of training reviews then, "
                                   f"{load_sentiment_checkpoint(copy).data['train_characters']:,} now); training "
                                   "goes on with it"]


def test_evaluate_says_how_many_words_the_model_does_not_know(sentiment_model, tmp_path, capsys):
    """Test reviews in words the model never met score near chance: evaluate says why."""
    out, data = sentiment_model
    code, stdout, _ = run(capsys, "sentiment", "evaluate", "--checkpoint", str(out), "--data", str(data), "--json")
    assert code == 0 and json.loads(stdout)["unknown_words"] < 0.05
    for split in ("train", "test"):
        for folder, rating in (("pos", 9), ("neg", 2)):
            (tmp_path / "aclImdb" / split / folder).mkdir(parents=True)
            for n in range(3):
                (tmp_path / "aclImdb" / split / folder / f"{n}_{rating}.txt").write_text(
                    "zorglub blorfique wuggle " * (n + 1), encoding="utf-8")
    code, stdout, _ = run(capsys, "sentiment", "evaluate", "--checkpoint", str(out), "--data", str(tmp_path))
    assert code == 0 and stdout.rstrip().endswith("; 100.0% of their words are not in the model's vocabulary")


def test_train_evaluate_and_predict(sentiment_model, capsys):
    out, data = sentiment_model
    checkpoint = load_sentiment_checkpoint(out)
    assert checkpoint.step == 60 and len(checkpoint.history["accuracy"]) == 6
    metrics = [json.loads(line) for line in (out.parent / "s.ckpt.metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, 61)) and metrics[-1]["val_accuracy"] is not None
    code, stdout, _ = run(capsys, "sentiment", "evaluate", "--checkpoint", str(out), "--data", str(data), "--json")
    result = json.loads(stdout)
    assert code == 0 and result["reviews"] == 200 and result["test_accuracy"] >= 0.85
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "--json",
                          "A wonderful film, I loved the music.")
    assert code == 0 and json.loads(stdout)["label"] == "positive"
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "An awful, boring plot.")
    assert code == 0 and stdout.startswith("negative: P(positive) = ")


def test_explain_prints_the_probability_after_each_word(sentiment_model, capsys):
    out, _ = sentiment_model
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "--explain", "--json",
                          "film plot hated")
    explained = json.loads(stdout)["explain"]
    assert code == 0 and [e["word"] for e in explained] == ["film", "plot", "hated"]
    assert explained[-1]["change"] < 0 and explained[-1]["probability"] == pytest.approx(
        json.loads(stdout)["probability_positive"], abs=1e-4)
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "--explain", "film qwerty")
    assert "qwerty  (unknown word)" in stdout


def test_resume_continues_to_more_epochs(sentiment_model, tmp_path, capsys):
    out, data = sentiment_model
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(out.read_bytes())
    code, stdout, _ = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(copy), "--epochs", "7")
    assert code == 0 and "from step 60 to 70" in stdout
    assert load_sentiment_checkpoint(copy).step == 70
    code, stdout, _ = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(copy), "--epochs", "7")
    assert code == 0 and "nothing to train" in stdout
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(copy), "--hidden-size", "8")
    one_error_line(code, err, "fixed once trained: drop --hidden-size")


def test_info_describes_a_sentiment_checkpoint(sentiment_model, capsys):
    out, _ = sentiment_model
    code, stdout, _ = run(capsys, "info", str(out))
    assert code == 0 and "sentiment of movie reviews" in stdout and "validation:  accuracy" in stdout
    code, stdout, _ = run(capsys, "info", str(out), "--json")
    assert json.loads(stdout)["task"] == "sentiment"


def test_each_command_refuses_the_other_tasks_model(sentiment_model, tiny_checkpoint, capsys):
    out, _ = sentiment_model
    code, _, err = run(capsys, "generate", "--checkpoint", str(out))
    one_error_line(code, err, "is a sentiment model (movie reviews), not a language model")
    code, _, err = run(capsys, "sentiment", "predict", "--checkpoint", str(tiny_checkpoint), "great")
    one_error_line(code, err, "is a language model (text generation), not a sentiment model")
    code, _, err = run(capsys, "train", "--resume", str(out))
    one_error_line(code, err, "is a sentiment model")


def test_bad_reviews_are_one_line(sentiment_model, tmp_path, capsys, monkeypatch):
    out, _ = sentiment_model
    predict = ["sentiment", "predict", "--checkpoint", str(out)]
    code, _, err = run(capsys, *predict, "  <br /> ")
    one_error_line(code, err, "the review is empty")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Un film très réussi".encode("latin-1"))
    code, _, err = run(capsys, *predict, "--file", str(latin))
    one_error_line(code, err, "is not UTF-8 text")
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"film " * 250_000)
    code, _, err = run(capsys, *predict, "--file", str(huge))
    one_error_line(code, err, "over 1 MB")
    code, _, err = run(capsys, *predict)
    one_error_line(code, err, "give the review as text, with --file F, or -")
    code, stdout, err = run(capsys, *predict, "qwerty asdf")
    assert code == 0 and stdout.startswith(("positive", "negative")) and "none of the review's 2 words" in err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"I loved it, wonderful")))
    code, stdout, _ = run(capsys, *predict, "-")
    assert code == 0 and stdout.startswith("positive")


def test_a_long_review_is_judged(sentiment_model, tmp_path, capsys):
    out, _ = sentiment_model
    long = tmp_path / "long.txt"
    long.write_text("film plot " * 40_000 + "loved", encoding="utf-8")  # 400 KB
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "--file", str(long), "--json")
    assert code == 0 and json.loads(stdout)["words"] == 80_001


def damaged_tarballs(tmp_path):
    good = reviews_tarball(tmp_path / "good.tar.gz", per_folder=3).read_bytes()
    (tmp_path / "truncated.tar.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "corrupt.tar.gz").write_bytes(b"not a tarball at all" * 100)
    with tarfile.open(tmp_path / "other.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("aclImdb/train/pos/1_9.txt")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"good"))
    (tmp_path / "empty").mkdir()
    return {"truncated.tar.gz": "not a readable tarball of reviews", "corrupt.tar.gz": "not a readable tarball",
            "other.tar.gz": "has no reviews in train/neg, test/neg, test/pos", "empty": "holds no aclImdb/ folder",
            "missing.tar.gz": "it does not exist"}


def test_bad_data_is_one_line_and_writes_nothing(sentiment_model, tmp_path, capsys):
    model, _ = sentiment_model
    for name, match in damaged_tarballs(tmp_path).items():
        out = tmp_path / f"{name}.ckpt"
        for command in (["train", "--out", str(out)], ["evaluate", "--checkpoint", str(model)]):
            code, _, err = run(capsys, "sentiment", *command, "--data", str(tmp_path / name))
            one_error_line(code, err, match)
        assert not out.exists()


def test_train_never_replaces_a_file_it_did_not_write(reviews_file, tmp_path, capsys):
    notes = tmp_path / "notes.ckpt"
    notes.write_text("my notes", encoding="utf-8")
    code, _, err = run(capsys, "sentiment", "train", "--data", str(reviews_file), "--out", str(notes), *SMALL)
    one_error_line(code, err, "notes.ckpt")
    assert notes.read_text(encoding="utf-8") == "my notes"


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_an_out_that_may_not_be_written_is_refused_before_the_reviews_are_read(tmp_path, capsys, monkeypatch,
                                                                                command):
    """Reading the whole dataset takes half a minute: a wrong --out is said before it, not after."""
    import rnntui.cli.pretrain
    import rnntui.cli.sentiment

    def never(*_):
        raise AssertionError("the reviews were read")

    monkeypatch.setattr(rnntui.cli.sentiment, "reviews_from", never)
    monkeypatch.setattr(rnntui.cli.pretrain, "reviews_from", never)
    notes = tmp_path / "notes.ckpt"
    notes.write_text("my notes", encoding="utf-8")
    code, _, err = run(capsys, "sentiment", command, "--data", str(tmp_path / "reviews.tar.gz"), "--out", str(notes),
                       "--overwrite")
    one_error_line(code, err, "notes.ckpt exists and is not an rnntui checkpoint; rnntui will not replace it")
    assert notes.read_text(encoding="utf-8") == "my notes"


@pytest.mark.parametrize("flag, value, match", [("--epochs", "0", "--epochs must be"), ("--lr", "-1", "--lr must be"),
                                                ("--threads", "0", "--threads must be"),
                                                ("--max-tokens", "1", "--max-tokens must be")])
def test_bad_training_flags_are_one_line(reviews_file, tmp_path, capsys, flag, value, match):
    code, _, err = run(capsys, "sentiment", "train", "--data", str(reviews_file), "--out", str(tmp_path / "x.ckpt"),
                       flag, value)
    one_error_line(code, err, match)
    assert not (tmp_path / "x.ckpt").exists()


@pytest.mark.parametrize("command", [["train"], ["pretrain", "--valid-reviews", "20"]])
def test_a_vocabulary_of_no_words_is_one_line(tmp_path, capsys, command):
    """--min-count above every word's count leaves no word: refused, not a model that reads every
    review as unknown words."""
    data = reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=20, unlabelled=40)
    code, _, err = run(capsys, "sentiment", *command, "--data", str(data), "--out", str(tmp_path / "x.ckpt"),
                       "--min-count", "100000", "--json")
    one_error_line(code, err, "the training text holds no word seen 100,000 times or more: lower --min-count")
    assert code == 2 and not (tmp_path / "x.ckpt").exists()


def test_a_diverged_run_says_so(reviews_file, tmp_path, capsys):
    code, _, err = run(capsys, "sentiment", "train", "--data", str(reviews_file), "--out", str(tmp_path / "d.ckpt"),
                       "--lr", "1e6", "--epochs", "30", *SMALL[:6])
    # Adam at a rate of a million either diverges (one line, exit 1) or saturates; it never crashes.
    assert "Traceback" not in err and code in (0, 1)
    if code == 1:
        assert "training diverged" in err and "no checkpoint of this run had been saved yet" in err


def test_the_bundled_sentiment_model_answers():
    from rnntui.core.paths import bundled_sentiment_model_path

    if not bundled_sentiment_model_path().is_file():
        pytest.skip("no bundled sentiment model in this checkout")
    from rnntui.cli import main

    assert main(["sentiment", "predict", "A wonderful film: I loved every minute of it."]) == 0


def test_the_bundled_sentiment_model_is_small_and_says_how_it_was_made():
    from rnntui.core.paths import bundled_sentiment_model_path

    path = bundled_sentiment_model_path()
    if not path.is_file():
        pytest.skip("no bundled sentiment model in this checkout")
    checkpoint = load_sentiment_checkpoint(path)
    assert path.stat().st_size <= 10_000_000 and checkpoint.optimizer_state is None  # the bundle script's cap
    assert checkpoint.model_config.cell == "lstm" and checkpoint.model_config.bidirectional  # the book's cell
    provenance = checkpoint.provenance
    # A soup of classifiers (rnntui sentiment soup), each made by the commands it records.
    assert provenance["command"].startswith("rnntui sentiment soup") and provenance["test_reviews"] == 25_000
    members = provenance["soup"]["ingredients"]
    assert len(members) >= 2 and all(m["command"].startswith("rnntui sentiment train --") for m in members)
    assert provenance["machine"] and provenance["wall_time_s"] > 0
    # Scored once when bundled (docs/sentiment-model.md: 0.9107); a regression below the 0.91 it
    # was made to reach fails.
    assert 0.91 <= provenance["test_accuracy"] <= 1
    # Its language model is named without a path from the machine that built it.
    assert provenance["from_lm"]["step"] > 0 and "/" not in provenance["from_lm"]["checkpoint"]


def test_the_docs_report_the_bundled_models_recorded_test_accuracy():
    from pathlib import Path

    from rnntui.core.paths import bundled_sentiment_model_path

    recorded = load_sentiment_checkpoint(bundled_sentiment_model_path()).provenance["test_accuracy"]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sentiment.md").read_text(encoding="utf-8")
    assert f"{recorded:.4f}" in docs


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_bundled_models_recorded_test_accuracy_is_what_it_scores(capsys):
    """On the real test reviews (where ../shared has them): the figure the file records (and
    docs/sentiment.md reports) is what the model scores. Slow (it scores all 25,000 test reviews,
    about 3 minutes of one core for the LSTM of 256 units each way): `sentiment evaluate` itself
    is covered on made-up reviews, and the next test holds the docs to the recorded figure."""
    from rnntui.core.paths import bundled_sentiment_model_path
    from tests.helpers import SHARED_REVIEWS

    if not SHARED_REVIEWS.is_file() or not bundled_sentiment_model_path().is_file():
        pytest.skip("the IMDb reviews or the bundled sentiment model are not here")
    code, stdout, _ = run(capsys, "sentiment", "evaluate", "--data", str(SHARED_REVIEWS), "--json")
    recorded = load_sentiment_checkpoint(bundled_sentiment_model_path()).provenance["test_accuracy"]
    assert code == 0 and abs(json.loads(stdout)["test_accuracy"] - recorded) < 0.001


def test_rnntui_corpus_shows_the_reviews_the_app_was_pointed_at(capsys, tmp_path):
    """The reviews chosen in the app are remembered in its settings; `rnntui corpus`, which says
    where rnntui keeps everything, says so too (it showed only the cache's copy)."""
    from rnntui.core.paths import settings_path
    from rnntui.tui.persistence import Settings, write_settings

    code, out, _ = run(capsys, "corpus")
    assert code == 0 and "movie reviews:" in out and "in the app:" not in out
    chosen = tmp_path / "aclImdb_v1.tar.gz"
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    write_settings(settings_path(), Settings(reviews_data=str(chosen)))
    code, out, _ = run(capsys, "corpus")
    assert code == 0 and f"in the app:    {chosen} (missing;" in out
    chosen.write_bytes(b"")
    assert f"in the app:    {chosen} (present;" in run(capsys, "corpus")[1]


def test_a_weights_only_model_is_refused_before_the_reviews_are_read(capsys, review_lm_file, tmp_path):
    """The bundled classifier and a language model saved without its optimizer state cannot be
    resumed: that is the one line, before any reviews are read (here there are none)."""
    import dataclasses

    from rnntui.core.paths import bundled_sentiment_model_path
    from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint, save_lm_checkpoint

    missing = str(tmp_path / "no-reviews.tar.gz")
    code, _, err = run(capsys, "sentiment", "train", "--resume", str(bundled_sentiment_model_path()), "--data",
                       missing, "--out", str(tmp_path / "c.ckpt"))
    one_error_line(code, err, "no optimizer state")
    lm = tmp_path / "lm.ckpt"
    save_lm_checkpoint(dataclasses.replace(load_lm_checkpoint(review_lm_file), optimizer_state=None), lm)
    code, _, err = run(capsys, "sentiment", "pretrain", "--resume", str(lm), "--data", missing)
    one_error_line(code, err, "saved without its optimizer state")
