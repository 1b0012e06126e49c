"""Textual's footer, recomposed at most once per refresh, compact only when it has to be."""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widgets import Footer

# Stop is in the footer only while a reply streams; its room is kept free all the time, so
# that the spacing does not jump at the start and end of each reply.
STOP = ("stop_stream", "esc", "Stop")


def spaced_width(keys: list[tuple[str, str, str]]) -> int:
    """Columns the (action, key, description) ``keys`` take with the normal spacing: a space
    either side of the key and one after the description (compact spacing has one in all)."""
    if not any(action == STOP[0] for action, _, _ in keys):
        keys = [*keys, STOP]
    return sum(len(key) + len(description) + 3 for _, key, description in keys)


class CoalescingFooter(Footer):
    """Textual's Footer recomposes all its keys each time the bindings may have changed. At
    start-up that happens five times within a few frames (focus, screen stack, input state), and
    the five recomposes held the footer's keys back by about 0.3 s on a 2-core machine. This
    footer passes on one change per refresh, so a burst costs one recompose.

    It also goes compact when, and only when, the keys would not fit with the normal spacing,
    so that the last ones (Length, the palette) are not cut off on a mid-sized terminal. That is
    decided before the keys are built, so that they are drawn once, in the right spacing."""

    _change_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        if not self._change_pending:
            self._change_pending = True
            self.call_after_refresh(self._pass_on_change, screen)

    def _pass_on_change(self, screen: Screen) -> None:
        self._change_pending = False
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._fit(self.size.width)
        await super().recompose()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _shown_keys(self) -> list[tuple[str, str, str]]:
        """(action, key, description) of each key the footer shows, as Footer.compose picks them."""
        shown: dict[str, tuple[str, str, str]] = {}
        for _, binding, _, _ in self.screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (binding.action, self.app.get_key_display(binding), binding.description)
        return list(shown.values())

    def _fit(self, width: int) -> None:
        if not width or not self._bindings_ready:
            return
        self.compact = spaced_width(self._shown_keys()) > width - self._palette_width()

    def _palette_width(self) -> int:
        """The palette key, docked on the right: always compact, with a border and a space."""
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and found):
            return 0
        binding = found[1]
        return len(self.app.get_key_display(binding)) + len(binding.description) + 3
