"""rnntui watch --compare: other runs' validation curves drawn beside the watched run's (a sweep's
trials, or any runs)."""

from __future__ import annotations

import json

from rnntui.core.metrics import compared_runs, metrics_path
from rnntui.tui.app import RnntuiApp
from rnntui.tui.widgets.loss_panel import LossPanel
from tests.helpers import run
from tests.tui.helpers import SIZE, until


def write_run(checkpoint, start: float) -> list[tuple[int, float]]:
    """A finished run's metrics file (40 steps, an estimate every 10): its validation points."""
    lines, val = [], []
    for step in range(1, 41):
        estimate = round(start - step / 40, 5) if step % 10 == 0 else None
        if estimate is not None:
            val.append((step, estimate))
        lines.append(json.dumps({"step": step, "train_loss": start - step / 50, "val_loss": estimate,
                                 "chars_per_s": 100.0, "elapsed": step / 10, "lr": 0.005, "ranks": 1}))
    metrics_path(checkpoint).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return val


async def test_watch_draws_the_compared_runs_validation_curves(tmp_path):
    study = tmp_path / "sweeps" / "lengths"
    study.mkdir(parents=True)
    curves = {f"trial-000{n}": write_run(study / f"trial-000{n}.ckpt", 3.0 + n) for n in range(3)}
    watched = study / "trial-0002.ckpt"
    compare = compared_runs([study], metrics_path(watched))
    assert [path.name for path in compare] == ["trial-0000.ckpt.metrics.jsonl", "trial-0001.ckpt.metrics.jsonl"]
    app = RnntuiApp(watch=watched, compare=compare)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.chart is not None and len(panel.compared) == 2 and len(panel.train) == 40)
        assert panel.compared == {name: curves[name] for name in ("trial-0000", "trial-0001")}
        await pilot.pause(0.7)  # the chart redraws with them
        chart = panel.chart
        text = "".join(str(chart.render_line(y)) for y in range(chart.size.height))
        assert "trial-0000" in text and "trial-0001" in text and "validation" in text


def test_compare_with_no_run_is_one_line(capsys, tmp_path):
    watched = tmp_path / "run.ckpt"
    write_run(watched, 3.0)
    code, _, err = run(capsys, "watch", str(watched), "--compare", str(tmp_path / "missing.ckpt"))
    assert code == 2 and "--compare" in err and "no metrics file" in err and len(err.strip().splitlines()) == 1


async def test_the_app_draws_compared_runs_beside_its_own_model(tiny_checkpoint, tmp_path):
    from .helpers import make_app, ready

    other = tmp_path / "other.ckpt"
    curve = write_run(other, 3.5)
    app = make_app(tiny_checkpoint, compare=compared_runs([other], None))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.compared.get("other") == curve and len(panel.train) == 30)
