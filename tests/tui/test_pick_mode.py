"""Pick mode (f3): the person chooses each next character."""

from __future__ import annotations

from textual.screen import Screen

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.seed_input import SeedInput
from tests.tui.helpers import (
    SIZE,
    busy_press,
    exchanges,
    finished,
    make_app,
    ready,
    until,
)


async def test_pick_mode_lets_you_choose_each_next_character(tiny_checkpoint):
    from rnntui.charlm.sampling import Sampler, generate_text

    checkpoint = load_checkpoint(tiny_checkpoint)
    greedy = generate_text(Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, top_k=1), "The", 6)
    app = make_app(tiny_checkpoint, length=6)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        assert app.chat.pick_mode and "you pick" in str(app.query_one("#status").render())
        await pilot.press(*"The", "enter")
        for _ in range(6):  # always the first candidate: what the model writes greedily
            await until(pilot, lambda: app.chat.pick_top is not None)
            assert "1-5 or click: pick" in app.query_one(CandidateBars).border_title
            await pilot.press("1")
        await finished(pilot)
        assert exchanges(app)[0].reply_plain == greedy
        assert exchanges(app)[0].header_line.endswith("· 6 characters, 6 picked by you")
        seed_input = app.query_one(SeedInput)
        await pilot.press("1", "2", "space")  # no reply waits: the keys are typed as usual
        assert seed_input.value == "12 "
        seed_input.value = ""
        # The second candidate, then space (the model draws one itself), then escape stops.
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: app.chat.pick_top is not None)
        second = app.chat.pick_top[1][0]
        await pilot.press("f1", "1")  # a dialog is up: the key is not a pick
        await pilot.pause(0.2)
        assert app.chat.pick_top is not None and exchanges(app)[1].generated == ""
        await pilot.press("escape")
        assert isinstance(app.screen, Screen) and not isinstance(app.screen, HelpScreen)
        await pilot.press("2")
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 1)
        await pilot.press("space")
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 2)
        third = app.chat.pick_top[2][0]
        await pilot.click(CandidateBars, offset=(6, 3))  # the panel's border, then the candidates' rows
        await until(pilot, lambda: app.chat.pick_top is not None and len(exchanges(app)[1].generated) == 3)
        await pilot.press("escape")
        await finished(pilot)
        reply = exchanges(app)[1]
        assert reply.generated[0] == second and reply.generated[2] == third
        assert len(reply.generated) == 4  # and the one drawn as it stopped
        assert reply.header_line.endswith("stopped after 4 characters, 2 picked by you")
        assert app.chat.pick_top is None and seed_input.value == ""
        # Off again: replies stream by themselves; on again in the middle of one, it waits from
        # its next character.
        await pilot.press("f3")
        app.chat.length = 100_000
        await pilot.press(*"The", "enter")
        await until(pilot, lambda: len(exchanges(app)[2].generated) > 20)
        assert app.chat.pick_top is None and not app.chat.pick_mode
        await busy_press(pilot, "f3")
        await until(pilot, lambda: app.chat.pick_top is not None)
        waiting_at = len(exchanges(app)[2].generated)
        await pilot.pause(0.3)
        assert len(exchanges(app)[2].generated) == waiting_at  # it waits
        await pilot.press("f3")  # off while it waits: it goes on by itself
        await until(pilot, lambda: len(exchanges(app)[2].generated) > waiting_at + 20)
        await busy_press(pilot, "escape")
        await finished(pilot)


async def test_a_new_reply_while_one_waits_for_a_pick_waits_for_its_own(tiny_checkpoint):
    import time

    app = make_app(tiny_checkpoint, length=3)
    real_wait_for_pick = app.chat.wait_for_pick

    def slow_to_stop(number, mailbox, stopped, answers):
        choose = real_wait_for_pick(number, mailbox, stopped, answers)

        def stopped_late(top):
            picked = choose(top)
            if stopped():
                time.sleep(1.0)  # the stopped reply ends after the new one has asked for a pick
            return picked

        return stopped_late

    app.chat.wait_for_pick = slow_to_stop
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3", *"The", "enter")
        await until(pilot, lambda: app.chat.pick_top is not None)
        await pilot.press("ctrl+r")  # the first reply stops; the second asks for its first pick
        await until(pilot, lambda: app.chat.pick_exchange == 2)
        await pilot.pause(1.5)  # the first one's end arrives meanwhile, and must leave that ask alone
        for _ in range(3):
            await until(pilot, lambda: app.chat.pick_top is not None and app.chat.pick_exchange == 2)
            await pilot.press("1")
        await finished(pilot)
        first, second = exchanges(app)
        assert len(second.generated) == 3 and second.picked == 3 and first.picked == 0


def test_a_cut_distribution_lists_no_candidates_at_zero():
    from rnntui.charlm.sampling import Sampler
    from tests.helpers import SAMPLER, VOCAB

    sampler = Sampler(SAMPLER.model, VOCAB, 1.0, random_seed=0, candidates=5, top_k=2)
    for sampled in sampler.stream("The", 10):
        assert len(sampled.top) == 2 and all(p > 0 for _, p in sampled.top)
