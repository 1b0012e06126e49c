"""The training controller: starts, pauses, resumes and stops a model's training in a worker
thread, applies new training settings, and saves (on ctrl+s, every few minutes, before a model is
replaced), while the loss panel shows the run.

It works with any session that trains (see ``Trainable``) and tells its host (the mode that owns
it) what happened through ``TrainingHost``; its workers talk to it only through messages, and it
talks to the loss panel and the status line only through messages too (ChartUpdate, StatusNote),
which whoever shows them handles.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual import work
from textual.markup import escape
from textual.widget import Widget
from textual.worker import Worker, get_current_worker

from rnntui.core.errors import DownloadError, RnntuiError
from rnntui.tui.messages import (
    ChartUpdate,
    DownloadProgress,
    Mailbox,
    Saved,
    SettingsApplied,
    StatusNote,
    TrainingNote,
    TrainingPaused,
    TrainingProgress,
    TrainingStopped,
)

if TYPE_CHECKING:
    from rnntui.charlm.session import Session
    from rnntui.core.training import Trainer

TRAIN_REPORT = 0.1  # seconds between two reports of a training thread to the UI
STOP_WAIT = 60.0  # seconds a worker waits for training to stop before it goes on anyway


class TrainingState(str, Enum):
    IDLE = "idle"
    STARTING = "starting"  # the worker builds the trainer (or fetches the book) before its first step
    RUNNING = "running"
    PAUSED = "paused"


class Trainable(Protocol):
    """What the controller needs of a session (rnntui.charlm.session.Session is one)."""

    trainer: Trainer | None
    unsaved_steps: int
    step: int

    def needs_download(self) -> bool: ...
    def fetch_training_text(self, progress) -> None: ...
    def ensure_trainer(self) -> Trainer: ...
    def training_text_name(self) -> str | None: ...
    def training_device(self) -> str: ...
    def take_corpus_note(self) -> str | None: ...
    def change_settings(self, **changes) -> None: ...
    def save(self, path: Path | None = None) -> Path: ...


class TrainingHost(Protocol):
    """What the controller tells the mode that owns it."""

    def update_status(self) -> None: ...
    def training_started(self) -> bool | None: ...  # True: it shows a new run in the chart itself
    def training_stepped(self, step: int, validated: bool) -> None: ...
    def training_note(self, text: str) -> None: ...
    def model_saved(self, name: str) -> None: ...


class TrainingThread:
    """Whether the training worker's thread runs, or fetches the book, for workers that wait for
    training to stop: Textual marks a cancelled thread worker finished at once, while its thread
    goes on to the end of the step in flight. Set by that thread, waited on by others."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.running = False
        self.downloading = False  # nothing waits for a download: it cannot be interrupted

    def set(self, running: bool | None = None, downloading: bool | None = None) -> None:
        with self._condition:
            if running is not None:
                self.running = running
            if downloading is not None:
                self.downloading = downloading
            self._condition.notify_all()

    def wait_until_stopped(self, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: not self.running or self.downloading, timeout=timeout)


class TrainingController(Widget):
    """One model's training. ``session`` is set by the host once a model is open. The loss
    panel shows this training's run while ``shows_panel`` (each of the app's modes has its own
    controller, and the panel shows the mode on the screen)."""

    DEFAULT_CSS = "TrainingController { display: none; }"

    def __init__(self, host: TrainingHost, download_hint: str = "", shows_panel: bool = True,
                 download_name: str = "The Mysterious Island from Project Gutenberg",
                 saved_title: str = "Checkpoint saved", ask_for_data: Callable[[str], object] | None = None,
                 data_errors: tuple[type[RnntuiError], ...] = ()) -> None:
        super().__init__()
        # Training that could not get its data (a failed download, or ``data_errors``) calls
        # ``ask_for_data(why)``, where the host asks for it, instead of only saying so.
        self.ask_for_data = ask_for_data
        self.data_errors = (DownloadError, *data_errors) if ask_for_data is not None else ()
        self.saved_title = saved_title
        self.host = host
        self.shows_panel = shows_panel
        self.download_name = download_name  # what a download fetches, as the status line names it
        self.download_hint = download_hint  # added to a failed download's message
        self.session: Session | None = None
        self.state = TrainingState.IDLE
        self.mailbox: Mailbox | None = None  # the running training's, for announce_pause
        self.thread = TrainingThread()

    @property
    def active(self) -> bool:
        """Training, or about to: a change of settings restarts it."""
        return self.state in (TrainingState.STARTING, TrainingState.RUNNING)

    # -- start, pause, resume ---------------------------------------------------------------
    def toggle(self) -> None:
        if self.state is TrainingState.IDLE:
            self.start()
            self.post_message(ChartUpdate(self.shows_panel, asked=True))  # said if the chart is hidden
        elif self.state is TrainingState.RUNNING:
            self.session.trainer.pause()
            self.state = TrainingState.PAUSED
            self.announce_pause(self.session.trainer, self.mailbox)
        elif self.state is TrainingState.PAUSED:
            self.session.trainer.resume()
            self.state = TrainingState.RUNNING
        self.host.update_status()

    def start(self) -> None:
        self.state = TrainingState.STARTING
        self.mailbox = Mailbox()
        self.train(self.session, self.mailbox)

    @work(thread=True, group="pause")
    def announce_pause(self, trainer: Trainer, mailbox: Mailbox | None) -> None:
        """The step in flight still finishes after pause(): report where training really stopped."""
        while not trainer.wait_until_paused(0.05):
            if not trainer.paused or trainer.stopping or not self.thread.running:
                return  # resumed or stopped meanwhile
        if mailbox is not None and mailbox.claim():  # the last steps, which the rate limit held back
            self.post_message(TrainingProgress(mailbox))
        self.post_message(TrainingPaused(trainer.step))

    def on_training_paused(self, message: TrainingPaused) -> None:
        if self.state is TrainingState.PAUSED:
            self.notify(f"Training paused at step {message.step:,}.")

    # -- the training worker ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="train")
    def train(self, session: Session, mailbox: Mailbox) -> None:
        self.thread.set(running=True)
        try:
            self.run_training(session, mailbox, get_current_worker())
        finally:
            self.thread.set(running=False)

    def run_training(self, session: Session, mailbox: Mailbox, worker: Worker) -> None:
        try:
            if session.needs_download():
                self.thread.set(downloading=True)
                try:
                    session.fetch_training_text(lambda done, total: self.post_message(DownloadProgress(done, total)))
                finally:
                    self.thread.set(downloading=False)
            if worker.is_cancelled:  # another model was loaded (or the app closed) meanwhile
                self.post_message(TrainingStopped(None))
                return
            trainer = session.ensure_trainer()
            note = session.take_corpus_note()
            if note:
                self.post_message(TrainingNote(note))
        except self.data_errors as error:
            self.post_message(TrainingStopped(str(error), data_missing=True))
            return
        except DownloadError as error:
            # The engine's message names the command-line way; in the app there is one more.
            self.post_message(TrainingStopped(f"{error}{self.download_hint}"))
            return
        except RnntuiError as error:
            self.post_message(TrainingStopped(str(error)))
            return
        self.post_message(TrainingProgress(mailbox))
        last_post, error = time.monotonic(), None
        try:
            for event in trainer.run():
                if worker.is_cancelled:  # the app is closing
                    trainer.stop()
                mailbox.put(event)
                now = time.monotonic()
                if now - last_post >= TRAIN_REPORT and mailbox.claim():
                    self.post_message(TrainingProgress(mailbox))
                    last_post = now
        except RnntuiError as exc:
            error = str(exc)
        self.post_message(TrainingProgress(mailbox))
        self.post_message(TrainingStopped(error))

    def on_download_progress(self, message: DownloadProgress) -> None:
        total = f" of {message.total / 1e6:.1f} MB" if message.total else ""
        self.post_message(StatusNote(f" downloading {self.download_name}: {message.done / 1e6:.1f} MB{total}"))

    def on_training_progress(self, message: TrainingProgress) -> None:
        if self.state is TrainingState.STARTING:
            self.state = TrainingState.RUNNING
            if not self.host.training_started():  # the host did not show a new run of its own
                self.post_message(ChartUpdate(self.shows_panel, device=self.session.training_device(),
                                              corpus=self.session.training_text_name()))  # the text it trains on
        events = message.mailbox.take()
        for event in events:
            if getattr(event, "overfitting", None):
                text = (f"At step {event.step:,} {event.overfitting}. f2 raises dropout; ctrl+s keeps this "
                        "model (the best estimate was earlier); ctrl+n can fine-tune the bundled model on a small "
                        "text instead, which needs far fewer steps.")
                self.host.training_note(text)
                self.notify(text, title="Overfitting", severity="warning", timeout=15)
        if events:
            self.post_message(ChartUpdate(self.shows_panel, events))
            self.host.training_stepped(events[-1].step, any(event.val_loss is not None for event in events))
        self.host.update_status()

    def on_training_note(self, message: TrainingNote) -> None:
        self.notify(message.text, title="Training", severity="warning", timeout=10)

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.state = TrainingState.IDLE
        if message.data_missing and self.ask_for_data is not None:
            self.ask_for_data(message.error)
        elif message.error:
            self.notify(message.error, title="Training stopped", severity="error", timeout=10)
            self.host.training_note(escape(f"Training stopped: {message.error}."))  # a toast is easy to miss
        self.host.update_status()

    # -- stopping ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the trainer to stop after the step in flight (also releases a paused one); a
        training worker still fetching the book stops when the download ends."""
        if self.session is not None and self.session.trainer is not None:
            self.session.trainer.stop()
        for worker in self.workers:  # the app's workers: this controller's training only
            if worker.group == "train" and worker.node is self:
                worker.cancel()

    def stop_and_wait(self) -> None:
        """From a worker: stop the trainer and wait for its thread to end (not for a download,
        which cannot be interrupted: the cancelled worker gives up after it)."""
        self.stop()
        self.thread.wait_until_stopped(STOP_WAIT)

    def stop_and_save(self, save_first: bool) -> bool:
        """From a worker: stop training, then save if asked; False if that save failed."""
        self.stop_and_wait()
        if not save_first:
            return True
        path = self.save_now()
        if path is not None:
            self.post_message(Saved(str(path)))
        return path is not None

    # -- settings ---------------------------------------------------------------------------
    def ask_settings(self) -> None:
        """The f2 form, with the settings the next step uses."""
        from rnntui.tui.screens.training_settings import TrainingSettingsScreen

        def chosen(changes: dict | None) -> None:
            if changes is not None:
                self.change_settings(changes)

        self.app.push_screen(TrainingSettingsScreen(self.session.settings()), chosen)

    def change_settings(self, changes: dict) -> None:
        self.apply_settings(changes, self.active)

    @work(thread=True, exclusive=True, group="engine")
    def apply_settings(self, changes: dict, restart: bool) -> None:
        """Stop training, rebuild the trainer with the new settings, and say so (the UI then
        starts training again if it was running)."""
        self.stop_and_wait()
        try:
            self.session.change_settings(**changes)
        except RnntuiError as error:
            self.post_message(SettingsApplied(changes, restart, str(error)))
            return
        self.post_message(SettingsApplied(changes, restart))

    def on_settings_applied(self, message: SettingsApplied) -> None:
        if message.error:
            self.notify(f"{message.error}; the settings stay as they were.", title="Training settings",
                        severity="error", timeout=10)
        else:
            described = ", ".join(f"{name.replace('_', ' ')} {value:g}" if not isinstance(value, bool)
                                  else f"{name.replace('_', ' ')} {'on' if value else 'off'}"
                                  for name, value in message.changes.items())
            self.notify(f"From step {self.session.step + 1:,}: {described}.", title="Training settings")
        if message.restart and self.state is TrainingState.IDLE:
            self.start()
            self.host.update_status()

    # -- saving -----------------------------------------------------------------------------
    def ask_where_to_save(self) -> None:
        """F4: save as; ctrl+s and the autosave write there from then on."""
        from rnntui.tui.screens.dialogs import SaveAsScreen

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.save(path=path)

        self.app.push_screen(SaveAsScreen(self.session.next_save_path(), self.session.save_to), chosen)

    def autosave(self) -> None:
        """Every few minutes, save training progress, so that a crash or a power cut loses at
        most that much (quitting, closing the terminal and ``kill`` save it anyway)."""
        saving = any(worker.group == "save" and worker.node is self and worker.is_running for worker in self.workers)
        if (self.session is not None and self.state in (TrainingState.RUNNING, TrainingState.PAUSED)
                and not saving and self.session.unsaved_steps > 0):
            self.save(autosave=True)

    @work(thread=True, exclusive=True, group="save")
    def save(self, autosave: bool = False, path: Path | None = None) -> None:
        saved = self.save_now(autosave, path)
        if saved is not None:
            self.post_message(Saved(str(saved), autosave=autosave))

    def on_saved(self, message: Saved) -> None:
        message.stop()
        if message.error:
            title = "Autosave failed" if message.autosave else "Save failed"
            self.notify(message.error, title=title, severity="error", timeout=10)
            return
        name, verb = Path(message.path).name, "Autosaved" if message.autosave else "Saved"
        if name != self.session.name:  # another model came in while this one was written
            self.notify(f"{verb} the previous model to {message.path}", title=self.saved_title)
            return
        self.host.model_saved(name)
        # Where it wrote, in full: a model opened from a file saves back to that file.
        self.notify(f"{verb} step {self.session.saved_step:,} to {message.path}", title=self.saved_title,
                    timeout=3 if message.autosave else 5)

    def save_now(self, autosave: bool = False, path: Path | None = None) -> Path | None:
        """Save from a worker thread (to ``path``, if one was chosen); a failure is reported to
        the UI and gives None."""
        try:
            return self.session.save(path)
        except RnntuiError as error:
            self.post_message(Saved(None, str(error), autosave=autosave))
            return None
