"""The default corpus download, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading

import pytest

from rnntui.charlm.book import ensure_default_corpus
from rnntui.cli import main
from rnntui.core import paths
from rnntui.core.errors import DownloadError
from tests.helpers import Handler


@pytest.fixture
def server(shared_corpus):
    book = shared_corpus.read_bytes()
    Handler.routes = {
        "/book.txt": ("ok", book),
        "/truncated.txt": ("ok", book[: len(book) // 2]),
        "/short.txt": ("short", book[: len(book) // 2]),
        "/hang.txt": ("hang", b""),
        "/other.txt": ("ok", b"*** START OF THE PROJECT GUTENBERG EBOOK ALICE ***\nAlice\n*** END OF THE"),
    }
    Handler.hits = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def cache_files():
    folder = paths.cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_downloads_verifies_and_caches(server, monkeypatch, shared_corpus):
    monkeypatch.setenv("RNNTUI_CORPUS_URL", f"{server}/book.txt")
    seen = []
    path = ensure_default_corpus(lambda done, total: seen.append((done, total)), backoff=0)
    assert path == paths.default_corpus_path()
    assert path.read_bytes() == shared_corpus.read_bytes()
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    # Cached: no second request.
    ensure_default_corpus(backoff=0)
    assert Handler.hits["/book.txt"] == 1


@pytest.mark.parametrize("route, match, attempts", [
    ("/truncated.txt", "incomplete", 3),
    ("/short.txt", "stopped early", 3),
    ("/missing.txt", "HTTP 404", 1),
    ("/hang.txt", "network error", 2),
    ("/other.txt", "not The Mysterious Island", 3),
])
def test_failures_leave_nothing_and_say_how_to_proceed(server, monkeypatch, route, match, attempts):
    monkeypatch.setenv("RNNTUI_CORPUS_URL", f"{server}{route}")
    with pytest.raises(DownloadError, match=match) as info:
        ensure_default_corpus(attempts=attempts, timeout=0.5, backoff=0)
    assert "--corpus PATH" in str(info.value)
    assert not paths.default_corpus_path().exists()
    assert [n for n in cache_files() if not n.startswith(".")] == [] and not any(
        n.endswith(".tmp") for n in cache_files())
    assert Handler.hits.get(route, 0) == attempts  # retried, except a 404


def test_cli_corpus_fetch_and_offline_message(server, monkeypatch, capsys):
    monkeypatch.setenv("RNNTUI_CORPUS_URL", "http://127.0.0.1:9/nothing-listens-here")
    code = main(["train", "--steps", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "could not download" in err and "--corpus PATH" in err and err.count("\n") == 1
    monkeypatch.setenv("RNNTUI_CORPUS_URL", f"{server}/book.txt")
    assert main(["corpus", "--fetch"]) == 0
    out = capsys.readouterr().out
    assert "present" in out and str(paths.checkpoints_dir()) in out and str(paths.seed_history_path()) in out
    assert str(paths.transcripts_dir()) in out
