"""The IMDb reviews as rnntui reads them, and the book's tokenizer. Made-up reviews in the
dataset's layout; the real dataset only where ../shared has it (never copied into the repo)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from rnntui.sentiment.reviews import DataError, read_reviews, split_train_valid
from rnntui.sentiment.tokens import PAD, UNK, WordVocab, tokenize
from tests.helpers import SHARED_REVIEWS

MADE_UP = {
    "train/pos/1_9.txt": "A <br />wonderful film :) I loved it.",
    "train/pos/2_8.txt": "Great acting, great story!",
    "train/neg/3_2.txt": "Dull. Boring plot ;-( and bad acting.",
    "train/neg/4_1.txt": "The worst film I have seen =(",
    "test/pos/5_10.txt": "Loved every minute.",
    "test/neg/6_3.txt": "Not good at all.",
}


def tarball(path: Path, files: dict[str, str], extra: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in {**{k: v.encode() for k, v in files.items()}, **(extra or {})}.items():
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    return path


def test_a_tarball_and_a_folder_read_the_same(tmp_path):
    packed = read_reviews(tarball(tmp_path / "r.tar.gz", MADE_UP, {"train/unsup/7_0.txt": b"unlabelled",
                                                                   "train/labeledBow.feat": b"1 2:3"}))
    for name, text in MADE_UP.items():
        (tmp_path / "aclImdb" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "aclImdb" / name).write_text(text, encoding="utf-8")
    assert read_reviews(tmp_path) == read_reviews(tmp_path / "aclImdb") == packed
    assert [(r.id, r.label, r.rating) for r in packed.train] == [(3, 0, 2), (4, 0, 1), (1, 1, 9), (2, 1, 8)]
    assert len(packed.test) == 2 and packed.test[1].text == "Loved every minute."  # unsup and .feat left out


@pytest.mark.parametrize("damage, match", [
    ("truncated", "not a readable tarball"),
    ("not gzip", "not a readable tarball"),
    ("no test/neg", "no reviews in test/neg"),
    ("empty folder", "holds no aclImdb/ folder"),
    ("missing", "does not exist"),
])
def test_bad_data_is_one_clear_error(tmp_path, damage, match):
    path = tarball(tmp_path / "r.tar.gz", MADE_UP)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif damage == "not gzip":
        path.write_bytes(b"not a tarball at all")
    elif damage == "no test/neg":
        path = tarball(tmp_path / "s.tar.gz", {k: v for k, v in MADE_UP.items() if not k.startswith("test/neg")})
    elif damage == "empty folder":
        path = tmp_path / "empty"
        path.mkdir()
    else:
        path = tmp_path / "nowhere"
    with pytest.raises(DataError, match=match) as error:
        read_reviews(path)
    assert "\n" not in str(error.value)


def test_a_folder_inside_the_dataset_is_refused_with_the_folder_to_give(tmp_path):
    unsup = tmp_path / "data" / "aclImdb" / "train" / "unsup"
    unsup.mkdir(parents=True)
    (unsup / "1_0.txt").write_text("An unlabelled review.", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_reviews(unsup)
    assert str(error.value) == f"{unsup} holds no aclImdb/ folder of reviews; give {tmp_path / 'data'}, the folder " \
                               "that holds aclImdb/"
    from rnntui.sentiment.reviews import read_unlabelled

    assert read_unlabelled(tmp_path / "data") == ["An unlabelled review."]  # as the message says


def test_a_file_that_is_not_a_tarball_is_not_called_a_bad_download(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes, not reviews", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_reviews(notes)
    assert "download it again" not in str(error.value) and "aclImdb_v1.tar.gz" in str(error.value)


def test_the_validation_split_is_fixed_and_apart():
    from rnntui.sentiment.reviews import Review

    train = [Review(f"review {i}", i % 2, 5, i) for i in range(100)]
    first, valid = split_train_valid(train)
    assert (first, valid) == split_train_valid(train)  # the same every time
    assert len(first) == 80 and len(valid) == 20 and not set(r.id for r in first) & set(r.id for r in valid)
    assert split_train_valid(train, seed=2) != (first, valid)


def test_the_books_tokenizer():
    """As the book's tokenizer() gives them, quirks included, so that accuracies compare: tags
    are removed without a space ("film<br />Go" is one word), the emoticons are appended to
    the text with no space before the first (":D" is lost too: its pattern looks for D and P
    after lower-casing)."""
    assert tokenize("This is <b>GREAT</b> :) really :-) !") == ["this", "is", "great", "really", ":)", ":)"]
    assert tokenize("Bad;-( movie =( ... :D") == ["bad", "movie", "d;(", "=("]
    assert tokenize("It's a 10/10 film<br /><br />Go") == ["it", "s", "a", "10", "10", "filmgo"]


def test_the_vocabulary_is_the_training_reviews_most_frequent_first():
    vocab = WordVocab.build(["great film great", "bad film", "great"])
    assert vocab.words == (PAD, UNK, "great", "film", "bad")
    assert vocab.encode("Great unseen film") == [2, 1, 3]


@pytest.mark.skipif(not SHARED_REVIEWS.is_file(), reason="needs ../shared/datasets/aclImdb_v1-labelled.tar.gz")
def test_the_real_dataset_reads_as_the_book_splits_it():
    reviews = read_reviews(SHARED_REVIEWS)
    assert len(reviews.train) == len(reviews.test) == 25_000
    assert sum(r.label for r in reviews.train) == sum(r.label for r in reviews.test) == 12_500
    train, valid = split_train_valid(reviews.train)
    assert (len(train), len(valid)) == (20_000, 5_000)
    assert all(1 <= r.rating <= 4 for r in reviews.train if r.label == 0)
    assert all(7 <= r.rating <= 10 for r in reviews.train if r.label == 1)
