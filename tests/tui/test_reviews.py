"""The reviews mode (f7): the sentiment of a movie review as it is typed, with the bundled model."""

from __future__ import annotations

import pytest

from rnntui.core.paths import bundled_sentiment_model_path
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.widgets.gauge import SentimentGauge, gauge_text
from rnntui.tui.widgets.seed_input import SeedInput
from tests.tui.helpers import SIZE, make_app, notified, ready, shown, until

pytestmark = pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")

POSITIVE = "A wonderful, moving film with brilliant acting and a beautiful story. I loved every minute of it."
NEGATIVE = "The worst movie I have ever seen: boring, stupid and a total waste of time. Awful acting."


def predictor():
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.predict import Predictor

    checkpoint = load_sentiment_checkpoint(bundled_sentiment_model_path())
    return Predictor(checkpoint.build_model(), checkpoint.vocab)


def footer_actions(app) -> set[str]:
    return {key.action for key in app.query("FooterKey")}


async def open_reviews(pilot):
    app = pilot.app
    await ready(pilot)
    await pilot.press("f7")
    await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
    return app.reviews


async def type_review(pilot, text: str) -> None:
    field = pilot.app.reviews.query_one("#review-input")
    field.value = text  # as a paste would leave it; each change is judged
    await until(pilot, lambda: pilot.app.reviews.last_scored is not None
                and pilot.app.reviews.last_scored.text == text)


async def test_the_gauge_and_the_words_follow_the_review_as_it_is_typed(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        assert not app.chat.display and reviews.display
        assert app.focused is reviews.query_one("#review-input")
        judge = predictor()
        await type_review(pilot, POSITIVE)
        gauge = reviews.query_one(SentimentGauge)
        assert gauge.probability == pytest.approx(judge.predict(POSITIVE).probability) and gauge.probability > 0.5
        assert "positive" in str(gauge.render())
        # Each word coloured by what it did: the effects are the predictor's own.
        effects = reviews.last_scored.effects
        assert [e.word for e in effects] == [e.word for e in judge.explain(POSITIVE)]
        words = reviews.query_one("#review-words").render()
        styles = {str(span.style) for span in words.spans}
        assert any("green" in style for style in styles)
        await type_review(pilot, NEGATIVE)
        assert gauge.probability == pytest.approx(judge.predict(NEGATIVE).probability) and gauge.probability < 0.5
        assert any("red" in str(span.style) for span in reviews.query_one("#review-words").render().spans)


async def test_a_review_model_given_at_start_opens_in_the_reviews_mode(tiny_checkpoint):
    """rnntui --checkpoint REVIEW.ckpt: the reviews mode opens with that model; the chat starts
    with its own (the bundled one), where before it refused the file."""
    from pathlib import Path

    from rnntui.core.paths import bundled_model_path

    given = Path(__file__).resolve().parents[1] / "fixtures" / "review-model.ckpt"
    app = make_app(given)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
        assert app.reviews.display and not app.chat.display and app.reviews.model_name == "review-model.ckpt"
        await until(pilot, lambda: app.chat.info is not None, timeout=60)
        assert app.chat.info.name == bundled_model_path().name and not notified(app, "Could not load")


async def test_enter_adds_the_review_and_its_verdict_to_the_list(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await type_review(pilot, POSITIVE)
        await pilot.press("enter")
        await until(pilot, lambda: reviews.reviews == 1)
        [entry] = reviews.query(".review")
        header = str(entry.query_one(".review-header").render())
        assert header.startswith("#1 · positive · ") and "imdb-sentiment.ckpt" in header
        assert "-positive" in entry.classes
        assert reviews.query_one("#review-input").value == ""
        await type_review(pilot, NEGATIVE)
        await pilot.press("enter")
        await until(pilot, lambda: reviews.reviews == 2)
        assert "-negative" in list(reviews.query(".review"))[1].classes
        assert "reviews 2" in str(app.query_one("#status").render())
        # An empty review: one notification, nothing added.
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "Type or paste a review first."))
        assert reviews.reviews == 2
        app.reviews.action_clear_reviews()
        await pilot.pause()
        assert reviews.reviews == 0 and not reviews.query(".review")


async def test_a_review_of_unknown_words_says_so_and_a_huge_one_is_judged_on_its_start(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await type_review(pilot, "zzqxv qqzzx vvxqz")
        assert "no word of it is known" in str(reviews.query_one(SentimentGauge).render())
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "in the model's vocabulary"))
        assert reviews.reviews == 1  # still judged
        # A 1 MB paste: judged on its first 100,000 characters, without freezing the app.
        huge = "great acting, " * 75_000
        reviews.query_one("#review-input").value = huge
        await pilot.press("enter")
        await until(pilot, lambda: reviews.reviews == 2, timeout=30)
        await until(pilot, lambda: notified(app, "judged its first 100,000 characters"))
        [_, entry] = reviews.query(".review")
        assert "more words" in str(entry.query(".review-words").first().render())
        # Only punctuation: no words yet, and enter says the review has none.
        await type_review(pilot, "!!! ...")
        assert "no words yet" in str(reviews.query_one(SentimentGauge).render())


async def test_each_mode_shows_its_own_keys_and_f7_goes_back(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause()
        chat_keys = footer_actions(app)
        assert "toggle_training" in chat_keys and "add_review" not in chat_keys and "show_reviews" not in chat_keys
        assert app.sub_title == "tiny.ckpt"
        await open_reviews(pilot)
        await pilot.pause()
        assert app.sub_title == "imdb-sentiment.ckpt"  # the window's title names the mode's model
        reviews_keys = footer_actions(app)
        assert {"show_chat", "open_review_model", "help"} <= reviews_keys
        assert not reviews_keys & {"generate", "toggle_training", "regenerate", "open_picker"}
        await pilot.press("ctrl+r")  # a chat key does nothing here
        assert not app.chat.exchanges
        await pilot.press("f1")
        await shown(pilot, HelpScreen, "Markdown")
        text = "\n".join(f"{key} {what}" for key, what in app.screen.keys)
        assert "add the review to the list" in text and "generate a reply" not in text
        assert "The gauge is the probability" in app.screen.notes and "f5" not in app.screen.notes  # its own notes
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Chat" in titles and "Generate" not in titles
        await pilot.press("f7")
        await pilot.pause()
        assert app.chat.display and not app.reviews.display and app.focused is app.query_one(SeedInput)
        assert "toggle_training" in footer_actions(app)
        assert "scale factor" in str(app.query_one("#status").render())
        assert app.sub_title == "tiny.ckpt"


async def test_a_language_model_opened_in_the_reviews_says_what_it_is(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        table = app.screen.query_one("#picker-table")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert any(row[1] == "reviews" for row in rows)  # the bundled sentiment model, with its task
        app.screen.query_one("#picker-path").value = str(tiny_checkpoint)
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "is a language model"))
        assert reviews.model_name == "imdb-sentiment.ckpt"  # the one it had stays


def test_the_gauge_draws_the_probability_it_is_given():
    import re

    text = gauge_text(0.75, 60)
    assert text.plain.startswith("negative ") and text.plain.endswith(" positive · 75.0% positive")
    assert len(text.plain) == 60
    filled = text.plain.count("█")
    assert filled == round(0.75 * (60 - len("negative ") - len(" positive") - len(" · 75.0% positive")))
    low = gauge_text(0.01, 60)
    assert low.plain.endswith(" positive ·  1.0% positive")
    # No word twice in a row ("positive positive · 99.3% positive" once): the verdict is the end
    # of the bar it leans to, in bold and its colour, the other end dim.
    for probability in (0.01, 0.2, 0.5, 0.75, 0.993):
        words = re.findall(r"[a-z]+|[\d.]+%", gauge_text(probability, 60).plain)
        assert all(a != b for a, b in zip(words, words[1:], strict=False)), words

    def style_of(text, word):
        start = text.plain.index(word)
        return " ".join(str(span.style) for span in text.spans if span.start <= start < span.end)

    assert "bold green" in style_of(text, "positive") and "dim" in style_of(text, "negative")
    assert "bold red" in style_of(low, "negative") and "dim" in style_of(low, "positive")
    assert "type a review" in gauge_text(None, 60).plain


async def test_ctrl_t_trains_a_review_model_with_the_live_chart_and_ctrl_s_saves_it(tiny_checkpoint, reviews_file,
                                                                                     tmp_path):
    from rnntui.core.checkpoint import read_header
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.trainer import SentimentTrainConfig
    from rnntui.tui.widgets.loss_panel import LossPanel

    # Epochs enough that the run is still going when it is checked: 50 (1,000 steps of the tiny
    # model) could end first on a loaded machine once the model read padded batches whole.
    config = SentimentTrainConfig(epochs=10_000, batch_size=8, lr=0.01, eval_every=5)
    app = make_app(tiny_checkpoint, reviews_data=reviews_file, review_train_config=config,
                   review_model_settings={"embed_dim": 8, "hidden_size": 16, "fc_hidden": 16})
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        panel = app.query_one(LossPanel)
        assert panel.title == "Loss (nats/review)"
        bundled_steps = read_header(bundled_sentiment_model_path())[0]["step"]
        assert panel.figures["step"] == bundled_steps and panel.accuracy  # the bundled model's run
        await pilot.press("ctrl+t")
        # The bundled model was saved without its optimizer: a new model trains, and it says so,
        # what it is and where it is saved; the status line and the title name its file at once.
        await until(pilot, lambda: notified(app, "saved for shipping"))
        await until(pilot, lambda: notified(app, "A new review model (LSTM, embedding 8, hidden 16"))
        name = reviews.session.name
        assert name.startswith("imdb-lstm16-") and notified(app, f"It is saved to {reviews.session.path}")
        assert name in str(app.query_one("#status").render()) and app.sub_title == name
        # A clean chart: none of the bundled model's steps, nor its accuracy.
        assert all(step <= reviews.session.step for step, _ in panel.train + panel.val + panel.accuracy)
        assert panel.figures["step"] <= reviews.session.step
        await until(pilot, lambda: reviews.session.step >= 12 and len(panel.accuracy) >= 2, timeout=60)
        assert "training running" in str(app.query_one("#status").render())
        assert panel.train and panel.val and "best acc" in " ".join(panel.figure_cells)
        assert "reviews/s" in " ".join(panel.figure_cells)
        # The gauge judges with the weights in training, followed at each validation.
        await until(pilot, lambda: reviews.model_name.startswith("imdb-lstm16-"))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: reviews.training.state == "paused")
        step = reviews.session.step
        await pilot.press("ctrl+s")
        await until(pilot, lambda: notified(app, "Saved step"))
        path = reviews.session.path
        assert path.parent == tmp_path / "data" / "checkpoints" and read_header(path)[0]["task"] == "sentiment"
        assert load_sentiment_checkpoint(path).step == step and reviews.session.unsaved_steps == 0
        # Back in the chat, the panel shows the language model's run again.
        await pilot.press("f7")
        await pilot.pause()
        assert panel.title == "Loss (nats/char)" and not panel.accuracy
        await pilot.press("f7")
        await pilot.pause()
        assert panel.title == "Loss (nats/review)" and len(panel.accuracy) >= 2


async def test_quitting_with_a_review_model_in_training_asks_and_saves_it(tiny_checkpoint, reviews_file):
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.trainer import SentimentTrainConfig
    from rnntui.tui.screens.dialogs import UnsavedScreen

    from .helpers import busy_press

    app = make_app(tiny_checkpoint, reviews_data=reviews_file,
                   review_train_config=SentimentTrainConfig(epochs=10_000, batch_size=8),  # still running at quit
                   review_model_settings={"embed_dim": 8, "hidden_size": 16, "fc_hidden": 16})
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: reviews.session.step >= 3, timeout=60)
        await busy_press(pilot, "ctrl+q")
        await shown(pilot, UnsavedScreen, "#save")
        app.screen.query_one("#save").press()
        await until(pilot, lambda: not app.is_running, timeout=30)
        path = reviews.session.path
    assert load_sentiment_checkpoint(path).step >= 3 and app.return_value == f"saved {path}"
    # Only the model with unsaved progress was written: the chat's had none.
    assert not list((path.parent).glob("tiny*")) and len(list(path.parent.glob("*.ckpt"))) == 1


async def test_a_review_model_opened_in_the_chat_says_what_it_is(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        app.screen.query_one("#picker-path").value = str(bundled_sentiment_model_path())
        app.screen.query_one("#picker-path").focus()
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "is a sentiment model (movie reviews)"))
        assert app.chat.info.name == "tiny.ckpt"  # the chat's model stays


async def test_offline_the_reviews_data_is_asked_for_in_the_app_and_remembered(tiny_checkpoint, reviews_file, tmp_path):
    """No download (offline): ctrl+t asks for the tarball or folder right there, with a path
    field that completes, trains on it, and the next session starts with it."""
    import json

    from rnntui.sentiment.trainer import SentimentTrainConfig
    from rnntui.tui.screens.dialogs import ReviewsDataScreen

    from .helpers import messages

    options = dict(review_train_config=SentimentTrainConfig(epochs=10_000, batch_size=8),
                   review_model_settings={"embed_dim": 8, "hidden_size": 16, "fc_hidden": 16})
    app = make_app(tiny_checkpoint, **options)
    async with app.run_test(size=SIZE) as pilot:
        reviews = await open_reviews(pilot)
        await pilot.press("ctrl+t")
        await shown(pilot, ReviewsDataScreen, "#reviews-data-path")
        said = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "Could not download the movie reviews" in said and "aclImdb_v1.tar.gz" in said
        assert not any("--data" in message for message in messages(app))  # no flag the app does not take
        field = app.screen.query_one("#reviews-data-path")
        assert field.suggester is not None  # completes paths, as ctrl+n's field does
        field.value = str(tmp_path / "nowhere.tar.gz")
        await pilot.press("enter")
        assert "no such file or folder" in str(app.screen.query_one("#reviews-data-error").render())
        field.value = str(reviews_file)
        await pilot.press("enter")
        await until(pilot, lambda: reviews.session.step >= 1, timeout=60)
        assert reviews.session.training_text_name() == reviews_file.name
        await pilot.press("ctrl+t")
        await until(pilot, lambda: reviews.training.state == "paused")
    settings = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert settings["reviews_data"] == str(reviews_file)
    again = make_app(tiny_checkpoint, **options)
    assert again.review_options[0] == reviews_file
