"""rnntui watch: following a run that trains in another process."""

from __future__ import annotations

import json

from rnntui.tui.app import RnntuiApp
from rnntui.tui.screens.dialogs import NewModelScreen
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.widgets.loss_panel import LossPanel
from tests.helpers import run
from tests.tui.helpers import (
    SIZE,
    exchanges,
    finished,
    make_app,
    notified,
    ready,
    until,
)


async def test_watching_a_run_that_has_not_started_waits_for_it(tmp_path):
    app = RnntuiApp(watch=tmp_path / "runs" / "later.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(LossPanel).chart is not None)
        await pilot.pause()
        chart = app.query_one(LossPanel).chart
        # Training happens in the run's own process: the chart does not offer ctrl+t.
        assert "waiting for the run's first step" in str(chart.render_line(0))
        assert "ctrl+t" not in "".join(str(chart.render_line(y)) for y in range(chart.size.height))


async def test_watching_goes_on_quietly_once_the_chart_is_gone(tmp_path):
    """The watch timer reads the run's new steps every second, which can be after the app has
    begun to take its widgets down."""

    from rnntui.core.metrics import metrics_path

    run = tmp_path / "runs" / "later.ckpt"
    app = RnntuiApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(LossPanel).chart is not None)
        await app.query_one(LossPanel).remove()
        run.parent.mkdir(parents=True, exist_ok=True)
        metrics_path(run).write_text(json.dumps({"step": 1, "train_loss": 3.0, "val_loss": None, "chars_per_s": 10.0,
                                                 "elapsed": 1.0, "lr": 0.005, "ranks": 1}) + "\n", encoding="utf-8")
        await pilot.pause(1.5)  # the timer has read the new step by now
        assert app.is_running and app.return_code is None


async def test_watch_follows_a_run_and_loads_its_checkpoint(tiny_checkpoint, corpus_file, capsys):
    """rnntui watch: the chart follows the metrics file as another process appends to it."""
    from rnntui.cli import main
    from rnntui.core.metrics import metrics_path

    run = tiny_checkpoint.parent / "run.ckpt"
    common = ["--corpus", str(corpus_file), "--out", str(run), "--embed-dim", "16", "--hidden-size", "32",
              "--batch-size", "8", "--seq-length", "16", "--eval-every", "5", "--device", "cpu"]
    assert main(["train", "--steps", "10", *common]) == 0
    app = RnntuiApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: len(panel.train) == 10)
        assert app.chat.info.name == "run.ckpt" and app.chat.session.step == 10
        # The run goes on elsewhere; new lines show up in the chart.
        assert main(["train", "--resume", str(run), "--steps", "15", *common]) == 0
        await until(pilot, lambda: len(panel.train) == 15 and panel.val[-1][0] == 15, timeout=10)
        await pilot.press("ctrl+t")
        assert app.chat.training.state == "idle" and notified(app, "Watching")
        await pilot.press("ctrl+n")  # the run's model is trained elsewhere: no new model here
        assert not isinstance(app.screen, NewModelScreen)
        assert notified(app, "its own process")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, CheckpointPicker)
        assert [p.name for p, _ in app.screen.entries][:1] == ["run.ckpt"]
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.session.step == 15)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        assert len(exchanges(app)) == 1
    assert metrics_path(run).exists()
    capsys.readouterr()


async def test_watching_keeps_the_later_record_of_a_repeated_step(tmp_path):
    """A run stopped at step 6 after its last save at step 3, then resumed, appends steps 4 to 6
    again (and a torn line, ended by the next run): the chart keeps the later record of each."""
    from rnntui.core.metrics import metrics_path

    run = tmp_path / "runs" / "run.ckpt"
    run.parent.mkdir(parents=True)

    def line(step, loss):
        return json.dumps({"step": step, "train_loss": loss, "val_loss": loss if step % 3 == 0 else None,
                           "chars_per_s": 10.0, "elapsed": float(step), "lr": 0.005, "ranks": 1}) + "\n"

    first = "".join(line(step, 3.0) for step in range(1, 7)) + '{"step": 7, "train_lo\n'
    metrics_path(run).write_text(first + "".join(line(step, 2.0) for step in range(4, 9)), encoding="utf-8")
    app = RnntuiApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.train and panel.train[-1][0] == 8)
        assert panel.train == [(1, 3.0), (2, 3.0), (3, 3.0), (4, 2.0), (5, 2.0), (6, 2.0), (7, 2.0), (8, 2.0)]
        assert panel.val == [(3, 3.0), (6, 2.0)]


def test_watch_a_path_that_is_no_run_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "watch", str(tmp_path / "nosuch.ckpt"))
    assert code == 2 and err.count("\n") == 1 and "is not a training run" in err
    code, _, err = run(capsys, "watch", "/no/such/path")
    assert code == 2 and err.count("\n") == 1 and "is not a training run" in err


async def test_watch_names_its_processes_in_words(tmp_path):
    metrics = tmp_path / "run.ckpt.metrics.jsonl"
    metrics.write_text('{"step": 1, "train_loss": 2.0, "ranks": 1}\n', encoding="utf-8")
    app = make_app(watch=tmp_path / "run.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: panel.train)
        assert panel.figures["device"] == "1 process"
        metrics.write_text(metrics.read_text() + '{"step": 2, "train_loss": 1.9, "ranks": 4}\n', encoding="utf-8")
        await until(pilot, lambda: len(panel.train) == 2)
        assert panel.figures["device"] == "4 processes (torchrun)"


async def test_watching_a_review_model_s_run_charts_it_in_its_own_units(tmp_path, capsys):
    """A review classifier's run: loss per review, reviews a second and validation accuracy, in
    whichever mode is on the screen; its checkpoint is not offered to the chat, which says where
    it opens."""
    from rnntui.cli import main
    from tests.helpers import reviews_tarball

    run_file = tmp_path / "s.ckpt"
    assert main(["sentiment", "train", "--data", str(reviews_tarball(tmp_path / "r.tar.gz")), "--out", str(run_file),
                 "--epochs", "2", "--embed-dim", "8", "--hidden-size", "8", "--batch-size", "16",
                 "--eval-every", "2"]) == 0
    capsys.readouterr()
    app = RnntuiApp(watch=run_file)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(LossPanel)
        await until(pilot, lambda: len(panel.train) == 8)
        assert (panel.title, panel.rate_label) == ("Loss (nats/review)", "reviews/s")
        assert [step for step, _ in panel.accuracy] == [2, 4, 6, 8] and panel.figures["chars_per_s"] > 0
        assert notified(app, "Watching the run of a sentiment model") and notified(app, "f7, then ctrl+o")
        await ready(pilot)
        assert app.chat.info.name != "s.ckpt"  # the chat has its own model; the review model is not one
        await pilot.press("f7")  # the reviews mode, with its own (bundled) model, and back
        await until(pilot, lambda: app.reviews is not None and app.reviews.model_name is not None)
        assert len(panel.train) == 8 and len(panel.accuracy) == 4
        await pilot.press("f7")
        await until(pilot, lambda: app.mode == "chat")
        # The watched run kept the chart through both modes.
        assert len(panel.train) == 8 and panel.title == "Loss (nats/review)" and len(panel.accuracy) == 4
