"""Quitting, SIGTERM and SIGHUP: training progress is saved, the terminal restored."""

from __future__ import annotations

import asyncio
import os

import pytest

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.tui.screens.dialogs import UnsavedScreen
from tests.helpers import disk_full, hang_up, read_terminal, run_in_terminal
from tests.tui.helpers import (
    SIZE,
    busy_press,
    make_app,
    ready,
    shown,
    train_to,
    until,
)


async def test_quit_asks_when_training_is_unsaved(corpus_file):
    app = make_app(corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 3)
        await busy_press(pilot, "ctrl+q")
        await shown(pilot, UnsavedScreen, "#cancel")
        app.screen.query_one("#cancel").press()
        await until(pilot, lambda: not isinstance(app.screen, UnsavedScreen))
        assert app.is_running
        await busy_press(pilot, "ctrl+q")
        await shown(pilot, UnsavedScreen, "#save")
        app.screen.query_one("#save").press()
        await until(pilot, lambda: not app.is_running)
    assert "saved" in str(app.return_value)


def send_to_myself(number: int) -> None:
    """Send a signal to this process, once sure the app handles it (its default would end pytest)."""
    import signal

    assert signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    os.kill(os.getpid(), number)


async def test_a_second_hang_up_does_not_cut_the_save_short():
    """A closed terminal sends SIGHUP more than once (the kernel, then the shell): the app acts on
    the first and ignores the rest, where SIGTERM's second has its default effect again."""
    import signal

    from rnntui.tui.signals import TerminationSignals

    seen = []
    signals = TerminationSignals(seen.append)
    signals.install()
    try:
        for _ in range(3):
            send_to_myself(signal.SIGHUP)  # the assertion in it fails where a repeat would end pytest
            await asyncio.sleep(0.05)
        assert seen == [signal.SIGHUP]
        send_to_myself(signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert seen == [signal.SIGHUP, signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # a second would end the app at once
    finally:
        signals.remove()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL


async def test_sigterm_saves_the_training_progress_and_exits(tiny_checkpoint, corpus_file, tmp_path):
    import signal

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        send_to_myself(signal.SIGTERM)  # `kill`, or the system shutting down
        await until(pilot, lambda: not app.is_running)
    saved = tiny_checkpoint  # where the model came from
    assert load_checkpoint(saved).step == app.chat.session.step >= 33
    assert app.return_code == 0 and str(app.return_value) == f"saved {saved}"
    assert not (tmp_path / "data" / "checkpoints").exists()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # handed back when the app ended


async def test_sigterm_on_a_full_disk_exits_with_the_error(tiny_checkpoint, corpus_file, tmp_path, monkeypatch,
                                                           capsys):
    import signal

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        monkeypatch.setattr(os, "fsync", disk_full)
        send_to_myself(signal.SIGTERM)
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 1  # and the reason, printed once the terminal is restored:
    stderr = capsys.readouterr().err
    assert stderr.startswith("rnntui: error: cannot write") and "the disk is full" in stderr
    folder = tmp_path / "data" / "checkpoints"
    assert not folder.exists() or list(folder.iterdir()) == []  # no half-written file


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs a pseudo-terminal")
def test_closing_the_terminal_saves_the_training_progress(tiny_checkpoint, corpus_file, tmp_path):
    """A real hang-up: the app runs on a pseudo-terminal whose other end goes away."""
    import signal

    # The app, as `rnntui --checkpoint ... --corpus ...` in a terminal.
    pid, terminal = run_in_terminal(["-m", "rnntui", "--checkpoint", str(tiny_checkpoint),
                                     "--corpus", str(corpus_file)])
    assert b"Ready" in read_terminal(terminal, b"Ready", 60)
    os.write(terminal, b"\x14")  # ctrl+t
    assert b"running" in read_terminal(terminal, b"running", 30)  # the status line: training running
    read_terminal(terminal, b"never shown", 0.5)  # a few more steps
    folder = tmp_path / "data" / "checkpoints"
    status = hang_up(pid, terminal)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGHUP  # it ends as a hang-up does
    assert not folder.exists()  # saved back to the file it was opened from
    assert load_checkpoint(tiny_checkpoint).step > 30  # the steps trained after the 30 in the file


async def test_quit_without_unsaved_work_exits(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+q")
        await asyncio.sleep(0.1)
    assert not app.is_running
