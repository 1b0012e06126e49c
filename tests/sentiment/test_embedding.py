"""Starting a sentiment model's embedding from word co-occurrence (--init-embedding ppmi), and
reading the unlabelled reviews it can learn from."""

from __future__ import annotations

import json
import random

import pytest
import torch

from rnntui.cli import main
from rnntui.sentiment.build import new_trainer, prepare
from rnntui.sentiment.embedding import ppmi_vectors
from rnntui.sentiment.reviews import read_reviews, read_unlabelled
from rnntui.sentiment.trainer import SentimentTrainConfig, log_count_ratios
from tests.helpers import reviews_tarball

SMALL = {"embed_dim": 6, "hidden_size": 8, "fc_hidden": 8}


def made_up_sequences(count: int = 400, seed: int = 0) -> list[list[int]]:
    """Two kinds of sentence: words 10 and 11 only ever stand between 2 3 and 4 5, words 12 and
    13 only between 6 7 and 8 9."""
    rng = random.Random(seed)
    sequences = []
    for _ in range(count):
        if rng.random() < 0.5:
            sequences.append([2, 3, rng.choice([10, 11]), 4, 5])
        else:
            sequences.append([6, 7, rng.choice([12, 13]), 8, 9])
    return sequences


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def test_words_of_like_contexts_get_like_vectors():
    vectors = ppmi_vectors(made_up_sequences(), vocab_size=14, dim=4, generator=torch.Generator().manual_seed(0))
    assert vectors.shape == (14, 4)
    assert cosine(vectors[10], vectors[11]) > 0.9 and cosine(vectors[12], vectors[13]) > 0.9
    assert abs(cosine(vectors[10], vectors[12])) < 0.3
    assert torch.equal(vectors[:2], torch.zeros(2, 4))  # padding and the unknown word
    assert vectors[2:].std().item() == pytest.approx(1.0, abs=1e-4)  # as the embedding's N(0, 1) start


def test_no_window_spans_two_reviews():
    """Word 10 ends one review and word 11 begins the next: they are not neighbours."""
    apart = ppmi_vectors([[2, 10], [11, 3]] * 50, vocab_size=12, dim=3, generator=torch.Generator().manual_seed(0),
                         window=1)
    together = ppmi_vectors([[2, 10, 11, 3]] * 50, vocab_size=12, dim=3, generator=torch.Generator().manual_seed(0),
                            window=1)
    assert not torch.allclose(apart, together)
    counts_apart = ppmi_vectors([[10], [11]] * 50, vocab_size=12, dim=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(counts_apart, torch.zeros(12, 3))  # nothing co-occurs: nothing to learn


def test_the_same_seed_gives_the_same_vectors_and_the_global_generator_is_untouched():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    first = ppmi_vectors(made_up_sequences(), 14, 4, torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first, ppmi_vectors(made_up_sequences(), 14, 4, torch.Generator().manual_seed(3)))


def test_rare_words_past_max_rows_keep_no_vector():
    vectors = ppmi_vectors(made_up_sequences(), 14, 4, torch.Generator().manual_seed(0), max_rows=12)
    assert vectors.shape == (12, 4)


def test_unlabelled_reviews_are_read_from_a_tarball_and_a_folder(tmp_path):
    tarball = reviews_tarball(tmp_path / "r.tar.gz", per_folder=3, unlabelled=5)
    texts = read_unlabelled(tarball)
    assert len(texts) == 5 and all(isinstance(text, str) and text for text in texts)
    assert len(read_reviews(tarball).train) == 6  # the labelled reviews are not mixed with them
    folder = tmp_path / "extracted"
    import tarfile

    with tarfile.open(tarball) as archive:
        archive.extractall(folder, filter="data")
    assert read_unlabelled(folder) == texts == read_unlabelled(folder / "aclImdb")
    assert read_unlabelled(reviews_tarball(tmp_path / "none.tar.gz", per_folder=3)) == []


def test_a_ppmi_start_uses_the_training_and_unlabelled_reviews(tmp_path):
    tarball = reviews_tarball(tmp_path / "r.tar.gz", per_folder=60, unlabelled=100)
    reviews = read_reviews(tarball)
    config = SentimentTrainConfig(init_embedding="ppmi+nb")
    prepared = prepare(reviews, config, "made-up", unlabelled=read_unlabelled(tarball))
    assert prepared.data["unlabelled_reviews"] == 100 and len(prepared.unlabelled) == 100
    model = new_trainer(prepared, config, **SMALL).model
    weight = model.embedding.weight.detach()
    assert torch.equal(weight[:, 0], log_count_ratios(prepared.train, len(prepared.vocab)))
    vectors = ppmi_vectors(prepared.train.ids + prepared.unlabelled, len(prepared.vocab), 6,
                           torch.Generator().manual_seed(config.random_seed))
    assert torch.equal(weight[:, 1:], vectors[:, 1:])
    without = prepare(reviews, config, "made-up")
    alone = ppmi_vectors(without.train.ids, len(without.vocab), 6, torch.Generator().manual_seed(1))
    assert not torch.allclose(alone, vectors)  # the unlabelled reviews counted
    again = new_trainer(prepared, config, **SMALL).model
    assert torch.equal(again.embedding.weight, model.embedding.weight)


def test_the_cli_starts_from_ppmi_and_records_the_unlabelled_reviews(tmp_path, capsys):
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint

    tarball = reviews_tarball(tmp_path / "r.tar.gz", per_folder=40, unlabelled=30)
    out = tmp_path / "m.ckpt"
    assert main(["sentiment", "train", "--data", str(tarball), "--out", str(out), "--epochs", "1",
                 "--embed-dim", "6", "--hidden-size", "8", "--init-embedding", "ppmi"]) == 0
    err = capsys.readouterr().err
    assert "64 training and 30 unlabelled reviews" in err  # the 80 less the validation fifth
    checkpoint = load_sentiment_checkpoint(out)
    assert checkpoint.data["unlabelled_reviews"] == 30
    assert checkpoint.train_config["init_embedding"] == "ppmi"

    other = reviews_tarball(tmp_path / "more.tar.gz", per_folder=2, unlabelled=7)
    out2 = tmp_path / "m2.ckpt"
    assert main(["sentiment", "train", "--data", str(tarball), "--unlabelled", str(other), "--out", str(out2),
                 "--epochs", "1", "--embed-dim", "6", "--hidden-size", "8", "--init-embedding", "ppmi", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])
    assert load_sentiment_checkpoint(out2).data["unlabelled_reviews"] == 7

    plain = reviews_tarball(tmp_path / "plain.tar.gz", per_folder=40)
    out3 = tmp_path / "m3.ckpt"
    assert main(["sentiment", "train", "--data", str(plain), "--out", str(out3), "--epochs", "1",
                 "--embed-dim", "6", "--hidden-size", "8", "--init-embedding", "ppmi+nb"]) == 0
    assert "64 training reviews (no unlabelled ones found: see --unlabelled)" in capsys.readouterr().err
    assert "unlabelled_reviews" not in load_sentiment_checkpoint(out3).data

    assert main(["info", str(out)]) == 0
    assert "embedding:   started from how words co-occur in the training reviews and 30 unlabelled ones\n" \
        in capsys.readouterr().out
    assert main(["info", str(out3)]) == 0
    assert ("embedding:   started from how words co-occur in the training reviews, with each word's naive-Bayes "
            "log-count ratio in its first dimension") in capsys.readouterr().out


@pytest.mark.parametrize("extra, match", [
    (["--unlabelled", "{plain}"], "add --init-embedding ppmi"),
    (["--unlabelled", "{plain}", "--init-embedding", "ppmi"], "has no unlabelled reviews"),
    (["--unlabelled", "{missing}", "--init-embedding", "ppmi"], "does not exist"),
])
def test_bad_unlabelled_reviews_are_one_line(tmp_path, capsys, extra, match):
    plain = reviews_tarball(tmp_path / "plain.tar.gz", per_folder=3)
    extra = [part.format(plain=plain, missing=tmp_path / "nowhere") for part in extra]
    out = tmp_path / "m.ckpt"
    code = main(["sentiment", "train", "--data", str(plain), "--out", str(out), "--epochs", "1", *extra])
    err = capsys.readouterr().err
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
