"""The reviews mode with a language model of reviews at hand: ctrl+t offers it as a new model's
start, ctrl+g has it write on from the review typed, and ctrl+o on one makes it the one used."""

from __future__ import annotations

import shutil

import pytest

from rnntui.core.paths import bundled_sentiment_model_path
from rnntui.tui.screens.picker import CheckpointPicker
from tests.tui.helpers import SIZE, make_app, notified, ready, shown, until

pytestmark = pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")

SMALL = {"embed_dim": 8, "hidden_size": 16, "fc_hidden": 16}


async def open_reviews(pilot):
    await ready(pilot)
    await pilot.press("f7")
    await until(pilot, lambda: pilot.app.reviews is not None and pilot.app.reviews.model_name is not None)
    return pilot.app.reviews


def in_data_folder(review_lm_file, tmp_path):
    folder = tmp_path / "data" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.copy(review_lm_file, folder / "reviews-lm.ckpt")


async def test_ctrl_t_offers_the_language_model_as_a_new_models_start(tiny_checkpoint, reviews_file, review_lm_file,
                                                                        tmp_path):
    from rnntui.sentiment.from_lm import RECIPE_MODEL, RECIPE_TRAINING
    from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint
    from rnntui.sentiment.trainer import SentimentTrainConfig
    from rnntui.tui.screens.dialogs import ReviewStartScreen

    lm_path = in_data_folder(review_lm_file, tmp_path)
    app = make_app(tiny_checkpoint, reviews_data=reviews_file, review_model_settings=SMALL,
                   review_train_config=SentimentTrainConfig(batch_size=8, eval_every=5))
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await pilot.press("ctrl+t")
        await shown(pilot, ReviewStartScreen, "#review-start-choice")
        choices = app.screen.query_one("#review-start-choice")
        lines = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
        assert lines[0].startswith("From reviews-lm.ckpt · step 12 · perplexity ") and "random weights" in lines[1]
        await pilot.press("escape")  # nothing starts
        await pilot.pause()
        assert reviews.session.trainer is None and reviews.training.state == "idle"
        await pilot.press("ctrl+t")
        await shown(pilot, ReviewStartScreen, "#review-start-choice")
        await pilot.press("enter")  # the first: the language model
        await until(pilot, lambda: notified(app, "A new review model (bidirectional LSTM, embedding 8, hidden 16"))
        # The recipe's epochs of 20 steps (160 training reviews, batches of 8), to their end.
        steps = RECIPE_TRAINING["epochs"] * 20
        await until(pilot, lambda: reviews.session.step == steps and reviews.training.state == "idle", timeout=90)
        model = reviews.session.trainer.model
        assert model.config.pooling == "concat" and model.config.word_dropout == RECIPE_MODEL["word_dropout"]
        assert reviews.session.prepared.vocab == load_lm_checkpoint(lm_path).vocab
        assert reviews.session.provenance["from_lm"]["checkpoint"] == str(lm_path)
        assert not reviews.session.starts_new_model  # ctrl+t now goes on with this model: no question


async def test_without_a_language_model_ctrl_t_starts_the_books_model_as_before(tiny_checkpoint, reviews_file):
    from rnntui.sentiment.trainer import SentimentTrainConfig

    app = make_app(tiny_checkpoint, reviews_data=reviews_file, review_model_settings=SMALL,
                   review_train_config=SentimentTrainConfig(batch_size=8, epochs=10_000))
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: notified(app, "A new review model (LSTM, embedding 8, hidden 16"))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: reviews.training.state == "paused")
        assert reviews.session.provenance == {} and reviews.session.trainer.model.config.pooling == "last"


async def test_ctrl_g_writes_the_review_on_and_each_word_is_judged(tiny_checkpoint, review_lm_file, tmp_path):
    from rnntui.tui.reviews.writing import WRITTEN_WORDS

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        field = reviews.query_one("#review-input")
        await pilot.press("ctrl+g")  # nothing typed
        await until(pilot, lambda: notified(app, "Type a few words first"))
        field.value = "The film was"
        await pilot.press("ctrl+g")  # no language model at hand
        await until(pilot, lambda: notified(app, "No language model of reviews at hand: rnntui sentiment pretrain"))
        assert field.value == "The film was"
        in_data_folder(review_lm_file, tmp_path)
        await pilot.press("ctrl+g")
        await until(pilot, lambda: not reviews.writing.writing and len(field.value.split()) > 3, timeout=30)
        words = field.value.split()
        assert words[:3] == ["The", "film", "was"] and len(words) == 3 + WRITTEN_WORDS
        assert all(word.islower() for word in words[3:])  # as the language model knows words
        # The review as written is what the gauge judged last.
        await until(pilot, lambda: reviews.last_scored is not None and reviews.last_scored.text == field.value)
        assert reviews.last_scored.error is None and reviews.last_scored.words == 3 + WRITTEN_WORDS


async def test_typing_while_the_language_model_writes_takes_the_review_back(tiny_checkpoint, review_lm_file,
                                                                            tmp_path):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        field = reviews.query_one("#review-input")
        field.value = "The film was"
        in_data_folder(review_lm_file, tmp_path)
        await pilot.press("ctrl+g")
        await until(pilot, lambda: len(field.value.split()) > 4, timeout=30)
        await pilot.press("!")
        await pilot.pause(0.3)  # several words' time: none comes after the person's own
        assert not reviews.writing.writing and field.value.endswith("!")
        assert 4 < len(field.value.split()) < 3 + 40


async def test_a_review_language_model_opened_with_ctrl_o_is_the_one_used(tiny_checkpoint, review_lm_file, tmp_path):
    app = make_app(tiny_checkpoint)
    elsewhere = shutil.copy(review_lm_file, tmp_path / "elsewhere.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        in_data_folder(review_lm_file, tmp_path)
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        table = app.screen.query_one("#picker-table")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        row = next(row for row in rows if "reviews-lm.ckpt" in row[0])
        assert row[1] == "review LM" and row[3].startswith("ppl ") and row[4] == "reviews.tar.gz"
        app.screen.query_one("#picker-path").value = str(elsewhere)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "elsewhere.ckpt is a language model of reviews: ctrl+g writes"))
        assert reviews.model_name == "imdb-sentiment.ckpt"  # the review model stays
        assert reviews.writing.language_model() == elsewhere
        (tmp_path / "data" / "checkpoints" / "reviews-lm.ckpt").unlink()
        elsewhere.unlink()  # gone: none at hand again
        assert reviews.writing.language_model() is None


async def test_a_start_that_fails_is_one_line_and_the_next_ctrl_t_asks_again(tiny_checkpoint, reviews_file,
                                                                              review_lm_file, tmp_path):
    """A language model whose header reads well but whose weights are cut short: listed, and
    refused in one notification when chosen; nothing of the choice stays behind."""
    from rnntui.tui.screens.dialogs import ReviewStartScreen

    from .helpers import busy_press

    good = in_data_folder(review_lm_file, tmp_path)
    data = good.read_bytes()
    (good.parent / "cut.ckpt").write_bytes(data[:len(data) // 2])
    app = make_app(tiny_checkpoint, reviews_data=reviews_file, review_model_settings=SMALL)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        for _ in range(2):
            await busy_press(pilot, "ctrl+t")
            await shown(pilot, ReviewStartScreen, "#review-start-choice")
            choices = app.screen.query_one("#review-start-choice")
            prompts = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
            assert sum(prompt.startswith("From cut.ckpt") for prompt in prompts) == 1
            choices.highlighted = next(i for i, prompt in enumerate(prompts) if prompt.startswith("From cut.ckpt"))
            await pilot.press("enter")
            await until(pilot, lambda: notified(app, "cut.ckpt is truncated"))
            await until(pilot, lambda: reviews.training.state == "idle")
            assert reviews.session.trainer is None and reviews.session.from_lm is None
            app.clear_notifications()


def test_a_word_cut_at_its_apostrophe_is_written_whole():
    from rnntui.tui.reviews.pane import written_on

    assert written_on("I didn", "t") == "I didn't" and written_on("it", "s") == "it's"
    assert written_on("The film", "was") == "The film was" and written_on("The film ", "was") == "The film was"
    assert written_on("great!", "t") == "great! t" and written_on("", "film") == "film"


def test_the_language_model_opened_with_ctrl_o_is_offered_first(review_lm_file, tmp_path):
    from rnntui.tui.reviews.writing import ReviewWriting

    in_data_folder(review_lm_file, tmp_path)
    elsewhere = shutil.copy(review_lm_file, tmp_path / "elsewhere.ckpt")
    writing = ReviewWriting(lambda: None)
    assert [path.name for path, _ in writing.at_hand()] == ["reviews-lm.ckpt"]
    writing.chosen = elsewhere
    assert [path.name for path, _ in writing.at_hand()] == ["elsewhere.ckpt", "reviews-lm.ckpt"]
    elsewhere.write_text("not a checkpoint", encoding="utf-8")  # changed since: the others are still offered
    assert [path.name for path, _ in writing.at_hand()] == ["reviews-lm.ckpt"]



async def test_ctrl_g_reads_the_language_model_again_once_its_file_holds_another(tiny_checkpoint, review_lm_file,
                                                                                   tmp_path):
    """A language model trained on (rnntui sentiment pretrain --resume) while the app is open
    writes with what its file holds now at the next ctrl+g."""
    from dataclasses import replace

    from rnntui.sentiment.pretrain.checkpoint import load_lm_checkpoint, save_lm_checkpoint
    from rnntui.sentiment.tokens import WordVocab
    from rnntui.tui.reviews.writing import WRITTEN_WORDS

    path = in_data_folder(review_lm_file, tmp_path)
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        field = reviews.query_one("#review-input")
        field.value = "The film was"
        await pilot.press("ctrl+g")
        await until(pilot, lambda: not reviews.writing.writing and len(field.value.split()) > 3, timeout=30)
        lm = load_lm_checkpoint(path)
        other = WordVocab((*lm.vocab.words[:2], *(f"mot{i}" for i in range(len(lm.vocab) - 2))))
        save_lm_checkpoint(replace(lm, vocab=other), path)  # replaced where it was, as a resumed run saves
        field.value = "The film was"
        await pilot.press("ctrl+g")
        await until(pilot, lambda: not reviews.writing.writing and len(field.value.split()) > 3, timeout=30)
        written = field.value.split()[3:]
        assert len(written) == WRITTEN_WORDS and all(word.startswith("mot") for word in written)
