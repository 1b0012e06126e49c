"""The movie reviews' download, against a real HTTP server on 127.0.0.1 serving made-up reviews."""

from __future__ import annotations

import http.server
import threading

import pytest

import rnntui.core.download
from rnntui.core.errors import DownloadError
from rnntui.sentiment import dataset
from rnntui.sentiment.dataset import cached_dataset_path, ensure_dataset
from tests.helpers import Handler, disk_full, reviews_tarball

PER_FOLDER = 5  # the made-up dataset's size, where the real one has 12,500 per folder


@pytest.fixture
def server(tmp_path, monkeypatch):
    good = reviews_tarball(tmp_path / "good.tar.gz", per_folder=PER_FOLDER).read_bytes()
    Handler.routes = {"/aclImdb_v1.tar.gz": ("ok", good), "/short.tar.gz": ("short", good[: len(good) // 2]),
                      "/small.tar.gz": ("ok", reviews_tarball(tmp_path / "s.tar.gz", per_folder=2).read_bytes()),
                      "/junk.tar.gz": ("ok", b"<html>not found</html>")}
    Handler.hits = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setattr(rnntui.core.download.time, "sleep", lambda seconds: None)  # the retries wait here
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_downloads_checks_and_caches_once(server, monkeypatch):
    monkeypatch.setenv(dataset.ENV_URL, f"{server}/aclImdb_v1.tar.gz")
    progress = []
    path = ensure_dataset(lambda done, total: progress.append((done, total)), expected=PER_FOLDER)
    assert path == cached_dataset_path() and path.is_file() and progress[-1][0] == progress[-1][1]
    assert ensure_dataset(expected=PER_FOLDER) == path and Handler.hits["/aclImdb_v1.tar.gz"] == 1


@pytest.mark.parametrize("route, match, tries", [
    ("/short.tar.gz", "the download stopped early", 3),
    ("/small.tar.gz", "has 2 reviews in train/neg, not the dataset.s 5", 3),
    ("/junk.tar.gz", "not a readable tarball", 3),
    ("/missing.tar.gz", "HTTP 404", 1),
])
def test_a_bad_download_is_retried_then_one_line_and_nothing_is_cached(server, monkeypatch, route, match, tries):
    monkeypatch.setenv(dataset.ENV_URL, server + route)
    with pytest.raises(DownloadError, match=match) as error:
        ensure_dataset(expected=PER_FOLDER)
    # The engine names no flag: the command line adds its own (--data), the app asks for a path.
    assert "--data" not in str(error.value) and "\n" not in str(error.value)
    assert Handler.hits.get(route, 0) == tries and not cached_dataset_path().exists()
    assert not list(cached_dataset_path().parent.glob("*")) if cached_dataset_path().parent.exists() else True


def test_a_full_disk_while_caching_keeps_nothing(server, monkeypatch):
    monkeypatch.setenv(dataset.ENV_URL, f"{server}/aclImdb_v1.tar.gz")
    monkeypatch.setattr("rnntui.core.files.os.fsync", disk_full)
    with pytest.raises(DownloadError, match="No space left|disk is full"):
        ensure_dataset(expected=PER_FOLDER)
    assert not cached_dataset_path().exists()


def test_the_command_line_downloads_when_no_data_is_given(server, monkeypatch, tmp_path, capsys):
    from rnntui.cli import main
    monkeypatch.setenv(dataset.ENV_URL, f"{server}/aclImdb_v1.tar.gz")
    monkeypatch.setattr(dataset, "PER_FOLDER", PER_FOLDER)
    out = tmp_path / "d.ckpt"
    assert main(["sentiment", "train", "--epochs", "1", "--out", str(out), "--embed-dim", "4", "--hidden-size",
                 "4"]) == 0
    assert out.is_file() and cached_dataset_path().is_file()
    monkeypatch.setenv(dataset.ENV_URL, "http://127.0.0.1:9/unreachable")
    cached_dataset_path().unlink()
    capsys.readouterr()
    assert main(["sentiment", "evaluate", "--checkpoint", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not download the movie reviews" in err
    assert err.rstrip().endswith("if you have aclImdb_v1.tar.gz or its aclImdb/ folder, pass it with --data PATH")
