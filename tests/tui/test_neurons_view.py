"""The app's view of the network's inside (the palette's "Inside the network"): the current model's
units ranked for each feature over its held-out text, and the text coloured by the chosen unit."""

from __future__ import annotations

from rnntui.neurons import FEATURE_NAMES
from rnntui.tui.screens.neurons import NeuronsScreen

from .helpers import SIZE, make_app, ready, until


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
