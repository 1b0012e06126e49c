"""Layout and keys: small terminals, the footer, help, palette, the key tables of docs/app.md and the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.widgets.loss_panel import LossPanel
from tests.tui.helpers import (
    SIZE,
    busy_press,
    make_app,
    messages,
    notified,
    pause_training,
    ready,
    until,
)


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
        app.chat.info.name = "a-model-with-a-very-long-name-that-does-not-fit-" * 2 + ".ckpt"
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


ROOT = Path(__file__).resolve().parents[2]


def key_table(page: str, header: str = "| key | does |") -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    return text.split(header, 1)[1].split("\n\n", 1)[0]


def test_the_apps_key_tables_have_every_key():
    from rnntui.tui.keys import KEYS, REVIEWS

    chat, reviews = key_table("docs/app.md"), key_table("docs/app.md", "| key, in the reviews mode | does |")
    for row in KEYS:  # pick mode's 1-5 and space are in f3's row
        for key in row.keys.split(",") if row.keys else ():
            assert f"`{key}`" in (reviews if row.modes == (REVIEWS,) else chat), key
    # Short cells: the details are in the page's sections, which the cells link to.
    for table in (chat, reviews):
        for line in table.splitlines()[2:]:
            assert max(len(cell) for cell in line.split(" | ")) <= 200, line


def test_the_readmes_keys_are_the_apps():
    from rnntui.tui.keys import KEYS

    known = {key for row in KEYS for key in row.keys.split(",") if key}
    rows = key_table("README.md").splitlines()[2:]
    assert 8 <= len(rows) <= 12  # the few that matter; docs/app.md has them all
    for row in rows:
        for key in re.findall(r"`([^`]+)`", row.split(" | ")[0]):
            assert key in known, key


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
        await until(pilot, lambda: notified(again, "ctrl+b shows it"))
        await until(pilot, lambda: again.chat.training.state == "running")
        await pause_training(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert again.query_one(LossPanel).display
    assert json.loads(settings.read_text(encoding="utf-8"))["chart"] is True


async def test_a_notification_already_showing_is_not_stacked_again(tiny_checkpoint):
    app = make_app(tiny_checkpoint, scale_factor=10.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for _ in range(8):
            await pilot.press("ctrl+up")
        await pilot.pause()
        assert messages(app).count("The scale factor is at its maximum, 10.") == 1


def test_a_path_in_f6_breaks_after_a_slash_not_inside_a_name():
    from rnntui.tui.screens.model_info import break_after_slashes

    text = "/work/main/rnntui/assets/mysterious-island-lstm.ckpt (3.5 MB, saved 2026-11-29 11:39 UTC)"
    lines = break_after_slashes(text, 40).split("\n")
    assert lines[0] == "/work/main/rnntui/assets/" and lines[1].startswith("mysterious-island-lstm.ckpt")
    assert all(len(line) <= 40 for line in lines) and "".join(lines).replace(" ", "") == text.replace(" ", "")
