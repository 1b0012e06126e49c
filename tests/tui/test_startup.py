"""The app's start: the first frame before torch, the engine after it, a start that fails."""

from __future__ import annotations

import os

import pytest

from rnntui.tui.app import RnntuiApp
from rnntui.tui.chat.pane import ChatPane
from rnntui.tui.screens.dialogs import NewModelScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from tests.tui.helpers import (
    SIZE,
    exchanges,
    finished,
    make_app,
    notified,
    pause_training,
    ready,
    shown,
    train_to,
    until,
)


async def test_first_frame_before_the_model_is_ready(tiny_checkpoint, monkeypatch):
    """While the model loads (held here on purpose) the app is up, says so, and keys are safe."""
    import threading

    from rnntui.charlm.session import Session

    release = threading.Event()
    real_open = Session.open

    def slow_open(self, *args, **kwargs):
        release.wait(10)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Session, "open", slow_open)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Loading torch" in str(app.query_one("#engine-note").render())
        assert "loading" in str(app.query_one("#status").render())
        await pilot.press("ctrl+t", "ctrl+s")
        assert notified(app, "still loading")
        # A seed text entered meanwhile waits for the model, and stays in the input until then.
        await pilot.press(*"The", "enter")
        assert notified(app, "starts once it is ready")
        assert exchanges(app) == [] and app.query_one(SeedInput).value == "The"
        release.set()
        await ready(pilot)
        assert "Ready" in str(app.query_one("#engine-note").render())
        await until(pilot, lambda: app.chat.exchanges and not app.chat.streaming)
        assert [e.seed_text for e in exchanges(app)] == ["The"] and len(exchanges(app)[0].generated) == app.chat.length
        assert app.query_one(SeedInput).value == "" and app.chat.training.state == "idle"


async def test_the_engine_loads_after_the_first_frame_is_drawn(tiny_checkpoint, monkeypatch):
    """Torch's import holds the GIL for tenths of a second: started before the first frame was
    sent to the terminal, it delayed that frame by as much. The chart comes after the frame too,
    and then shows the loaded checkpoint's history."""
    frames, frames_when_loading = [], []
    real_display, real_load = RnntuiApp._display, ChatPane.load_engine

    def display(self, screen, renderable):
        if renderable is not None and not self._batch_count:
            frames.append(renderable)
        real_display(self, screen, renderable)

    def load_engine(self):
        frames_when_loading.append(len(frames))
        return real_load(self)

    monkeypatch.setattr(RnntuiApp, "_display", display)
    monkeypatch.setattr(ChatPane, "load_engine", load_engine)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert frames_when_loading and frames_when_loading[0] >= 1
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.chart is not None)
        assert len(panel.query("#loss-plot")) == 1  # the placeholder is gone
        assert len(panel.train) == 30
        chart = panel.chart.plt.build()
        assert "train" in chart and "no training yet" not in chart  # the history, plotted


async def test_footer_keys_come_once_right_after_the_first_frame(tiny_checkpoint, monkeypatch):
    """At start-up the bindings change five times within a few frames; Textual's Footer rebuilt
    its keys for each, which held them back by about 0.3 s. Ours builds them once, in the frame
    after the first (in the first, they held it back by about 0.1 s), and rebuilds them only for
    a change that shows."""
    from textual.widgets._footer import FooterKey

    from rnntui.tui.widgets.footer import CoalescingFooter

    recomposes, keys_per_frame = [], []
    real_recompose, real_display = CoalescingFooter.recompose, RnntuiApp._display

    async def recompose(self):
        recomposes.append(self)
        await real_recompose(self)

    def display(self, screen, renderable):
        if renderable is not None and not self._batch_count:
            keys_per_frame.append(len(self.query(FooterKey)))
        real_display(self, screen, renderable)

    monkeypatch.setattr(CoalescingFooter, "recompose", recompose)
    monkeypatch.setattr(RnntuiApp, "_display", display)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        assert keys_per_frame[0] == 0 and max(keys_per_frame) >= 10 and len(recomposes) == 1
        keys = " ".join(str(key.render()) for key in app.query_one(CoalescingFooter).children)
        assert "Train/pause" in keys and "Quit" in keys
        # A change that shows is passed on: Stop comes into the footer while a reply streams.
        # Long enough to outlast the footer's next frame on a fast machine (the tiny model writes
        # 5,000 characters in well under 0.1 s).
        app.chat.length = 1_000_000
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: "Stop" in " ".join(str(key.render()) for key in app.query(FooterKey)))
        assert 2 <= len(recomposes) <= 3
        await pilot.press("escape")


def test_app_module_does_not_import_torch():
    """The first frame must not wait for torch: the app and CLI modules import it lazily."""
    import subprocess
    import sys

    code = "import sys, rnntui.cli, rnntui.tui.app; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_app_opened_with_a_file_starts_without_torch(tmp_path, tiny_checkpoint):
    """`rnntui --checkpoint FILE` builds the command line's parser before the app runs: neither
    may import torch (the parser's defaults for the dynamic evaluation once did, and the first
    frame then came a second or more after a bare Textual app's), nor read the file."""
    import subprocess
    import sys

    code = ("import sys, rnntui.cli\n"
            "from rnntui.tui.app import RnntuiApp\n"
            "RnntuiApp.run = lambda self, *args, **kwargs: print('torch' in sys.modules, "
            "'rnntui.charlm.checkpoint' in sys.modules)\n"
            f"rnntui.cli.main(['--checkpoint', {str(tiny_checkpoint)!r}, '--reviews-data', {str(tmp_path)!r}])\n")
    env = dict(os.environ, RNNTUI_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr[-2000:]


def test_the_garbage_collector_waits_for_the_first_screen_and_skips_torch(tmp_path):
    """Collections over the app's freshly imported modules cost about 0.1 s of the first screen
    on a 2-core machine: `rnntui` starts the app with the collector off and those modules'
    objects frozen, and the app turns it on once its first screen is out. That start builds no
    command-line parser either. Once torch is loaded, its objects are frozen too and young
    collections come less often: full collections over them held the screen for 0.1-0.3 s
    about once a second while a reply streamed."""
    import subprocess
    import sys

    code = ("import gc, sys, rnntui.cli\n"
            "from rnntui.core.errors import RnntuiError\n"
            "from rnntui.tui.app import RnntuiApp\n"
            "from rnntui.tui.chat.pane import ChatPane\n"
            "from rnntui.charlm.session import Session\n"
            "real_run, frozen = RnntuiApp.run, []\n"
            "def run(self, *args, **kwargs):\n"
            "    frozen.append(gc.get_freeze_count())\n"
            "    print(gc.isenabled(), frozen[0] > 10000, gc.get_threshold()[0])\n"
            "    return real_run(self, headless=True)\n"
            "def open_(self, *args, **kwargs):\n"
            "    print(gc.isenabled(), gc.get_freeze_count() > frozen[0], gc.get_threshold()[0])\n"
            "    raise RnntuiError('enough')\n"
            "RnntuiApp.run, Session.open = run, open_\n"
            "ChatPane.on_engine_failed = lambda self, message: self.app.exit()\n"
            "sys.modules['rnntui.cli.parser'] = None  # nor is the command line's parser built (12 ms)\n"
            "rnntui.cli.main([])\n"
            "print(gc.isenabled())\n")
    env = dict(os.environ, RNNTUI_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["False", "True", "700", "True", "True", "10000", "True"], result.stderr[-2000:]


async def test_bad_start_checkpoint_notifies(tmp_path, tiny_checkpoint):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 100)
    app = make_app(bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: notified(app, "not an rnntui"))
        await pilot.press(*"The", "enter")
        assert app.is_running and exchanges(app) == []
        assert notified(app, "No model is open")
        assert "ctrl+o opens a checkpoint" in str(app.query_one("#engine-note").render())
        # The app is not a dead end: ctrl+o opens another model, which then answers.
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await ready(pilot)
        assert app.chat.info.name == "tiny.ckpt"
        await pilot.press("enter")  # the seed text typed before is still in the input
        await finished(pilot)
        assert [e.seed_text for e in exchanges(app)] == ["The"]


async def test_a_failed_start_can_start_a_new_model(tmp_path, corpus_file):
    from textual.widgets import Checkbox

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    app = make_app(corpus=bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: notified(app, "binary"))
        await pilot.press("ctrl+n")
        await shown(pilot, NewModelScreen, "#finetune")
        assert app.screen.query_one("#finetune", Checkbox).disabled  # no model to fine-tune
        app.screen.query_one("#corpus-path").value = str(corpus_file)
        await pilot.press("enter")
        await ready(pilot)
        assert app.chat.info.name == f"new model for {corpus_file.name}"
        await train_to(pilot, 3)
        await pause_training(pilot)


@pytest.mark.parametrize("content, message", [(b"", "no text"), (b"\x00\x01binary", "binary"),
                                              ("caf\u00e9".encode("latin-1"), "not UTF-8")])
async def test_bad_start_corpus_notifies(tmp_path, content, message):
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(content)
    app = make_app(corpus=corpus)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: notified(app, message))
        await pilot.press("ctrl+t", *"The", "enter")
        assert app.is_running and exchanges(app) == [] and app.chat.training.state == "idle"
