"""Reply settings (ctrl+l), the theme, and what is kept for the next session."""

from __future__ import annotations

import json

import pytest

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.tui.screens.reply_settings import ReplySettingsScreen
from tests.tui.helpers import (
    SIZE,
    busy_press,
    exchanges,
    finished,
    join_wrapped_lines,
    joined,
    make_app,
    notifications,
    ready,
    shown,
    until,
)


async def test_length_dialog(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-length")
        await pilot.press("ctrl+a", "ctrl+k", *"0", "enter")
        assert isinstance(app.screen, ReplySettingsScreen)  # 0 is refused, with the reason
        assert "a whole number from 1 to 100,000" in str(app.screen.query_one("#settings-error").render())
        await pilot.press("backspace", *"42", "enter")
        assert app.chat.length == 42
        await pilot.press("ctrl+l")  # nothing changed: said so, and the dialog closes
        await shown(pilot, ReplySettingsScreen, "#setting-length")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ReplySettingsScreen))
        assert any(n.message == "The reply settings are unchanged." for n in notifications(app))
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)[0].generated) == 42


async def test_the_settings_note_counts_the_steps_between_replies_while_training(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for every, said in (("1", "a reply every 1 step of training"), ("25", "a reply every 25 steps of training")):
            await pilot.press("ctrl+l")
            await shown(pilot, ReplySettingsScreen, "#setting-sample_every")
            app.screen.query_one("#setting-sample_every").value = every
            await pilot.press("enter")
            await until(pilot, lambda said=said: any(said in n.message for n in notifications(app)))


async def test_top_k_and_top_p_cut_the_distribution_replies_draw_from(tiny_checkpoint, tmp_path):
    from rnntui.charlm.sampling import Sampler, generate_text

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
    from rnntui.charlm.sampling import Sampler, generate_text

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
                                                                "reflow": None, "sample_every": 0, "adapt": False,
                                                                "reviews_data": None}
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
        chat = fresh.chat
        assert (chat.scale_factor, chat.length, fresh.theme, chat.top_k, chat.top_p) == (1.0, 500, "textual-dark",
                                                                                         0, 1.0)


async def test_settings_that_cannot_be_saved_are_reported_once(tiny_checkpoint, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "settings.json").mkdir()  # a folder where the file should go
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+up", "ctrl+up")
        await pilot.pause()
        notes = [n.message for n in notifications(app) if "settings are not being saved" in n.message]
        assert len(notes) == 1 and app.chat.scale_factor == 1.25  # the change itself still applies


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


def test_the_training_forms_ranges_are_the_ones_the_settings_declare():
    """f2 takes what `rnntui train` takes: its whole-number fields read their ranges from the
    settings' declarations (once a hand-written 4,096 refused the batch the command accepts)."""
    from rnntui.charlm.config import MAX_BATCH, MAX_SEQ_LENGTH
    from rnntui.tui.screens.training_settings import TrainingSettingsScreen

    parsers = {name: parse for name, _, parse, _ in TrainingSettingsScreen.FIELDS}
    for name, high in (("batch_size", MAX_BATCH), ("seq_length", MAX_SEQ_LENGTH)):
        assert parsers[name](f"{high}") == high
        with pytest.raises(ValueError) as refused:
            parsers[name](f"{high + 1}")
        assert str(refused.value) == f"a whole number from 1 to {high:,}"
    assert parsers["lr"]("5") == 5.0  # any positive rate, as the command takes
    with pytest.raises(ValueError, match="a number above 0"):
        parsers["lr"]("0")
    with pytest.raises(ValueError, match=r"a number in \[0, 1\)"):
        parsers["dropout"]("1")
