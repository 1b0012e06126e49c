"""A sweep's kept trials in the app's picker (ctrl+o): listed under their study, and opened."""

from __future__ import annotations

from rnntui.tui.screens.picker import CheckpointPicker
from tests.tui.helpers import SIZE, make_app, ready, shown, until


async def test_a_sweeps_trial_opens_from_the_picker(tiny_checkpoint, tmp_path):
    trial = tmp_path / "data" / "sweeps" / "lengths" / "trial-0003.ckpt"  # the data folder of the tests
    trial.parent.mkdir(parents=True)
    trial.write_bytes(tiny_checkpoint.read_bytes())
    (trial.parent / "trial-0001.ckpt.metrics.jsonl").write_text("")  # a pruned trial's: no checkpoint
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-table")
        table = app.screen.query_one("#picker-table")
        names = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert "lengths/trial-0003.ckpt" in names and not any("trial-0001" in name for name in names)
        table.focus()
        table.move_cursor(row=names.index("lengths/trial-0003.ckpt"))
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info is not None and app.chat.info.name == "trial-0003.ckpt")
