"""What a newcomer tripped over (the picker, the unsaved dialog, watch, the chart, settings
dialogs, notifications), each as the fix now behaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnntui.charlm.info import checkpoint_info, info_lines
from rnntui.core.paths import bundled_model_path
from rnntui.tui.screens.dialogs import SaveAsScreen, UnsavedScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.screens.reply_settings import ReplySettingsScreen
from rnntui.tui.widgets.loss_panel import LossPanel, loss_range, step_ticks
from tests.helpers import SHARED_CORPUS, run
from tests.tui.helpers import SIZE, busy_press, make_app, messages, notifications, pause_training, ready, shown, until


async def new_model_on(pilot, text: Path) -> None:
    """ctrl+n, the text's path, enter; until the new model is the app's."""
    from rnntui.tui.screens.dialogs import NewModelScreen

    app = pilot.app
    await pilot.press("ctrl+n")
    await shown(pilot, NewModelScreen, "#corpus-path")
    app.screen.query_one("#corpus-path").value = str(text)
    await pilot.press("enter")
    await until(pilot, lambda: app.chat.info is not None and text.name in app.chat.info.name)


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


async def test_space_then_enter_on_a_checkbox_applies_the_dialog_once(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = app.chat.reflow
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-reflow")
        app.screen.query_one("#setting-reflow").focus()
        await pilot.press("space", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        assert app.chat.reflow is not before  # toggled once, and applied


async def test_a_notification_already_showing_is_not_stacked_again(tiny_checkpoint):
    app = make_app(tiny_checkpoint, scale_factor=10.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for _ in range(8):
            await pilot.press("ctrl+up")
        await pilot.pause()
        assert messages(app).count("The scale factor is at its maximum, 10.") == 1


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


async def test_the_chart_says_loading_until_the_history_is_known():
    from textual.app import App

    class PanelOnly(App):
        def compose(self):
            yield LossPanel(id="loss-panel")

    app = PanelOnly()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(LossPanel)
        assert str(panel.query_one("#loss-plot").render()) == "loading…"  # not "no training yet"
        assert panel.figure_cells[0] == "step [b]-[/]"  # not "step 0"
        panel.set_history([], [], 0)  # the model came in, and it has not trained
        await pilot.pause()
        assert panel.known and panel.figure_cells[0] == "step [b]0[/]"


async def test_a_failed_start_does_not_say_loading_for_ever(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 100)
    app = make_app(bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.chat.engine_error is not None)
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "loading…" not in status and "none open" in status
        assert app.query_one(LossPanel).known


def test_round_step_ticks_and_a_y_range_that_follows_the_recent_steps():
    assert step_ticks(16_004) == [0, 5_000, 10_000, 15_000]
    assert step_ticks(16_000) == [0, 4_000, 8_000, 12_000, 16_000]
    assert step_ticks(30) == [0, 10, 20, 30] and step_ticks(0) == [0]
    # A fresh model starts near ln V = 4.4 and is at 1.0-1.3 soon after: the range leaves out
    # the first quarter's spike and shows the rest.
    train = [(step, 4.4 if step < 50 else 1.3 - step / 20_000) for step in range(1, 16_001, 10)]
    val = [(step, 1.25 - step / 25_000) for step in range(200, 16_001, 200)]
    low, high = loss_range(train, val)
    recent = [v for step, v in train + val if step >= 4_000]
    assert low < min(v for _, v in train + val) and max(recent) < high < 1.2
    assert loss_range(train[:5], []) is None


async def test_the_chart_title_fits_the_panel(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        panel.show_corpus("mysterious-island-1268-0-and-a-much-longer-name.txt")
        assert len(panel.border_title) <= panel.size.width - 4 and panel.border_title.endswith(".txt")


def test_info_says_the_bundled_model_can_be_continued():
    from rnntui.charlm.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(bundled_model_path())
    lines = "\n".join(info_lines(checkpoint_info(checkpoint, bundled_model_path())))
    assert "not --resume" not in lines
    assert "--resume and the app's ctrl+t continue it from step 16,000 with a fresh Adam" in lines


def test_watch_a_path_that_is_no_run_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "watch", str(tmp_path / "nosuch.ckpt"))
    assert code == 2 and err.count("\n") == 1 and "is not a training run" in err
    code, _, err = run(capsys, "watch", "/no/such/path")
    assert code == 2 and err.count("\n") == 1 and "is not a training run" in err


async def test_watch_names_its_processes_in_words(tmp_path):
    metrics = tmp_path / "run.ckpt.metrics.jsonl"
    metrics.write_text('{"step": 1, "train_loss": 2.0, "ranks": 1}\n', encoding="utf-8")
    app = make_app(watch=tmp_path / "run.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.train)
        assert panel.figures["device"] == "1 process"
        metrics.write_text(metrics.read_text() + '{"step": 2, "train_loss": 1.9, "ranks": 4}\n', encoding="utf-8")
        await until(pilot, lambda: len(panel.train) == 2)
        assert panel.figures["device"] == "4 processes (torchrun)"


async def test_a_new_model_says_ctrl_t_once(tiny_checkpoint, corpus_file):

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await new_model_on(pilot, corpus_file)
        await pilot.pause()
        note = str(app.query_one("#engine-note").render())
        assert note.count("ctrl+t") == 1


def test_the_docs_name_the_palettes_theme_command_as_textual_does():
    import inspect

    from textual.app import App

    files = (Path(__file__).resolve().parents[2] / "docs" / "files.md").read_text(encoding="utf-8")
    assert '"Theme"' in inspect.getsource(App.get_system_commands) and 'the palette\'s "Theme"' in files
    assert "Change theme" not in files


# -- offline ---------------------------------------------------------------------------------

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


# -- a model that learns its text by heart -------------------------------------------------------

def test_history_says_when_the_validation_loss_has_risen_while_training_fell():
    from rnntui.core.history import History

    falling = [(step, 2.0 - step / 1000) for step in range(1, 301)]
    val = [(step, 1.5 if step <= 100 else 1.5 + (step - 100) / 1000) for step in range(10, 301, 10)]
    note = History(train=falling, val=val).overfitting()
    assert note and "best 1.5000 at step 10" in note and "learning its text by heart" in note
    assert History(train=falling, val=val[:12]).overfitting() is None  # two estimates since the best: not yet
    rising = [(step, 1.0 + step / 1000) for step in range(1, 301)]
    assert History(train=rising, val=val).overfitting() is None  # the training loss rose too: a bad rate instead
    flat = [(step, 1.5 + (0.001 if step > 10 else 0)) for step in range(10, 301, 10)]
    assert History(train=falling, val=flat).overfitting() is None  # within 2 % of the best: noise


def test_rnntui_train_says_once_when_the_model_starts_to_overfit(capsys, tmp_path):
    small = tmp_path / "small.txt"
    import random

    rng = random.Random(1)
    words = "the island engineer sailor sea wind coast lake colonists were and of a to was reporter".split()
    small.write_text(" ".join(rng.choice(words) for _ in range(400)), encoding="utf-8")
    code, _, err = run(capsys, "train", "--corpus", str(small), "--out", str(tmp_path / "of.ckpt"), "--steps", "200",
                       "--embed-dim", "16", "--hidden-size", "128", "--batch-size", "16", "--seq-length", "32",
                       "--eval-every", "10", "--device", "cpu", "--precision", "fp32", "--lr", "0.01",
                       "--random-seed", "1")
    assert code == 0
    notes = [line for line in err.splitlines() if "learning its text by heart" in line]
    assert len(notes) == 1 and "--patience N stops a run there" in notes[0] and "--finetune" in notes[0]


# -- texts that are not UTF-8 --------------------------------------------------------------------

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


# -- texts that are not the book, and small things on screen -------------------------------------

def test_the_example_seed_comes_from_the_models_own_text():
    from rnntui.charlm.corpus import encode_text, example_seed

    code = "# a tool\n\n" + "".join(f"def step_{i}(x):\n    return x + {i}\n\n" for i in range(40))
    vocab, _ = encode_text(code)
    assert example_seed(vocab, code) == "def step_2(x):"  # a line start, past the first lines
    book_vocab, _ = encode_text("The island was near. " * 50)
    assert example_seed(book_vocab, "The island was near. " * 50, book=True) == "The island"
    assert example_seed(vocab) == "".join([c for c in vocab.char_array if c.isalpha()][:3])  # no text at hand


async def test_a_new_model_on_another_text_suggests_a_seed_from_it(tiny_checkpoint, tmp_path):
    from rnntui.tui.widgets.seed_input import SeedInput

    poem = tmp_path / "poem.txt"
    poem.write_text("".join(f"Roses are red number {i}\nviolets are blue\n" for i in range(200)), encoding="utf-8")
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        placeholder = app.query_one(SeedInput).placeholder
        assert placeholder == "Seed text, e.g. The island · enter replies" and len(placeholder) < 50  # fits 80 × 24
        await new_model_on(pilot, poem)
        assert app.query_one(SeedInput).placeholder == "Seed text, e.g. Roses are · enter replies"


def test_a_cut_distribution_lists_no_candidates_at_zero():
    from rnntui.charlm.sampling import Sampler
    from tests.helpers import SAMPLER, VOCAB

    sampler = Sampler(SAMPLER.model, VOCAB, 1.0, random_seed=0, candidates=5, top_k=2)
    for sampled in sampler.stream("The", 10):
        assert len(sampled.top) == 2 and all(p > 0 for _, p in sampled.top)


def test_a_path_in_f6_breaks_after_a_slash_not_inside_a_name():
    from rnntui.tui.screens.model_info import break_after_slashes

    text = "/work/main/rnntui/assets/mysterious-island-lstm.ckpt (3.5 MB, saved 2026-11-29 11:39 UTC)"
    lines = break_after_slashes(text, 40).split("\n")
    assert lines[0] == "/work/main/rnntui/assets/" and lines[1].startswith("mysterious-island-lstm.ckpt")
    assert all(len(line) <= 40 for line in lines) and "".join(lines).replace(" ", "") == text.replace(" ", "")


async def test_a_continued_reply_names_each_parts_settings(tiny_checkpoint):
    from tests.tui.helpers import exchanges, finished

    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        exchange = exchanges(app)[-1]
        assert " · then " not in exchange.header_text
        await pilot.press("ctrl+g")  # the same settings: nothing to add
        await finished(pilot)
        assert " · then " not in exchange.header_text
        await pilot.press("ctrl+up")
        await pilot.press("ctrl+g")
        await finished(pilot)
        assert exchange.header_text.startswith("#1 · scale factor 1.00 · ")
        assert exchange.header_text.endswith(f" · then scale factor {app.chat.scale_factor:.2f}")
        assert exchange.header_line.startswith(exchange.header_text)  # what copy and export write



# -- line breaks decided from the text -----------------------------------------------------------

def test_hard_wrapped_prose_is_told_from_code_and_poetry():
    import textwrap

    from rnntui.charlm.corpus import looks_hard_wrapped
    from tests.helpers import make_text

    prose = "\n\n".join(textwrap.fill(make_text(900, seed=i).replace("\n", " "), 68) for i in range(8))
    assert looks_hard_wrapped(prose)
    code = "".join(f"def f{i}(x):\n    try:\n        end = x[{i}]\n    except IndexError:\n        return None\n"
                   for i in range(20))
    poem = "".join(f"Roses are red, {i}\nviolets are blue\n\n" for i in range(20))
    assert not looks_hard_wrapped(code) and not looks_hard_wrapped(poem)


async def test_replies_keep_the_line_breaks_of_a_text_that_is_not_wrapped_prose(tiny_checkpoint, tmp_path):
    import textwrap

    from tests.helpers import make_text

    app = make_app(tiny_checkpoint)  # its text (random line breaks) is not hard-wrapped prose
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.chat.reflow and app.chat.reflow_setting is None  # decided from the text
        prose = tmp_path / "prose.txt"
        prose.write_text("\n\n".join(textwrap.fill(make_text(900, seed=i).replace("\n", " "), 68)
                                      for i in range(8)), encoding="utf-8")
        await new_model_on(pilot, prose)
        assert app.chat.reflow  # a new model on wrapped prose joins its lines


def test_the_metrics_file_is_flushed_at_least_once_a_second(tmp_path, monkeypatch):
    """rnntui watch follows the file: a run that estimates validation loss rarely (or never)
    still writes its steps out within a second, not only on evaluation steps."""
    import argparse
    import types

    from rnntui.charlm.trainer import TrainEvent
    from rnntui.cli import report as cli

    clock = [100.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])
    trainer = types.SimpleNamespace(config=types.SimpleNamespace(steps=10), step=0, dist=types.SimpleNamespace(
        world_size=1), model=types.SimpleNamespace(config=types.SimpleNamespace(cell="lstm")), device="cpu",
        precision="fp32", stop=lambda: None)
    args = argparse.Namespace(json=True, log_every=10, seed_text="The", top_k=0, top_p=1.0, scale_factor=1.0)
    out = tmp_path / "w.ckpt"
    metrics = tmp_path / "w.ckpt.metrics.jsonl"
    with cli.Reporter(args, trainer, out) as report:
        report.event(TrainEvent(step=1, total_steps=10, train_loss=2.0, val_loss=None, chars_per_s=100.0,
                                elapsed=0.1, lr=0.005))
        assert metrics.read_text() == ""  # buffered: less than a second since the last write out
        clock[0] += 1.5
        report.event(TrainEvent(step=2, total_steps=10, train_loss=1.9, val_loss=None, chars_per_s=100.0,
                                elapsed=0.2, lr=0.005))
        assert metrics.read_text().count("\n") == 2  # both steps are on disk for a watcher
