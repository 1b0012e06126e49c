"""The loss chart: its y axis, and its view of the whole run or of the recent steps (f8)."""

from __future__ import annotations

from types import SimpleNamespace

from rnntui.tui.keys import help_rows
from rnntui.tui.widgets.loss_panel import RECENT_STEPS, LossPanel, loss_range, step_ticks
from tests.tui.helpers import SIZE, make_app, notified, ready, until


def test_the_loss_axis_never_goes_below_zero():
    # A review model's training loss falls close to 0: the range's margin stops there.
    train = [(step, 0.69 * 0.999 ** step) for step in range(1, 4_001)]
    val = [(step, 0.3) for step in range(100, 4_001, 100)]
    low, high = loss_range(train, val)
    assert low == 0.0 and high > 0.3


def test_ticks_of_a_recent_view_start_where_it_does():
    assert step_ticks(16_010, first=15_010) == [15_250, 15_500, 15_750, 16_000]
    assert step_ticks(500, first=500) == [500]


def events(first: int, last: int) -> list:
    return [SimpleNamespace(step=step, train_loss=1.2, val_loss=None, chars_per_s=900.0, elapsed=1.0)
            for step in range(first, last + 1)]


async def test_training_on_from_a_long_history_follows_the_recent_steps_and_f8_switches(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.chart is not None)
        # The bundled model's kind of history: 16,000 steps.
        panel.set_history([(step, 4.0 - step / 8_000) for step in range(1, 16_001, 10)],
                          [(step, 2.0) for step in range(500, 16_001, 500)], 16_000)
        assert not panel.shows_recent and panel.x_range == (1, 16_000)
        panel.add_events(events(16_001, 16_010))  # training goes on from there
        panel.replot()
        assert panel.shows_recent and panel.x_range == (16_010 - RECENT_STEPS, 16_010)
        await pilot.press("f8")
        assert panel.x_range == (1, 16_010) and notified(app, "The chart shows the whole run.")
        panel.add_events(events(16_011, 16_020))  # the person's choice holds as training goes on
        panel.replot()
        assert panel.x_range == (1, 16_020)
        await pilot.press("f8")
        assert panel.x_range == (16_020 - RECENT_STEPS, 16_020)
        assert notified(app, f"The chart shows the last {RECENT_STEPS:,} steps.")
    assert any(keys == "f8" and "last 1,000 steps" in what for keys, what in help_rows())


async def test_a_short_history_is_shown_whole_while_it_trains(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.chart is not None)
        first = panel.train[0][0]
        panel.add_events(events(31, 40))  # the tiny model's 30 steps, then 10 more
        panel.replot()
        assert not panel.shows_recent and panel.x_range == (first, 40)


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
