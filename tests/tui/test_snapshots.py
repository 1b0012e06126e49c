"""Snapshot tests (pytest-textual-snapshot) of the main screen, the checkpoint picker and a dialog.

Deterministic: a tiny model trained with a fixed seed, a fixed random seed for sampling,
fixed dates, a fixed data folder and no cursor blink. Update with ``pytest --snapshot-update``
after checking the new pictures by eye.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rnntui.charlm.build import new_trainer, trainer_checkpoint
from rnntui.charlm.checkpoint import save_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.core.paths import bundled_sentiment_model_path
from tests.helpers import TINY_MODEL, make_text, tiny_train_config
from tests.tui.helpers import SIZE, finished, make_app, ready

FIXED_DATA = Path("/tmp/rnntui-snapshot-data")
# The fixed folder is shown in the pictures, so it cannot differ per test: run these tests one
# after another in the same worker (pytest-xdist's loadgroup), never side by side.
pytestmark = pytest.mark.xdist_group("fixed-data-folder")


@pytest.fixture
def fixed_checkpoint(corpus_file, monkeypatch):
    shutil.rmtree(FIXED_DATA, ignore_errors=True)
    monkeypatch.setenv("RNNTUI_DATA_DIR", str(FIXED_DATA))
    corpus = load_corpus(corpus_file)
    trainer = new_trainer(corpus, tiny_train_config(steps=60), **TINY_MODEL)
    list(trainer.run())
    checkpoint = trainer_checkpoint(trainer, corpus)
    checkpoint.elapsed = 0.0
    checkpoint.created = "2026-01-01T12:00:00+00:00"
    path = save_checkpoint(checkpoint, FIXED_DATA / "checkpoints" / "tiny.ckpt")
    yield path
    shutil.rmtree(FIXED_DATA, ignore_errors=True)


def test_main_screen(snap_compare, fixed_checkpoint):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press(*"The island", "enter")
        await finished(pilot)

    assert snap_compare(make_app(fixed_checkpoint, length=300), terminal_size=SIZE, run_before=run_before)


def test_checkpoint_picker(snap_compare, fixed_checkpoint):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=SIZE, run_before=run_before)


def test_reply_settings_on_a_small_terminal(snap_compare, fixed_checkpoint):
    from rnntui.tui.screens.reply_settings import ReplySettingsScreen
    from tests.tui.helpers import shown

    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-top_p")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


LONG_NAME = "mysterious-island-lstm-finetuned-on-twenty-thousand-leagues-under-the-seas-step-012000.ckpt"


@pytest.fixture
def long_named_checkpoints(fixed_checkpoint, tmp_path):
    """Beside tiny.ckpt, a model with a long file name trained on a text with a long name."""
    import os

    text = tmp_path / "twenty-thousand-leagues-under-the-seas-an-underwater-tour-of-the-world-164-0.txt"
    text.write_text(make_text(), encoding="utf-8")
    corpus = load_corpus(text)
    trainer = new_trainer(corpus, tiny_train_config(steps=20), **TINY_MODEL)
    list(trainer.run())
    checkpoint = trainer_checkpoint(trainer, corpus)
    checkpoint.elapsed = 0.0
    checkpoint.created = "2026-01-02T08:30:00+00:00"
    path = save_checkpoint(checkpoint, FIXED_DATA / "checkpoints" / LONG_NAME)
    os.utime(fixed_checkpoint, (1_700_000_000, 1_700_000_000))  # the listing's order: newest first
    os.utime(path, (1_700_000_100, 1_700_000_100))
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_the_picker_fits_long_names(snap_compare, fixed_checkpoint, long_named_checkpoints, size):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_the_load_question_fits_a_long_name(snap_compare, fixed_checkpoint, long_named_checkpoints, size,
                                            monkeypatch):
    from rnntui.charlm.session import Session
    from rnntui.tui.screens.dialogs import UnsavedScreen
    from tests.tui.helpers import shown

    monkeypatch.setattr(Session, "unsaved_steps", property(lambda self: 1_234))  # training not saved

    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        field = pilot.app.screen.query_one("#picker-path")
        field.value = str(long_named_checkpoints)
        field.focus()
        await pilot.press("enter")
        await shown(pilot, UnsavedScreen, "#cancel")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=size, run_before=run_before)


def test_the_reviews_data_question_on_a_small_terminal(snap_compare, fixed_checkpoint):
    """Offline, the reviews mode asks for the dataset: the problem, what to give, a path field."""
    from rnntui.sentiment.dataset import DEFAULT_URL
    from rnntui.tui.screens.dialogs import ReviewsDataScreen
    from tests.tui.helpers import shown

    problem = f"could not download the movie reviews from {DEFAULT_URL} (<urlopen error [Errno -3] Temporary " \
              "failure in name resolution>)"

    async def run_before(pilot):
        await ready(pilot)
        pilot.app.push_screen(ReviewsDataScreen(problem, None))
        await shown(pilot, ReviewsDataScreen, "#reviews-data-path")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_inside_the_network(snap_compare, fixed_checkpoint, size):
    from rnntui.tui.screens.neurons import NeuronsScreen
    from tests.tui.helpers import until

    async def run_before(pilot):
        await ready(pilot)
        pilot.app.chat.action_inside_network()
        await until(pilot, lambda: isinstance(pilot.app.screen, NeuronsScreen) and pilot.app.screen.reading is not None)
        await pilot.press("right", "down")  # line-position (the test text has no quotes), the second unit
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=size, run_before=run_before)


async def open_inside(pilot):
    from rnntui.tui.screens.neurons import NeuronsScreen
    from tests.tui.helpers import until

    await ready(pilot)
    pilot.app.chat.action_inside_network()
    await until(pilot, lambda: isinstance(pilot.app.screen, NeuronsScreen) and pilot.app.screen.reading is not None)
    await pilot.press("right")  # line-position (the test text has no quotes)
    return pilot.app.screen


def test_inside_the_network_one_step(snap_compare, fixed_checkpoint):
    from tests.tui.helpers import until

    async def run_before(pilot):
        view = await open_inside(pilot)
        await pilot.press("s", "right", "right", "right")
        await until(pilot, lambda: view.step is not None and view.step.position == 3)
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


def test_inside_the_network_switched_off(snap_compare, fixed_checkpoint):
    from tests.tui.helpers import until

    async def run_before(pilot):
        view = await open_inside(pilot)
        await pilot.press("x", "down", "x", "a")
        await until(pilot, lambda: view.replies is not None)
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


def test_inside_the_network_found_by_a_regex(snap_compare, fixed_checkpoint):
    from tests.tui.helpers import until

    async def run_before(pilot):
        view = await open_inside(pilot)
        await pilot.press("slash", "e", "n", "enter")
        await until(pilot, lambda: view.what == ("regex", "en"))
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")
def test_inside_the_network_review_model(snap_compare, fixed_checkpoint):
    from rnntui.tui.screens.neurons import NeuronsScreen
    from rnntui.tui.screens.neurons.review import ReviewInside
    from tests.tui.helpers import until

    async def run_before(pilot):
        app = pilot.app
        await ready(pilot)
        await pilot.press("f7")
        await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
        app.reviews.query_one("#review-input").value = "A slow start and a weak plot, but the cast is great fun."
        app.chat.action_inside_network()
        await until(pilot, lambda: isinstance(app.screen, NeuronsScreen) and app.screen.query(ReviewInside))
        await until(pilot, lambda: app.screen.query_one(ReviewInside).trace is not None)
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


def test_inside_the_network_one_step_with_a_unit_off(snap_compare, fixed_checkpoint):
    from tests.tui.helpers import until

    async def run_before(pilot):
        view = await open_inside(pilot)
        await pilot.press("s", "right", "x")
        await until(pilot, lambda: view.step is not None and "off" in str(view.query_one("#neurons-step").render()))
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)


def test_the_review_models_start_on_a_small_terminal(snap_compare, fixed_checkpoint):
    """ctrl+t in the reviews mode with language models of reviews at hand: which start."""
    from rnntui.tui.screens.dialogs import ReviewStartScreen
    from tests.tui.helpers import shown

    models = [(FIXED_DATA / "checkpoints" / "review-lm.best.ckpt", {"step": 6_516, "best_val_loss": 5.31}),
              (FIXED_DATA / "checkpoints" / "review-lm-small.ckpt", {"step": 500})]

    async def run_before(pilot):
        await ready(pilot)
        pilot.app.push_screen(ReviewStartScreen(models))
        await shown(pilot, ReviewStartScreen, "#review-start-choice")
        await pilot.pause()

    assert snap_compare(make_app(fixed_checkpoint), terminal_size=(80, 24), run_before=run_before)
