import asyncio
import os

from rnntui.tui.widgets.path_suggester import PathSuggester


def suggest(value: str) -> str | None:
    return asyncio.run(PathSuggester().get_suggestion(value))


def test_completes_files_and_folders(tmp_path, monkeypatch):
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "verne.txt").write_text("x")
    (tmp_path / "books" / "wells.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    sep = os.sep
    assert suggest(f"{tmp_path}{sep}bo") == f"{tmp_path}{sep}books{sep}"
    assert suggest(f"{tmp_path}{sep}books{sep}") == f"{tmp_path}{sep}books{sep}verne.txt"
    assert suggest(f"{tmp_path}{sep}books{sep}w") == f"{tmp_path}{sep}books{sep}wells.txt"
    assert suggest(f"{tmp_path}{sep}books{sep}verne.txt") is None  # already complete
    assert suggest(f"{tmp_path}{sep}books") == f"{tmp_path}{sep}books{sep}"
    assert suggest(f"{tmp_path}{sep}.h") == f"{tmp_path}{sep}.hidden"
    assert suggest(f"{tmp_path}{sep}") == f"{tmp_path}{sep}books{sep}"  # hidden entries skipped
    assert suggest(f"{tmp_path}{sep}nothing") is None
    assert suggest(f"{tmp_path}{sep}missing{sep}x") is None
    monkeypatch.chdir(tmp_path / "books")
    assert suggest("ve") == "verne.txt"  # relative to the working folder
    assert suggest("") is None
