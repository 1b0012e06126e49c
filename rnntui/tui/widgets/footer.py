"""Textual's footer, recomposed at most once per refresh."""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widgets import Footer

# Below this many columns the keys are drawn without padding, so that f1 Help still fits.
COMPACT_BELOW = 110


class CoalescingFooter(Footer):
    """Textual's Footer recomposes all its keys each time the bindings may have changed. At
    start-up that happens five times within a few frames (focus, screen stack, input state), and
    the five recomposes held the footer's keys back by about 0.3 s on a 2-core machine. This
    footer passes on one change per refresh, so a burst costs one recompose."""

    _change_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        if not self._change_pending:
            self._change_pending = True
            self.call_after_refresh(self._pass_on_change, screen)

    def _pass_on_change(self, screen: Screen) -> None:
        self._change_pending = False
        super().bindings_changed(screen)

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW
