"""Texts that are not UTF-8: an encoding named once, recorded in the checkpoint and used again."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run
from tests.tui.helpers import SIZE, make_app, ready, shown, until


def latin1_text(path: Path) -> Path:
    from tests.helpers import make_text

    path.write_bytes(make_text(4000).replace("island", "île").encode("latin-1"))
    return path


def test_an_encoding_is_recorded_and_used_again_on_resume(capsys, tmp_path):
    from rnntui.charlm.checkpoint import load_checkpoint
    from tests.helpers import TINY

    text = latin1_text(tmp_path / "latin.txt")
    code, _, err = run(capsys, "train", "--corpus", str(text), "--steps", "2", "--out", str(tmp_path / "x.ckpt"), *TINY)
    assert code == 2 and "pass --encoding latin-1" in err and "ctrl+n's encoding field" in err
    code, _, _ = run(capsys, "train", "--corpus", str(text), "--encoding", "latin-1", "--steps", "4",
                     "--out", str(tmp_path / "l.ckpt"), *TINY)
    assert code == 0 and load_checkpoint(tmp_path / "l.ckpt").corpus["encoding"] == "latin-1"
    code, _, err = run(capsys, "train", "--resume", str(tmp_path / "l.ckpt"), "--steps", "6")  # no --encoding
    assert code == 0, err
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "l.ckpt"))
    assert code == 0 and "validation loss" in out


def test_rnntui_takes_an_encoding_for_the_app(monkeypatch, tmp_path):
    from rnntui import cli
    from rnntui.tui.app import RnntuiApp

    seen = []
    monkeypatch.setattr(RnntuiApp, "run",
                        lambda self, *a, **k: seen.append((self.chat.start.corpus, self.chat.start.encoding)))
    text = latin1_text(tmp_path / "latin.txt")
    try:
        assert cli.main(["--corpus", str(text), "--encoding", "latin-1"]) == 0
    finally:
        import gc

        gc.unfreeze()
        gc.enable()
    assert seen == [(text, "latin-1")]


async def test_ctrl_n_takes_an_encoding(tiny_checkpoint, tmp_path):
    from rnntui.tui.screens.dialogs import NewModelScreen

    text = latin1_text(tmp_path / "latin.txt")
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+n")
        await shown(pilot, NewModelScreen, "#corpus-encoding")
        app.screen.query_one("#corpus-path").value = str(text)
        app.screen.query_one("#corpus-encoding").value = "no-such-codec"
        await pilot.press("enter")
        assert "unknown encoding 'no-such-codec'" in str(app.screen.query_one("#corpus-error").render())
        app.screen.query_one("#corpus-encoding").value = "latin-1"
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info is not None
                    and app.chat.info.name.startswith("new model for latin.txt"))
        assert "î" in app.chat.session.vocab
