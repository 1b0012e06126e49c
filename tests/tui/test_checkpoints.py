"""Checkpoints in the app: save, save as, the picker, new and fine-tuned models, f6."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnntui.charlm.checkpoint import load_checkpoint, save_checkpoint
from rnntui.tui.screens.dialogs import NewModelScreen, SaveAsScreen, UnsavedScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from tests.helpers import disk_full
from tests.tui.helpers import (
    SIZE,
    busy_press,
    exchanges,
    finished,
    make_app,
    messages,
    new_model_on,
    notifications,
    notified,
    pause_training,
    ready,
    shown,
    train_to,
    until,
)


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
        await until(pilot, lambda: app.chat.info.name == "other.ckpt")
        assert load_checkpoint(other).step == 30
        # Another name, without a suffix, in a folder that does not exist yet.
        await pilot.press("f4")
        await shown(pilot, SaveAsScreen, "#save-path")
        assert app.screen.query_one("#save-path").value == str(other)  # where ctrl+s saves now
        app.screen.query_one("#save-path").value = str(tmp_path / "mine" / "verne")
        await pilot.press("enter")
        target = tmp_path / "mine" / "verne.ckpt"
        await until(pilot, lambda: app.chat.info.name == "verne.ckpt")
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
        assert app.chat.training.state == "running"
        assert "training running" in str(app.query_one("#status").render())
        # Generating while training uses a consistent copy of the weights.
        await busy_press(pilot, *"The", "enter")
        await until(pilot, lambda: not app.chat.streaming)
        step = await pause_training(pilot)
        assert app.chat.training.state == "paused"
        # The notice names the step training stopped at, and the chart has every step up to it.
        assert messages(app)[-1] == f"Training paused at step {step}."
        assert panel.train[-1][0] == step and app.chat.info.step == step
        await pilot.pause(0.3)
        assert app.chat.session.step == step  # paused: no more steps
        original = tmp_path / "original.ckpt"
        original.write_bytes(tiny_checkpoint.read_bytes())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.chat.session.unsaved_steps == 0)
        # A model opened from a file saves back to it, as an editor does, and says where.
        assert load_checkpoint(tiny_checkpoint).step == step
        assert not list((tmp_path / "data" / "checkpoints").glob("*.ckpt"))
        assert any(f"Saved step {step:,} to {tiny_checkpoint}" == n.message for n in notifications(app))
        # Load the original checkpoint through the picker: model and history are replaced.
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, CheckpointPicker)
        path_input = app.screen.query_one("#picker-path")
        path_input.value = str(original)
        path_input.focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info.name == "original.ckpt")
        assert app.chat.training.state == "idle" and app.chat.session.step == 30
        assert len(panel.train) == 30
        # And the saved one again.
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info.name == "tiny.ckpt")
        assert app.chat.session.step == step


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
        await until(pilot, lambda: notified(app, "binary"))
        assert app.chat.info.name == "tiny.ckpt"
        await pilot.press("ctrl+n")
        app.screen.query_one("#corpus-path").value = str(other)
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info.name == "new model for other.txt")
        assert app.chat.session.step == 0 and len(app.chat.session.vocab) == len(set("abc cab bca! "))
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
        assert app.chat.info.name == "tiny fine-tuned on other.txt" and app.chat.session.step == 0
        assert "A" in app.chat.session.vocab and "!" in app.chat.session.vocab
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
        assert app.chat.session.corpus_path == tiny_checkpoint_file.parent / "tiny.txt"  # the file it recorded
        assert panel.border_title == "Loss (nats/char) · tiny.txt"


async def test_finetune_the_current_model_on_a_text_file(tiny_checkpoint, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("the sea, the Shore; a Cave. " * 200, encoding="utf-8")  # some new characters
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = app.chat.session.model.state_dict()["rnn.weight_hh_l0"].clone()
        await pilot.press("ctrl+n")
        assert app.screen.focused.id == "corpus-path"  # type the path at once
        app.screen.query_one("#corpus-path").value = str(other)
        await pilot.press("tab", "space")  # tick Fine-tune from the keyboard ...
        assert app.screen.query_one("#finetune").value
        await pilot.press("enter")  # ... and start from the box, as from the path field
        await until(pilot, lambda: app.chat.info.name == "tiny fine-tuned on other.txt")
        assert app.query_one(LossPanel).border_title == "Loss (nats/char) · other.txt"
        vocab = app.chat.session.vocab
        assert {"S", "C", ";", ","} <= set(vocab.char_array) and "!" in vocab  # new ones added, old kept
        assert app.chat.session.step == 0 and app.query_one(LossPanel).train == []
        assert app.chat.session.model.state_dict()["rnn.weight_hh_l0"].equal(before)  # the tiny model's weights
        assert "Fine-tuning" in str(app.query_one("#engine-note").render())
        await train_to(pilot, 3)
        step = await pause_training(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.chat.session.unsaved_steps == 0)
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
        assert app.chat.training.state == "paused" and app.chat.session.step == step  # nothing changed
        await pick_original()
        app.screen.query_one("#save").press()
        await until(pilot, lambda: app.chat.info.name == "original.ckpt" and app.chat.session.step == 30)
        # The progress was kept, in the file the model came from.
        assert load_checkpoint(tiny_checkpoint).step == step
        assert app.chat.training.state == "idle"
        assert notified(app, "Saved")


async def test_loading_during_the_books_download_neither_waits_for_it_nor_trains_after_it(
        tiny_checkpoint, corpus_file, monkeypatch):
    import shutil
    import threading

    import rnntui.charlm.book
    from rnntui.core.paths import default_corpus_path

    release, started = threading.Event(), threading.Event()

    def slow_download(progress=None, **kwargs):  # a download that takes as long as the test says
        started.set()
        release.wait(20)
        default_corpus_path().parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus_file, default_corpus_path())
        return default_corpus_path()

    monkeypatch.setattr(rnntui.charlm.book, "ensure_default_corpus", slow_download)
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
        await until(pilot, lambda: notified(app, "Loaded")
                    or "Loaded" in str(app.query_one("#engine-note").render()), timeout=5)
        release.set()
        # ... and the cancelled worker does not go on to train the model loaded meanwhile.
        await until(pilot, lambda: app.chat.training.state == "idle")
        await pilot.pause(0.3)
        assert app.chat.session.trainer is None and app.chat.session.step == 30


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
        await until(pilot, lambda: notified(app, "not an rnntui checkpoint"))
        assert app.chat.info.name == "tiny.ckpt" and app.is_running
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1


async def test_a_full_disk_when_saving_loses_nothing(tiny_checkpoint, corpus_file, tmp_path, monkeypatch):

    real_fsync = os.fsync

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        monkeypatch.setattr(os, "fsync", disk_full)
        await busy_press(pilot, "ctrl+q")
        await shown(pilot, UnsavedScreen, "#save")
        app.screen.query_one("#save").press()  # "save and quit" on a full disk
        await until(pilot, lambda: notified(app, "disk is full"))
        await pilot.pause(0.2)
        assert app.is_running and app.chat.session.unsaved_steps > 0  # nothing thrown away
        # The file it saves back to is whole, as it was, with no half-written file beside it.
        assert load_checkpoint(tiny_checkpoint).step == 30
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
        monkeypatch.setattr(os, "fsync", real_fsync)  # space again: the same progress saves
        await busy_press(pilot, "ctrl+s")
        await until(pilot, lambda: load_checkpoint(tiny_checkpoint).step >= 33)


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


def test_the_picker_shortens_long_names_in_the_middle():
    from rnntui.tui.screens.picker import NAME_WIDTH, describe, shortened

    assert shortened("mysterious-island-1268-0.txt") == "mysterious-island-1268-0.txt"  # 28: fits
    name = "the-complete-works-of-william-shakespeare-step-012000.ckpt"
    short = shortened(name)
    assert len(short) == NAME_WIDTH and short.startswith("the-complete-") and short.endswith("012000.ckpt")
    assert "…" in short
    header = {"step": 1200, "best_val_loss": 1.23456, "corpus": {"name": name},
              "created": "2026-11-30T05:06:07+00:00"}
    assert describe(header) == ("text", "1,200", "1.2346", short, "2026-11-30 05:06")
    # A review classifier says so, with its best validation accuracy and the data it learnt from.
    header = {"task": "sentiment", "step": 2191, "best_val_accuracy": 0.8946, "data": {"name": "aclImdb.tar.gz"},
              "created": "2026-12-02T09:36:12+00:00"}
    assert describe(header) == ("reviews", "2,191", "89.5% acc", "aclImdb.tar.gz", "2026-12-02 09:36")


def with_header(source, path, change) -> None:
    """``source``'s checkpoint at ``path``, its JSON header changed by ``change(header)`` (the
    payload, and so its checksum, unchanged)."""
    import json

    from rnntui.core.checkpoint import MAGIC

    data = source.read_bytes()
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC):end])
    change(header)
    path.write_bytes(MAGIC + json.dumps(header).encode() + data[end:])


async def test_files_that_cannot_be_listed_are_left_out_of_the_picker_while_a_model_trains(
        tiny_checkpoint, corpus_file, tmp_path):
    """A header nested 100,000 deep, and one whose text's name is null, in the data folder
    while a model trains: ctrl+o, in the chat and in the reviews, lists the other files and
    says which it left out; training goes on."""
    from rnntui.core.checkpoint import MAGIC

    folder = tmp_path / "data" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "other.ckpt").write_bytes(tiny_checkpoint.read_bytes())
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        (folder / "nested.ckpt").write_bytes(MAGIC + b"[" * 100_000 + b"\n")
        with_header(tiny_checkpoint, folder / "unnamed.ckpt", lambda header: header["corpus"].update(name=None))
        await busy_press(pilot, "ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        listed = sorted(path.name for path, _ in app.screen.entries if path.parent == folder)
        assert listed == ["other.ckpt", "unnamed.ckpt"]
        assert "Left out, not readable as checkpoints: nested.ckpt" in str(
            app.screen.query_one("#picker-left-out").render())
        assert app.chat.training.state == "running"
        step = app.chat.session.step
        await until(pilot, lambda: app.chat.session.step > step)  # still training
        await busy_press(pilot, "escape")
        await until(pilot, lambda: not isinstance(app.screen, CheckpointPicker))
        await busy_press(pilot, "f7")
        await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
        await busy_press(pilot, "ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-left-out")
        assert "nested.ckpt" in str(app.screen.query_one("#picker-left-out").render())
        # Typed in, the nested file is one notification, and the model that trains is untouched.
        app.screen.dismiss(folder / "nested.ckpt")
        await until(pilot, lambda: notified(app, "nests more than 16 levels deep"))
        # (Opening the reviews, and their picker, leave the chat's training running.)
        assert app.is_running and app.chat.training.state == "running", messages(app)


async def test_an_unexpected_error_saves_the_model_in_training_before_the_app_ends(tiny_checkpoint, corpus_file,
                                                                                   monkeypatch):
    """A bug anywhere (here f6's worker raises) ends the app, as Textual does, but first the
    model in training is saved to its file, as a signal would, and the app says where."""
    from textual.worker import WorkerFailed

    from rnntui.charlm.session import Session

    def broken(self):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Session, "describe", broken)
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    with pytest.raises(WorkerFailed, match="a bug"):
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await train_to(pilot, 33)
            await busy_press(pilot, "f6")
            await until(pilot, lambda: not app.is_running)
    step = app.chat.session.step
    assert step >= 33 and load_checkpoint(tiny_checkpoint).step == step and app.return_code == 1
    assert app.saved_after_error == [f"rnntui: the app ended on an unexpected error; it saved step {step:,} of "
                                     f"the model in training to {tiny_checkpoint}"]


def test_the_pickers_rows_fit_the_width_they_have():

    from rnntui.tui.screens.picker import CELL_PADDING, COLUMNS, fitted_rows

    long = "mysterious-island-lstm-finetuned-on-twenty-thousand-leagues-under-the-seas-step-012000.ckpt"
    entries = [(Path(long), {"step": 12_000, "best_val_loss": 1.2, "created": "2026-11-30T05:06:07+00:00",
                             "corpus": {"name": "twenty-thousand-leagues-under-the-seas-164-0.txt"}}),
               (Path("tiny.ckpt"), {"step": 60, "corpus": {"name": "tiny.txt"}, "created": "2026-01-01T12:00:00"})]

    def width_of(rows):
        return sum(max(len(COLUMNS[c]), *(len(row[c]) for row in rows)) + CELL_PADDING for c in range(len(COLUMNS)))

    for width in (70, 90, 108, 200):
        rows = fitted_rows(entries, width)
        assert width_of(rows) <= width, (width, rows)
        assert rows[1][0] == "tiny.ckpt" and rows[0][0].startswith("myster") and rows[0][0].endswith(".ckpt")
    assert fitted_rows(entries, 200)[0][0] == long  # room enough: whole
    assert fitted_rows(entries, 108)[0][5] == "2026-11-30 05:06"  # 120 columns: the time of day stays
    assert fitted_rows(entries, 70)[0][5] == "2026-11-30"  # 80 columns: the date alone


async def test_typing_in_the_picker_goes_to_the_path_field_and_the_question_names_the_model(
        tiny_checkpoint, corpus_file, tmp_path):
    other = tmp_path / "other.ckpt"
    other.write_bytes(tiny_checkpoint.read_bytes())
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.chat.session.unsaved_steps > 0)
        await pause_training(pilot)  # unsaved steps, and an idle app for the pilot's keys
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        assert app.screen.focused is app.screen.query_one("#picker-table")  # the table has focus
        await pilot.press(*str(other))  # typed, not searched for in the table
        field = app.screen.query_one("#picker-path")
        assert field.value == str(other) and app.screen.focused is field
        await pilot.press("enter")
        await shown(pilot, UnsavedScreen, "#discard")
        assert app.screen.title_text == "Load other.ckpt?"
        assert "Load other.ckpt?" in str(app.screen.query_one("#unsaved-question").render())
        assert str(app.screen.query_one("#discard").label) == "Load without saving"
        await pilot.press("escape")


async def test_the_unsaved_count_stays_live_while_the_question_is_up(tiny_checkpoint):
    count = [32]
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.push_screen(UnsavedScreen(lambda: count[0], "Quit rnntui?", "quit"))
        await shown(pilot, UnsavedScreen, "#unsaved-count")
        label = app.screen.query_one("#unsaved-count")
        assert "32 training steps" in str(label.render())
        count[0] = 108  # training went on underneath
        await until(pilot, lambda: "108 training steps" in str(label.render()))


async def test_save_as_is_centred_and_shows_the_start_of_its_path(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await shown(pilot, SaveAsScreen, "#save-path")
        await pilot.pause()
        dialog = app.screen.query_one("#save-as")
        left = dialog.region.x
        right = 80 - dialog.region.right
        assert dialog.region.y > 1 and abs(left - right) <= 1  # centred, below the title bar
        assert app.screen.query_one("#save-path").scroll_x == 0


async def test_a_new_model_says_ctrl_t_once(tiny_checkpoint, corpus_file):

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await new_model_on(pilot, corpus_file)
        await pilot.pause()
        note = str(app.query_one("#engine-note").render())
        assert note.count("ctrl+t") == 1
