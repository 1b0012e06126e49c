"""Pilot tests of the app: every key and the main flows, on a tiny model."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import torch
from textual import events
from textual.screen import Screen

from rnntui.checkpoint import load_checkpoint, save_checkpoint
from rnntui.corpus import load_corpus
from rnntui.tui.app import RnntuiApp
from rnntui.tui.chat import next_scale
from rnntui.tui.screens.dialogs import NewModelScreen, SaveAsScreen, UnsavedScreen
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.screens.reply_settings import ReplySettingsScreen
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from rnntui.tui.widgets.transcript import Exchange

from .conftest import TINY_MODEL, disk_full, hang_up, read_terminal, run_in_terminal, tiny_train_config

SIZE = (120, 36)


def join_wrapped_lines(tmp_path) -> None:
    """The person's ctrl+l choice, kept in the data folder: replies join wrapped lines (the tiny
    test text is not hard-wrapped prose, so by default its replies keep their line breaks)."""
    settings = tmp_path / "data" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"reflow": true}', encoding="utf-8")


def make_app(checkpoint=None, corpus=None, **kwargs) -> RnntuiApp:
    return RnntuiApp(checkpoint=checkpoint, corpus=corpus, random_seed=1, train_config=tiny_train_config(),
                     model_options=TINY_MODEL, **kwargs)


async def until(pilot, condition, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds (workers report through messages)."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")


async def busy_press(pilot, *keys: str) -> None:
    """Press keys while a worker keeps the process busy: Pilot.press waits until the process
    is idle (up to a second a key), so send the keys as a terminal would and move on."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(0.02)


async def pause_training(pilot) -> int:
    """Press ctrl+t on a running training and wait until it has really stopped (the step in
    flight finishes first); the step it stopped at."""
    app = pilot.app
    before = len(app._notifications)
    await busy_press(pilot, "ctrl+t")
    await until(pilot, lambda: any("Training paused" in n.message for n in list(app._notifications)[before:]))
    return app.session.step


async def train_to(pilot, step: int) -> None:
    """Press ctrl+t and let the model train to at least ``step``."""
    await busy_press(pilot, "ctrl+t")
    await until(pilot, lambda: pilot.app.session.step >= step)


async def ready(pilot) -> None:
    await until(pilot, lambda: pilot.app.info is not None)


async def shown(pilot, screen_type, selector: str) -> None:
    """Wait until a pushed screen is up with ``selector`` in it: on a busy app a screen can be
    current a moment before its widgets are mounted."""
    await until(pilot, lambda: isinstance(pilot.app.screen, screen_type) and pilot.app.screen.query(selector))


async def finished(pilot) -> None:
    await until(pilot, lambda: not pilot.app.chat.streaming)
    await pilot.pause()


def exchanges(app) -> list[Exchange]:
    return list(app.chat.exchanges.values())


def joined(text: str) -> str:
    """``text`` as a reply shows it by default: each line break with text on both sides is a
    space (a wrap inside a paragraph); one next to another (a blank line) stays."""
    return "".join(" " if char == "\n" and 0 < i and text[i - 1] != "\n" and text[i + 1:i + 2] != "\n"
                   else char for i, char in enumerate(text))


async def test_type_seed_and_stream_reply(tmp_path, tiny_checkpoint):
    join_wrapped_lines(tmp_path)
    app = make_app(tiny_checkpoint, length=120)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.focused is app.query_one(SeedInput)
        await pilot.press(*"The island", "enter")
        await finished(pilot)
        [exchange] = exchanges(app)
        assert exchange.seed_text == "The island"
        assert len(exchange.generated) == 120
        assert exchange.reply_plain == "The island" + exchange.generated
        assert "".join(str(b.render()) for b in exchange.query(".block")) == joined(exchange.reply_plain)
        assert app.query_one(SeedInput).value == ""
        # The same seed text and random seed give the same text as the engine's sampler.
        sampler = app.session.sampler(1.0, random_seed=2)
        assert "".join(s.char for s in sampler.stream("The island", 120)) == exchange.generated


async def test_first_frame_before_the_model_is_ready(tiny_checkpoint, monkeypatch):
    """While the model loads (held here on purpose) the app is up, says so, and keys are safe."""
    import threading

    from rnntui.session import Session

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
        assert any("still loading" in n.message for n in app._notifications)
        # A seed text entered meanwhile waits for the model, and stays in the input until then.
        await pilot.press(*"The", "enter")
        assert any("starts once it is ready" in n.message for n in app._notifications)
        assert exchanges(app) == [] and app.query_one(SeedInput).value == "The"
        release.set()
        await ready(pilot)
        assert "Ready" in str(app.query_one("#engine-note").render())
        await until(pilot, lambda: app.chat.exchanges and not app.chat.streaming)
        assert [e.seed_text for e in exchanges(app)] == ["The"] and len(exchanges(app)[0].generated) == app.chat.length
        assert app.query_one(SeedInput).value == "" and app.training.state == "idle"


async def test_the_engine_loads_after_the_first_frame_is_drawn(tiny_checkpoint, monkeypatch):
    """Torch's import holds the GIL for tenths of a second: started before the first frame was
    sent to the terminal, it delayed that frame by as much. The chart comes after the frame too,
    and then shows the loaded checkpoint's history."""
    frames, frames_when_loading = [], []
    real_display, real_load = RnntuiApp._display, RnntuiApp.load_engine

    def display(self, screen, renderable):
        if renderable is not None and not self._batch_count:
            frames.append(renderable)
        real_display(self, screen, renderable)

    def load_engine(self):
        frames_when_loading.append(len(frames))
        return real_load(self)

    monkeypatch.setattr(RnntuiApp, "_display", display)
    monkeypatch.setattr(RnntuiApp, "load_engine", load_engine)
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
            "from rnntui.errors import RnntuiError\n"
            "from rnntui.tui.app import RnntuiApp\n"
            "from rnntui.session import Session\n"
            "real_run, frozen = RnntuiApp.run, []\n"
            "def run(self, *args, **kwargs):\n"
            "    frozen.append(gc.get_freeze_count())\n"
            "    print(gc.isenabled(), frozen[0] > 10000, gc.get_threshold()[0])\n"
            "    return real_run(self, headless=True)\n"
            "def open_(self, *args, **kwargs):\n"
            "    print(gc.isenabled(), gc.get_freeze_count() > frozen[0], gc.get_threshold()[0])\n"
            "    raise RnntuiError('enough')\n"
            "RnntuiApp.run, Session.open = run, open_\n"
            "RnntuiApp.on_engine_failed = lambda self, message: self.exit()\n"
            "sys.modules['rnntui.cli.parser'] = None  # nor is the command line's parser built (12 ms)\n"
            "rnntui.cli.main([])\n"
            "print(gc.isenabled())\n")
    env = dict(os.environ, RNNTUI_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["False", "True", "700", "True", "True", "10000", "True"], result.stderr[-2000:]


async def test_stop_is_in_the_footer_only_while_a_reply_streams(tiny_checkpoint):
    from textual.widgets._footer import FooterKey

    def footer_actions(app) -> list[str]:
        return [key.action for key in app.query(FooterKey)]

    app = make_app(tiny_checkpoint, length=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause()
        actions = footer_actions(app)
        assert "stop_stream" not in actions and actions.index("help") <= 1  # help near the front
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: "stop_stream" in footer_actions(app))
        await busy_press(pilot, "escape")
        await finished(pilot)
        await until(pilot, lambda: "stop_stream" not in footer_actions(app))


async def test_ctrl_r_regenerates_and_history_recall(tiny_checkpoint):
    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")  # nothing to repeat yet
        await pilot.press(*"The", "enter")
        await finished(pilot)
        await pilot.press(*"Sea", "enter")
        await finished(pilot)
        await pilot.press(*"Is", "ctrl+r")  # repeats "Sea", and leaves the text being typed alone
        await finished(pilot)
        assert [e.seed_text for e in exchanges(app)] == ["The", "Sea", "Sea"]
        seed_input = app.query_one(SeedInput)
        assert seed_input.value == "Is"
        seed_input.value = ""
        await pilot.press("up")
        assert seed_input.value == "Sea"
        await pilot.press("up")
        assert seed_input.value == "The"
        await pilot.press("down", "down")
        assert seed_input.value == ""


async def test_seed_texts_are_remembered_across_sessions(tiny_checkpoint, tmp_path):
    history = tmp_path / "data" / "seed-history.json"
    app = make_app(tiny_checkpoint, length=5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for seed in ("The", "Sea", "Sea"):
            await pilot.press(*seed, "enter")
            await finished(pilot)
    assert json.loads(history.read_text(encoding="utf-8")) == ["The", "Sea"]
    again = make_app(tiny_checkpoint, length=5)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("up")
        assert again.query_one(SeedInput).value == "Sea"
        await pilot.press("up")
        assert again.query_one(SeedInput).value == "The"


async def test_a_broken_seed_history_is_ignored_and_an_unwritable_one_reported(tiny_checkpoint, tmp_path):
    history = tmp_path / "data" / "seed-history.json"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"\x00 not json")
    app = make_app(tiny_checkpoint, length=5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("up")
        assert app.query_one(SeedInput).value == ""  # started empty, no error
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert json.loads(history.read_text(encoding="utf-8")) == ["The"]
    history.unlink()
    history.mkdir()  # a folder where the file should be: saving fails
    app = make_app(tiny_checkpoint, length=5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for seed in ("The", "Sea"):
            await pilot.press(*seed, "enter")
            await finished(pilot)
        warnings = [n for n in app._notifications if "not being saved" in n.message]
        assert len(warnings) == 1 and len(exchanges(app)) == 2  # said once; replies went on
    assert not [p for p in history.parent.iterdir() if p.name.startswith(".seed-history")]


async def test_scale_factor_keys_and_change_mid_stream(tiny_checkpoint):
    app = make_app(tiny_checkpoint, length=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+up")
        assert app.chat.scale_factor == 1.1
        await pilot.press("ctrl+down", "ctrl+down")
        assert app.chat.scale_factor == 0.9
        await pilot.press("alt+up")  # the same keys for terminals that keep ctrl+arrows
        assert app.chat.scale_factor == 1.0
        await pilot.press("alt+down")
        assert app.chat.scale_factor == 0.9
        assert "scale factor 0.90" in str(app.query_one("#status").render())
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: len(exchanges(app)[0].generated) > 50)
        await busy_press(pilot, "ctrl+up", "ctrl+up", "ctrl+up")
        await until(pilot, lambda: app.chat.scale_factor == 1.25)  # a busy UI takes a moment
        # Past 4 blocks' worth (1,600) a block is split even without a line break.
        await until(pilot, lambda: len(exchanges(app)[0].generated) > 2000)
        await busy_press(pilot, "escape")
        await finished(pilot)
        # The streaming reply's sampler, handed back when it ended, drew with the new factor.
        assert app.chat.sampler.scale_factor == 1.25
        exchange = exchanges(app)[0]
        assert len(exchange.generated) < 100_000
        blocks = [str(b.render()) for b in exchange.query(".block")]
        assert len(blocks) > 1  # long replies are split into blocks
        # Between two blocks, the line break they replace (none where one was split anyway).
        assert "".join("".join(blocks).split()) == "".join(joined(exchange.reply_plain).split())
        assert "stopped after" in str(exchange.query_one(".exchange-header").render())
        app.chat.scale_factor = 5.0  # near the top of the ladder: 7.5, then 10, then no further
        for _ in range(3):
            await pilot.press("ctrl+up")
        assert app.chat.scale_factor == 10.0
        assert any("at its maximum" in n.message for n in app._notifications)
    assert next_scale(1.0, -1) == 0.9 and next_scale(0.1, -1) == 0.1


async def test_unknown_character_notifies_and_keeps_running(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"Thé", "enter")
        await pilot.pause()
        assert exchanges(app) == []
        [note] = list(app._notifications)
        assert "'é'" in note.message and note.severity == "error"
        await pilot.press("backspace", "backspace", "backspace", *"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1


async def test_replies_while_training_show_what_the_model_writes_as_it_learns(tiny_checkpoint, corpus_file):
    app = make_app(tiny_checkpoint, corpus=corpus_file, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-sample_every")
        app.screen.query_one("#setting-sample_every").value = "10"
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.sample_every == 10)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        app.query_one(SeedInput).value = "half typ"  # being typed when the sample comes
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: len(app.chat.exchanges) >= 2 and not app.chat.streaming, timeout=60)
        await pause_training(pilot)
        await finished(pilot)  # a busy machine may have started the next one meanwhile
        count = len(app.chat.exchanges)
        sample = exchanges(app)[1]
        # From the last seed text, once training passes step 40 (30 + 10; the tiny model's steps
        # are quick, so a busy screen hears of a few at once), with the weights of the step it
        # started at, without touching what is being typed or the seed history.
        step = int(sample.header_line.split("· step ")[1].split(" ·")[0].replace(",", ""))
        assert sample.header_line.startswith("#2 · while training · scale factor 1.00") and step >= 40
        assert sample.seed_text == "The" and len(sample.generated) == 20
        assert app.query_one(SeedInput).value == "half typ" and app.query_one(SeedInput).history == ["The"]
        # None while a reply streams: that sample is skipped, not queued.
        app.chat.streaming = True
        app.chat.sample_while_training(app.chat.next_sample_at)
        app.chat.streaming = False
        assert len(app.chat.exchanges) == count and app.chat.next_sample_at % 10 == 0


async def test_save_as_writes_where_you_choose_and_later_saves_go_there(tiny_checkpoint, tmp_path):
    app = make_app(tiny_checkpoint)
    data = tmp_path / "data" / "checkpoints"
    other = tmp_path / "other.ckpt"  # another model's checkpoint
    other.write_bytes(tiny_checkpoint.read_bytes())
    before = other.read_bytes()
    notes = tmp_path / "notes.ckpt"  # a file of the person's, named like a checkpoint
    notes.write_text("keep me")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await shown(pilot, SaveAsScreen, "#save-path")
        field, error = app.screen.query_one("#save-path"), app.screen.query_one("#save-error")
        assert field.value == str(tiny_checkpoint)  # suggested: the file the model was opened from
        for typed, problem in ((str(tmp_path), "is a folder"), (str(notes), "is not an rnntui checkpoint"),
                               (str(notes), "is not an rnntui checkpoint"),  # a second enter changes nothing
                               (str(other), "exists: enter again to replace it")):
            field.value = typed
            await pilot.press("enter")
            assert problem in str(error.render()) and isinstance(app.screen, SaveAsScreen)
        assert notes.read_text() == "keep me" and other.read_bytes() == before
        await pilot.press("enter")  # again: replace it
        await until(pilot, lambda: app.info.name == "other.ckpt")
        assert load_checkpoint(other).step == 30
        # Another name, without a suffix, in a folder that does not exist yet.
        await pilot.press("f4")
        await shown(pilot, SaveAsScreen, "#save-path")
        assert app.screen.query_one("#save-path").value == str(other)  # where ctrl+s saves now
        app.screen.query_one("#save-path").value = str(tmp_path / "mine" / "verne")
        await pilot.press("enter")
        target = tmp_path / "mine" / "verne.ckpt"
        await until(pilot, lambda: app.info.name == "verne.ckpt")
        inode = target.stat().st_ino
        await pilot.press("ctrl+s")  # goes to the chosen file again, not to the data folder
        await until(pilot, lambda: target.stat().st_ino != inode)
        assert load_checkpoint(target).step == 30 and not data.exists()


async def test_train_pause_save_and_load_in_picker(tiny_checkpoint, corpus_file, tmp_path):
    app = make_app(tiny_checkpoint, corpus=corpus_file, length=30)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        assert len(panel.train) == 30  # the checkpoint's history
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: len(panel.train) >= 45 and panel.val[-1][0] > 30)
        assert app.training.state == "running"
        assert "training running" in str(app.query_one("#status").render())
        # Generating while training uses a consistent copy of the weights.
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: not app.chat.streaming)
        step = await pause_training(pilot)
        assert app.training.state == "paused"
        # The notice names the step training stopped at, and the chart has every step up to it.
        assert [n.message for n in app._notifications][-1] == f"Training paused at step {step}."
        assert panel.train[-1][0] == step and app.info.step == step
        await pilot.pause(0.3)
        assert app.session.step == step  # paused: no more steps
        original = tmp_path / "original.ckpt"
        original.write_bytes(tiny_checkpoint.read_bytes())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.session.unsaved_steps == 0)
        # A model opened from a file saves back to it, as an editor does, and says where.
        assert load_checkpoint(tiny_checkpoint).step == step
        assert not list((tmp_path / "data" / "checkpoints").glob("*.ckpt"))
        assert any(f"Saved step {step:,} to {tiny_checkpoint}" == n.message for n in app._notifications)
        # Load the original checkpoint through the picker: model and history are replaced.
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, CheckpointPicker)
        path_input = app.screen.query_one("#picker-path")
        path_input.value = str(original)
        path_input.focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.info.name == "original.ckpt")
        assert app.training.state == "idle" and app.session.step == 30
        assert len(panel.train) == 30
        # And the saved one again.
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.info.name == "tiny.ckpt")
        assert app.session.step == step


async def test_training_reports_after_the_widgets_are_gone_are_ignored(tiny_checkpoint):
    """The training thread posts until it ends, which can be after the app has begun to take
    its widgets down (it once failed CI that way, at the end of a test)."""
    from rnntui.training import TrainEvent
    from rnntui.tui.messages import Mailbox, TrainingPaused, TrainingProgress
    from rnntui.tui.widgets.status_line import StatusLine

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.query_one(LossPanel).remove()
        await app.query_one(StatusLine).remove()
        mailbox = Mailbox()
        mailbox.put(TrainEvent(31, 100, 2.0, None, 1000.0, 1.0, 0.005))
        app.training.post_message(TrainingProgress(mailbox))  # where the training worker posts
        app.training.post_message(TrainingPaused(31))
        await pilot.pause(0.2)
        assert app.is_running and app.info.step == 31


async def test_worker_messages_after_the_widgets_are_gone_are_ignored(tiny_checkpoint):
    """Generation, downloads and model loads also report from threads, which can outlive the
    widgets they report to."""
    from rnntui.tui.messages import (
        DownloadProgress,
        EngineFailed,
        EngineReady,
        GenerationChunk,
        GenerationDone,
        Mailbox,
        StreamedChar,
    )
    from rnntui.tui.widgets.candidates import CandidateBars
    from rnntui.tui.widgets.status_line import StatusLine
    from rnntui.tui.widgets.transcript import Transcript

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("a", "enter")
        await until(pilot, lambda: not app.chat.streaming)
        info, history = app.info, app.session.history
        for kind in (LossPanel, StatusLine, CandidateBars, Transcript):
            await app.query_one(kind).remove()
        mailbox = Mailbox()
        mailbox.put(StreamedChar("x", 0.5, (("x", 0.5), ("y", 0.25))))
        app.chat.post_message(GenerationChunk(1, mailbox))  # where each worker posts
        app.chat.post_message(GenerationDone(1, 1, False))
        app.training.post_message(DownloadProgress(10**6, 2 * 10**6))
        app.post_message(EngineReady(info, history, app.session, "Ready."))
        app.info = None  # as at start-up, when a failed load writes into the transcript
        app.post_message(EngineFailed("no such file"))
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None


async def test_fresh_model_from_corpus_trains(corpus_file):
    app = make_app(corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.session.step == 0
        await train_to(pilot, 10)
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.training.state == "paused")  # a busy UI takes a moment


async def test_new_model_on_a_text_file(tiny_checkpoint, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("abc cab bca! " * 300, encoding="utf-8")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02binary\x00" * 10)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, NewModelScreen)
        app.screen.query_one("#corpus-path").value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        assert isinstance(app.screen, NewModelScreen)  # refused in the dialog
        assert "no such file" in str(app.screen.query_one("#corpus-error").render())
        app.screen.query_one("#corpus-path").value = str(tmp_path)
        await pilot.press("enter")
        assert "is a folder" in str(app.screen.query_one("#corpus-error").render())
        # A binary file: one notification, and the current model stays.
        app.screen.query_one("#corpus-path").value = str(binary)
        await pilot.press("enter")
        await until(pilot, lambda: any("binary" in n.message for n in app._notifications))
        assert app.info.name == "tiny.ckpt"
        await pilot.press("ctrl+n")
        app.screen.query_one("#corpus-path").value = str(other)
        await pilot.press("enter")
        await until(pilot, lambda: app.info.name == "new model for other.txt")
        assert app.session.step == 0 and len(app.session.vocab) == len(set("abc cab bca! "))
        assert app.query_one(LossPanel).train == []  # the old model's history is gone
        await train_to(pilot, 5)
        await pause_training(pilot)
        await busy_press(pilot, *"cab")
        seed_input = app.query_one(SeedInput)
        await until(pilot, lambda: seed_input.value == "cab")
        await busy_press(pilot, "enter")
        await until(pilot, lambda: app.chat.exchanges and not app.chat.streaming)
        assert set(exchanges(app)[-1].generated) <= set("abc cab bca! ")


async def test_started_to_finetune_a_checkpoint_on_a_text(tiny_checkpoint, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("A Sea; the Shore. " * 200, encoding="utf-8")
    app = make_app(tiny_checkpoint, corpus=other, finetune=True)  # rnntui --checkpoint --corpus --finetune
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.info.name == "tiny fine-tuned on other.txt" and app.session.step == 0
        assert "A" in app.session.vocab and "!" in app.session.vocab
        await train_to(pilot, 2)
    from rnntui.cli import main

    assert main(["--finetune"]) == 2  # nothing to fine-tune on: one line, no app


async def test_a_loaded_model_trains_on_the_text_it_was_trained_on(tiny_checkpoint, tiny_checkpoint_file):
    app = make_app(tiny_checkpoint)  # no corpus given, and a model that is not the book's
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        assert panel.border_title == "Loss (nats/char) · tiny.txt"
        await train_to(pilot, 32)
        await pause_training(pilot)
        assert app.session.corpus_path == tiny_checkpoint_file.parent / "tiny.txt"  # the file it recorded
        assert panel.border_title == "Loss (nats/char) · tiny.txt"


async def test_finetune_the_current_model_on_a_text_file(tiny_checkpoint, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("the sea, the Shore; a Cave. " * 200, encoding="utf-8")  # some new characters
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = app.session.model.state_dict()["rnn.weight_hh_l0"].clone()
        await pilot.press("ctrl+n")
        assert app.screen.focused.id == "corpus-path"  # type the path at once
        app.screen.query_one("#corpus-path").value = str(other)
        await pilot.press("tab", "space")  # tick Fine-tune from the keyboard ...
        assert app.screen.query_one("#finetune").value
        await pilot.press("enter")  # ... and start from the box, as from the path field
        await until(pilot, lambda: app.info.name == "tiny fine-tuned on other.txt")
        assert app.query_one(LossPanel).border_title == "Loss (nats/char) · other.txt"
        vocab = app.session.vocab
        assert {"S", "C", ";", ","} <= set(vocab.char_array) and "!" in vocab  # new ones added, old kept
        assert app.session.step == 0 and app.query_one(LossPanel).train == []
        assert app.session.model.state_dict()["rnn.weight_hh_l0"].equal(before)  # the tiny model's weights
        assert "Fine-tuning" in str(app.query_one("#engine-note").render())
        await train_to(pilot, 3)
        step = await pause_training(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.session.unsaved_steps == 0)
    [saved] = (tmp_path / "data" / "checkpoints").glob("*.ckpt")
    checkpoint = load_checkpoint(saved)
    assert checkpoint.step == step and checkpoint.provenance["finetuned_from"]["checkpoint"] == "tiny.ckpt"


async def test_replacing_a_model_with_unsaved_training_asks_first(tiny_checkpoint, corpus_file, tmp_path):
    original = tmp_path / "original.ckpt"
    original.write_bytes(tiny_checkpoint.read_bytes())
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 35)
        step = await pause_training(pilot)  # paused, so that keys are handled at once

        async def pick_original() -> None:
            await pilot.press("ctrl+o")
            app.screen.query_one("#picker-path").value = str(original)
            app.screen.query_one("#picker-path").focus()
            await pilot.press("enter")
            await shown(pilot, UnsavedScreen, "#cancel")

        await pick_original()
        app.screen.query_one("#cancel").press()
        await until(pilot, lambda: not isinstance(app.screen, UnsavedScreen))
        await pilot.pause(0.2)
        assert app.training.state == "paused" and app.session.step == step  # nothing changed
        await pick_original()
        app.screen.query_one("#save").press()
        await until(pilot, lambda: app.info.name == "original.ckpt" and app.session.step == 30)
        # The progress was kept, in the file the model came from.
        assert load_checkpoint(tiny_checkpoint).step == step
        assert app.training.state == "idle"
        assert any("Saved" in n.message for n in app._notifications)


async def test_training_the_bundled_model_offline_says_what_to_do(monkeypatch):
    import rnntui.download

    monkeypatch.setattr(rnntui.download.time, "sleep", lambda seconds: None)  # no back-off waits
    app = make_app()  # the bundled model; the corpus URL points nowhere (conftest)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: any("could not download" in n.message for n in app._notifications))
        message = next(n.message for n in app._notifications if "could not download" in n.message)
        assert "--corpus PATH" in message and "ctrl+n" in message
        assert app.training.state == "idle" and app.is_running


async def test_loading_during_the_books_download_neither_waits_for_it_nor_trains_after_it(
        tiny_checkpoint, corpus_file, monkeypatch):
    import shutil
    import threading

    import rnntui.download
    from rnntui.paths import default_corpus_path

    release, started = threading.Event(), threading.Event()

    def slow_download(progress=None, **kwargs):  # a download that takes as long as the test says
        started.set()
        release.wait(20)
        default_corpus_path().parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus_file, default_corpus_path())
        return default_corpus_path()

    monkeypatch.setattr(rnntui.download, "ensure_default_corpus", slow_download)
    # A model of the book (as the bundled one is), and no corpus given: training fetches the book.
    checkpoint = load_checkpoint(tiny_checkpoint)
    checkpoint.corpus = {"name": default_corpus_path().name}
    save_checkpoint(checkpoint, tiny_checkpoint)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, started.is_set)
        await pilot.press("ctrl+o")
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        # The load does not wait for the download (it used to wait up to 60 s) ...
        await until(pilot, lambda: any("Loaded" in str(n.message) for n in app._notifications)
                    or "Loaded" in str(app.query_one("#engine-note").render()), timeout=5)
        release.set()
        # ... and the cancelled worker does not go on to train the model loaded meanwhile.
        await until(pilot, lambda: app.training.state == "idle")
        await pilot.pause(0.3)
        assert app.session.trainer is None and app.session.step == 30


async def test_bad_checkpoint_in_picker_notifies(tiny_checkpoint, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        app.screen.query_one("#picker-path").value = str(bad)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: any("not an rnntui checkpoint" in n.message for n in app._notifications))
        assert app.info.name == "tiny.ckpt" and app.is_running
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1


async def test_bad_start_checkpoint_notifies(tmp_path, tiny_checkpoint):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 100)
    app = make_app(bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("not an rnntui" in n.message for n in app._notifications))
        await pilot.press(*"The", "enter")
        assert app.is_running and exchanges(app) == []
        assert any("No model is open" in n.message for n in app._notifications)
        assert "ctrl+o opens a checkpoint" in str(app.query_one("#engine-note").render())
        # The app is not a dead end: ctrl+o opens another model, which then answers.
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await ready(pilot)
        assert app.info.name == "tiny.ckpt"
        await pilot.press("enter")  # the seed text typed before is still in the input
        await finished(pilot)
        assert [e.seed_text for e in exchanges(app)] == ["The"]


async def test_a_failed_start_can_start_a_new_model(tmp_path, corpus_file):
    from textual.widgets import Checkbox

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    app = make_app(corpus=bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("binary" in n.message for n in app._notifications))
        await pilot.press("ctrl+n")
        await shown(pilot, NewModelScreen, "#finetune")
        assert app.screen.query_one("#finetune", Checkbox).disabled  # no model to fine-tune
        app.screen.query_one("#corpus-path").value = str(corpus_file)
        await pilot.press("enter")
        await ready(pilot)
        assert app.info.name == f"new model for {corpus_file.name}"
        await train_to(pilot, 3)
        await pause_training(pilot)


@pytest.mark.parametrize("content, message", [(b"", "no text"), (b"\x00\x01binary", "binary"),
                                              ("caf\u00e9".encode("latin-1"), "not UTF-8")])
async def test_bad_start_corpus_notifies(tmp_path, content, message):
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(content)
    app = make_app(corpus=corpus)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(message in n.message for n in app._notifications))
        await pilot.press("ctrl+t", *"The", "enter")
        assert app.is_running and exchanges(app) == [] and app.training.state == "idle"


async def test_training_error_notifies(tiny_checkpoint, corpus_file):
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    app.train_config = tiny_train_config(lr=1e6)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.session.base_config = tiny_train_config(lr=1e6)
        app.session.checkpoint.train_config["lr"] = 1e6
        await pilot.press("ctrl+t")
        await until(pilot, lambda: any("diverged" in n.message for n in app._notifications))
        assert app.training.state == "idle" and app.is_running


async def test_length_dialog(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-length")
        await pilot.press("ctrl+a", "ctrl+k", *"0", "enter")
        assert isinstance(app.screen, ReplySettingsScreen)  # 0 is refused, with the reason
        assert "1, 100000" in str(app.screen.query_one("#settings-error").render())
        await pilot.press("backspace", *"42", "enter")
        assert app.chat.length == 42
        await pilot.press("ctrl+l")  # nothing changed: said so, and the dialog closes
        await shown(pilot, ReplySettingsScreen, "#setting-length")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        assert any(n.message == "The reply settings are unchanged." for n in app._notifications)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)[0].generated) == 42


async def test_top_k_and_top_p_cut_the_distribution_replies_draw_from(tiny_checkpoint, tmp_path):
    from rnntui.sampling import Sampler, generate_text

    checkpoint = load_checkpoint(tiny_checkpoint)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The", 40)
    app = make_app(tiny_checkpoint, length=40)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert exchanges(app)[0].reply_plain != greedy  # the tiny model is unsure: drawn, not greedy
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-top_p")
        # Enter in a field applies the form. (Not two clicks on Apply: a Button ignores a click
        # while it still shows the last one, 0.2 s, and a loaded machine can take that long.)
        app.screen.query_one("#setting-top_p").value = "0"
        await pilot.press("enter")
        await until(pilot, lambda: "top-p" in str(app.screen.query_one("#settings-error").render()))  # refused
        app.screen.query_one("#setting-top_p").value = "0.9"
        app.screen.query_one("#setting-top_k").value = "1"
        app.screen.query_one("#setting-scale_factor").value = "1.3"  # any value, not only the keys' steps
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        assert (app.chat.length, app.chat.scale_factor, app.chat.top_k, app.chat.top_p) == (40, 1.3, 1, 0.9)
        assert "scale factor 1.30 │ length 40 │ top-k 1 │ top-p 0.9 │" in str(app.query_one("#status").render())
        await pilot.press(*"The", "enter")
        await finished(pilot)
        reply = exchanges(app)[1]
        assert reply.reply_plain == greedy  # top-k 1 draws the most likely character every time
        assert "scale factor 1.30 · top-k 1 · top-p 0.9 ·" in reply.header_line
        # A continuation draws the same way.
        await pilot.press("enter")
        await finished(pilot)
        whole = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The", 80)
        assert reply.reply_plain == whole
    saved = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert (saved["scale_factor"], saved["top_k"], saved["top_p"]) == (1.3, 1, 0.9)
    again = make_app(tiny_checkpoint)
    assert (again.chat.scale_factor, again.chat.top_k, again.chat.top_p) == (1.3, 1, 0.9)


async def test_reply_settings_apply_to_a_streaming_reply_from_its_next_character(tiny_checkpoint):
    from rnntui.sampling import Sampler, generate_text

    app = make_app(tiny_checkpoint, length=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: app.chat.exchanges and len(exchanges(app)[0].generated) > 50)
        await busy_press(pilot, "ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-top_k")
        app.screen.query_one("#setting-top_k").value = "1"
        await busy_press(pilot, "enter")
        await until(pilot, lambda: app.chat.top_k == 1)
        switched = len(exchanges(app)[0].generated)
        await until(pilot, lambda: len(exchanges(app)[0].generated) > switched + 800)
        await busy_press(pilot, "escape")
        await finished(pilot)
        text = exchanges(app)[0].reply_plain
    # The screen shows what the worker drew a frame or so late: well after the switch, the
    # reply goes on as the model writes greedily (top-k 1) from the text before.
    start = len("The") + switched + 400
    checkpoint = load_checkpoint(tiny_checkpoint)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), text[:start], 300)
    assert text[:start + 300] == greedy


async def test_pick_mode_lets_you_choose_each_next_character(tiny_checkpoint):
    from rnntui.sampling import Sampler, generate_text

    checkpoint = load_checkpoint(tiny_checkpoint)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The", 6)
    app = make_app(tiny_checkpoint, length=6)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        assert app.chat.pick_mode and "you pick" in str(app.query_one("#status").render())
        await pilot.press(*"The", "enter")
        for _ in range(6):  # always the first candidate: what the model writes greedily
            await until(pilot, lambda: app.chat.pick_top is not None)
            assert "1-5 or click: pick" in app.query_one(CandidateBars).border_title
            await pilot.press("1")
        await finished(pilot)
        assert exchanges(app)[0].reply_plain == greedy
        assert exchanges(app)[0].header_line.endswith("· 6 characters, 6 picked by you")
        seed_input = app.query_one(SeedInput)
        await pilot.press("1", "2", "space")  # no reply waits: the keys are typed as usual
        assert seed_input.value == "12 "
        seed_input.value = ""
        # The second candidate, then space (the model draws one itself), then escape stops.
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: app.chat.pick_top is not None)
        second = app.chat.pick_top[1][0]
        await pilot.press("f1", "1")  # a dialog is up: the key is not a pick
        await pilot.pause(0.2)
        assert app.chat.pick_top is not None and exchanges(app)[1].generated == ""
        await pilot.press("escape")
        assert isinstance(app.screen, Screen) and not isinstance(app.screen, HelpScreen)
        await pilot.press("2")
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 1)
        await pilot.press("space")
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 2)
        third = app.chat.pick_top[2][0]
        await pilot.click(CandidateBars, offset=(6, 3))  # the panel's border, then the candidates' rows
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 3)
        await pilot.press("escape")
        await finished(pilot)
        reply = exchanges(app)[1]
        assert reply.generated[0] == second and reply.generated[2] == third
        assert len(reply.generated) == 4  # and the one drawn as it stopped
        assert reply.header_line.endswith("stopped after 4 characters, 2 picked by you")
        assert app.chat.pick_top is None and seed_input.value == ""
        # Off again: replies stream by themselves; on again in the middle of one, it waits from
        # its next character.
        await pilot.press("f3")
        app.chat.length = 100_000
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: len(exchanges(app)[2].generated) > 20)
        assert app.chat.pick_top is None and not app.chat.pick_mode
        await busy_press(pilot, "f3")
        await until(pilot, lambda: app.chat.pick_top is not None)
        waiting_at = len(exchanges(app)[2].generated)
        await pilot.pause(0.3)
        assert len(exchanges(app)[2].generated) == waiting_at  # it waits
        await pilot.press("f3")  # off while it waits: it goes on by itself
        await until(pilot, lambda: len(exchanges(app)[2].generated) > waiting_at + 20)
        await busy_press(pilot, "escape")
        await finished(pilot)


async def test_a_new_reply_while_one_waits_for_a_pick_waits_for_its_own(tiny_checkpoint):
    import time

    app = make_app(tiny_checkpoint, length=3)
    real_wait_for_pick = app.chat.wait_for_pick

    def slow_to_stop(number, mailbox, worker, answers):
        choose = real_wait_for_pick(number, mailbox, worker, answers)

        def stopped_late(top):
            picked = choose(top)
            if worker.is_cancelled:
                time.sleep(1.0)  # the stopped reply ends after the new one has asked for a pick
            return picked

        return stopped_late

    app.chat.wait_for_pick = slow_to_stop
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3", *"The", "enter")
        await until(pilot, lambda: app.chat.pick_top is not None)
        await pilot.press("ctrl+r")  # the first reply stops; the second asks for its first pick
        await until(pilot, lambda: app.chat.pick_exchange == 2)
        await pilot.pause(1.5)  # the first one's end arrives meanwhile, and must leave that ask alone
        for _ in range(3):
            await until(pilot, lambda: app.chat.pick_top is not None and app.chat.pick_exchange == 2)
            await pilot.press("1")
        await finished(pilot)
        first, second = exchanges(app)
        assert len(second.generated) == 3 and second.picked == 3 and first.picked == 0


async def test_copy_reply_puts_the_last_reply_on_the_clipboard(tiny_checkpoint):
    app = make_app(tiny_checkpoint, length=30)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+y")  # nothing yet: a notice, the clipboard untouched
        assert app.clipboard == ""
        for seed in ("The", "It"):
            await pilot.press(*seed, "enter")
            await finished(pilot)
        await pilot.press("ctrl+y")
        last = exchanges(app)[-1]
        assert app.clipboard == last.reply_plain and app.clipboard.startswith("It")
        assert len(app.clipboard) == 2 + 30


async def test_a_small_terminal_keeps_the_chat_readable(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert app.screen.has_class("-narrow") and app.screen.has_class("-short")
        panel = app.query_one(LossPanel)
        assert panel.size.width <= 36 and app.query_one("#chat").size.width >= 44
        status = app.query_one("#status")
        assert "stopped │ step 30 │ tiny.ckpt" in str(status.render())
        # A long model name is cut short with an ellipsis; the training state and step stay.
        app.info.name = "a-model-with-a-very-long-name-that-does-not-fit-" * 2 + ".ckpt"
        app.update_status()
        await pilot.pause()
        line = "".join(segment.text for segment in status.render_line(0))
        assert line.startswith(" scale 1.00 │ length") and "stopped │ step 30 │ a-model" in line
        assert line.rstrip().endswith("…") and len(line) == 80
        figures = app.query_one("#loss-figures").content  # a rich Table
        assert (len(figures.columns), figures.row_count) == (2, 3)
        for key in ("ctrl+o", "f1", "ctrl+n"):  # dialogs stay on the screen
            await pilot.press(key)
            await pilot.pause()
            dialog = app.screen.query_one(".dialog, #help-dialog")
            assert dialog.region.right <= 80, key
            await pilot.press("escape")
        await pilot.resize_terminal(130, 40)
        await pilot.pause()
        assert app.screen.has_class("-wide") and panel.size.width >= 40
        assert "scale factor" in str(app.query_one("#status").render())
        figures = app.query_one("#loss-figures").content
        assert (len(figures.columns), figures.row_count) == (3, 2)


async def test_help_lists_every_key(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        keys = [key for keys, _ in app.screen.keys for key in keys.split(" / ")]
        for key in ("enter", "escape", "ctrl+r", "ctrl+g", "ctrl+up", "alt+up", "ctrl+down", "alt+down", "ctrl+t",
                    "ctrl+s", "ctrl+o", "ctrl+l", "ctrl+n", "ctrl+y", "f1", "f2", "ctrl+q"):
            assert key in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_has_the_actions(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Generate", "Train/pause", "Save", "Open",
                      "Reply settings: length, scale factor, top-k, top-p, line breaks", "New model",
                      "Copy reply", "Continue", "Training settings", "Chart", "Help", "Clear the chat"):
            assert title in titles


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


async def test_a_full_disk_when_saving_loses_nothing(tiny_checkpoint, corpus_file, tmp_path, monkeypatch):
    import os

    real_fsync = os.fsync

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        monkeypatch.setattr(os, "fsync", disk_full)
        await busy_press(pilot, "ctrl+q")
        await shown(pilot, UnsavedScreen, "#save")
        app.screen.query_one("#save").press()  # "save and quit" on a full disk
        await until(pilot, lambda: any("disk is full" in n.message for n in app._notifications))
        await pilot.pause(0.2)
        assert app.is_running and app.session.unsaved_steps > 0  # nothing thrown away
        # The file it saves back to is whole, as it was, with no half-written file beside it.
        assert load_checkpoint(tiny_checkpoint).step == 30
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
        monkeypatch.setattr(os, "fsync", real_fsync)  # space again: the same progress saves
        await busy_press(pilot, "ctrl+s")
        await until(pilot, lambda: load_checkpoint(tiny_checkpoint).step >= 33)


async def test_training_is_saved_every_few_minutes(tiny_checkpoint, corpus_file, tmp_path):
    app = make_app(tiny_checkpoint, corpus=corpus_file, autosave_every=0.5)  # 5 minutes, normally
    folder = tmp_path / "data" / "checkpoints"
    saved = tiny_checkpoint  # a model opened from a file saves back to it
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause(0.8)
        assert load_checkpoint(saved).step == 30  # nothing trained, nothing saved
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: load_checkpoint(saved).step > 30)
        await until(pilot, lambda: any(n.message.startswith("Autosaved") for n in app._notifications))
        assert app.training.state == "running"  # it trains on
        first = load_checkpoint(saved).step
        await until(pilot, lambda: load_checkpoint(saved).step > first)  # the same file, later
        step = await pause_training(pilot)
        await until(pilot, lambda: app.session.unsaved_steps == 0)  # the steps before the pause too
        assert load_checkpoint(saved).step == step and not folder.exists()


def send_to_myself(number: int) -> None:
    """Send a signal to this process, once sure the app handles it (its default would end pytest)."""
    import os
    import signal

    assert signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    os.kill(os.getpid(), number)


async def test_sigterm_saves_the_training_progress_and_exits(tiny_checkpoint, corpus_file, tmp_path):
    import signal

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        send_to_myself(signal.SIGTERM)  # `kill`, or the system shutting down
        await until(pilot, lambda: not app.is_running)
    saved = tiny_checkpoint  # where the model came from
    assert load_checkpoint(saved).step == app.session.step >= 33
    assert app.return_code == 0 and str(app.return_value) == f"saved {saved}"
    assert not (tmp_path / "data" / "checkpoints").exists()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # handed back when the app ended


async def test_sigterm_on_a_full_disk_exits_with_the_error(tiny_checkpoint, corpus_file, tmp_path, monkeypatch,
                                                           capsys):
    import os
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
    import os
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


async def test_generation_error_notifies(tiny_checkpoint, monkeypatch):
    from rnntui.errors import RnntuiError
    from rnntui.session import Session

    def broken(self, *args, **kwargs):
        raise RnntuiError("the sampler broke")

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real = Session.sampler
        monkeypatch.setattr(Session, "sampler", broken)
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: any("sampler broke" in n.message for n in app._notifications))
        monkeypatch.setattr(Session, "sampler", real)  # only this: undo() would lift the test's own folders
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert app.is_running and len(exchanges(app)[-1].generated) == app.chat.length


async def test_watching_a_run_that_has_not_started_waits_for_it(tmp_path):
    app = RnntuiApp(watch=tmp_path / "runs" / "later.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(LossPanel).chart is not None)
        await pilot.pause()
        chart = app.query_one(LossPanel).chart
        # Training happens in the run's own process: the chart does not offer ctrl+t.
        assert "waiting for the run's first step" in str(chart.render_line(0))
        assert "ctrl+t" not in "".join(str(chart.render_line(y)) for y in range(chart.size.height))


async def test_watching_goes_on_quietly_once_the_chart_is_gone(tmp_path):
    """The watch timer reads the run's new steps every second, which can be after the app has
    begun to take its widgets down."""
    import json

    from rnntui.metrics import metrics_path

    run = tmp_path / "runs" / "later.ckpt"
    app = RnntuiApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(LossPanel).chart is not None)
        await app.query_one(LossPanel).remove()
        run.parent.mkdir(parents=True, exist_ok=True)
        metrics_path(run).write_text(json.dumps({"step": 1, "train_loss": 3.0, "val_loss": None, "chars_per_s": 10.0,
                                                 "elapsed": 1.0, "lr": 0.005, "ranks": 1}) + "\n", encoding="utf-8")
        await pilot.pause(1.5)  # the timer has read the new step by now
        assert app.is_running and app.return_code is None


async def test_watch_follows_a_run_and_loads_its_checkpoint(tiny_checkpoint, corpus_file, capsys):
    """rnntui watch: the chart follows the metrics file as another process appends to it."""
    from rnntui.cli import main
    from rnntui.metrics import metrics_path

    run = tiny_checkpoint.parent / "run.ckpt"
    common = ["--corpus", str(corpus_file), "--out", str(run), "--embed-dim", "16", "--hidden-size", "32",
              "--batch-size", "8", "--seq-length", "16", "--eval-every", "5", "--device", "cpu"]
    assert main(["train", "--steps", "10", *common]) == 0
    app = RnntuiApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: len(panel.train) == 10)
        assert app.info.name == "run.ckpt" and app.session.step == 10
        # The run goes on elsewhere; new lines show up in the chart.
        assert main(["train", "--resume", str(run), "--steps", "15", *common]) == 0
        await until(pilot, lambda: len(panel.train) == 15 and panel.val[-1][0] == 15, timeout=10)
        await pilot.press("ctrl+t")
        assert app.training.state == "idle" and any("Watching" in n.message for n in app._notifications)
        await pilot.press("ctrl+n")  # the run's model is trained elsewhere: no new model here
        assert not isinstance(app.screen, NewModelScreen)
        assert any("its own process" in n.message for n in app._notifications)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, CheckpointPicker)
        assert [p.name for p, _ in app.screen.entries][:1] == ["run.ckpt"]
        await pilot.press("enter")
        await until(pilot, lambda: app.session.step == 15)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1
    assert metrics_path(run).exists()
    capsys.readouterr()


async def test_view_follows_the_stream_only_at_the_bottom(tiny_checkpoint):
    app = make_app(tiny_checkpoint, length=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        transcript = app.query_one("#transcript")
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: transcript.max_scroll_y > 8)
        # Following: at the bottom, give or take the lines of a chunk that has just come in.
        await until(pilot, lambda: transcript.scroll_y >= transcript.max_scroll_y - 2, timeout=5)
        transcript.focus()
        await busy_press(pilot, "home")
        # "home" scrolls with an animation; wait for it to land, then for more text to come.
        await until(pilot, lambda: transcript.scroll_y == 0)
        height = transcript.max_scroll_y
        await until(pilot, lambda: transcript.max_scroll_y > height + 4)
        assert transcript.scroll_y == 0  # the person scrolled up: the view stays put
        await busy_press(pilot, "end")
        height = transcript.max_scroll_y
        await until(pilot, lambda: transcript.max_scroll_y > height + 4)
        # Back at the bottom: following again, so the view keeps up with text added after "end".
        await until(pilot, lambda: transcript.scroll_y >= transcript.max_scroll_y - 2, timeout=5)
        assert transcript.max_scroll_y > height + 4
        await busy_press(pilot, "escape")
        await finished(pilot)


async def test_f5_gives_the_exact_validation_loss_as_rnntui_evaluate_does(tiny_checkpoint):
    from rnntui.evaluate import held_out_loss
    from rnntui.trainers import recorded_corpus_path

    checkpoint = load_checkpoint(tiny_checkpoint)
    loss, count, fraction = held_out_loss(checkpoint, load_corpus(recorded_corpus_path(checkpoint)))
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: not app.evaluating)
        await pilot.pause()
        note = str(app.query_one("#evaluation-1").render())
        static, dynamic_part = note.split("; dynamic evaluation ")
        assert static == (f"Validation loss at step 30: {loss:.4f} nats/char ({loss / 0.6931471805599453:.2f} "
                          f"bits/char), exact, over the last {count:,} characters of tiny.txt")
        assert fraction == 0.1
        # Beside it, the dynamic evaluation's figure on the same characters, as evaluate --dynamic gives it.
        from rnntui.dynamic import DynamicConfig, dynamic_loss

        corpus = load_corpus(recorded_corpus_path(checkpoint))
        train_ids, tail = corpus.split(fraction)
        expected = dynamic_loss(checkpoint.build_model(), tail, DynamicConfig(), train_ids).loss
        assert abs(float(dynamic_part.split(" ")[0]) - expected) < 2e-4 and expected < loss
        assert "RMS rule (Krause et al. 2018)" in dynamic_part and "the model itself is unchanged" in dynamic_part
        # The bundled model is judged on the book, not downloaded here: one clear notification.
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        app.screen.query_one("#picker-path").value = str(app.session._bundled())
        await pilot.press("enter")
        await until(pilot, lambda: app.info is not None and app.info.name != "tiny.ckpt")
        await pilot.press("f5")
        await until(pilot, lambda: not app.evaluating)
        assert any("not downloaded yet: ctrl+t downloads it" in n.message and n.severity == "error"
                   for n in app._notifications)
        assert not app.query("#evaluation-2")


async def test_clearing_the_chat_leaves_the_model_alone(tiny_checkpoint):
    from rnntui.tui.widgets.transcript import Transcript

    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        step = app.session.step
        app.action_clear_chat()
        await pilot.pause()
        assert not app.query(Exchange) and not app.query_one(Transcript).children and not app.chat.exchanges
        await pilot.press("enter")  # nothing left to continue: a seed text is asked for
        assert [n.message for n in app._notifications][-1] == "Type a seed text first, e.g. The island."
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert exchanges(app)[0].header_line.startswith("#1 ") and app.session.step == step


def test_unlikely_characters_take_the_themes_warning_and_error_colours():
    from textual.color import Color

    from rnntui.tui.widgets.transcript import SEED, confidence_palette, level_for

    assert [level_for(p) for p in (0.9, 0.5, 0.3, 0.2, 0.1, 0.05, 0.01)] == [0, 0, 1, 1, 2, 2, 3]
    palette = confidence_palette(Color.parse("#EBCB8B"), Color.parse("#BF616A"))  # nord's
    assert palette[1].color.triplet.hex == "#ebcb8b" and palette[3].color.triplet.hex == "#bf616a"
    assert palette[2].color.triplet.hex == Color.parse("#EBCB8B").blend(Color.parse("#BF616A"), 0.5).hex.lower()
    assert palette[3].bold and palette[SEED].bold and not palette[0].color


async def test_a_new_theme_recolours_the_replies_so_far(tmp_path, tiny_checkpoint):
    join_wrapped_lines(tmp_path)
    app = make_app(tiny_checkpoint, length=300)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        [exchange] = exchanges(app)

        def colours() -> set[str]:
            return {span.style.color.triplet.hex for block in exchange.query(".block")
                    for span in block.content.spans if span.style.color is not None}

        before = colours()
        assert before  # a tiny model writes some unlikely characters
        app.theme = "nord"
        await pilot.pause()
        assert colours() and colours() <= {"#ebcb8b", "#d5967a", "#bf616a"} and not colours() & before
        assert "".join(str(block.content) for block in exchange.query(".block")) == joined(exchange.reply_plain)


async def test_f6_says_what_the_current_model_is(tiny_checkpoint):
    from rnntui.tui.screens.model_info import ModelInfoScreen

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        await shown(pilot, ModelInfoScreen, "#model-info-table")
        import io

        from rich.console import Console

        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#model-info-table").content)
        text = console.export_text()
        assert f"file         {tiny_checkpoint} (" in text
        assert "model        LSTM, 1 layer, embedding 16, hidden 32" in text
        assert "training     30 steps in 0:00:00; batch 8 × 16, Adam at 0.005" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, ModelInfoScreen)


def test_the_readmes_key_table_has_every_key():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| key | does |", 1)[1].split("\n\n", 1)[0]
    from rnntui.tui.keys import KEYS

    for row in KEYS:  # pick mode's 1-5 and space are in f3's row
        for key in row.keys.split(",") if row.keys else ():
            assert f"`{key}`" in table, key


def test_join_wrapped_lines_shows_a_wrap_inside_a_paragraph_as_a_space():
    from rnntui.tui.widgets.transcript import join_wrapped_lines

    runs = [["The island\nwas", "bold"], ["\n\nIt", "red"], ["\nrose", ""], ["\n", "yellow"]]
    # Same length, same styles: a wrap is a space, a blank line stays; the last break shows
    # as a space until the next character says whether it ends the paragraph.
    assert join_wrapped_lines(runs) == [["The island was", "bold"], ["\n\nIt", "red"], [" rose", ""],
                                        [" ", "yellow"]]
    assert join_wrapped_lines([["rose\n", ""], ["\nNow", "x"]]) == [["rose\n", ""], ["\nNow", "x"]]
    # A block that starts with a paragraph's blank line (the break before it is the border).
    assert join_wrapped_lines([["\nNow\nthen", ""]]) == [["\nNow then", ""]]


def test_blocks_end_at_a_line_break_as_written_and_at_a_blank_line_when_reflowed():
    from rnntui.tui.widgets.transcript import BLOCK_CHARS, block_bounds, block_cut

    text = "\n\n".join("\n".join(["x" * 59] * 6) for _ in range(8))  # 8 paragraphs of 6 wrapped lines
    assert block_cut(text[:BLOCK_CHARS], reflow=True) is None  # not grown past a block yet
    # The first paragraph is 359 characters, then its blank line (359 and 360); the next line
    # break comes at 420. As written, at that blank line's second break; reflowed, before it.
    assert block_cut(text[:BLOCK_CHARS + 1], reflow=False) == (360, 1)
    assert block_cut(text[:BLOCK_CHARS + 1], reflow=True) == (359, 1)
    for reflow, border in ((False, "\n"), (True, "\n\n")):
        bounds = block_bounds(text, reflow)
        assert len(bounds) > 3 and bounds[-1][1] == len(text)
        for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False):
            assert text[end:end + len(border)] == border and start == end + 1
    # A stream without a line break for 4 blocks' worth is split there anyway.
    assert block_cut("x" * (4 * BLOCK_CHARS + 1), reflow=True) == (4 * BLOCK_CHARS + 1, 0)


async def test_a_reply_flows_in_paragraphs_and_the_reply_settings_show_its_lines_as_written(tiny_checkpoint, tmp_path):
    from rnntui.sampling import SampledChar
    from rnntui.tui.widgets.transcript import Transcript

    # A book's paragraphs, hard-wrapped at 60 columns as Project Gutenberg's texts are.
    lines = [f"line {n} of the paragraph, as the book wraps it at sixty col" for n in range(6)]
    text = " It began.\n" + "\n\n".join("\n".join(lines) for _ in range(7))
    join_wrapped_lines(tmp_path)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.chat.reflow  # as the person chose
        exchange = app.query_one(Transcript).add_exchange(Exchange(1, "Seed", "#1", reflow=app.chat.reflow))
        app.chat.exchanges[1] = exchange
        await pilot.pause()
        for start in range(0, len(text), 7):  # as a stream arrives, a few characters a frame
            exchange.append([SampledChar(char, 0.9, ()) for char in text[start:start + 7]])
        await pilot.pause()

        def drawn() -> list[str]:
            return [str(block.render()) for block in exchange.query(".block")]

        reflowed = drawn()
        assert len(reflowed) > 3
        # Each paragraph is one flowing text; blocks meet at blank lines.
        assert "\n".join(reflowed) == "Seed" + joined(text)
        assert "\n".join(reflowed).count("sixty col line") == 7 * 5
        assert "\n".join(reflowed).count("\n\n") == 6
        assert exchange.reply_plain == "Seed" + text  # copied and exported as written

        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-reflow")
        app.screen.query_one("#setting-reflow").value = False
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        await pilot.pause()
        assert not app.chat.reflow and not exchange.reflow
        as_written = drawn()
        assert len(as_written) > 3 and "\n".join(as_written) == "Seed" + text
        exchange.set_reflow(True)  # and back: the same blocks as when it streamed
        await pilot.pause()
        assert drawn() == reflowed
    saved = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert saved["reflow"] is False
    assert make_app(tiny_checkpoint).chat.reflow is False


def test_the_picker_shortens_long_names_in_the_middle():
    from rnntui.tui.screens.picker import NAME_WIDTH, describe, shortened

    assert shortened("mysterious-island-1268-0.txt") == "mysterious-island-1268-0.txt"  # 28: fits
    name = "the-complete-works-of-william-shakespeare-step-012000.ckpt"
    short = shortened(name)
    assert len(short) == NAME_WIDTH and short.startswith("the-complete-") and short.endswith("012000.ckpt")
    assert "…" in short
    header = {"step": 1200, "best_val_loss": 1.23456, "corpus": {"name": name},
              "created": "2026-11-30T05:06:07+00:00"}
    assert describe(header) == ("1,200", "1.2346", short, "2026-11-30 05:06")


def test_split_runs():
    from rnntui.tui.widgets.transcript import split_runs

    runs = [["ab", "x"], ["c\nd", "y"], ["ef", "z"]]
    assert split_runs(runs, 3, skip=1) == ([["ab", "x"], ["c", "y"]], [["d", "y"], ["ef", "z"]])
    assert split_runs(runs, 2) == ([["ab", "x"]], [["c\nd", "y"], ["ef", "z"]])


def test_training_figures_fit_their_panel_without_wrapping():
    from rich.console import Console

    from rnntui.tui.widgets.loss_panel import figures_grid, format_rate

    assert [format_rate(v) for v in (None, 9_876.4, 15_646, 156_460, 2_412_000)] == \
        ["-", "9,876", "15.6k", "156k", "2.4M"]
    cells = ["step [b]16,000[/]", f"chars/s [b]{format_rate(2_412_000)}[/]", "time [b]3:56:04[/]",
             "val~ [b]1.1231[/]", "best val~ [b]1.1230[/]", "device [b]cuda:0 (bf16)[/]"]
    plain = ["step 16,000", "chars/s 2.4M", "time 3:56:04", "val~ 1.1231", "best val~ 1.1230",
             "device cuda:0 (bf16)"]
    short_cells = [*cells[:4], "best [b]1.1230[/]", "device [b]cuda:0[/]"]
    short = [*plain[:4], "best 1.1230", "device cuda:0"]
    for width, rows, expected in ((60, 2, plain), (44, 3, plain), (30, 3, short)):
        console = Console(width=width, record=True)
        grid = figures_grid(cells, width, short_cells)
        console.print(grid)
        lines = console.export_text().splitlines()
        assert grid.row_count == len(lines) == rows, (width, lines)
        for cell in expected:  # each figure whole, on one line
            assert any(cell in line for line in lines), (width, cell, lines)


async def test_footer_keys_fit_whole_and_go_compact_only_when_needed(tiny_checkpoint):
    from textual.widgets._footer import FooterKey, FooterLabel

    from rnntui.tui.widgets.footer import CoalescingFooter

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(80, 36)) as pilot:
        await ready(pilot)
        footer = app.query_one(CoalescingFooter)
        # From an 80-column start, then wider: the least used keys make room where even compact
        # keys do not fit (they are in the help screen and the palette), and come back.
        # Narrower than the layout is made for (80), the keys from the right go too, all but Quit.
        least = {"reply_settings", "new_model", "regenerate", "open_picker", "help"}
        for width, compact, last, dropped in [(80, True, "open_picker", {"reply_settings", "new_model", "regenerate"}),
                                              (100, True, "open_picker", {"reply_settings", "new_model"}),
                                              (114, True, "reply_settings", set()),
                                              (120, False, "reply_settings", set()),
                                              (60, True, "toggle_training", least | {"save"}),
                                              (40, True, "scale(-1)", least | {"save", "toggle_training"}),
                                              (30, True, "quit", least | {"save", "toggle_training",
                                                                          "scale(1)|scale(-1)"})]:
            if width != 80:
                await pilot.resize_terminal(width, 36)
            await pilot.pause(0.2)
            assert footer.compact is compact and footer.dropped == dropped, width
            keys = [key for key in app.query(FooterKey) if not key.has_class("-command-palette")]
            palette = app.query_one("FooterKey.-command-palette")
            # No key is cut off: the last one shown ends before the palette key, with room for Stop.
            assert keys[-1].action == last and keys[-1].region.right + len(" esc Stop") <= palette.region.x
            shown = {key.action for key in keys}
            assert "quit" in shown
            if width >= 80:
                assert {"toggle_training", "save", "open_picker", "scale(1)", "scale(-1)"} <= shown
            labels = [str(label.render()) for label in app.query(FooterLabel)]
            assert labels == (["Scale"] if width >= 40 else [])  # ^↑^↓ Scale, one group, or none


async def test_continue_the_last_reply_as_if_it_had_been_longer(tiny_checkpoint, corpus_file):
    from rnntui.sampling import Sampler

    checkpoint = load_checkpoint(tiny_checkpoint)

    def uninterrupted(length: int) -> str:
        # make_app's random seed is 1, and the first exchange samples with seed 1 + 1.
        sampler = Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, random_seed=2)
        return "".join(c.char for c in sampler.stream("The", length))

    app = make_app(tiny_checkpoint, corpus=corpus_file, length=30)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        assert any("Nothing to continue" in n.message for n in app._notifications)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        await pilot.press("enter")  # an empty seed text continues
        await finished(pilot)
        await pilot.press("ctrl+g")
        await finished(pilot)
        [exchange] = exchanges(app)
        assert exchange.generated == uninterrupted(90)
        assert "· 90 characters" in str(exchange.query_one(".exchange-header").render())
        # Stopped part-way, then continued: no character is lost or repeated.
        app.chat.length = 100_000
        await pilot.press("ctrl+g")
        await until(pilot, lambda: len(exchange.generated) > 200)
        await busy_press(pilot, "escape")
        await finished(pilot)
        assert "stopped after" in str(exchange.query_one(".exchange-header").render())
        app.chat.length = 20
        await pilot.press("ctrl+g")
        await finished(pilot)
        assert exchange.generated == uninterrupted(len(exchange.generated))
        # After training, the new weights go on from the reply's text, and the header says so.
        await train_to(pilot, 32)
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.training.state == "paused")
        before = len(exchange.generated)
        await pilot.press("ctrl+g")
        await finished(pilot)
        assert len(exchange.generated) == before + 20 and len(exchanges(app)) == 1
        assert "continued at step" in str(exchange.query_one(".exchange-header").render())


async def test_scale_factor_length_and_theme_are_kept_for_the_next_session(tiny_checkpoint, tmp_path):
    settings = tmp_path / "data" / "settings.json"
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert not settings.exists()  # nothing changed, nothing written
        await pilot.press("ctrl+up", "ctrl+up")
        await pilot.press("ctrl+l")
        await pilot.press(*"750", "enter")
        app.theme = "nord"  # as the palette's "Theme" does
        await pilot.pause()
    assert json.loads(settings.read_text(encoding="utf-8")) == {"scale_factor": 1.25, "length": 750, "top_k": 0,
                                                                "top_p": 1.0, "theme": "nord", "chart": None,
                                                                "reflow": None, "sample_every": 0, "adapt": False}
    again = make_app(tiny_checkpoint)
    assert (again.chat.scale_factor, again.chat.length, again.theme) == (1.25, 750, "nord")
    # A value the caller gives wins, and is not written unless the person changes it.
    given = make_app(tiny_checkpoint, length=20)
    assert (given.chat.scale_factor, given.chat.length) == (1.25, 20)
    async with given.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+down")
    assert json.loads(settings.read_text(encoding="utf-8"))["length"] == 750
    # A broken file, or values out of range, give the defaults, and the app starts as usual.
    for text in ("{not json", '{"scale_factor": 1e9, "length": -3, "theme": "no-such-theme", "top_k": -1, '
                 '"top_p": 0}', '{"top_k": true, "top_p": 1.5}', "[]"):
        settings.write_text(text, encoding="utf-8")
        fresh = make_app(tiny_checkpoint)
        assert (fresh.chat.scale_factor, fresh.chat.length, fresh.theme, fresh.chat.top_k, fresh.chat.top_p) == (1.0, 500, "textual-dark",
                                                                                            0, 1.0)


async def test_the_chart_makes_room_on_a_very_narrow_terminal_and_toggles(tiny_checkpoint, corpus_file, tmp_path):
    settings = tmp_path / "data" / "settings.json"
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(60, 20)) as pilot:
        await ready(pilot)
        await pilot.pause()
        panel, chat = app.query_one(LossPanel), app.query_one("#chat")
        assert not panel.display and chat.size.width == 60  # the chat has the whole width
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert panel.display and panel.outer_size.width == 34 and chat.size.width == 26
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert panel.display and panel.outer_size.width > 34  # wider: the chart takes its usual share
        await pilot.press("ctrl+b")  # hidden at any width, on request
        await pilot.pause()
        assert not panel.display and chat.size.width == 120
    assert json.loads(settings.read_text(encoding="utf-8"))["chart"] is False
    again = make_app(tiny_checkpoint, corpus=corpus_file)  # the choice holds in the next session
    async with again.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert not again.query_one(LossPanel).display
        await busy_press(pilot, "ctrl+t")  # training says where its chart is
        await until(pilot, lambda: any("ctrl+b shows it" in n.message for n in again._notifications))
        await until(pilot, lambda: again.training.state == "running")
        await pause_training(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert again.query_one(LossPanel).display
    assert json.loads(settings.read_text(encoding="utf-8"))["chart"] is True


async def test_export_writes_every_reply_to_a_file(tiny_checkpoint, tmp_path, monkeypatch):
    import os

    app = make_app(tiny_checkpoint, length=30)
    folder = tmp_path / "data" / "transcripts"
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+f")
        assert any("Nothing to export" in n.message for n in app._notifications)
        # A full disk: one notification, and no file, not even half of one.
        for seed in ("The", "It"):
            await pilot.press(*seed, "enter")
            await finished(pilot)
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", disk_full)
        await pilot.press("ctrl+f")
        await until(pilot, lambda: any(n.title == "Export failed" for n in app._notifications))
        assert not folder.exists() or list(folder.iterdir()) == []
        monkeypatch.setattr(os, "fsync", real_fsync)  # space again
        await pilot.press("ctrl+f")
        await until(pilot, lambda: any("Exported 2 replies" in n.message for n in app._notifications))
    [exported] = folder.glob("transcript-*.txt")
    text = exported.read_text(encoding="utf-8")
    first, second = exchanges(app)
    assert text == (f"{first.header_line}\n\n{first.reply_plain}\n\n"
                    f"{second.header_line}\n\n{second.reply_plain}\n\n")
    assert text.startswith("#1 · scale factor 1.00 · tiny.ckpt · step 30 · 30 characters\n\nThe")
    assert "#2 · " in text and len(first.reply_plain) == 3 + 30


async def test_settings_that_cannot_be_saved_are_reported_once(tiny_checkpoint, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "settings.json").mkdir()  # a folder where the file should go
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+up", "ctrl+up")
        await pilot.pause()
        notes = [n.message for n in app._notifications if "settings are not being saved" in n.message]
        assert len(notes) == 1 and app.chat.scale_factor == 1.25  # the change itself still applies


async def test_training_settings_change_a_running_training_from_the_next_step(tiny_checkpoint, corpus_file):
    from rnntui.tui.screens.training_settings import TrainingSettingsScreen

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        await busy_press(pilot, "f2")
        await shown(pilot, TrainingSettingsScreen, "#setting-batch_size")
        screen = app.screen
        assert screen.query_one("#setting-batch_size").value == "8"
        screen.query_one("#setting-lr").value = "fast"
        screen.query_one("#apply").press()
        await until(pilot, lambda: "learning rate" in str(screen.query_one("#settings-error").render()))
        assert app.screen is screen  # refused inside the dialog
        screen.query_one("#setting-lr").value = "0.002"
        screen.query_one("#setting-batch_size").value = "6"
        screen.query_one("#setting-dropout").value = "0.2"
        screen.query_one("#apply").press()
        await until(pilot, lambda: app.session.trainer is not None and app.session.trainer.config.lr == 0.002)
        step = app.session.step
        await until(pilot, lambda: app.training.state == "running" and app.session.step >= step + 3)
        trainer = app.session.trainer
        assert (trainer.config.batch_size, trainer.config.lr_decay_steps, trainer.model.config.dropout) == (6, 0, 0.2)
        assert any("From step" in n.message and "batch size 6" in n.message for n in app._notifications)
        # The training worker the change cancelled is not reported as an error (it once was).
        assert not any(n.title == "Unexpected error" for n in app._notifications)
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.training.state == "paused")
        # Settings that do not fit the text (six streams of 3,000 characters, windows of 10,000):
        # one notification, and the old ones stay.
        await pilot.press("f2")
        app.screen.query_one("#setting-seq_length").value = "10000"
        app.screen.query_one("#setting-carry_state").value = True
        app.screen.query_one("#apply").press()
        await until(pilot, lambda: any("stay as they were" in n.message for n in app._notifications))
        assert app.session.trainer.config.seq_length == 16 and not app.session.trainer.config.carry_state
        assert app.training.state == "idle"  # it was paused, so it is not restarted


async def test_replies_can_adapt_to_their_seed_text(tiny_checkpoint, tmp_path):
    """ctrl+l's "adapt to the seed text": each reply's copy of the model first learns from its
    seed text (dynamic evaluation's rule); the header says so; the setting is kept."""
    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.chat.adapt  # off by default
        before = {k: v.clone() for k, v in app.session.model.state_dict().items()}
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-adapt")
        app.screen.query_one("#setting-adapt").value = True
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        assert app.chat.adapt
        await pilot.press(*"The island is a rock. The island is a rock. The", "enter")
        await finished(pilot)
        exchange = exchanges(app)[-1]
        assert "adapted to the seed text" in exchange.header_text and len(exchange.reply_plain) > 40
        assert app.session._dynamic_statistics is not None
        assert all(torch.equal(before[k], v) for k, v in app.session.model.state_dict().items())
    saved = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert saved["adapt"] is True
