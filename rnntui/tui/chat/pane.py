"""The chat mode: a character-level language model to chat with while it trains.

``ChatPane`` is the replies (rnntui.tui.chat.replies) plus what the mode owns: its model's
session (loaded with torch off the event loop once the first frame is drawn), the model opener
(ctrl+o, ctrl+n), the training controller (ctrl+t, f2, ctrl+s, f4), the evaluation (f5), the
model's description (f6) and the chat's keys (rnntui.tui.keys, part CHAT). It tells the app what
the status line shows through ``status_changed()``, which the app lends it as it lends
``remember``, and the loss panel shows of its training through messages (ChartUpdate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import ComposeResult

from rnntui.core.errors import RnntuiError
from rnntui.core.tasks import TEXT_TASK
from rnntui.tui import keys
from rnntui.tui.chat.evaluation import Evaluator
from rnntui.tui.chat.replies import Replies
from rnntui.tui.messages import EngineFailed, EngineReady, ModelDescribed
from rnntui.tui.opener import ModelOpener
from rnntui.tui.persistence import Settings
from rnntui.tui.training.controller import TrainingController, TrainingState
from rnntui.tui.widgets.status_line import chat_status


@dataclass
class ChatStart:
    """What the chat's first model is: a ``checkpoint`` (default: the bundled model) or a new
    one on ``corpus`` (fine-tuned on it with ``finetune``), with these training settings and
    model sizes; ``threads`` and ``manage_process`` (the process is rnntui's: tune its garbage
    collector and torch's threads) as `rnntui` asks."""

    checkpoint: Path | None = None
    corpus: Path | None = None
    train_config: object = None
    model_options: dict | None = None
    finetune: bool = False
    encoding: str | None = None
    threads: int | None = None
    manage_process: bool = False


class ChatPane(Replies):
    BINDINGS = keys.bindings(keys.CHAT)

    def __init__(self, settings: Settings, remember: Callable[..., None], start: ChatStart,
                 random_seed: int | None = None, palette: dict | None = None,
                 status_changed: Callable[[], None] = lambda: None, **kwargs) -> None:
        super().__init__(settings, remember, random_seed, palette, status_changed, **kwargs)
        self.start = start
        self.watched: Path | None = None  # the folder of a run followed (rnntui watch), set by the app
        self.engine_error: str | None = None  # why the start-up model could not be opened
        self.training = TrainingController(self, download_hint=", or press ctrl+n for a new model on any text file")
        # Parts without a place on the screen, each owning its workers and their messages.
        self.opener = ModelOpener(lambda: self.session, self.training)
        self.evaluator = Evaluator(self.note)

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield self.training
        yield self.opener
        yield self.evaluator

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_stream" and not self.streaming:
            return False  # nothing to stop: off the footer
        if action == "pick" and not self.can_pick(parameters[0]):
            return False  # no reply waits for a pick (or a dialog is up): the key goes on as usual
        return True

    def status(self) -> tuple[str, str, str | None]:
        """The status line, wide and narrow, and the model's name for the window's title."""
        wide, narrow = chat_status(self.scale_factor, self.length, self.sampling_cut(), self.pick_mode, self.info,
                                   self.training.state, self.engine_error, watching=self.watched is not None)
        return wide, narrow, self.info.name if self.info else None

    def update_status(self) -> None:
        # A call the app lends, not a message: a message bubbling up to the app waits for the GIL
        # at each hop while a model trains, and a key's effect would show that much later.
        self.status_changed()

    def show_history(self) -> None:
        """The chat's model's run in the loss panel again (after the reviews mode showed its own)."""
        from rnntui.tui.widgets.loss_panel import LossPanel

        if self.session is None or self.info is None:
            return
        history = self.session.history
        for panel in self.app.query(LossPanel):
            panel.show_run(TEXT_TASK, "no training yet: press ctrl+t")
            panel.set_history(history.train, history.val, self.info.step,
                              getattr(self.session.checkpoint, "elapsed", 0.0) or 0.0)
            panel.show_corpus(self.info.corpus)
            panel.set_device(self.info.device)

    # -- the engine and the model -------------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine")
    def load_engine(self) -> None:
        start = self.start
        try:
            from rnntui.charlm.session import Session

            if start.manage_process:  # the process is rnntui's: its collector, and torch's threads
                from rnntui.core.device import set_threads
                from rnntui.core.memory import tune_garbage_collector

                tune_garbage_collector()
                set_threads(start.threads)  # before the threads that train and generate start
            session = Session(start.train_config, start.model_options)
            info = session.open(start.checkpoint, start.corpus, finetune=start.finetune, encoding=start.encoding)
        except RnntuiError as error:
            # An empty session, not the one that failed halfway: ctrl+o and ctrl+n still work.
            self.post_message(EngineFailed(str(error), Session(start.train_config, start.model_options)))
            return
        self.post_message(EngineReady(info, session.history, session, f"Ready: {info.name}."))

    def on_engine_ready(self, message: EngineReady) -> None:
        message.stop()
        self.training.session = message.session
        self.model_ready(message.info, message.session)
        history = message.history
        # Worker messages can arrive while the app takes its widgets down: absent ones are skipped.
        if self.watched is None:  # a watched run's file drives its chart
            from rnntui.tui.widgets.loss_panel import LossPanel

            for panel in self.app.query(LossPanel):
                panel.set_history(history.train, history.val, message.info.step,
                                  getattr(message.session.checkpoint, "elapsed", 0.0) or 0.0)
                panel.set_device(message.info.device)
                panel.show_corpus(message.info.corpus)
        hint = ("ctrl+o loads the run's newest checkpoint" if self.watched is not None
                else "ctrl+t trains the model while you watch")
        self.note(f"{message.note} Type a seed text and press enter (enter on an empty line continues the "
                  f"reply); {hint}, f1 lists every key.", id="engine-note")
        self.update_status()
        self.engine_error = None
        self.start_pending()

    def on_engine_failed(self, message: EngineFailed) -> None:
        message.stop()
        if message.session is not None:
            self.session = self.training.session = message.session
        self.notify(message.error, title="Could not load", severity="error", timeout=10)
        if self.info is None:  # at start-up there is no model; later, the current one stays
            from rnntui.tui.widgets.loss_panel import LossPanel

            self.engine_error = message.error
            self.model_failed()
            self.update_status()  # "loading…" no longer
            for panel in self.app.query(LossPanel):
                panel.set_history([], [], 0)
            self.note(f"Could not load: {message.error}. ctrl+o opens a checkpoint (the bundled model among "
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
        if self.watched is not None:
            self.notify(f"Watching a run: {watching}")
            return False
        return self.ready()

    def action_open_picker(self) -> None:
        if self.engine_started():
            from rnntui.core.paths import bundled_model_path, checkpoints_dir

            self.opener.open_picker(self.watched or checkpoints_dir(), bundled_model_path())

    def action_new_model(self) -> None:
        if self.watched is not None:
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

        if self.on_screen():  # not over a dialog opened meanwhile
            self.app.push_screen(ModelInfoScreen(message.info))

    def action_inside_network(self) -> None:
        if self.ready():
            from rnntui.tui.screens.neurons import NeuronsScreen

            self.app.push_screen(NeuronsScreen(self.session))

    def action_evaluate(self) -> None:
        if self.ready():
            self.evaluator.start(self.session)

    # -- training and saving (the controller's; the pane is its host) --------------------------
    def action_toggle_training(self) -> None:
        if self.trains_here("it trains in its own process. ctrl+o loads its newest checkpoint."):
            if self.training.state is TrainingState.IDLE:
                self.next_sample_at = None  # the first sample comes sample_every steps from here
            self.training.toggle()

    def training_started(self) -> None:
        """The chat's model trains on from where it is: its chart and name stay."""

    def training_stepped(self, step: int, validated: bool = False) -> None:
        self.info.step = step
        if self.training.state is TrainingState.RUNNING:
            self.sample_while_training(step)

    def training_note(self, text: str) -> None:
        self.note(text)

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
