from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

# The suite runs in one worker process per core (pytest-xdist, see pyproject.toml). Each
# worker's torch would start a thread per core as well, and the workers' threads then wait
# on each other: one thread each, and for the processes the tests start.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from tests.helpers import (  # noqa: E402
    SHARED_CORPUS,
    TINY_MODEL,
    TINY_REVIEW_LM,
    make_text,
    reviews_tarball,
    tiny_train_config,
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the real user folders; the default corpus URL points nowhere reachable."""
    monkeypatch.setenv("RNNTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RNNTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNTUI_CORPUS_URL", "http://127.0.0.1:9/unreachable")
    monkeypatch.setenv("RNNTUI_IMDB_URL", "http://127.0.0.1:9/unreachable")


@pytest.fixture
def corpus_file(tmp_path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(make_text(), encoding="utf-8")
    return path


@pytest.fixture
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_file():
        pytest.skip("the shared corpus ../shared/corpora/mysterious-island-1268-0.txt is absent")
    return SHARED_CORPUS


@pytest.fixture
def reviews_file(tmp_path):
    return reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=100)


@pytest.fixture(scope="session")
def tiny_checkpoint_file(tmp_path_factory):
    """Trained once per session (30 steps on the tiny corpus); each test gets its own copy."""
    from rnntui.charlm.build import new_trainer, trainer_checkpoint
    from rnntui.charlm.checkpoint import save_checkpoint
    from rnntui.charlm.corpus import load_corpus

    folder = tmp_path_factory.mktemp("tiny")
    corpus_path = folder / "tiny.txt"
    corpus_path.write_text(make_text(), encoding="utf-8")
    corpus = load_corpus(corpus_path)
    trainer = new_trainer(corpus, tiny_train_config(steps=30), **TINY_MODEL)
    list(trainer.run())
    checkpoint = trainer_checkpoint(trainer, corpus)
    checkpoint.elapsed = 0.0  # keep screenshots stable
    checkpoint.created = "2026-01-01T12:00:00+00:00"
    return save_checkpoint(checkpoint, folder / "tiny.ckpt")


@pytest.fixture
def tiny_checkpoint(tiny_checkpoint_file, tmp_path):
    path = tmp_path / "tiny.ckpt"
    path.write_bytes(tiny_checkpoint_file.read_bytes())
    return path


@pytest.fixture(scope="session")
def review_lm_file(tmp_path_factory):
    """A tiny language model of made-up reviews (both ways, 12 steps), pretrained once per session;
    its words are those of ``reviews_file``'s reviews."""
    from rnntui.cli import main

    folder = tmp_path_factory.mktemp("review-lm")
    data = reviews_tarball(folder / "reviews.tar.gz", per_folder=50, unlabelled=120)
    out = folder / "review-lm.ckpt"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["sentiment", "pretrain", "--data", str(data), "--out", str(out), *TINY_REVIEW_LM]) == 0
    return out
