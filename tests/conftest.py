from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

# The suite runs in one worker process per core (pytest-xdist, see pyproject.toml). Each
# worker's torch would start a thread per core as well, and the workers' threads then wait
# on each other: one thread each, and for the processes the tests start.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "mysterious-island-1268-0.txt"

WORDS = ("the island engineer sailor balloon sea shore rock cave fire wood water north south "
         "captain reporter boy dog forest river granite house").split()


def make_text(n_chars: int = 20_000, seed: int = 0) -> str:
    """A small, learnable, made-up text (never the novel: that stays out of the repo)."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(".!?") + rng.choice([" ", "\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n_chars]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the real user folders; the default corpus URL points nowhere reachable."""
    monkeypatch.setenv("RNNTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RNNTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNTUI_CORPUS_URL", "http://127.0.0.1:9/unreachable")


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


TINY_MODEL = {"embed_dim": 16, "hidden_size": 32}
