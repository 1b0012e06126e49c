"""``rnntui sentiment soup``: classifiers fine-tuned from one language model averaged into one,
chosen on the validation reviews; classifiers that cannot be averaged are refused in one line."""

from __future__ import annotations

import json

import pytest
import torch

from rnntui.core.errors import RnntuiError
from rnntui.sentiment.build import held_out_reviews
from rnntui.sentiment.checkpoint import SentimentCheckpoint, load_sentiment_checkpoint
from rnntui.sentiment.model import SentimentConfig
from rnntui.sentiment.reviews import read_reviews
from rnntui.sentiment.soup import Ingredient, average_weights, check_ingredients, greedy_soup
from rnntui.sentiment.tokens import PAD, UNK, WordVocab
from rnntui.sentiment.trainer import evaluate_reviews
from tests.helpers import SMALL, one_error_line, reviews_tarball, run

CLASSIFIER = ["--fc-hidden", "16", "--batch-size", "16", "--lr", "0.01"]


@pytest.fixture(scope="module")
def classifiers(review_lm_file, tmp_path_factory):
    """Classifiers fine-tuned from the session's tiny language model on the reviews it learned
    from: seed 1 for 12 epochs, the same run resumed to 13 and 14 (points of one path, which
    average well), seed 2 for 12; and one trained without the language model."""
    from rnntui.cli import main

    folder = tmp_path_factory.mktemp("soup")
    data = reviews_tarball(folder / "reviews.tar.gz", per_folder=50, unlabelled=120)
    paths = [folder / name for name in ("c1.ckpt", "c1-13.ckpt", "c1-14.ckpt", "c2.ckpt")]
    for seed, path in ((1, paths[0]), (2, paths[3])):
        assert main(["sentiment", "train", "--data", str(data), "--from-lm", str(review_lm_file), "--out", str(path),
                     "--random-seed", str(seed), "--epochs", "12", *CLASSIFIER]) == 0
    for before, path, epochs in ((paths[0], paths[1], "13"), (paths[1], paths[2], "14")):
        path.write_bytes(before.read_bytes())
        assert main(["sentiment", "train", "--data", str(data), "--resume", str(path), "--epochs", epochs]) == 0
    alone = folder / "alone.ckpt"
    assert main(["sentiment", "train", "--data", str(data), "--out", str(alone), "--epochs", "1", *SMALL]) == 0
    return data, paths, alone


def test_a_soup_averages_the_classifiers_it_keeps_and_records_them(classifiers, tmp_path, capsys):
    data, paths, _ = classifiers
    out = tmp_path / "soup.ckpt"
    code, stdout, _ = run(capsys, "sentiment", "soup", *map(str, paths), "--data", str(data), "--out", str(out),
                          "--json")
    assert code == 0
    result = json.loads(stdout)
    soup = load_sentiment_checkpoint(out)
    record = soup.provenance["soup"]
    members = [load_sentiment_checkpoint(paths[0].with_name(name)) for name in result["members"]]
    assert len(members) >= 2  # here, points of one run's path: the average is tested, not one member
    assert [item["checkpoint"] for item in record["ingredients"]] == result["members"]
    # Its weights are the members' mean, weight by weight.
    for name, weight in soup.model_state.items():
        mean = sum(member.model_state[name] for member in members) / len(members)
        assert torch.allclose(weight, mean, atol=1e-6), name
    # The accuracy it records is what those weights score on the held-out reviews, and the best
    # single classifier's at least (the greedy rule never lowers it).
    valid = held_out_reviews(read_reviews(data), soup)
    loss, accuracy = evaluate_reviews(soup.build_model(), valid)
    assert record["val_accuracy"] == pytest.approx(accuracy) == soup.best_accuracy()
    assert record["val_loss"] == pytest.approx(loss)
    singles = [evaluate_reviews(load_sentiment_checkpoint(path).build_model(), valid)[1] for path in paths]
    assert accuracy >= max(singles)
    assert len(result["tried"]) == len(paths) - 1  # each other classifier tried once
    # It keeps where its members started, and how it was made; it cannot be resumed.
    assert soup.provenance["from_lm"] == load_sentiment_checkpoint(paths[0]).provenance["from_lm"]
    assert soup.provenance["machine"] and soup.optimizer_state is None
    assert soup.elapsed == pytest.approx(sum(member.elapsed for member in members))  # the compute that made it
    code, stdout, _ = run(capsys, "info", str(out))
    assert code == 0 and f"the average of {len(members)}" in stdout
    assert f"for its {len(members)} classifiers together; {result['members'][0]}'s run: " in stdout
    code, _, err = run(capsys, "sentiment", "train", "--data", str(data), "--resume", str(out), "--epochs", "2")
    one_error_line(code, err, "no optimizer state")
    code, stdout, _ = run(capsys, "sentiment", "predict", "--checkpoint", str(out), "a fine film")
    assert code == 0 and "P(positive)" in stdout


def made_up(value: float, start: int = 12, seed: int = 1, words: tuple = ("good", "bad")) -> Ingredient:
    """An ingredient whose one weight is ``value``, fine-tuned from a language model of ``start`` steps."""
    checkpoint = SentimentCheckpoint(
        model_config=SentimentConfig(vocab_size=2 + len(words)), vocab=WordVocab((PAD, UNK, *words)),
        model_state={"w": torch.tensor([float(value)])}, data={"split_seed": seed},
        provenance={"from_lm": {"checkpoint": f"/elsewhere/{value}.ckpt", "step": start, "val_loss": 5.0,
                                "train_words": 1000}})
    return Ingredient(f"{value:g}.ckpt", checkpoint)


def test_the_greedy_rule_keeps_an_ingredient_only_when_the_average_does_not_fall():
    """Accuracy peaks where the weight is 1.5: 1 and 2 average to it; 10 pulls the average away."""
    def measure(state):
        return 0.0, 1 - abs(float(state["w"]) - 1.5) / 100

    soup = greedy_soup([made_up(10), made_up(2), made_up(1)], measure)
    assert [member.name for member in soup.members] == ["2.ckpt", "1.ckpt"]
    assert soup.accuracy == 1.0 and [names for names, _, _ in soup.tried] == [
        ["2.ckpt", "1.ckpt"], ["2.ckpt", "1.ckpt", "10.ckpt"]]
    assert torch.equal(average_weights([{"w": torch.tensor([1.0])}, {"w": torch.tensor([2.0])}])["w"],
                       torch.tensor([1.5]))


@pytest.mark.parametrize("other, match", [
    (made_up(2, start=13), "was fine-tuned from another language model than 1.ckpt"),
    (made_up(2, seed=2), "held out other validation reviews than 1.ckpt"),
    (made_up(2, words=("good", "awful")), "reads another vocabulary than 1.ckpt"),
    (made_up(2, words=("good", "bad", "awful")), "is not the shape of 1.ckpt"),
])
def test_classifiers_that_cannot_be_averaged_are_refused(other, match):
    with pytest.raises(RnntuiError, match=match):
        check_ingredients([made_up(1), other])
    with pytest.raises(RnntuiError, match="at least two"):
        check_ingredients([made_up(1)])


def test_the_command_refuses_what_it_cannot_average_in_one_line(classifiers, tmp_path, capsys, monkeypatch):
    """Before the reviews are read (half a minute for the whole dataset), and writing nothing."""
    import rnntui.cli.soup

    data, paths, alone = classifiers

    def never(*_):
        raise AssertionError("the reviews were read")

    monkeypatch.setattr(rnntui.cli.soup, "reviews_from", never)
    out = tmp_path / "soup.ckpt"
    code, _, err = run(capsys, "sentiment", "soup", str(paths[0]), str(alone), "--data", str(data), "--out", str(out))
    one_error_line(code, err, "alone.ckpt was not fine-tuned from a language model")
    code, _, err = run(capsys, "sentiment", "soup", str(paths[0]), str(paths[0]), "--data", str(data),
                       "--out", str(out))
    one_error_line(code, err, "is given twice")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    code, _, err = run(capsys, "sentiment", "soup", *map(str, paths), "--data", str(data), "--out", str(notes),
                       "--overwrite")
    one_error_line(code, err, "not an rnntui checkpoint")
    assert code == 2 and not out.exists() and notes.read_text() == "mine"


def test_classifiers_split_from_other_reviews_are_refused():
    """The same split seed on another dataset holds out other reviews, which the other classifier
    may have trained on."""
    first, other = made_up(1), made_up(2)
    first.checkpoint.data.update(train_reviews=80, valid_reviews=20)
    other.checkpoint.data.update(train_reviews=48, valid_reviews=12)
    with pytest.raises(RnntuiError, match="held out other validation reviews than 1.ckpt"):
        check_ingredients([first, other])
    # A count one record lacks (written before it was kept) tells nothing.
    other.checkpoint.data.update(train_reviews=80, valid_reviews=20, train_characters=5_000)
    check_ingredients([first, other])


def test_a_classifier_given_twice_under_other_names_is_refused():
    """A copy of a classifier beside it: its weights would count twice in the average."""
    copy = made_up(1)
    copy.name = "copy.ckpt"
    with pytest.raises(RnntuiError, match="copy.ckpt holds the same weights as 1.ckpt"):
        check_ingredients([made_up(1), copy])


def test_a_soup_is_not_an_ingredient():
    """Its members would count as one classifier, and one of them given beside it twice."""
    soup = made_up(3)
    soup.checkpoint.provenance["soup"] = {"ingredients": [{"checkpoint": "1.ckpt"}, {"checkpoint": "5.ckpt"}]}
    with pytest.raises(RnntuiError, match="3.ckpt is itself a soup: give the classifiers it was made of instead"):
        check_ingredients([made_up(1), soup])


def test_the_command_refuses_an_out_it_must_not_write_before_reading_the_reviews(classifiers, tmp_path, capsys,
                                                                                   monkeypatch):
    import rnntui.cli.soup

    data, paths, _ = classifiers

    def never(*_):
        raise AssertionError("the reviews were read")

    monkeypatch.setattr(rnntui.cli.soup, "reviews_from", never)
    # One of the classifiers: replacing it, even with --overwrite, would lose it.
    before = paths[0].read_bytes()
    code, _, err = run(capsys, "sentiment", "soup", *map(str, paths), "--data", str(data), "--out", str(paths[0]),
                       "--overwrite")
    one_error_line(code, err, "is one of the classifiers to average")
    assert code == 2 and paths[0].read_bytes() == before
    # Another checkpoint there: the hint names what this command has (no --resume).
    code, _, err = run(capsys, "sentiment", "soup", *map(str, paths[1:3]), "--data", str(data),
                       "--out", str(paths[3]))
    one_error_line(code, err, "pass --overwrite to replace it")
    assert code == 2 and "--resume" not in err


def test_an_unwritable_out_is_refused_before_any_classifier_is_measured(classifiers, tmp_path, capsys, monkeypatch):
    """The tests may run as root, whom permissions do not stop: the refusal is simulated."""
    import tempfile

    data, paths, _ = classifiers

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    code, stdout, err = run(capsys, "sentiment", "soup", *map(str, paths), "--data", str(data),
                            "--out", str(tmp_path / "soup.ckpt"))
    one_error_line(code, err, "permission denied")
    assert code == 2 and "validation accuracy" not in stdout and not list(tmp_path.iterdir())


@pytest.mark.parametrize("per_folder", [30, 50])  # fewer reviews; as many, other words
def test_the_soup_is_not_chosen_on_other_reviews_than_its_classifiers_held_out(classifiers, tmp_path, capsys,
                                                                               per_folder):
    data, paths, _ = classifiers
    other = reviews_tarball(tmp_path / "other.tar.gz", per_folder=per_folder, seed=5)
    out = tmp_path / "new" / "soup.ckpt"
    code, _, err = run(capsys, "sentiment", "soup", *map(str, paths), "--data", str(other), "--out", str(out))
    one_error_line(code, err, "other.tar.gz is not the text this soup's classifiers trained on")
    assert code == 2 and not out.parent.exists()  # not even the folder it would have made


def test_info_on_a_soup_of_one_classifier_says_no_average_did_better(classifiers, tmp_path, capsys):
    from rnntui.sentiment.checkpoint import save_sentiment_checkpoint
    from rnntui.sentiment.soup import Soup, soup_checkpoint

    _, paths, _ = classifiers
    alone = Ingredient("c1.ckpt", load_sentiment_checkpoint(paths[0]), 0.5, 0.75)
    out = tmp_path / "soup.ckpt"
    save_sentiment_checkpoint(soup_checkpoint(Soup([alone], 0.5, 0.75), {}), out)
    code, stdout, _ = run(capsys, "info", str(out))
    assert code == 0 and "the weights of one classifier, no average did better (c1.ckpt)" in stdout
    assert "1 classifiers" not in stdout


def test_classifiers_trained_with_other_dropout_are_one_shape():
    """Dropout acts only in training; the cell, the pooling and the sizes make the shape."""
    from dataclasses import replace

    other = made_up(2)
    other.checkpoint.model_config = replace(other.checkpoint.model_config, dropout=0.5, word_dropout=0.3)
    check_ingredients([made_up(1), other])
    other.checkpoint.model_config = replace(other.checkpoint.model_config, pooling="concat")
    with pytest.raises(RnntuiError, match="is not the shape of 1.ckpt"):
        check_ingredients([made_up(1), other])
