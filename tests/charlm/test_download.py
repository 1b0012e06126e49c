"""The default corpus download, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from rnntui.charlm.book import ensure_default_corpus
from rnntui.cli import main
from rnntui.core import paths
from rnntui.core.errors import DownloadError
from rnntui.core.paths import bundled_model_path
from tests.helpers import SHARED_CORPUS, Handler, run
from tests.tui.helpers import SIZE, make_app, notifications, ready, until


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


def a_copy_of_the_book(path: Path) -> Path:
    """A made-up text shaped as the Gutenberg file is (markers, title), not the novel."""
    from tests.helpers import make_text

    path.write_text("The Project Gutenberg eBook\n*** START OF THE PROJECT GUTENBERG EBOOK THE MYSTERIOUS "
                    "ISLAND ***\nTHE MYSTERIOUS ISLAND\n\nby Jules Verne\n\n" + make_text(3000)
                    + "\n*** END OF THE PROJECT GUTENBERG EBOOK THE MYSTERIOUS ISLAND ***\n", encoding="utf-8")
    return path


def test_corpus_fetch_file_puts_a_local_copy_in_the_cache(capsys, tmp_path):
    from rnntui.core.paths import default_corpus_path

    code, out, _ = run(capsys, "corpus", "--fetch", str(a_copy_of_the_book(tmp_path / "book.txt")))
    assert code == 0 and f"to {default_corpus_path()}" in out
    assert default_corpus_path().read_bytes() == (tmp_path / "book.txt").read_bytes()
    other = tmp_path / "other.txt"
    other.write_text("not the book at all", encoding="utf-8")
    default_corpus_path().unlink()
    code, _, err = run(capsys, "corpus", "--fetch", str(other))
    assert code == 2 and err.count("\n") == 1 and f"{other} is not The Mysterious Island" in err
    assert not default_corpus_path().exists()


def test_a_failed_download_names_commands_that_exist(capsys, monkeypatch):
    import rnntui.core.download

    monkeypatch.setattr(rnntui.core.download.time, "sleep", lambda seconds: None)
    code, _, err = run(capsys, "corpus", "--fetch")  # the corpus URL points nowhere (conftest)
    assert code == 2 and "rnntui corpus --fetch FILE puts it in the cache" in err and "--corpus PATH" in err
    from rnntui.cli.parser import build_parser

    assert build_parser().parse_args(["corpus", "--fetch", "book.txt"]).fetch == "book.txt"


async def test_training_offline_says_so_in_the_chat_too(monkeypatch):
    import rnntui.core.download
    from rnntui.tui.widgets.transcript import Transcript

    monkeypatch.setattr(rnntui.core.download.time, "sleep", lambda seconds: None)
    app = make_app()  # the bundled model, offline
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: any("could not download" in n.message for n in notifications(app)))
        await pilot.pause()
        lines = [str(note.render()) for note in app.query_one(Transcript).query(".note")]
        assert any(line.startswith("Training stopped: could not download") and "corpus --fetch FILE" in line
                   for line in lines)


@pytest.mark.skipif(not SHARED_CORPUS.is_file(), reason="needs the shared copy of the book")
def test_a_copy_of_the_book_opens_the_bundled_model_to_train_on_it(tmp_path):
    from rnntui.charlm.session import Session

    copy = tmp_path / "my-copy.txt"
    copy.write_bytes(SHARED_CORPUS.read_bytes())
    session = Session()
    info = session.open(corpus=copy)
    assert info.name == bundled_model_path().name and info.step == 16_000  # not an untrained model
    assert session.training_corpus_path() == copy and not session.needs_download()
    assert session.held_out().corpus_name == "my-copy.txt"  # f5 judges it on that copy
