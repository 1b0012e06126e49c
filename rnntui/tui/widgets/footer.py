"""Textual's footer, recomposed at most once per refresh, compact only when it has to be, and
without the least needed keys when even compact ones would not fit."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from rnntui.tui.textual_internals import FooterKey, FooterLabel

# Stop is in the footer only while a reply streams; its room is kept free all the time, so
# that the spacing does not jump at the start and end of each reply.
STOP = ("stop_stream", "esc", "Stop")

Key = tuple[str, str, str]  # (action, key as shown, description); a group of keys is one


def keys_width(keys: list[Key], compact: bool) -> int:
    """Columns the footer's ``keys`` take, with room for Stop: normally a space either side of
    a key and one after its description; compact, one space in all."""
    if not any(action == STOP[0] for action, _, _ in keys):
        keys = [*keys, STOP]
    return sum(len(key) + len(description) + (2 if compact else 3) for _, key, description in keys)


class CoalescingFooter(Footer):
    """Textual's Footer recomposes all its keys each time the bindings may have changed. At
    start-up that happens five times within a few frames (focus, screen stack, input state), and
    the five recomposes held the footer's keys back by about 0.3 s on a 2-core machine. This
    footer passes on one change per refresh, and none that leaves the keys as they are, so a
    burst costs at most one recompose, and the first keys come in the frame after the first.

    It also goes compact when, and only when, the keys would not fit with the normal spacing,
    so that the last ones are not cut off on a mid-sized terminal; where even compact keys do
    not fit (80 columns), it leaves out whole keys, ``drop_first`` first, rather than cutting
    one in half (all of them stay in the help screen and the command palette). That is decided
    before the keys are built, so that they are drawn once, in the right spacing."""

    _change_pending = False

    def __init__(self, drop_first: Iterable[str] = ()) -> None:
        super().__init__()
        self.drop_first = tuple(drop_first)
        self.dropped: frozenset[str] = frozenset()  # actions left out at the current width
        self.composed_keys: tuple | None = None  # what the keys were composed from, to skip a no-op

    def on_mount(self) -> None:  # Footer.on_mount runs too, and listens for changes
        self.bindings_changed(self.screen)  # the first keys, without waiting for a change

    def bindings_changed(self, screen: Screen) -> None:
        if not self._change_pending:
            self._change_pending = True
            self.call_after_refresh(self._pass_on_change, screen)

    def _pass_on_change(self, screen: Screen) -> None:
        self._change_pending = False
        if not (self.is_attached and screen is self.screen) or self._key_states() == self.composed_keys:
            return
        # Footer.bindings_changed would wait for one more refresh, and would show no keys at
        # all while the terminal window is out of focus.
        self._bindings_ready = True
        self.refresh(recompose=True)

    def _key_states(self) -> tuple:
        """Everything about the active bindings that the composed keys show."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple((key, binding.action, binding.description, enabled, tooltip)
                     for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
                     if binding.show or key == palette)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._fit(self.size.width)
        self.composed_keys = self._key_states()
        dropped_actions = {action for dropped in self.dropped for action in dropped.split("|")}
        dropped_groups = {description for action, _, description in self._shown_keys()
                          if "|" in action and action in self.dropped}
        for widget in super().compose():
            if isinstance(widget, FooterLabel) and str(widget.content) in dropped_groups:
                continue  # a dropped group's description (its keys were left out of its KeyGroup)
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):  # always compact
                if widget.action in dropped_actions:
                    continue
                # A key starts compact and is bound to the footer's spacing only once mounted:
                # each one's styles were worked out three times at start-up instead of once.
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        if self._fit(event.size.width):
            self.refresh(recompose=True)

    def _shown_keys(self) -> list[Key]:
        """The keys the footer shows, as Footer.compose picks and groups them."""
        shown: dict[str, tuple] = {}
        for _, binding, _, _ in self.screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = binding
        keys: list[Key] = []
        for group, members in groupby(shown.values(), lambda binding: binding.group):
            members = list(members)
            if group is not None and len(members) > 1:  # drawn as "^↑^↓ Scale"; its actions joined by |
                keys.append(("|".join(b.action for b in members), "".join(self.app.get_key_display(b) for b in members),
                             group.description))
            else:
                keys.extend((b.action, self.app.get_key_display(b), b.description) for b in members)
        return keys

    def _fit(self, width: int) -> bool:
        """Choose the spacing and the keys to leave out for ``width``; True if the keys change."""
        if not width or not self._bindings_ready:
            return False
        keys = self._shown_keys()
        room = width - self._palette_width()
        self.compact = keys_width(keys, compact=False) > room
        dropped: set[str] = set()
        # drop_first first; on a terminal narrower than the layout is made for, then the keys
        # from the right, all but Quit.
        order = [*self.drop_first, *(action for action, _, _ in reversed(keys) if action != "quit")]
        for action in order:
            if not self.compact or keys_width(keys, compact=True) <= room:
                break
            dropped.add(action)
            keys = [key for key in keys if key[0] != action]
        changed = frozenset(dropped) != self.dropped
        self.dropped = frozenset(dropped)
        return changed

    def _palette_width(self) -> int:
        """The palette key, docked on the right: always compact, with a border and a space."""
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and found):
            return 0
        binding = found[1]
        return len(self.app.get_key_display(binding)) + len(binding.description) + 3
