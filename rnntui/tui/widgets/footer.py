"""Textual's footer, recomposed at most once per refresh, compact only when it has to be."""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Stop is in the footer only while a reply streams; its room is kept free all the time, so
# that the spacing does not jump at the start and end of each reply.
STOP_KEY = ("stop_stream", len("esc") + len("Stop"))


def spaced_width(keys: list[FooterKey]) -> int:
    """Columns ``keys`` take with the normal spacing: a space either side of the key and one
    after the description (compact spacing has one space in all)."""
    width = sum(len(key.key_display) + len(key.description) + 3 for key in keys)
    if not any(key.action == STOP_KEY[0] for key in keys):
        width += STOP_KEY[1] + 3
    return width


class CoalescingFooter(Footer):
    """Textual's Footer recomposes all its keys each time the bindings may have changed. At
    start-up that happens five times within a few frames (focus, screen stack, input state), and
    the five recomposes held the footer's keys back by about 0.3 s on a 2-core machine. This
    footer passes on one change per refresh, so a burst costs one recompose.

    It also goes compact when, and only when, the keys would not fit with the normal spacing,
    so that the last ones (Length, the palette) are not cut off on a mid-sized terminal."""

    _change_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        if not self._change_pending:
            self._change_pending = True
            self.call_after_refresh(self._pass_on_change, screen)

    def _pass_on_change(self, screen: Screen) -> None:
        self._change_pending = False
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        await super().recompose()
        self._fit(self.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        keys = list(self.query(FooterKey))
        if keys and width:
            self.compact = spaced_width(keys) > width
