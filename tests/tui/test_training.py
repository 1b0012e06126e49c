"""Training in the app: ctrl+t, pausing, replies while training, autosave, settings, f5."""

from __future__ import annotations

from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.charlm.corpus import load_corpus
from rnntui.tui.screens.picker import CheckpointPicker
from rnntui.tui.screens.reply_settings import ReplySettingsScreen
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from tests.helpers import tiny_train_config
from tests.tui.helpers import (
    SIZE,
    busy_press,
    exchanges,
    finished,
    make_app,
    notifications,
    notified,
    pause_training,
    ready,
    shown,
    train_to,
    until,
)


async def test_replies_while_training_show_what_the_model_writes_as_it_learns(tiny_checkpoint, corpus_file):
    app = make_app(tiny_checkpoint, corpus=corpus_file, length=20)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+l")
        await shown(pilot, ReplySettingsScreen, "#setting-sample_every")
        app.screen.query_one("#setting-sample_every").value = "10"
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.sample_every == 10)
        await pilot.press(*"The", "enter")
        await finished(pilot)
        app.query_one(SeedInput).value = "half typ"  # being typed when the sample comes
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: len(app.chat.exchanges) >= 2 and not app.chat.streaming, timeout=60)
        await pause_training(pilot)
        await finished(pilot)  # a busy machine may have started the next one meanwhile
        count = len(app.chat.exchanges)
        sample = exchanges(app)[1]
        # From the last seed text, once training passes step 40 (30 + 10; the tiny model's steps
        # are quick, so a busy screen hears of a few at once), with the weights of the step it
        # started at, without touching what is being typed or the seed history.
        step = int(sample.header_line.split("· step ")[1].split(" ·")[0].replace(",", ""))
        assert sample.header_line.startswith("#2 · while training · scale factor 1.00") and step >= 40
        assert sample.seed_text == "The" and len(sample.generated) == 20
        assert app.query_one(SeedInput).value == "half typ" and app.query_one(SeedInput).history == ["The"]
        # None while a reply streams: that sample is skipped, not queued.
        app.chat.streaming = True
        app.chat.sample_while_training(app.chat.next_sample_at)
        app.chat.streaming = False
        assert len(app.chat.exchanges) == count and app.chat.next_sample_at % 10 == 0


async def test_training_reports_after_the_widgets_are_gone_are_ignored(tiny_checkpoint):
    """The training thread posts until it ends, which can be after the app has begun to take
    its widgets down (it once failed CI that way, at the end of a test)."""
    from rnntui.charlm.trainer import TrainEvent
    from rnntui.tui.messages import Mailbox, TrainingPaused, TrainingProgress
    from rnntui.tui.widgets.status_line import StatusLine

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.query_one(LossPanel).remove()
        await app.query_one(StatusLine).remove()
        mailbox = Mailbox()
        mailbox.put(TrainEvent(step=31, total_steps=100, train_loss=2.0, val_loss=None, chars_per_s=1000.0, elapsed=1.0,
                               lr=0.005))
        app.chat.training.post_message(TrainingProgress(mailbox))  # where the training worker posts
        app.chat.training.post_message(TrainingPaused(31))
        await pilot.pause(0.2)
        assert app.is_running and app.chat.info.step == 31


async def test_fresh_model_from_corpus_trains(corpus_file):
    app = make_app(corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.chat.session.step == 0
        await train_to(pilot, 10)
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.chat.training.state == "paused")  # a busy UI takes a moment


async def test_training_the_bundled_model_offline_says_what_to_do(monkeypatch):
    import rnntui.core.download

    monkeypatch.setattr(rnntui.core.download.time, "sleep", lambda seconds: None)  # no back-off waits
    app = make_app()  # the bundled model; the corpus URL points nowhere (conftest)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: notified(app, "could not download"))
        message = next(n.message for n in notifications(app) if "could not download" in n.message)
        assert "--corpus PATH" in message and "ctrl+n" in message
        assert app.chat.training.state == "idle" and app.is_running


async def test_training_error_notifies(tiny_checkpoint, corpus_file):
    app = make_app(tiny_checkpoint, corpus=corpus_file)
    app.chat.start.train_config = tiny_train_config(lr=1e6)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.session.base_config = tiny_train_config(lr=1e6)
        app.chat.session.checkpoint.train_config["lr"] = 1e6
        await pilot.press("ctrl+t")
        await until(pilot, lambda: notified(app, "diverged"))
        assert app.chat.training.state == "idle" and app.is_running


async def test_training_is_saved_every_few_minutes(tiny_checkpoint, corpus_file, tmp_path):
    app = make_app(tiny_checkpoint, corpus=corpus_file, autosave_every=0.5)  # 5 minutes, normally
    folder = tmp_path / "data" / "checkpoints"
    saved = tiny_checkpoint  # a model opened from a file saves back to it
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause(0.8)
        assert load_checkpoint(saved).step == 30  # nothing trained, nothing saved
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: load_checkpoint(saved).step > 30)
        await until(pilot, lambda: any(n.message.startswith("Autosaved") for n in notifications(app)))
        assert app.chat.training.state == "running"  # it trains on
        first = load_checkpoint(saved).step
        await until(pilot, lambda: load_checkpoint(saved).step > first)  # the same file, later
        step = await pause_training(pilot)
        await until(pilot, lambda: app.chat.session.unsaved_steps == 0)  # the steps before the pause too
        assert load_checkpoint(saved).step == step and not folder.exists()


async def test_f5_gives_the_exact_validation_loss_as_rnntui_evaluate_does(tiny_checkpoint):
    from rnntui.charlm.build import recorded_corpus_path
    from rnntui.charlm.evaluate import held_out_loss

    checkpoint = load_checkpoint(tiny_checkpoint)
    loss, count, fraction = held_out_loss(checkpoint, load_corpus(recorded_corpus_path(checkpoint)))
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: not app.chat.evaluator.evaluating)
        await pilot.pause()
        note = str(app.query_one("#evaluation-1").render())
        static, dynamic_part = note.split("; dynamic evaluation ")
        assert static == (f"Validation loss at step 30: {loss:.4f} nats/char ({loss / 0.6931471805599453:.2f} "
                          f"bits/char), exact, over the last {count:,} characters of tiny.txt")
        assert fraction == 0.1
        # Beside it, the dynamic evaluation's figure on the same characters, as evaluate --dynamic gives it.
        from rnntui.charlm.dynamic import DynamicConfig, dynamic_loss

        corpus = load_corpus(recorded_corpus_path(checkpoint))
        train_ids, tail = corpus.split(fraction)
        expected = dynamic_loss(checkpoint.build_model(), tail, DynamicConfig(), train_ids).loss
        assert abs(float(dynamic_part.split(" ")[0]) - expected) < 2e-4 and expected < loss
        assert "RMS rule (Krause et al. 2018)" in dynamic_part and "the model itself is unchanged" in dynamic_part
        # The bundled model is judged on the book, not downloaded here: one clear notification.
        await pilot.press("ctrl+o")
        await shown(pilot, CheckpointPicker, "#picker-path")
        app.screen.query_one("#picker-path").value = str(app.chat.session._bundled())
        await pilot.press("enter")
        await until(pilot, lambda: app.chat.info is not None and app.chat.info.name != "tiny.ckpt")
        await pilot.press("f5")
        await until(pilot, lambda: not app.chat.evaluator.evaluating)
        assert any("not downloaded yet: ctrl+t downloads it" in n.message and n.severity == "error"
                   for n in notifications(app))
        assert not app.query("#evaluation-2")


async def test_training_settings_change_a_running_training_from_the_next_step(tiny_checkpoint, corpus_file):
    from rnntui.tui.screens.training_settings import TrainingSettingsScreen

    app = make_app(tiny_checkpoint, corpus=corpus_file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train_to(pilot, 33)
        await busy_press(pilot, "f2")
        await shown(pilot, TrainingSettingsScreen, "#setting-batch_size")
        screen = app.screen
        assert screen.query_one("#setting-batch_size").value == "8"
        screen.query_one("#setting-lr").value = "fast"
        screen.query_one("#apply").press()
        await until(pilot, lambda: "learning rate" in str(screen.query_one("#settings-error").render()))
        assert app.screen is screen  # refused inside the dialog
        screen.query_one("#setting-lr").value = "0.002"
        screen.query_one("#setting-batch_size").value = "6"
        screen.query_one("#setting-dropout").value = "0.2"
        screen.query_one("#apply").press()
        await until(pilot, lambda: app.chat.session.trainer is not None and app.chat.session.trainer.config.lr == 0.002)
        step = app.chat.session.step
        await until(pilot, lambda: app.chat.training.state == "running" and app.chat.session.step >= step + 3)
        trainer = app.chat.session.trainer
        assert (trainer.config.batch_size, trainer.config.lr_decay_steps, trainer.model.config.dropout) == (6, 0, 0.2)
        assert any("From step" in n.message and "batch size 6" in n.message for n in notifications(app))
        # The training worker the change cancelled is not reported as an error (it once was).
        assert not any(n.title == "Unexpected error" for n in notifications(app))
        await busy_press(pilot, "ctrl+t")
        await until(pilot, lambda: app.chat.training.state == "paused")
        # Settings that do not fit the text (six streams of 3,000 characters, windows of 10,000):
        # one notification, and the old ones stay.
        await pilot.press("f2")
        app.screen.query_one("#setting-seq_length").value = "10000"
        app.screen.query_one("#setting-carry_state").value = True
        app.screen.query_one("#apply").press()
        await until(pilot, lambda: notified(app, "stay as they were"))
        assert app.chat.session.trainer.config.seq_length == 16 and not app.chat.session.trainer.config.carry_state
        assert app.chat.training.state == "idle"  # it was paused, so it is not restarted
