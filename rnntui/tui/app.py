"""rnntui's Textual app: chat with a character-level RNN while it trains.

The app coordinates: it lays out the screen, loads torch and the model off the event loop,
handles signals and the keys (rnntui.tui.keys), and hands each feature to the part that owns it:
the chat pane (rnntui.tui.chat) makes replies, the training controller (rnntui.tui.training.controller)
trains and saves, rnntui.tui.chat.evaluation evaluates.
"""

from __future__ import annotations

import gc
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from rnntui.core.errors import RnntuiError
from rnntui.core.paths import settings_path
from rnntui.tui import keys
from rnntui.tui.chat import ChatPane
from rnntui.tui.chat.evaluation import Evaluator
from rnntui.tui.messages import EngineFailed, EngineReady, ModelDescribed, Saved
from rnntui.tui.opener import ModelOpener
from rnntui.tui.persistence import SettingsStore
from rnntui.tui.signals import SIGHUP, TerminationSignals
from rnntui.tui.textual_internals import BeforeCrash, showing_notification
from rnntui.tui.training.controller import TrainingController, TrainingState
from rnntui.tui.widgets.footer import CoalescingFooter
from rnntui.tui.widgets.loss_panel import RECENT_STEPS, LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from rnntui.tui.widgets.status_line import NARROW_BELOW, StatusLine, chat_status, reviews_status
from rnntui.tui.widgets.transcript import confidence_palette, theme_palette

if TYPE_CHECKING:
    from rnntui.tui.reviews import ReviewsPane

AUTOSAVE_EVERY = 300.0  # seconds: training in the app loses at most this much to a crash


class RnntuiApp(BeforeCrash, App):
    CSS_PATH = "app.tcss"
    TITLE = "rnntui"
    # Classes on the screen for small terminals (80 x 24 is many a terminal's default);
    # app.tcss gives the chat more of the room there.
    # Below CHART_BELOW columns the chat takes the whole width and ctrl+b brings the chart back.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (keys.CHART_BELOW, "-narrow"), (NARROW_BELOW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = keys.BINDINGS

    def __init__(self, checkpoint: Path | None = None, corpus: Path | None = None,
                 random_seed: int | None = None, train_config=None, model_options: dict | None = None,
                 scale_factor: float | None = None, length: int | None = None,
                 watch: Path | None = None, autosave_every: float = AUTOSAVE_EVERY, finetune: bool = False,
                 manage_gc: bool = False, encoding: str | None = None, reviews_data: Path | None = None,
                 review_train_config=None, review_model_settings: dict | None = None,
                 threads: int | None = None, compare: list[Path] | None = None) -> None:
        super().__init__()
        self.threads = threads  # torch's CPU threads (--threads), set with the engine where manage_gc
        # The garbage collector is the process's: `rnntui` lets the app tune it (see
        # memory.tune_garbage_collector), an app run inside another program leaves it alone.
        self.manage_gc = manage_gc
        self.finetune = finetune  # start by fine-tuning the model (the checkpoint or bundled) on corpus
        self.encoding = encoding  # how the start corpus is read, when it is not UTF-8
        self.autosave_every = autosave_every
        # The last session's scale factor, length and theme, unless the caller gives its own.
        self.store = SettingsStore(settings_path())
        settings = self.store.settings
        if scale_factor is not None or length is not None:
            from dataclasses import replace

            settings = replace(settings, scale_factor=settings.scale_factor if scale_factor is None else scale_factor,
                               length=settings.length if length is None else length)
        # Built here, before the theme is set (watch_theme recolours the chat's replies).
        self.chat = ChatPane(settings, self.remember, random_seed, confidence_palette(), id="chat")
        self.training = TrainingController(self, download_hint=", or press ctrl+n for a new model on any text file")
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        self.store.settings.theme = self.theme  # a default or unknown theme is not worth a write
        self.chat.set_palette(theme_palette(self.current_theme))
        self.watch = watch  # a run to follow (rnntui watch): its metrics file drives the chart
        self.follower = None
        self.compare = compare or []  # other runs' metrics files, drawn beside it (rnntui watch --compare)
        self.compared: list = []  # (name, MetricsFollower) of each
        self.start_checkpoint, self.start_corpus = checkpoint, corpus
        self.train_config, self.model_options = train_config, model_options
        self.session = None  # created in a worker (EngineReady), so torch loads off the event loop
        self.info = None
        self.signals = TerminationSignals(self.on_termination_signal)  # installed while mounted
        # Said on stderr once the app has ended on an unexpected error: what was saved, and where.
        self.saved_after_error: list[str] = []
        self.mounted_at = 0.0
        self.engine_timer = None  # polls until the first screen is drawn, then loads the engine
        self.engine_error: str | None = None  # why the start-up model could not be opened
        self.mode = keys.CHAT  # f7 switches to the reviews (mounted the first time) and back
        self.reviews: ReviewsPane | None = None
        # The reviews mode's training: its data (default: the path last given in the app, else the
        # cached dataset), settings, model sizes.
        if reviews_data is None and self.store.settings.reviews_data:
            reviews_data = Path(self.store.settings.reviews_data)
        self.review_options = (reviews_data, review_train_config, review_model_settings)
        # Parts without a place on the screen, each owning its workers and their messages.
        self.opener = ModelOpener(lambda: self.session, self.training)
        self.evaluator = Evaluator(lambda text, id: self.chat.note(text, id=id))

    # -- layout and start-up ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield self.chat
            # A watched run trains in its own process: its chart waits for the run's first step.
            empty = "waiting for the run's first step" if self.watch is not None else "no training yet: press ctrl+t"
            yield LossPanel(empty, known=self.watch is not None, id="loss-panel")
        yield StatusLine(id="status")
        yield CoalescingFooter(drop_first=keys.FOOTER_DROP_FIRST)
        yield self.training
        yield self.opener
        yield self.evaluator

    def on_mount(self) -> None:
        self.show_chart(self.store.settings.chart)
        self.update_status()
        if self.watch is not None:
            from rnntui.core.metrics import MetricsFollower, resolve_run

            metrics, checkpoint = resolve_run(self.watch)
            self.follower = MetricsFollower(metrics)
            self.start_checkpoint = checkpoint if checkpoint.is_file() else None
            self.query_one(LossPanel).show_corpus(f"watching {metrics.name}")
            self.follow_metrics()
            self.set_interval(1.0, self.follow_metrics)
        if self.compare:
            from rnntui.core.metrics import MetricsFollower, run_name

            self.compared = [(run_name(path), MetricsFollower(path)) for path in self.compare]
            self.follow_compared()
            self.set_interval(1.0, self.follow_compared)
        self.mounted_at = time.monotonic()
        self.engine_timer = self.set_interval(0.02, self.load_engine_once_drawn)
        self.signals.install()
        if self.watch is None:  # a watched run saves itself
            self.set_interval(self.autosave_every, self.autosave)

    def controllers(self) -> list[TrainingController]:
        """Each mode's training (the reviews' once that mode has been opened)."""
        return [self.training] + ([self.reviews.training] if self.reviews is not None else [])

    def autosave(self) -> None:
        for training in self.controllers():
            training.autosave()

    def unsaved_steps(self) -> int:
        """Training progress not yet saved, in both modes."""
        return sum(t.session.unsaved_steps for t in self.controllers() if t.session is not None)

    def on_termination_signal(self, number: int) -> None:
        if self.unsaved_steps() > 0:
            self.save_and_quit(on_signal=number)
        elif number == SIGHUP:
            self.signals.end_as_hung_up()  # nothing to save, and no terminal left to restore
        else:
            self.shut_down()

    def load_engine_once_drawn(self) -> None:
        """Mount the chart, then start loading torch, once the first screen is drawn, footer keys
        included (the footer mounts them a frame or two after the first).

        Torch's import holds the GIL for tenths of a second at a time. Started earlier, it held
        up the first frame, or the footer's keys, by as much; plotext's import, a tenth of a
        second, waits for the footer too.
        """
        # Keys laid out are on the screen: mounted ones may not be, and plotext's import would
        # hold them back.
        footers = self.query(CoalescingFooter)
        if not footers:  # the app is closing (a short run, as in a test, can end before torch loads)
            return
        footer_keys = footers.first().children
        if any(key.region for key in footer_keys) or time.monotonic() - self.mounted_at > 1.0:
            self.engine_timer.stop()
            if self.manage_gc:
                gc.enable()  # `rnntui` turns it off for the start-up (rnntui.cli.run_app)
            panel = self.query_one(LossPanel)
            panel.call_after_refresh(panel.mount_chart)
            # After the chart, one more refresh, and time for the driver's thread to write it out.
            self.call_after_refresh(self.set_timer, 0.1, self.load_engine)

    def follow_metrics(self) -> None:
        points = self.follower.read_new()
        for panel in self.query(LossPanel) if points else ():  # none while the app closes
            panel.add_events(points)
            ranks = points[-1].ranks
            panel.set_device("1 process" if ranks == 1 else f"{ranks} processes (torchrun)")

    def follow_compared(self) -> None:
        """The runs drawn beside the chart's own (--compare): their new validation estimates."""
        for name, follower in self.compared:
            new = [(p.step, p.val_loss) for p in follower.read_new() if p.val_loss is not None]
            for panel in self.query("#loss-panel") if new else ():  # the chat's chart; none while the app closes
                panel.add_compared(name, new)

    # -- keys, palette, help, notifications, status -----------------------------------------
    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for key in keys.palette_commands(self.mode):
            yield SystemCommand(key.palette_title, key.help, partial(self.run_action, key.action))

    def key_help(self) -> list[tuple[str, str]]:
        return keys.help_rows(self.mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in keys.ALL_ACTIONS and action not in keys.ACTIONS[self.mode]:
            return False  # another mode's key: off the footer, and the key goes on as usual
        if action == "stop_stream" and not self.chat.streaming:
            return False  # nothing to stop: off the footer
        if action == "pick" and not self.chat.can_pick(parameters[0]):
            return False  # no reply waits for a pick (or a dialog is up): the key goes on as usual
        return True

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Textual's notify, except that a notification already on the screen is not stacked
        again (ctrl+up pressed eight times at the top of the ladder gave eight toasts)."""
        if not showing_notification(self, message, title, severity):
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def update_status(self) -> None:
        if self.mode == keys.REVIEWS:
            wide, narrow = reviews_status(self.reviews)
        else:
            wide, narrow = chat_status(self.chat, self.info, self.training.state, self.engine_error,
                                       watching=self.watch is not None)
        for status in self.query(StatusLine):  # none while the app takes its widgets down
            status.show(wide, narrow)
        # The window's title names the model of the mode on the screen.
        model = self.reviews.model_name if self.mode == keys.REVIEWS else self.info.name if self.info else None
        self.sub_title = model or ""

    def remember(self, **changes) -> None:
        """Keep a setting the person changed for the next session (see SettingsStore)."""
        warning = self.store.remember(**changes)
        if warning:
            self.notify(warning, severity="warning")

    # -- the chat's keys ----------------------------------------------------------------------
    def action_generate(self) -> None:
        self.chat.generate_from_input()

    def action_continue_reply(self) -> None:
        self.chat.continue_reply()

    def action_regenerate(self) -> None:
        self.chat.regenerate()

    def action_stop_stream(self) -> None:
        self.chat.stop_stream()

    def action_pick(self, number: int) -> None:
        self.chat.pick(number)

    def action_toggle_pick(self) -> None:
        self.chat.toggle_pick()
        self.update_status()

    def action_copy_reply(self) -> None:
        self.chat.copy_reply()

    def action_export_transcript(self) -> None:
        self.chat.export_transcript()

    def action_clear_chat(self) -> None:
        self.chat.clear()

    def action_inside_network(self) -> None:
        if self.ready():
            from rnntui.tui.screens.neurons import NeuronsScreen

            self.push_screen(NeuronsScreen(self.session))

    def action_scale(self, direction: int) -> None:
        self.chat.scale(direction)
        self.update_status()

    def action_reply_settings(self) -> None:
        self.chat.ask_reply_settings()

    # -- the reviews mode -------------------------------------------------------------------------
    async def action_show_reviews(self) -> None:
        if self.reviews is None:  # imported and mounted the first time: the first frame does not pay for it
            from rnntui.tui.reviews import ReviewsPane

            self.reviews = ReviewsPane(*self.review_options, id="reviews")
            await self.query_one("#main").mount(self.reviews, before=self.query_one(LossPanel))
            self.reviews.open_model()
        self.switch_mode_to(keys.REVIEWS)

    def action_show_chat(self) -> None:
        self.switch_mode_to(keys.CHAT)

    def switch_mode_to(self, mode: str) -> None:
        """Show ``mode``'s pane, its run in the loss panel and its keys."""
        self.mode = mode
        chat = mode == keys.CHAT
        self.training.shows_panel, self.reviews.training.shows_panel = chat, not chat
        self.chat.display, self.reviews.display = chat, not chat
        if chat:
            self.chat.show_history(with_points=self.watch is None)  # a watched run's file drives its chart
            self.chat.query_one(SeedInput).focus()
        else:
            self.reviews.show_history()
            self.reviews.query_one("#review-input").focus()
        self.refresh_bindings()
        self.update_status()

    def action_add_review(self) -> None:
        self.reviews.submit()

    def action_clear_reviews(self) -> None:
        self.reviews.clear()

    def action_choose_reviews_data(self) -> None:
        self.reviews.ask_for_data()

    def action_open_review_model(self) -> None:
        self.reviews.choose_model(self.opener)

    def action_toggle_review_training(self) -> None:
        self.reviews.toggle_training()

    def action_save_review_model(self) -> None:
        self.reviews.save()

    def on_reviews_pane_changed(self) -> None:
        self.update_status()

    # -- the chart and the theme --------------------------------------------------------------
    def show_chart(self, shown: bool | None) -> None:
        """Show or hide the loss chart; None leaves it to the terminal's width (app.tcss)."""
        panel = self.query_one(LossPanel)
        panel.set_class(shown is True, "-shown")
        panel.set_class(shown is False, "-hidden")

    def action_toggle_chart(self) -> None:
        shown = not self.query_one(LossPanel).display
        self.show_chart(shown)
        self.remember(chart=shown)

    def action_chart_view(self) -> None:
        panel = self.query_one(LossPanel)
        recent = panel.toggle_view()
        self.notify(f"The chart shows the last {RECENT_STEPS:,} steps." if recent else "The chart shows the whole run.")
        if not panel.display:
            self.notify("The loss chart is hidden: ctrl+b shows it.")

    def watch_theme(self, theme: str) -> None:
        self.remember(theme=theme)
        self.chat.set_palette(theme_palette(self.current_theme))

    # -- the engine and the model -------------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine")
    def load_engine(self) -> None:
        try:
            from rnntui.charlm.session import Session

            if self.manage_gc:  # the process is rnntui's: its collector, and torch's threads
                from rnntui.core.device import set_threads
                from rnntui.core.memory import tune_garbage_collector

                tune_garbage_collector()
                set_threads(self.threads)  # before the threads that train and generate start
            session = Session(self.train_config, self.model_options)
            info = session.open(self.start_checkpoint, self.start_corpus, finetune=self.finetune,
                                encoding=self.encoding)
        except RnntuiError as error:
            # An empty session, not the one that failed halfway: ctrl+o and ctrl+n still work.
            self.post_message(EngineFailed(str(error), Session(self.train_config, self.model_options)))
            return
        self.post_message(EngineReady(info, session.history, session, f"Ready: {info.name}."))

    def on_engine_ready(self, message: EngineReady) -> None:
        self.session = self.training.session = message.session
        self.info = message.info
        self.chat.model_ready(message.info, message.session)
        history = message.history
        # Worker messages can arrive while the app takes its widgets down: absent ones are skipped.
        for panel in self.query(LossPanel) if self.watch is None else ():  # a watched run's file drives its chart
            panel.set_history(history.train, history.val, message.info.step,
                              getattr(message.session.checkpoint, "elapsed", 0.0) or 0.0)
            panel.set_device(message.info.device)
            panel.show_corpus(message.info.corpus)
        hint = ("ctrl+o loads the run's newest checkpoint" if self.watch is not None
                else "ctrl+t trains the model while you watch")
        self.chat.note(f"{message.note} Type a seed text and press enter (enter on an empty line continues the "
                       f"reply); {hint}, f1 lists every key.", id="engine-note")
        self.update_status()
        self.engine_error = None
        self.chat.start_pending()

    def on_engine_failed(self, message: EngineFailed) -> None:
        if message.session is not None:
            self.session = self.training.session = message.session
        self.notify(message.error, title="Could not load", severity="error", timeout=10)
        if self.info is None:  # at start-up there is no model; later, the current one stays
            self.engine_error = message.error
            self.chat.model_failed()
            self.update_status()  # "loading…" no longer
            for panel in self.query(LossPanel):
                panel.set_history([], [], 0)
            self.chat.note(f"Could not load: {message.error}. ctrl+o opens a checkpoint (the bundled model among "
                           "them), ctrl+n starts a new model on a text file.", id="engine-note")

    def engine_started(self) -> bool:
        """A session exists (with a model, or empty after a failed start), so a model can be
        opened or started; while torch still loads, say so."""
        if self.session is None:
            self.notify("The model is still loading.", severity="warning")
            return False
        return True

    def ready(self) -> bool:
        if not self.engine_started():
            return False
        if self.info is None:
            self.notify(f"No model is open ({self.engine_error}): ctrl+o opens one, ctrl+n starts a new one.",
                        severity="warning", timeout=8)
            return False
        return True

    def trains_here(self, watching: str) -> bool:
        """Ready, and training in this process; when watching a run, say ``watching`` instead."""
        if self.watch is not None:
            self.notify(f"Watching a run: {watching}")
            return False
        return self.ready()

    def action_open_picker(self) -> None:
        if self.engine_started():
            from rnntui.core.paths import bundled_model_path, checkpoints_dir

            folder = checkpoints_dir() if self.watch is None else self.follower.path.parent
            self.opener.open_picker(folder, bundled_model_path())

    def action_new_model(self) -> None:
        if self.watch is not None:
            self.notify("Watching a run: its model is trained in its own process.")
        elif self.engine_started():
            self.opener.ask_for_new_model(self.info.name if self.info else None)

    def action_model_info(self) -> None:
        if self.ready():
            self.describe_model()

    @work(thread=True, exclusive=True, group="describe")
    def describe_model(self) -> None:
        """Off the event loop: describing a model in training copies its weights and optimizer."""
        self.post_message(ModelDescribed(self.session.describe()))

    def on_model_described(self, message: ModelDescribed) -> None:
        from rnntui.tui.screens.model_info import ModelInfoScreen

        if self.screen is self.screen_stack[0]:  # not over a dialog opened meanwhile
            self.push_screen(ModelInfoScreen(message.info))

    # -- evaluation ---------------------------------------------------------------------------
    def action_evaluate(self) -> None:
        if self.ready():
            self.evaluator.start(self.session)

    # -- training and saving (the controller's) -------------------------------------------------
    def action_toggle_training(self) -> None:
        if self.trains_here("it trains in its own process. ctrl+o loads its newest checkpoint."):
            if self.training.state is TrainingState.IDLE:
                self.chat.next_sample_at = None  # the first sample comes sample_every steps from here
            self.training.toggle()

    def training_started(self) -> None:
        """The chat's model trains on from where it is: its chart and name stay."""

    def training_stepped(self, step: int, validated: bool = False) -> None:
        self.info.step = step
        if self.training.state is TrainingState.RUNNING:
            self.chat.sample_while_training(step)

    def training_note(self, text: str) -> None:
        self.chat.note(text)

    def action_training_settings(self) -> None:
        if self.trains_here("its settings are its own process's."):
            self.training.ask_settings()

    def action_save(self) -> None:
        if self.ready():
            self.training.save()

    def action_save_as(self) -> None:
        if self.ready():
            self.training.ask_where_to_save()

    def model_saved(self, name: str) -> None:
        self.info.name = name
        self.update_status()

    # -- help and quitting ------------------------------------------------------------------
    def action_help(self) -> None:
        # Imported on first use: the Markdown widget is slow to import, the first frame is not.
        from rnntui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_help()))

    async def action_quit(self) -> None:
        self.opener.if_unsaved_work("Quit rnntui?", "quit",
                                    lambda save_first: self.save_and_quit() if save_first else self.shut_down(),
                                    unsaved=self.unsaved_steps)

    @work(thread=True, exclusive=True, group="save")
    def save_and_quit(self, on_signal: int | None = None) -> None:
        """Stop training, save, and exit; ``on_signal``: asked to end by that signal, so the
        app ends even if the save fails."""
        unsaved = [t for t in self.controllers() if t.session is not None and t.session.unsaved_steps > 0]
        if not unsaved and self.session is not None:  # asked to save: the chat's model, as ctrl+s would
            unsaved = [self.training]
        said, path, error = [], None, None
        for training in unsaved:
            training.stop_and_wait()
            try:
                path = training.session.save()
                said.append(f"rnntui: saved step {training.session.step:,} to {path}")
            except RnntuiError as exc:
                if on_signal is None:  # the app stays open, with the progress still counted as unsaved
                    training.post_message(Saved(None, str(exc)))
                    return
                error = f"rnntui: error: {exc}"
        if on_signal is not None and on_signal == SIGHUP:
            self.call_from_thread(self.signals.end_as_hung_up)  # now that the work is saved
        if error is None:  # said on the terminal once the app has closed
            self.call_from_thread(self.exit, f"saved {path}", 0, "\n".join(said))
        else:  # said on stderr once the terminal is restored
            self.call_from_thread(self.exit, None, 1, error)

    def before_crash(self, error: Exception) -> None:
        """An exception nothing handled (a bug) is about to end the app: stop and save each
        model in training, as a signal does, and keep what to say once the terminal is back."""
        for training in self.controllers():
            session = training.session
            if session is None or session.unsaved_steps <= 0:
                continue
            training.stop_and_wait()
            try:
                path = session.save()
            except Exception as failure:  # noqa: BLE001 - say it, and let the app end
                self.saved_after_error.append(f"rnntui: the model in training could not be saved: {failure}")
            else:
                self.saved_after_error.append(f"rnntui: the app ended on an unexpected error; it saved step "
                                              f"{session.step:,} of the model in training to {path}")

    def shut_down(self) -> None:
        for training in self.controllers():
            training.stop()
        self.chat.stop_stream()
        self.exit()

    def on_unmount(self) -> None:
        for training in self.controllers():
            training.stop()  # a paused trainer's thread would otherwise wait for ever
        self.signals.remove()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A worker the app cancelled itself (training, when a model is loaded) ends with a
        # CancelledError as its "error": that is no error to report.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(f"{type(event.worker.error).__name__}: {event.worker.error}",
                        title="Unexpected error", severity="error", timeout=10)
