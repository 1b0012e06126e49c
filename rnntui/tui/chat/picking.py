"""Pick mode (f3): the person picks each next character of a reply from the model's five likeliest,
or lets the model draw; the reply's thread waits for the pick (``wait_for_pick``)."""

from __future__ import annotations

import queue
from collections.abc import Callable

from rnntui.tui.keys import PICK_KEY_NAMES
from rnntui.tui.messages import GenerationChunk, Mailbox, PickWanted
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.seed_input import SeedInput


class PickMode:
    """The chat's replies in pick mode (mixed into ``Replies``, whose state it reads: ``pick_mode``,
    ``pick_top``, ``pick_exchange``, ``control``, ``exchanges``)."""

    def wait_for_pick(self, number: int, mailbox: Mailbox, stopped: Callable[[], bool],
                      answers: queue.Queue) -> Callable[[tuple], str | None]:
        """The sampler's ``choose``: in pick mode (switched on or off at any character), show the
        text so far and the candidates, then wait, in the generation thread, for the person's
        pick; None lets the model draw."""

        def choose(top: tuple) -> str | None:
            if not self.pick_mode:
                return None
            if mailbox.claim():
                self.post_message(GenerationChunk(number, mailbox))
            self.post_message(PickWanted(number, top))
            while not stopped():
                try:
                    return answers.get(timeout=0.05)
                except queue.Empty:
                    continue
            return None

        return choose

    def on_pick_wanted(self, message: PickWanted) -> None:
        self.pick_top, self.pick_exchange = message.top, message.exchange
        for bars in self.query(CandidateBars):
            bars.show_top(message.top, numbered=True)
            bars.border_title = "1-5 or click: pick · space: model draws"
        self.lend_pick_keys(True)

    def can_pick(self, number: int) -> bool:
        """A reply waits for a pick, there is a candidate ``number`` and no dialog is up."""
        return self.pick_top is not None and number < len(self.pick_top) and self.on_screen()

    def action_pick(self, number: int) -> None:
        top = self.pick_top
        self.control.answers.put(top[number][0] if number >= 0 else None)
        exchange = self.exchanges.get(self.pick_exchange)
        if number >= 0 and exchange is not None:
            exchange.picked += 1  # its header says how much of it was the person's
        self.end_pick()

    def on_candidate_bars_clicked(self, message: CandidateBars.Clicked) -> None:
        """In pick mode, a click on one of the candidates picks it, as its number key does."""
        if self.can_pick(message.index):
            self.action_pick(message.index)

    def end_pick(self) -> None:
        self.pick_top = None
        for bars in self.query(CandidateBars):
            bars.border_title = "next character"
        self.lend_pick_keys(False)

    def lend_pick_keys(self, lent: bool) -> None:
        """While a reply waits for a pick, the seed input leaves pick mode's keys to the app."""
        for seed_input in self.query(SeedInput):
            seed_input.lent_keys = PICK_KEY_NAMES if lent else frozenset()
        self.app.refresh_bindings()

    def action_toggle_pick(self) -> None:
        self.pick_mode = not self.pick_mode
        if not self.pick_mode and self.pick_top is not None:
            self.action_pick(-1)  # a reply waiting for a pick goes on by itself
        self.notify("Pick mode: each next character waits for you (1-5 or a click picks, space draws)."
                    if self.pick_mode else "Pick mode off: the model draws every character.")
        self.status_changed()
