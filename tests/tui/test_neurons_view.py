"""The app's view of the network's inside (the palette's "Inside the network"): the current model's
units ranked for each feature over its held-out text, and the text coloured by the chosen unit."""

from __future__ import annotations

import pytest

from rnntui.core.paths import bundled_sentiment_model_path
from rnntui.neurons import FEATURE_NAMES
from rnntui.tui.screens.neurons import NeuronsScreen
from tests.tui.helpers import SIZE, make_app, ready, until


async def test_the_view_ranks_units_for_each_feature_and_colours_the_text(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.action_inside_network()
        await until(pilot, lambda: isinstance(app.screen, NeuronsScreen) and app.screen.reading is not None)
        view = app.screen
        status = lambda: str(view.query_one("#neurons-status").render())  # noqa: E731
        # The made-up test text has no quotes: the view says so instead of ranking.
        assert FEATURE_NAMES[0] == "inside-quotes" and "does not vary" in status() and not view.units
        await pilot.press("right")
        assert "line-position" in status() and [u.state for u in view.units] == ["cell"] * 4 + ["hidden"] * 4
        assert abs(view.units[0].score) >= abs(view.units[1].score)
        first = str(view.query_one("#neurons-text").render())
        await pilot.press("down")
        assert view.selected == 1 and str(view.query_one("#neurons-text").render()) == first  # the same text
        await pilot.press("a")
        off = lambda: str(view.query_one("#neurons-switched-off").render())  # noqa: E731
        await until(pilot, lambda: "random units" in off() and "switching" not in off())
        assert off().startswith(f"cell unit {view.units[1].unit} off: ") and "on line breaks" in off()
        await pilot.press("escape")
        assert not isinstance(app.screen, NeuronsScreen)


async def open_view(pilot):
    app = pilot.app
    await ready(pilot)
    app.chat.action_inside_network()
    await until(pilot, lambda: isinstance(app.screen, NeuronsScreen) and app.screen.reading is not None)
    await pilot.press("right")  # line-position: the made-up test text has no quotes
    return app.screen


def rendered(view, selector: str) -> str:
    return str(view.query_one(selector).render())


async def test_looking_at_one_step_shows_the_units_gates_states_and_next_characters(tiny_checkpoint):
    from rnntui.neurons.step import next_chars_with_units_off

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_view(pilot)
        await pilot.press("s")
        await until(pilot, lambda: view.step is not None and view.step.position == 0)
        assert view.stepping and view.query_one("#neurons-step").display
        assert not view.query_one("#neurons-units").display
        await pilot.press("right", "right", "right")
        await until(pilot, lambda: view.step.position == 3)
        text, reading, _ = view.reading
        unit = view.units[0]
        assert view.step.char == text[3] and view.step.units == [unit.unit]
        # The step's numbers are the reading's: the cell state at the cursor, and gates in (0, 1).
        assert abs(view.step.values["cell"][0] - float(reading.cell[3, unit.unit])) < 1e-4
        assert all(0 < view.step.values[gate][0] < 1 for gate in ("input", "forget", "output"))
        panel = rendered(view, "#neurons-step")
        assert "step 3:" in panel and "forget" in panel and "next" in panel
        assert f"{view.step.next_chars[0][1]:.2f}" in panel  # the likeliest next character's bar
        await pilot.press("down")  # another unit, at the same character
        await until(pilot, lambda: view.step.units == [view.units[1].unit])
        await pilot.press("x")  # marked to switch off: its bars beside
        label = f"cell unit {view.units[1].unit} off"
        await until(pilot, lambda: label in rendered(view, "#neurons-step"))
        off = next_chars_with_units_off(view.model, view.vocab, view.read_ids, 3, [view.units[1].unit], "cell")
        assert f"{off[0][1]:.2f}" in rendered(view, "#neurons-step").splitlines()[3]
        await pilot.press("escape")  # back to the list, then closed
        assert not view.stepping and view.query_one("#neurons-units").display
        await pilot.press("escape")
        assert not isinstance(app.screen, NeuronsScreen)


async def test_a_marked_span_ranks_the_units_most_selective_there(tiny_checkpoint):
    from rnntui.neurons.rank import rank_span

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_view(pilot)
        await pilot.press("s", *["right"] * 5, "m", *["right"] * 6, "m")
        await until(pilot, lambda: view.what[0] == "span")
        reading = view.reading[1]
        assert view.what == ("span", (5, 12)) and view.span == (5, 12)
        assert [u.unit for u in view.units if u.state == "cell"] == [r.unit for r in rank_span(reading.cell, 5, 12, 4)]
        assert "marked span (7 characters)" in rendered(view, "#neurons-status")


async def test_switching_marked_units_off_compares_the_loss_and_a_reply(tiny_checkpoint):
    from rnntui.charlm.sampling import Sampler, generate_text
    from rnntui.tui.screens.neurons.screen import REPLY_CHARS, REPLY_SCALE_FACTOR, REPLY_SEED, SEED_CHARS

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_view(pilot)
        first, second = view.units[0].unit, view.units[1].unit
        await pilot.press("x", "down", "x", "a")
        await until(pilot, lambda: view.replies is not None)
        units = ", ".join(str(u) for u in sorted([first, second]))
        off = rendered(view, "#neurons-switched-off")
        assert off.startswith(f"cell units {units} off: ") and "on line breaks" in off and "random units" in off
        seed_text = view.reading[0][:SEED_CHARS]
        sampler = Sampler(view.model, view.vocab, REPLY_SCALE_FACTOR, random_seed=REPLY_SEED)
        assert view.replies.seed_text == seed_text
        assert view.replies.on == generate_text(sampler, seed_text, REPLY_CHARS)[len(seed_text):]
        assert len(view.replies.off) == REPLY_CHARS and view.query_one("#neurons-replies").display


async def test_find_by_a_regular_expression_and_a_bad_one_is_a_notification(tiny_checkpoint):
    from rnntui.neurons.features import regex_feature
    from rnntui.neurons.rank import rank_units

    from .helpers import notified

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_view(pilot)
        await pilot.press("r")  # no review model is open: said, and nothing else changes
        assert notified(app, "no review model is loaded") and not view.query_one("#neurons-review").display
        await pilot.press("slash")
        regex = view.query_one("#neurons-regex")
        assert regex.display and app.focused is regex
        await pilot.press("[", "(", "enter")
        assert notified(app, "is not a valid regular expression") and isinstance(app.screen, NeuronsScreen)
        regex.value = "zqzq"  # matches nothing: nothing to correlate with
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "does not vary"))
        assert not regex.display  # a valid expression closes the input; / opens it again
        regex.value = ""
        await pilot.press("slash", "e", "n", "enter")
        await until(pilot, lambda: view.what == ("regex", "en"))
        text, reading, _ = view.reading
        expected = rank_units(reading.cell, regex_feature(text, "en"), 4)
        assert [u.unit for u in view.units if u.state == "cell"] == [r.unit for r in expected]
        assert rendered(view, "#neurons-status").startswith("regex en:") and not regex.display


@pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")
async def test_in_the_reviews_mode_the_view_reads_the_review_word_by_word(tiny_checkpoint):
    from rnntui.neurons.sentiment import review_trace
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.tui.screens.neurons.review import ReviewInside

    review = "The plot is dull and the acting is weak, but the music is lovely and the end is great."
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f7")
        await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
        app.reviews.query_one("#review-input").value = review
        app.chat.action_inside_network()
        await until(pilot, lambda: isinstance(app.screen, NeuronsScreen) and app.screen.query(ReviewInside))
        inside = app.screen.query_one(ReviewInside)
        await until(pilot, lambda: inside.trace is not None)
        assert inside.display and not app.screen.query_one("#neurons-text").display
        checkpoint = load_sentiment_checkpoint(bundled_sentiment_model_path())
        expected = review_trace(checkpoint.build_model(), checkpoint.vocab, review, 6)
        assert inside.trace.words == expected.words
        assert inside.trace.probabilities == pytest.approx(expected.probabilities, abs=1e-6)
        assert [r.unit for r in inside.trace.ranked] == [r.unit for r in expected.ranked]
        status = str(inside.query_one("#review-inside-status").render())
        assert f"{expected.probabilities[-1]:.2f} after its {len(expected.words)} words" in status
        await pilot.press("down")
        assert inside.selected == 1
        unit = str(inside.query_one("#review-inside-unit").render())
        assert unit.startswith(inside.direction(expected.ranked[1].unit))
        await pilot.press("escape")  # back to the character model's view, then closed
        assert not inside.display and app.screen.query_one("#neurons-text").display
        await pilot.press("r")  # and to the review model again
        assert inside.display and not app.screen.query_one("#neurons-text").display
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, NeuronsScreen)


def test_a_plain_rnns_step_shows_the_chapters_sum_with_its_numbers():
    import torch

    from rnntui.charlm.model import CharRNN, ModelConfig
    from rnntui.charlm.vocab import Vocab
    from rnntui.neurons.step import look_at_step
    from rnntui.tui.screens.neurons.render import step_panel

    torch.manual_seed(0)
    vocab = Vocab(tuple(" abcd"))
    model = CharRNN(ModelConfig(vocab_size=5, embed_dim=4, hidden_size=3, cell="rnn")).eval()
    step = look_at_step(model, vocab, vocab.encode("ab cd"), 2, [1])
    panel = str(step_panel(step, "hidden", 1, "1 of 3"))
    terms = {name: values[0] for name, values in step.sum_terms.items()}
    assert "step 2: '␠'" in panel and f"= tanh({terms['sum']:+.2f}) = {terms['tanh']:+.3f}" in panel
    assert f"W_hh h {terms['recurrent']:+.2f}" in panel and f"hidden {step.values['hidden'][0]:+.3f}" in panel
    assert panel.count("█") >= 5 and "input" not in panel  # five bars; a plain RNN has no gates


async def open_review_view(pilot):
    from rnntui.tui.screens.neurons.review import ReviewInside

    app = pilot.app
    await ready(pilot)
    await pilot.press("f7")
    await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
    app.chat.action_inside_network()
    await until(pilot, lambda: isinstance(app.screen, NeuronsScreen) and app.screen.query(ReviewInside))
    inside = app.screen.query_one(ReviewInside)
    await until(pilot, lambda: inside.trace is not None)
    return inside


@pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")
async def test_f9_in_the_review_view_answers_the_sentiment_neuron_question(tiny_checkpoint, tmp_path):
    from rnntui.neurons.sentiment import sentiment_neuron
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.reviews import read_reviews, split_train_valid
    from rnntui.sentiment.trainer import encode
    from tests.helpers import reviews_tarball

    data = reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=30)
    app = make_app(tiny_checkpoint, reviews_data=data)
    async with app.run_test(size=SIZE) as pilot:
        inside = await open_review_view(pilot)
        field = inside.query_one("#review-inside-input")
        typed = field.value
        assert app.focused is field and typed  # the review's input has the focus: f9 is not typed into it
        await pilot.press("f9", "down")  # the view answers keys while it measures
        assert inside.selected == 1 and field.value == typed
        shown = lambda: str(inside.query_one("#review-inside-neuron").render())  # noqa: E731
        await until(pilot, lambda: "all " in shown())
        checkpoint = load_sentiment_checkpoint(bundled_sentiment_model_path())
        _, valid = split_train_valid(read_reviews(data).train, seed=checkpoint.data["split_seed"])
        valid = encode(valid, checkpoint.vocab, checkpoint.train_config["max_tokens"])
        model = checkpoint.build_model()
        expected = sentiment_neuron(model, valid, 6)
        best, units = expected.best_single, model.config.hidden_size * (2 if model.config.bidirectional else 1)
        assert f"fitted on {expected.fit_reviews} validation reviews" in shown()
        assert f"{inside.direction(best.unit)}: accuracy {best.accuracy:.4f}" in shown()
        assert f"all {units} units together: {expected.all_units:.4f}" in shown()
        assert f"the model itself: {expected.model:.4f}" in shown()


@pytest.mark.skipif(not bundled_sentiment_model_path().is_file(), reason="no bundled sentiment model")
async def test_without_reviews_the_sentiment_neuron_says_how_to_give_them(tiny_checkpoint):
    from .helpers import notified

    app = make_app(tiny_checkpoint)  # no reviews given, none cached (the tests' cache is empty)
    async with app.run_test(size=SIZE) as pilot:
        inside = await open_review_view(pilot)
        await pilot.press("f9")
        await until(pilot, lambda: notified(app, "no movie reviews to measure on"))
        assert notified(app, "Movie reviews to train on") and inside.display
        assert not inside.query_one("#review-inside-neuron").display
