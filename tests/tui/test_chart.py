"""The loss chart: its y axis, and its view of the whole run or of the recent steps (f8)."""

from __future__ import annotations

from types import SimpleNamespace

from rnntui.tui.keys import help_rows
from rnntui.tui.widgets.loss_panel import RECENT_STEPS, LossPanel, loss_range, step_ticks

from .helpers import SIZE, make_app, notified, ready, until


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
