"""rnntui's Textual app: chat with a character-level RNN while it trains, or judge movie reviews.

The app coordinates: it lays out the screen, starts the chat's model loading once the first frame
is drawn, switches between the modes, and owns what they share: the loss panel and the status
line (which the modes update through messages), the theme, the chart's keys, help, signals,
quitting and saving before the app ends. Each mode owns the rest, its keys included: the chat
(rnntui.tui.chat) and the reviews (rnntui.tui.reviews).
"""

from __future__ import annotations

import gc
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from rnntui.core.errors import RnntuiError
from rnntui.core.paths import settings_path
from rnntui.core.tasks import SENTIMENT_TASK, TASKS, TEXT_TASK, file_task
from rnntui.tui import keys
from rnntui.tui.chat.pane import ChatPane, ChatStart
from rnntui.tui.messages import ChartUpdate, Saved, StatusNote
from rnntui.tui.persistence import SettingsStore
from rnntui.tui.signals import SIGHUP, TerminationSignals
from rnntui.tui.textual_internals import BeforeCrash, showing_notification
from rnntui.tui.training.controller import TrainingController
from rnntui.tui.widgets.footer import CoalescingFooter
from rnntui.tui.widgets.loss_panel import RECENT_STEPS, LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from rnntui.tui.widgets.status_line import NARROW_BELOW, StatusLine
from rnntui.tui.widgets.transcript import confidence_palette, theme_palette

if TYPE_CHECKING:
    from rnntui.tui.reviews import ReviewsPane

AUTOSAVE_EVERY = 300.0  # seconds: training in the app loses at most this much to a crash


# Where each key shows in the footer: Textual's own keys of an app (ctrl+q), then the table's.
FOOTER_ORDER = {name: number for number, name in enumerate(dict.fromkeys(
    [binding.key for binding in App.BINDINGS if isinstance(binding, Binding)] + list(keys.KEY_ORDER)))}


class MainScreen(Screen):
    """The app's screen. Its keys come from the app and from the mode on the screen (each
    part's BINDINGS): the footer shows them in the key table's order, as one table."""

    @property
    def active_bindings(self) -> dict:
        bindings = super().active_bindings  # the focused widget's first, the app's last
        return dict(sorted(bindings.items(), key=lambda item: FOOTER_ORDER.get(item[0], -1)))


class RnntuiApp(BeforeCrash, App):
    CSS_PATH = "app.tcss"
    TITLE = "rnntui"
    # Classes on the screen for small terminals (80 x 24 is many a terminal's default);
    # app.tcss gives the chat more of the room there.
    # Below CHART_BELOW columns the chat takes the whole width and ctrl+b brings the chart back.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (keys.CHART_BELOW, "-narrow"), (NARROW_BELOW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = keys.bindings(keys.APP)

    def __init__(self, checkpoint: Path | None = None, corpus: Path | None = None,
                 random_seed: int | None = None, train_config=None, model_options: dict | None = None,
                 scale_factor: float | None = None, length: int | None = None,
                 watch: Path | None = None, autosave_every: float = AUTOSAVE_EVERY, finetune: bool = False,
                 manage_gc: bool = False, encoding: str | None = None, reviews_data: Path | None = None,
                 review_train_config=None, review_model_settings: dict | None = None,
                 threads: int | None = None, compare: list[Path] | None = None) -> None:
        super().__init__()
        # The garbage collector is the process's: `rnntui` lets the app tune it (see
        # memory.tune_garbage_collector), an app run inside another program leaves it alone.
        self.manage_gc = manage_gc
        self.autosave_every = autosave_every
        # The last session's scale factor, length and theme, unless the caller gives its own.
        self.store = SettingsStore(settings_path())
        settings = self.store.settings
        if scale_factor is not None or length is not None:
            from dataclasses import replace

            settings = replace(settings, scale_factor=settings.scale_factor if scale_factor is None else scale_factor,
                               length=settings.length if length is None else length)
        # A review model given to open (rnntui --checkpoint) opens in the reviews mode, and the
        # chat starts with its own model.
        self.review_start = checkpoint if checkpoint is not None and file_task(checkpoint) == SENTIMENT_TASK else None
        if self.review_start is not None:
            checkpoint = None
        # Built here, before the theme is set (watch_theme recolours the chat's replies).
        start = ChatStart(checkpoint, corpus, train_config, model_options, finetune, encoding, threads, manage_gc)
        self.chat = ChatPane(settings, self.remember, start, random_seed, confidence_palette(), self.update_status,
                             id="chat")
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        self.store.settings.theme = self.theme  # a default or unknown theme is not worth a write
        self.chat.set_palette(theme_palette(self.current_theme))
        self.watch = watch  # a run to follow (rnntui watch): its metrics file drives the chart
        self.follower = None
        self.compare = compare or []  # other runs' metrics files, drawn beside it (rnntui watch --compare)
        self.compared: list = []  # (name, MetricsFollower) of each
        self.signals = TerminationSignals(self.on_termination_signal)  # installed while mounted
        # Said on stderr once the app has ended on an unexpected error: what was saved, and where.
        self.saved_after_error: list[str] = []
        self.mounted_at = 0.0
        self.engine_timer = None  # polls until the first screen is drawn, then loads the engine
        self.mode = keys.CHAT  # f7 switches to the reviews (mounted the first time) and back
        self.reviews: ReviewsPane | None = None
        # The reviews mode's training: its data (default: the path last given in the app, else the
        # cached dataset), settings, model sizes.
        if reviews_data is None and self.store.settings.reviews_data:
            reviews_data = Path(self.store.settings.reviews_data)
        self.review_options = (reviews_data, review_train_config, review_model_settings)

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

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

    def on_mount(self) -> None:
        self.show_chart(self.store.settings.chart)
        self.update_status()
        if self.watch is not None:
            from rnntui.core.metrics import MetricsFollower, resolve_run

            metrics, checkpoint = resolve_run(self.watch)
            self.follower = MetricsFollower(metrics)
            self.chat.start.checkpoint = checkpoint if checkpoint.is_file() else None
            self.chat.watched = metrics.parent
            self.query_one(LossPanel).show_corpus(f"watching {metrics.name}")
        if self.compare:
            from rnntui.core.metrics import MetricsFollower, run_name

            self.compared = [(run_name(path), MetricsFollower(path)) for path in self.compare]
        if self.follower is not None or self.compared:
            self.follow_runs()
            self.set_interval(1.0, self.follow_runs)
        watched = self.query_one(LossPanel).run_task
        if self.watch is not None and watched != TEXT_TASK:  # the chat talks with text models only
            self.chat.start.checkpoint = None
            self.notify(f"Watching the run of {TASKS[watched].words}: the chart follows it; to open its "
                        f"checkpoint: {TASKS[watched].commands}.", timeout=10)
        if self.review_start is not None:
            self.call_after_refresh(self.action_show_reviews)
        self.mounted_at = time.monotonic()
        self.engine_timer = self.set_interval(0.02, self.load_engine_once_drawn)
        self.signals.install()
        if self.watch is None:  # a watched run saves itself
            self.set_interval(self.autosave_every, lambda: [t.autosave() for t in self.controllers()])

    def controllers(self) -> list[TrainingController]:
        """Each mode's training (the reviews' once that mode has been opened)."""
        return [self.chat.training] + ([self.reviews.training] if self.reviews is not None else [])

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
            self.call_after_refresh(self.set_timer, 0.1, self.chat.load_engine)

    def follow_runs(self) -> None:
        """The watched run's new steps (rnntui watch), and the new validation estimates of the
        runs drawn beside it (--compare)."""
        points = self.follower.read_new() if self.follower is not None else []
        for panel in self.query(LossPanel) if points else ():  # none while the app closes
            if points[-1].task != panel.run_task:  # a review model's run: its units, and its accuracy
                panel.show_run(points[-1].task, panel.empty)
            panel.add_events(points)
            ranks = points[-1].ranks
            panel.set_device("1 process" if ranks == 1 else f"{ranks} processes (torchrun)")
        for name, follower in self.compared:
            new = [(p.step, p.val_loss) for p in follower.read_new() if p.val_loss is not None]
            for panel in self.query("#loss-panel") if new else ():  # the chat's chart; none while the app closes
                panel.add_compared(name, new)

    # -- keys, palette, help, notifications, status -----------------------------------------
    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        parts = {keys.APP: self, keys.CHAT: self.chat, keys.REVIEWS: self.reviews}
        for key in keys.palette_commands(self.mode):
            yield SystemCommand(key.palette_title, key.help, partial(self.run_action, key.action, parts[key.part]))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in keys.ALL_ACTIONS and action not in keys.ACTIONS[self.mode]:
            return False  # the other mode's f7: off the footer, and the key goes on as usual
        return True

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Textual's notify, except that a notification already on the screen is not stacked
        again (ctrl+up pressed eight times at the top of the ladder gave eight toasts)."""
        if not showing_notification(self, message, title, severity):
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def update_status(self) -> None:
        """The status line and the window's title say what the mode on the screen has (its
        model, settings, training)."""
        wide, narrow, model = (self.reviews if self.mode == keys.REVIEWS else self.chat).status()
        for status in self.query(StatusLine):  # none while the app takes its widgets down
            status.show(wide, narrow)
        self.sub_title = model or ""

    def on_status_note(self, message: StatusNote) -> None:
        for status in self.query(StatusLine):
            status.show_message(message.text)

    def on_chart_update(self, message: ChartUpdate) -> None:
        """A mode's training: its new steps in the loss panel, where it shows that mode's run.
        The training thread posts until it ends, which can be after the app has begun to take
        its widgets down: the panel is then absent, and left alone."""
        for panel in self.query(LossPanel):
            if message.asked and not panel.display:  # hidden on a narrow terminal, or by choice
                self.notify("Training. The loss chart is hidden: ctrl+b shows it.")
            if message.shown and message.device is not None:
                panel.set_device(message.device)
                panel.show_corpus(message.corpus)  # the text it trains on
            if message.shown and message.events:
                panel.add_events(message.events)

    def remember(self, **changes) -> None:
        """Keep a setting the person changed for the next session (see SettingsStore)."""
        warning = self.store.remember(**changes)
        if warning:
            self.notify(warning, severity="warning")

    # -- the reviews mode -------------------------------------------------------------------------
    async def action_show_reviews(self) -> None:
        if self.reviews is None:  # imported and mounted the first time: the first frame does not pay for it
            from rnntui.tui.reviews import ReviewsPane

            self.reviews = ReviewsPane(*self.review_options, status_changed=self.update_status, id="reviews")
            await self.query_one("#main").mount(self.reviews, before=self.query_one(LossPanel))
            self.reviews.open_model(self.review_start)  # None: the bundled model
        self.switch_mode_to(keys.REVIEWS)

    def action_show_chat(self) -> None:
        self.switch_mode_to(keys.CHAT)

    def switch_mode_to(self, mode: str) -> None:
        """Show ``mode``'s pane, its run in the loss panel and its keys."""
        self.mode = mode
        chat = mode == keys.CHAT
        # A watched run's file drives the chart whichever mode is on the screen.
        own = self.watch is None
        self.chat.training.shows_panel, self.reviews.training.shows_panel = chat and own, not chat and own
        self.chat.display, self.reviews.display = chat, not chat
        if chat:
            if own:
                self.chat.show_history()
            self.chat.query_one(SeedInput).focus()
        else:
            self.reviews.show_history()
            self.reviews.query_one("#review-input").focus()
        self.refresh_bindings()
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

    # -- help and quitting ------------------------------------------------------------------
    def action_help(self) -> None:
        # Imported on first use: the Markdown widget is slow to import, the first frame is not.
        from rnntui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(keys.help_rows(self.mode), reviews=self.mode == keys.REVIEWS))

    async def action_quit(self) -> None:
        self.chat.opener.if_unsaved_work("Quit rnntui?", "quit",
                                    lambda save_first: self.save_and_quit() if save_first else self.shut_down(),
                                    unsaved=self.unsaved_steps)

    @work(thread=True, exclusive=True, group="save")
    def save_and_quit(self, on_signal: int | None = None) -> None:
        """Stop training, save, and exit; ``on_signal``: asked to end by that signal, so the
        app ends even if the save fails."""
        unsaved = [t for t in self.controllers() if t.session is not None and t.session.unsaved_steps > 0]
        if not unsaved and self.chat.session is not None:  # asked to save: the chat's model, as ctrl+s would
            unsaved = [self.chat.training]
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
        self.chat.action_stop_stream()
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
