"""The chat: replies stream, continue, regenerate, copy, export, clear; seed texts and their history."""

from __future__ import annotations

import json
import os
import re

import torch

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.tui.chat import next_scale
from rnntui.tui.screens.reply_settings import ReplySettingsScreen
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from rnntui.tui.widgets.transcript import Exchange
from tests.helpers import disk_full
from tests.tui.helpers import (
    SIZE,
    busy_press,
    exchanges,
    finished,
    join_wrapped_lines,
    joined,
    make_app,
    messages,
    new_model_on,
    notifications,
    notified,
    ready,
    shown,
    train_to,
    until,
)


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
        sampler = app.chat.session.sampler(1.0, random_seed=2)
        assert "".join(s.char for s in sampler.stream("The island", 120)) == exchange.generated


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
        await until(pilot, lambda: exchanges(app)[0].generated)  # the reply's thread is under way
        await busy_press(pilot, "escape")
        await finished(pilot)
        await until(pilot, lambda: "stop_stream" not in footer_actions(app))


async def test_escape_stops_a_reply_whose_thread_has_not_started(tiny_checkpoint):
    """Escape in the same turn of the event loop as enter, before the reply's worker runs: the
    reply still ends, stopped, rather than streaming on (or never ending)."""
    app = make_app(tiny_checkpoint, length=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.start_generation("The")
        assert app.chat.streaming
        app.chat.action_stop_stream()
        await finished(pilot)
        reply = exchanges(app)[0]
        assert reply.note.startswith("stopped after") and len(reply.generated) < 100_000


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
        warnings = [n for n in notifications(app) if "not being saved" in n.message]
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
        # Its header (and so the ctrl+f transcript) records each change and the character it
        # took effect at: "scale factor 0.90 → 1.00 at char 57 → 1.10 at char 60 → 1.25 at char 64".
        assert exchange.header_text.startswith("#1 · scale factor 0.90 · tiny.ckpt · step 30 · scale factor 0.90 → ")
        chain = exchange.header_text.split(" · scale factor 0.90 → ", 1)[1].split(" → ")
        changes = [re.fullmatch(r"(\d\.\d\d) at char ([\d,]+)", change) for change in chain]
        assert all(changes) and changes[-1][1] == "1.25", chain
        positions = [int(change[2].replace(",", "")) for change in changes]
        assert 50 < positions[0] and positions == sorted(set(positions)) and positions[-1] <= len(exchange.generated)
        assert exchange.header_line.startswith(exchange.header_text)
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
        assert notified(app, "at its maximum")
    assert next_scale(1.0, -1) == 0.9 and next_scale(0.1, -1) == 0.1


async def test_unknown_character_notifies_and_keeps_running(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"Thé", "enter")
        await pilot.pause()
        assert exchanges(app) == []
        [note] = notifications(app)
        assert "'é'" in note.message and note.severity == "error"
        await pilot.press("backspace", "backspace", "backspace", *"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1


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
    from rnntui.tui.widgets.status_line import StatusLine
    from rnntui.tui.widgets.transcript import Transcript

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("a", "enter")
        await until(pilot, lambda: not app.chat.streaming)
        info, history = app.chat.info, app.chat.session.history
        for kind in (LossPanel, StatusLine, CandidateBars, Transcript):
            await app.query_one(kind).remove()
        mailbox = Mailbox()
        mailbox.put(StreamedChar("x", 0.5, (("x", 0.5), ("y", 0.25))))
        app.chat.post_message(GenerationChunk(1, mailbox))  # where each worker posts
        app.chat.post_message(GenerationDone(1, 1, False))
        app.chat.training.post_message(DownloadProgress(10**6, 2 * 10**6))
        app.post_message(EngineReady(info, history, app.chat.session, "Ready."))
        app.chat.info = None  # as at start-up, when a failed load writes into the transcript
        app.post_message(EngineFailed("no such file"))
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None


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


async def test_generation_error_notifies(tiny_checkpoint, monkeypatch):
    from rnntui.charlm.session import Session
    from rnntui.core.errors import RnntuiError

    def broken(self, *args, **kwargs):
        raise RnntuiError("the sampler broke")

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real = Session.sampler
        monkeypatch.setattr(Session, "sampler", broken)
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: notified(app, "sampler broke"))
        monkeypatch.setattr(Session, "sampler", real)  # only this: undo() would lift the test's own folders
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert app.is_running and len(exchanges(app)[-1].generated) == app.chat.length


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


async def test_clearing_the_chat_leaves_the_model_alone(tiny_checkpoint):
    from rnntui.tui.widgets.transcript import Transcript

    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        step = app.chat.session.step
        app.chat.action_clear_chat()
        await pilot.pause()
        assert not app.query(Exchange) and not app.query_one(Transcript).children and not app.chat.exchanges
        await pilot.press("enter")  # nothing left to continue: a seed text is asked for
        assert messages(app)[-1] == "Type a seed text first, e.g. The island."
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert exchanges(app)[0].header_line.startswith("#1 ") and app.chat.session.step == step


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
    from rnntui.charlm.sampling import SampledChar
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


def test_split_runs():
    from rnntui.tui.widgets.transcript import split_runs

    runs = [["ab", "x"], ["c\nd", "y"], ["ef", "z"]]
    assert split_runs(runs, 3, skip=1) == ([["ab", "x"], ["c", "y"]], [["d", "y"], ["ef", "z"]])
    assert split_runs(runs, 2) == ([["ab", "x"]], [["c\nd", "y"], ["ef", "z"]])


async def test_continue_the_last_reply_as_if_it_had_been_longer(tiny_checkpoint, corpus_file):
    from rnntui.charlm.sampling import Sampler

    checkpoint = load_checkpoint(tiny_checkpoint)

    def uninterrupted(length: int) -> str:
        # make_app's random seed is 1, and the first exchange samples with seed 1 + 1.
        sampler = Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, random_seed=2)
        return "".join(c.char for c in sampler.stream("The", length))

    app = make_app(tiny_checkpoint, corpus=corpus_file, length=30)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        assert notified(app, "Nothing to continue")
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
        await until(pilot, lambda: app.chat.training.state == "paused")
        before = len(exchange.generated)
        await pilot.press("ctrl+g")
        await finished(pilot)
        assert len(exchange.generated) == before + 20 and len(exchanges(app)) == 1
        assert "continued at step" in str(exchange.query_one(".exchange-header").render())


async def test_export_writes_every_reply_to_a_file(tiny_checkpoint, tmp_path, monkeypatch):

    app = make_app(tiny_checkpoint, length=30)
    folder = tmp_path / "data" / "transcripts"
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+f")
        assert notified(app, "Nothing to export")
        # A full disk: one notification, and no file, not even half of one.
        for seed in ("The", "It"):
            await pilot.press(*seed, "enter")
            await finished(pilot)
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", disk_full)
        await pilot.press("ctrl+f")
        await until(pilot, lambda: any(n.title == "Export failed" for n in notifications(app)))
        assert not folder.exists() or list(folder.iterdir()) == []
        monkeypatch.setattr(os, "fsync", real_fsync)  # space again
        await pilot.press("ctrl+f")
        await until(pilot, lambda: notified(app, "Exported 2 replies"))
    [exported] = folder.glob("transcript-*.txt")
    text = exported.read_text(encoding="utf-8")
    first, second = exchanges(app)
    assert text == (f"{first.header_line}\n\n{first.reply_plain}\n\n"
                    f"{second.header_line}\n\n{second.reply_plain}\n\n")
    assert text.startswith("#1 · scale factor 1.00 · tiny.ckpt · step 30 · 30 characters\n\nThe")
    assert "#2 · " in text and len(first.reply_plain) == 3 + 30


async def test_replies_can_adapt_to_their_seed_text(tiny_checkpoint, tmp_path):
    """ctrl+l's "adapt to the seed text": each reply's copy of the model first learns from its
    seed text (dynamic evaluation's rule); the header says so; the setting is kept."""
    app = make_app(tiny_checkpoint, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.chat.adapt  # off by default
        before = {k: v.clone() for k, v in app.chat.session.model.state_dict().items()}
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
        assert app.chat.session._dynamic_statistics is not None
        assert all(torch.equal(before[k], v) for k, v in app.chat.session.model.state_dict().items())
    saved = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert saved["adapt"] is True


def test_a_change_while_streaming_is_written_as_a_chain_and_a_new_cut_in_full():
    from rnntui.tui.chat.drawing import change_note

    assert change_note((0.3, 0, 1.0), (0.5, 0, 1.0), 57, False, False) == (
        " · scale factor 0.30 → 0.50 at char 57", True)
    assert change_note((0.5, 0, 1.0), (1.2, 0, 1.0), 1_090, True, False) == (" → 1.20 at char 1,090", True)
    assert change_note((1.2, 0, 1.0), (1.2, 5, 0.9), 95, True, False) == (
        " · then scale factor 1.20 · top-k 5 · top-p 0.9 from char 95", False)


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
