"""The reviews readers (``--data``, ``--unlabelled``: a tarball or an ``aclImdb/`` folder) on
damaged, crafted and unreadable input: one line naming the file and exit 2, never a traceback, a
hang, altered reviews or an allocation the size of what a file declares."""

from __future__ import annotations

import errno
import gzip
import io
import os
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnntui.sentiment.reviews import MAX_REVIEW_BYTES, DataError, read_reviews, read_unlabelled
from tests.helpers import reviews_tarball, run


def one_line(code, err, *parts):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("rnntui: error:") and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


def train(capsys, data, tmp_path, *more):
    out = tmp_path / "out.ckpt"
    result = run(capsys, "sentiment", "train", "--data", str(data), "--out", str(out), "--epochs", "1", *more)
    assert result[0] == 0 or not out.exists()
    return result[0], result[2]


def tarball_of(path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def folder_of(tmp_path, per_folder=2) -> Path:
    """The dataset's layout as an extracted folder."""
    with tarfile.open(reviews_tarball(tmp_path / "r.tar.gz", per_folder=per_folder)) as archive:
        archive.extractall(tmp_path / "data", filter="data")
    return tmp_path / "data"


# -- what the stream holds ---------------------------------------------------------------------

def test_a_wrong_crc_is_refused(capsys, tmp_path):
    """tarfile stops at the archive's end marker, before the gzip trailer: the reader reads on
    and checks the checksum and the length there."""
    good = reviews_tarball(tmp_path / "good.tar.gz", per_folder=3).read_bytes()
    for name, where, match in (("crc.tar.gz", -8, "CRC check failed"), ("length.tar.gz", -1, "Incorrect length")):
        damaged = bytearray(good)
        damaged[where] ^= 1
        path = tmp_path / name
        path.write_bytes(bytes(damaged))
        one_line(*train(capsys, path, tmp_path), str(path), match)
    assert read_reviews(tmp_path / "good.tar.gz").train  # the undamaged one reads


def test_a_stream_that_goes_on_after_the_archive_is_refused(capsys, tmp_path):
    """Reading on to check the checksum reads at most 1 MB past the archive's end: a second
    gzip member of 2 MB of zeros (2 KB on disk) after it is refused, not decompressed whole."""
    path = reviews_tarball(tmp_path / "long.tar.gz", per_folder=3)
    path.write_bytes(path.read_bytes() + gzip.compress(bytes(2 << 20)))
    one_line(*train(capsys, path, tmp_path), str(path), "more than 1 MB after the archive's end")


def test_a_corrupt_deflate_stream_is_one_line(capsys, tmp_path):
    """A damaged block deep in the stream, inside a long review: zlib's own error, while the
    review is read."""
    import random

    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)]
    members = {"train/pos/1_9.txt": b"great", "train/neg/2_1.txt": b"awful", "test/pos/3_8.txt": b"good",
               "test/neg/4_2.txt": b"bad", "train/pos/5_9.txt": " ".join(rng.choices(words, k=80_000)).encode()}
    good = tarball_of(tmp_path / "good.tar.gz", members).read_bytes()
    for offset in range(len(good) // 2, len(good) - 8):  # the first byte whose change zlib notices
        damaged = bytearray(good)
        damaged[offset] ^= 0xFF
        try:
            gzip.GzipFile(fileobj=io.BytesIO(damaged)).read()
        except zlib.error:
            break
        except (OSError, EOFError):  # a change only the checksum sees
            continue
    path = tmp_path / "damaged.tar.gz"
    path.write_bytes(bytes(damaged))
    one_line(*train(capsys, path, tmp_path), str(path), "not a readable tarball of reviews (zlib: ")


def test_a_number_of_thousands_of_digits_in_a_name_is_one_line(capsys, tmp_path):
    """int() refuses strings of over 4,300 digits; the dataset's ids and ratings have at most 5."""
    huge = "9" * 5000
    reviews = {"train/pos/1_9.txt": b"great", "train/neg/2_1.txt": b"awful", "test/pos/3_8.txt": b"good",
               "test/neg/4_2.txt": b"bad"}
    rating = tarball_of(tmp_path / "rating.tar.gz", {**reviews, f"test/neg/5_{huge}.txt": b"dull"})
    one_line(*train(capsys, rating, tmp_path), str(rating), "digits in its name")
    number = tarball_of(tmp_path / "id.tar.gz", {**reviews, f"train/pos/{huge}_7.txt": b"fine"})
    one_line(*train(capsys, number, tmp_path), str(number), "digits in its name")
    unlabelled = tarball_of(tmp_path / "unsup.tar.gz", {f"train/unsup/{huge}_0.txt": b"a film"})
    good = reviews_tarball(tmp_path / "good.tar.gz", per_folder=3)
    one_line(*train(capsys, good, tmp_path, "--init-embedding", "ppmi", "--unlabelled", str(unlabelled)),
             str(unlabelled), "digits in its name")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_is_named_for_what_it_is(capsys, tmp_path, kind):
    path = Path("/dev/null")
    if kind == "fifo":
        path = tmp_path / "reviews.tar.gz"
        os.mkfifo(path)
    match = {"fifo": "is a named pipe, not a tarball or a folder of reviews", "device": "is a device"}[kind]
    one_line(*train(capsys, path, tmp_path), str(path), match)
    good = reviews_tarball(tmp_path / "good.tar.gz", per_folder=3)
    one_line(*train(capsys, good, tmp_path, "--init-embedding", "ppmi", "--unlabelled", str(path)), str(path), match)


# -- files that cannot be read ---------------------------------------------------------------

class FailingReads:
    """An open file whose reads fail as a failing disk's do, once ``after`` bytes are read."""

    def __init__(self, file, after: int):
        self.file, self.left = file, after

    def read(self, size=-1):
        if self.left <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        data = self.file.read(min(self.left, size) if size is not None and size >= 0 else self.left)
        self.left -= len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def fail_on(monkeypatch, target: Path, how: str, after: int = 0) -> None:
    """Opening ``target`` is refused (``how`` "open": as for a file of another user, which root,
    running the tests, could open), or its reads fail ("read") after ``after`` bytes."""
    target = os.path.realpath(target)
    real_io_open, real_os_open = io.open, os.open

    def is_target(file) -> bool:
        name = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.fspath(file)
        return isinstance(name, str) and os.path.realpath(name) == target

    def os_open(path, *args, **kwargs):
        if how == "open" and is_target(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_os_open(path, *args, **kwargs)

    def io_open(file, *args, **kwargs):
        if how == "open" and is_target(file):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        opened = real_io_open(file, *args, **kwargs)
        return FailingReads(opened, after) if how == "read" and is_target(file) else opened

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)


@pytest.mark.parametrize("how, match", [("open", "permission denied"), ("read", "Input/output error")])
def test_a_review_that_cannot_be_read_is_one_line_naming_it(capsys, tmp_path, monkeypatch, how, match):
    data = folder_of(tmp_path)
    review = sorted((data / "aclImdb" / "train" / "neg").iterdir())[0]
    fail_on(monkeypatch, review, how)
    one_line(*train(capsys, data, tmp_path), f"cannot read review {review}: {match}")


def test_a_tarball_that_cannot_be_read_is_one_line(capsys, tmp_path, monkeypatch):
    path = reviews_tarball(tmp_path / "r.tar.gz", per_folder=100)
    fail_on(monkeypatch, path, "read", after=2000)  # past the first members, which tarfile opens with
    one_line(*train(capsys, path, tmp_path), f"cannot read {path}", "Input/output error")


# -- sizes before reads ----------------------------------------------------------------------

def test_a_huge_sparse_review_is_refused_from_its_size(tmp_path):
    """A 4 GB review (sparse: it takes no disk) in a folder, read in a process that may not use
    512 MB: refused from its size, not read whole first."""
    data = folder_of(tmp_path)
    review = sorted((data / "aclImdb" / "train" / "pos").iterdir())[0]
    os.truncate(review, 4 << 30)
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 29, 1 << 29))\n"
              "from rnntui.sentiment.reviews import DataError, read_reviews\n"
              "try:\n    read_reviews(sys.argv[1])\nexcept DataError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == f"{review} is over 1 MB: not a review of the dataset\n"


def test_the_words_a_review_contributes_are_bounded(tmp_path):
    """Reviews of exactly 1 MB, of half a million words each, in a tarball of a few KB: each
    reads as at most MAX_REVIEW_WORDS words (its first and last halves), so that a batch of them
    needs under a gigabyte (uncut, a batch of 32 needed about 70 GB)."""
    from rnntui.sentiment.build import prepare
    from rnntui.sentiment.model import SentimentConfig
    from rnntui.sentiment.trainer import MAX_REVIEW_WORDS, SentimentTrainConfig, memory_bytes

    huge = b"a " * (MAX_REVIEW_BYTES // 2)
    assert len(huge) == MAX_REVIEW_BYTES
    members = {"train/pos/1_9.txt": huge, "train/neg/3_1.txt": b"awful " + huge[6:], "train/neg/4_1.txt": b"dull",
               "train/pos/5_8.txt": b"good film", "train/pos/6_8.txt": b"fine", "test/pos/7_8.txt": b"good",
               "test/neg/8_2.txt": b"bad", "train/unsup/9_0.txt": huge}
    path = tarball_of(tmp_path / "huge.tar.gz", members)
    assert path.stat().st_size < 10_000
    config = SentimentTrainConfig()
    prepared = prepare(read_reviews(path), config, path.name, unlabelled=read_unlabelled(path))
    lengths = [len(ids) for ids in prepared.train.ids + prepared.valid.ids + prepared.unlabelled]
    assert max(lengths) == MAX_REVIEW_WORDS and 2 in lengths  # cut, and the short ones whole
    model = SentimentConfig(vocab_size=len(prepared.vocab))
    assert memory_bytes(model, config.batch_size, max(lengths), training=True) < 1 << 30
    assert memory_bytes(model, config.batch_size, MAX_REVIEW_BYTES // 2, training=True) > 50 << 30


# -- anything at all -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_tarball(tmp_path_factory):
    path = reviews_tarball(tmp_path_factory.mktemp("small") / "r.tar.gz", per_folder=2, unlabelled=2)
    return path.read_bytes(), read_reviews(path), read_unlabelled(path)


damage = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("byte"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
)


@given(changes=st.lists(damage, min_size=1, max_size=3))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_damaged_tarball_reads_as_it_was_or_is_one_line(small_tarball, tmp_path_factory, changes):
    """Bits flipped, bytes changed, the end cut: the reviews read exactly as they were (a change
    to a field the checksum does not cover, such as the gzip header's time), or the reader says
    what is wrong in one line; never other reviews, a traceback or a hang."""
    data, reviews, unlabelled = small_tarball
    damaged = bytearray(data)
    for kind, where, value in changes:
        where %= len(damaged)
        if kind == "flip":
            damaged[where] ^= 1 << value
        elif kind == "byte":
            damaged[where] = value
        else:
            del damaged[where:]
        if not damaged:
            damaged = bytearray(b"\0")
    path = tmp_path_factory.mktemp("damaged") / "r.tar.gz"
    path.write_bytes(bytes(damaged))
    for read, expected in ((read_reviews, reviews), (read_unlabelled, unlabelled)):
        try:
            assert read(path) == expected
        except DataError as error:
            assert "\n" not in str(error) and str(path) in str(error)


@given(text=st.binary(max_size=40), number=st.from_regex(r"\A[0-9]{1,12}\Z"), rating=st.from_regex(r"\A[0-9]{1,3}\Z"))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_review_file_in_a_folder_reads_or_is_one_line(tmp_path_factory, text, number, rating):
    """A review of any bytes, under any id and rating of digits: it reads as its UTF-8 text, or
    the reader says in one line which file is wrong."""
    data = tmp_path_factory.mktemp("folder")
    for name, content in (("train/neg/1_1.txt", b"bad"), ("test/pos/2_9.txt", b"good"),
                          ("test/neg/3_2.txt", b"dull"), (f"train/pos/{number}_{rating}.txt", text)):
        (data / "aclImdb" / name).parent.mkdir(parents=True, exist_ok=True)
        (data / "aclImdb" / name).write_bytes(content)
    try:
        reviews = read_reviews(data)
    except DataError as error:
        assert "\n" not in str(error) and f"{number}_{rating}.txt" in str(error)
        return
    review = reviews.train[-1]
    assert (review.text, review.id, review.rating) == (text.decode(), int(number), int(rating))
