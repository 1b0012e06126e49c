"""rnntui's Textual app: chat with a character-level RNN while it trains."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState, get_current_worker

from rnntui.errors import DownloadError, RnntuiError
from rnntui.paths import seed_history_path, settings_path
from rnntui.tui.messages import (
    DownloadProgress,
    EngineFailed,
    EngineReady,
    EvaluationDone,
    EvaluationProgress,
    GenerationChunk,
    GenerationDone,
    Mailbox,
    ModelDescribed,
    PickWanted,
    Saved,
    SettingsApplied,
    StreamedChar,
    TrainingNote,
    TrainingPaused,
    TrainingProgress,
    TrainingStopped,
)
from rnntui.tui.settings import read_settings, write_settings
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.footer import CoalescingFooter
from rnntui.tui.widgets.loss_panel import LossPanel
from rnntui.tui.widgets.seed_input import SeedInput
from rnntui.tui.widgets.status_line import NARROW_BELOW, StatusLine
from rnntui.tui.widgets.transcript import Exchange, Transcript, confidence_palette

if TYPE_CHECKING:  # the engine (torch) is imported after the first frame is drawn
    from rnntui.training import Trainer

# The scale factor moves along round values that include the book's examples (0.5, 1, 2, 3).
SCALE_LADDER = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
                4.0, 5.0, 7.5, 10.0)
FRAME = 1 / 30  # how often a streaming reply or the trainer reports to the UI
TRAIN_REPORT = 0.1
AUTOSAVE_EVERY = 300.0  # seconds: training in the app loses at most this much to a crash
SCALE_KEYS = Binding.Group("Scale", compact=True)  # one "^↑^↓ Scale" in the footer
CHART_BELOW = 70  # columns: below this the chat needs the whole width, and the chart starts hidden


def next_scale(current: float, direction: int) -> float:
    if direction > 0:
        return next((s for s in SCALE_LADDER if s > current + 1e-9), SCALE_LADDER[-1])
    return next((s for s in reversed(SCALE_LADDER) if s < current - 1e-9), SCALE_LADDER[0])


GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections; Python's default is 700


def tune_garbage_collector() -> None:
    """Freeze every object alive now (torch's and the app's modules: they live as long as the
    process) and collect young objects less often.

    With torch imported, a full collection went through some 200,000 objects and held the GIL,
    and so the screen, for 0.1-0.3 s; while a reply streamed they came about once a second,
    with thousands of young collections besides: 4 of 14 seconds went on collecting, and the
    reply streamed about a fifth slower (benchmarks/streaming.py). Frozen objects are left out
    of every collection, and a young collection after 10,000 allocations instead of 700 makes
    full ones rare too; the cost is cyclic garbage kept a little longer (refcounting frees the
    rest at once).
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def seed_placeholder(example: str) -> str:
    """The seed field's hint, short enough for an 80-column terminal."""
    return f"Seed text, e.g. {example} · enter replies"


class EvaluationCancelled(Exception):
    """Raised in an evaluation's progress callback to stop it (the app is closing)."""


class RnntuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "rnntui"
    # Classes on the screen for small terminals (80 x 24 is many a terminal's default);
    # app.tcss gives the chat more of the room there.
    # Below CHART_BELOW columns the chat takes the whole width and ctrl+b brings the chart back.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (CHART_BELOW, "-narrow"), (NARROW_BELOW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("enter", "generate", "Generate"),
        Binding("escape", "stop_stream", "Stop"),  # in the footer only while a reply streams
        Binding("ctrl+r", "regenerate", "Again"),
        # Off the footer (full at 130 columns), like copy; enter on an empty seed text does it too.
        Binding("ctrl+g", "continue_reply", "Continue", show=False),
        # alt+arrows too: macOS takes ctrl+up / ctrl+down for Mission Control by default.
        Binding("ctrl+up,alt+up", "scale(1)", "Scale ↑", group=SCALE_KEYS),
        Binding("ctrl+down,alt+down", "scale(-1)", "Scale ↓", group=SCALE_KEYS),
        Binding("ctrl+t", "toggle_training", "Train/pause"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+o", "open_picker", "Open"),
        Binding("ctrl+n", "new_model", "New model"),
        Binding("ctrl+l", "reply_settings", "Reply"),
        # Off the footer, like copy and continue: in the help screen and the palette.
        Binding("f2", "training_settings", "Training settings", show=False),
        # Off the footer, which is full at 130 columns; in the help screen and the palette.
        Binding("ctrl+y", "copy_reply", "Copy reply", show=False),
        Binding("ctrl+b", "toggle_chart", "Chart", show=False),
        Binding("ctrl+f", "export_transcript", "Export to file", show=False),  # ctrl+e is the input's "end"
        Binding("f3", "toggle_pick", "Pick mode", show=False),
        Binding("f4", "save_as", "Save as", show=False),
        Binding("f5", "evaluate", "Evaluate", show=False),
        Binding("f6", "model_info", "Model info", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    # Pick mode's answers, before the seed input sees the keys, but only while a reply waits
    # for one (check_action): otherwise digits and space are typed as usual. Described together
    # in the help screen, and not commands of the palette.
    PICK_BINDINGS = [Binding(key, f"pick({number})", f"Pick {key}", show=False, priority=True)
                     for number, key in enumerate(("1", "2", "3", "4", "5"))]
    PICK_BINDINGS.append(Binding("space", "pick(-1)", "Draw", show=False, priority=True))
    BINDINGS = BINDINGS + PICK_BINDINGS
    KEY_HELP = {
        "generate": "generate a reply from the seed text",
        "stop_stream": "stop the reply that is streaming",
        "regenerate": "generate again from the last seed text",
        "continue_reply": "continue the last reply (also: enter with no seed text)",
        "scale(1)": "raise the scale factor (bolder, more predictable text)",
        "scale(-1)": "lower the scale factor (wilder text)",
        "toggle_training": "start / pause training (resumes from the current step)",
        "save": "save the model back to the file it came from (the bundled or a new model: to the data "
                "folder); training also saves there every 5 minutes",
        "open_picker": "load a checkpoint (replaces the model and its loss history)",
        "new_model": "start a new model of the book's size on a text file, or fine-tune the current one on it",
        "reply_settings": ("reply settings: length, scale factor, top-k / top-p (draw from the likeliest only), "
                           "wrapped lines joined or as written"),
        "training_settings": "training settings: learning rate, batch, window length, dropout, carried state",
        "copy_reply": "copy the last reply, seed text included, to the clipboard",
        "toggle_chart": f"show / hide the loss chart (hidden at first below {CHART_BELOW} columns)",
        "export_transcript": "save every reply so far, with its settings, to a text file in the data folder",
        "toggle_pick": "pick mode: you choose each next character of a reply from the five likeliest, "
                       "as in textgenrnn's interactive mode",
        "save_as": "save the model to a file you choose; ctrl+s and the autosave write there from then on",
        "evaluate": "exact validation loss of the current weights: one pass over the held-out end of the "
                    "text, as rnntui evaluate (about 10 s for the book on 2 cores), then the dynamic evaluation's "
                    "(a copy that adapts as it reads); training goes on meanwhile",
        "model_info": "what the current model is: size, characters, training settings and time, text, losses, "
                      "how it was made (as rnntui info)",
        "help": "this help",
        "quit": "quit (asks first if training progress is unsaved)",
    }

    # The palette searches titles: a footer label too short to find something by gets a longer one.
    PALETTE_TITLES = {"reply_settings": "Reply settings: length, scale factor, top-k, top-p, line breaks",
                      "evaluate": "Evaluate: exact validation loss on the held-out text"}

    def __init__(self, checkpoint: Path | None = None, corpus: Path | None = None,
                 random_seed: int | None = None, train_config=None, model_options: dict | None = None,
                 scale_factor: float | None = None, length: int | None = None,
                 watch: Path | None = None, autosave_every: float = AUTOSAVE_EVERY, finetune: bool = False,
                 manage_gc: bool = False, encoding: str | None = None) -> None:
        super().__init__()
        # The garbage collector is the process's: `rnntui` lets the app tune it (see
        # tune_garbage_collector), an app run inside another program leaves it alone.
        self.manage_gc = manage_gc
        self.finetune = finetune  # start by fine-tuning the model (the checkpoint or bundled) on corpus
        self.encoding = encoding  # how the start corpus is read, when it is not UTF-8
        self.autosave_every = autosave_every
        # The last session's scale factor, length and theme, unless the caller gives its own.
        self.settings_path = settings_path()
        self.settings = read_settings(self.settings_path)
        self.settings_error: str | None = None  # why they cannot be saved, said once
        # Before the theme is set: watch_theme recolours the replies (none yet) with its palette.
        self.exchanges: dict[int, Exchange] = {}
        self.palette = self.theme_palette()  # the theme's colours for unlikely characters
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.settings.theme = self.theme  # a default or unknown theme is not worth a write
        self.watch = watch  # a run to follow (rnntui watch): its metrics file drives the chart
        self.follower = None
        self.start_checkpoint, self.start_corpus = checkpoint, corpus
        self.random_seed = random_seed
        self.train_config, self.model_options = train_config, model_options
        self.scale_factor = self.settings.scale_factor if scale_factor is None else scale_factor
        self.length = self.settings.length if length is None else length
        self.top_k, self.top_p = self.settings.top_k, self.settings.top_p  # 0 and 1: no cut
        # Replies join wrapped lines when the person said so, else when the model's text is
        # hard-wrapped prose (decided once the model is known; the book's way until then).
        self.reflow_setting = self.settings.reflow
        self.reflow = True if self.reflow_setting is None else self.reflow_setting
        self.adapt = self.settings.adapt  # each reply's model first learns from its seed text
        self.sample_every = self.settings.sample_every  # while training, a reply every this many steps
        self.next_sample_at: int | None = None  # the step of the next one (None: work it out)
        self.session = None  # created in a worker, so torch loads off the event loop
        self.info = None
        self.sampler = None
        self.sampler_for: tuple[int, int] | None = None  # (exchange, training step) of self.sampler
        self.training = "idle"  # idle, starting, running, paused
        self.last_seed: str | None = None
        self.streaming = False
        self.downloading = False  # the training worker is fetching the book
        # Clear while a training thread runs. Textual marks a cancelled thread worker finished at
        # once, while its thread goes on to the end of the step in flight: this is what to wait for.
        self.training_ended = threading.Event()
        self.training_ended.set()
        self.training_mailbox: Mailbox | None = None  # the running training's, for announce_pause
        self.signals_handled: list[int] = []  # by handle_termination_signals, until unmounted
        self.mounted_at = 0.0
        self.engine_timer = None  # polls until the first screen is drawn, then loads the engine
        self.engine_error: str | None = None  # why the start-up model could not be opened
        self.pending_seed: str | None = None  # a seed text entered while the model was loading
        self.evaluations = 0  # f5: exact evaluations started, each with a note of its own
        self.evaluating = False
        self.pick_mode = False  # f3: the person picks each next character (PickWanted)
        self.pick_top: tuple | None = None  # the candidates a waiting reply offers, while it waits
        self.pick_exchange = 0  # the number of the reply that waits
        self.pick_answers: queue.Queue = queue.Queue()  # the picks, to the generation worker

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield Transcript(id="transcript")
                yield CandidateBars(id="candidates")
                yield SeedInput(history_path=seed_history_path(),
                                placeholder=seed_placeholder("The island"),
                                id="seed-input", value="")
            # A watched run trains in its own process: its chart waits for the run's first step.
            empty = "waiting for the run's first step" if self.watch is not None else "no training yet: press ctrl+t"
            yield LossPanel(empty, known=self.watch is not None, id="loss-panel")
        yield StatusLine(id="status")
        # Where even compact keys do not fit (80 columns), these go first: each is in the help
        # screen and the palette, and Reply and New model are the least used.
        yield CoalescingFooter(drop_first=("reply_settings", "new_model", "regenerate", "open_picker", "help"))

    def on_mount(self) -> None:
        self.query_one("#candidates").border_title = "next character"
        self.show_chart(self.settings.chart)
        seed_input = self.query_one(SeedInput)
        seed_input.focus()
        if self.is_headless:
            seed_input.cursor_blink = False  # nobody to see it; keeps screenshots stable
        self.query_one(Transcript).note("Loading torch and the model…", id="engine-note")
        self.update_status()
        if self.watch is not None:
            from rnntui.metrics import MetricsFollower, resolve_run

            metrics, checkpoint = resolve_run(self.watch)
            self.follower = MetricsFollower(metrics)
            self.start_checkpoint = checkpoint if checkpoint.is_file() else None
            self.query_one(LossPanel).show_corpus(f"watching {metrics.name}")
            self.follow_metrics()
            self.set_interval(1.0, self.follow_metrics)
        self.mounted_at = time.monotonic()
        self.engine_timer = self.set_interval(0.02, self.load_engine_once_drawn)
        self.handle_termination_signals()
        if self.watch is None:  # a watched run saves itself
            self.set_interval(self.autosave_every, self.autosave)

    def handle_termination_signals(self) -> None:
        """SIGTERM (a shutdown, ``kill``) and SIGHUP (the terminal window closed) would end the
        process at once: training progress not saved would be lost and, after SIGTERM, the
        terminal left in the app's modes. Save what is unsaved and exit cleanly instead."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (an app run by a test in a thread)
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):  # Windows has neither
            number = getattr(signal, name, None)
            if number is not None:
                try:
                    loop.add_signal_handler(number, self.on_termination_signal, number)
                    self.signals_handled.append(number)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass

    def on_termination_signal(self, number: int) -> None:
        asyncio.get_running_loop().remove_signal_handler(number)  # a second one ends it at once
        unsaved = self.session.unsaved_steps if self.session is not None else 0
        if unsaved > 0:
            self.save_and_quit(on_signal=number)
        elif number == getattr(signal, "SIGHUP", None):
            os.kill(os.getpid(), number)  # nothing to save, and no terminal left to restore
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
        keys = self.query_one(CoalescingFooter).children
        if any(key.region for key in keys) or time.monotonic() - self.mounted_at > 1.0:
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

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.action != "quit" and binding not in self.PICK_BINDINGS:
                title = self.PALETTE_TITLES.get(binding.action, binding.description)
                yield SystemCommand(title, self.KEY_HELP[binding.action],
                                    partial(self.run_action, binding.action))
        # Rare enough to need no key of its own.
        yield SystemCommand("Clear the chat", "remove every reply so far from the window (ctrl+f exports them "
                            "first); the model and its training are not touched", self.action_clear_chat)

    def key_help(self) -> list[tuple[str, str]]:
        # In the help screen, "this help" goes last, whatever the footer's order.
        bindings = sorted((b for b in self.BINDINGS if b not in self.PICK_BINDINGS), key=lambda b: b.action == "help")
        keys = [(b.key.replace(",", " / "), self.KEY_HELP[b.action]) for b in bindings]
        return keys + [("1 … 5 / space", "in pick mode, while a reply waits: take that candidate / let the "
                        "model draw"), ("up / down", "recall earlier seed texts"), ("ctrl+p", "command palette")]

    def draw_as_set(self, sampler) -> None:
        """Give ``sampler`` the scale factor, top-k and top-p set now (from its next character)."""
        sampler.scale_factor, sampler.top_k, sampler.top_p = self.scale_factor, self.top_k, self.top_p

    def drawn_with(self) -> str:
        """How a reply is drawn now, as its header names it: the scale factor, any cut, and
        whether it adapts to its seed text."""
        cut = "".join(f" · {name} {value}" for name, value in self.sampling_cut())
        return f"scale factor {self.scale_factor:.2f}{cut}{' · adapted to the seed text' if self.adapt else ''}"

    def sampling_cut(self) -> list[tuple[str, str]]:
        """The cut of the distribution that replies draw from, as (name, value) pairs; none
        when they draw from all of it, as in the book."""
        cut = [("top-k", f"{self.top_k}")] if self.top_k else []
        return cut + ([("top-p", f"{self.top_p:g}")] if self.top_p < 1 else [])

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Textual's notify, except that a notification already on the screen is not stacked
        again (ctrl+up pressed eight times at the top of the ladder gave eight toasts); see
        textual_internals for what this reads."""
        from rnntui.tui.textual_internals import showing_notifications

        showing = showing_notifications(self)
        if any(n.message == message and n.title == title and n.severity == severity for n in showing):
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def update_status(self) -> None:
        waiting = "none open (ctrl+o, ctrl+n)" if self.engine_error else "loading…"
        model = f"{self.info.name} · step {self.info.step:,}" if self.info else waiting
        state = {"idle": "stopped", "starting": "starting…", "running": "running", "paused": "paused"}
        if self.watch is not None:
            state["idle"] = "watching"
        short_model = (f"step [b]{self.info.step:,}[/] │ [b]{self.info.name}[/]" if self.info
                       else f"[b]{'no model' if self.engine_error else 'loading…'}[/]")
        cut = "".join(f"{name} [b]{value}[/] │ " for name, value in self.sampling_cut())
        cut += "[b]you pick[/] │ " if self.pick_mode else ""
        for status in self.query(StatusLine):  # none while the app takes its widgets down
            status.show(
                f" scale factor [b]{self.scale_factor:.2f}[/] │ length [b]{self.length:,}[/] │ {cut}"
                f"model [b]{model}[/] │ training [b]{state[self.training]}[/]",
                # The same facts in fewer words, for narrow terminals; the model last, as a long
                # name is cut short there.
                f" scale [b]{self.scale_factor:.2f}[/] │ length [b]{self.length:,}[/] │ {cut}"
                f"[b]{state[self.training]}[/] │ {short_model}")

    # -- engine start and loading -----------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine")
    def load_engine(self) -> None:
        try:
            from rnntui.session import Session

            if self.manage_gc:
                tune_garbage_collector()
            session = Session(self.train_config, self.model_options)
            info = session.open(self.start_checkpoint, self.start_corpus, finetune=self.finetune,
                                  encoding=self.encoding)
        except RnntuiError as error:
            # An empty session, not the one that failed halfway: ctrl+o and ctrl+n still work.
            self.session = Session(self.train_config, self.model_options)
            self.post_message(EngineFailed(str(error)))
            return
        self.session = session
        self.post_message(EngineReady(info, session.history, f"Ready: {info.name}."))

    def on_engine_ready(self, message: EngineReady) -> None:
        self.info = message.info
        for seed_input in self.query(SeedInput):  # an example from the model's own text
            seed_input.placeholder = seed_placeholder(message.info.example_seed)
        if self.reflow_setting is None:  # a new model's text decides how its replies show line breaks
            self.reflow = message.info.hard_wrapped
        self.sub_title = message.info.name
        history = message.history
        # Worker messages can arrive while the app takes its widgets down: absent ones are skipped.
        for panel in self.query(LossPanel) if self.watch is None else ():  # a watched run's file drives its chart
            panel.set_history(history.train, history.val, message.info.step,
                              getattr(self.session.checkpoint, "elapsed", 0.0) or 0.0)
            panel.set_device(message.info.device)
            panel.show_corpus(message.info.corpus)
        hint = ("ctrl+o loads the run's newest checkpoint" if self.watch is not None
                else "ctrl+t trains the model while you watch")
        for transcript in self.query(Transcript):
            transcript.note(f"{message.note} Type a seed text and press enter (enter on an empty line "
                            f"continues the reply); {hint}, f1 lists every key.", id="engine-note")
        self.update_status()
        self.engine_error = None
        if self.pending_seed is not None:  # typed while the model loaded: answer it now
            seed_text, self.pending_seed = self.pending_seed, None
            self.start_generation(seed_text)

    def on_engine_failed(self, message: EngineFailed) -> None:
        self.notify(message.error, title="Could not load", severity="error", timeout=10)
        if self.info is None:  # at start-up there is no model; later, the current one stays
            self.engine_error = message.error
            self.pending_seed = None
            self.update_status()  # "loading…" no longer
            for panel in self.query(LossPanel):
                panel.set_history([], [], 0)
            for transcript in self.query(Transcript):
                transcript.note(f"Could not load: {message.error}. ctrl+o opens a checkpoint (the bundled "
                                "model among them), ctrl+n starts a new model on a text file.", id="engine-note")

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

    # -- generation -------------------------------------------------------------------------
    def on_input_submitted(self, event: SeedInput.Submitted) -> None:
        if isinstance(event.input, SeedInput):
            self.action_generate()

    def action_generate(self) -> None:
        seed_input = self.query_one(SeedInput)
        if not seed_input.value and self.exchanges:
            self.action_continue_reply()  # enter on an empty line: go on, as in a chat
            return
        self.start_generation(seed_input.value)

    def action_continue_reply(self) -> None:
        """Another ``length`` characters after the last reply: with the state carried when the
        weights are those it was written with, else from the new weights warmed on its text."""
        if not self.ready():
            return
        if not self.exchanges:
            self.notify("Nothing to continue yet: type a seed text and press enter.")
            return
        if self.streaming:
            self.notify("The reply is still streaming; escape stops it.")
            return
        number = max(self.exchanges)
        exchange = self.exchanges[number]
        step = self.session.step
        carry = self.sampler is not None and self.sampler_for == (number, step)
        if not carry:
            exchange.continued_at = step
        settings = self.drawn_with()
        if settings != exchange.drawn_with:  # each part of the reply names the settings it was drawn with
            exchange.drawn_with = settings
            exchange.header_text += f" · then {settings}"
            exchange.finish(exchange.note)
        self.set_streaming(True)
        self.generate(number, exchange.reply_plain, self.length, carry=carry)

    def action_regenerate(self) -> None:
        if self.last_seed is None:
            self.notify("Nothing to repeat yet: type a seed text and press enter.")
            return
        self.start_generation(self.last_seed)

    def sample_while_training(self, step: int) -> None:
        """Every ``sample_every`` steps of training, a reply from the last seed text ("The
        island" before there is one), as ``rnntui train --sample-every`` prints one: what the
        model writes shows what it has learnt so far. None while a reply streams or waits for
        a pick, or a dialog is up: that one is skipped, not queued."""
        if not self.sample_every:
            return
        due = self.next_sample_at is not None and step >= self.next_sample_at
        if self.next_sample_at is None or due:  # counted from here on, or on to the next one
            self.next_sample_at = (step // self.sample_every + 1) * self.sample_every
        if not due:
            return
        seed_text = self.last_seed or (self.info.example_seed if self.info else "The island")
        if (self.streaming or self.pick_mode or self.screen is not self.screen_stack[0]
                or self.session.vocab.unknown_chars(seed_text)):
            return
        self.start_generation(seed_text, while_training=True)

    def start_generation(self, seed_text: str, while_training: bool = False) -> None:
        if not seed_text:
            example = self.info.example_seed if self.info else "The island"
            self.notify(f"Type a seed text first, e.g. {example}.", severity="warning")
            return
        if self.session is None:  # torch is still loading: reply as soon as the model is there
            self.pending_seed = seed_text
            self.notify(f"The model is still loading; the reply to {seed_text!r} starts once it is ready.")
            return
        if not self.ready():
            return
        try:
            self.session.vocab.check(seed_text)
        except RnntuiError as error:
            self.notify(str(error), title="Seed text", severity="error", timeout=8)
            return
        if not while_training:  # a sample while training is not something the person typed
            seed_input = self.query_one(SeedInput)
            seed_input.remember(seed_text)
            if seed_input.value == seed_text:  # not text typed since (ctrl+r, or a reply that waited)
                seed_input.value = ""
            self.last_seed = seed_text
        number = len(self.exchanges) + 1
        settings = self.drawn_with()
        header = (f"#{number}{' · while training' if while_training else ''} · {settings} · {self.info.name} "
                  f"· step {self.session.step:,}")
        exchange = self.query_one(Transcript).add_exchange(
            Exchange(number, seed_text, header, reflow=self.reflow, palette=self.palette))
        exchange.drawn_with = settings
        self.exchanges[number] = exchange
        self.set_streaming(True)
        self.generate(number, seed_text, self.length)

    @work(thread=True, exclusive=True, group="generate")
    def generate(self, number: int, seed_text: str, length: int, carry: bool = False) -> None:
        """Stream a reply to ``seed_text``, or with ``carry`` go on with the last sampler."""
        worker = get_current_worker()
        seed = None if self.random_seed is None else self.random_seed + number
        count = 0
        mailbox = Mailbox()
        try:
            if carry:
                sampler, chars = self.sampler, self.sampler.resume(length)
            else:
                step = self.session.step
                sampler = self.session.sampler(self.scale_factor, seed, candidates=5,
                                                 adapt_to=seed_text if self.adapt else None)
                self.sampler, self.sampler_for = sampler, (number, step)
                chars = sampler.stream(seed_text, length)
            self.draw_as_set(sampler)
            sampler.choose = self.wait_for_pick(number, mailbox, worker)
            last_post = time.monotonic()
            for sampled in chars:
                mailbox.put(StreamedChar(sampled.char, sampled.probability, sampled.top))
                count += 1
                if worker.is_cancelled:  # after keeping the character drawn, which a
                    break                # continuation's carried state has already read
                now = time.monotonic()
                # At most one message per frame, and none while the UI has one to handle.
                if now - last_post >= FRAME and mailbox.claim():
                    self.post_message(GenerationChunk(number, mailbox))
                    last_post = now
            self.post_message(GenerationChunk(number, mailbox))
        except RnntuiError as error:
            self.post_message(GenerationDone(number, count, True, str(error)))
            return
        self.post_message(GenerationDone(number, count, worker.is_cancelled))

    def wait_for_pick(self, number: int, mailbox: Mailbox, worker: Worker) -> Callable[[tuple], str | None]:
        """The sampler's ``choose``: in pick mode (switched on or off at any character), show the
        text so far and the candidates, then wait, in the generation thread, for the person's
        pick; None lets the model draw."""
        answers = self.pick_answers = queue.Queue()

        def choose(top: tuple) -> str | None:
            if not self.pick_mode:
                return None
            if mailbox.claim():
                self.post_message(GenerationChunk(number, mailbox))
            self.post_message(PickWanted(number, top))
            while not worker.is_cancelled:  # escape, or the app closing
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

    def action_pick(self, number: int) -> None:
        top = self.pick_top
        self.pick_answers.put(top[number][0] if number >= 0 else None)
        exchange = self.exchanges.get(self.pick_exchange)
        if number >= 0 and exchange is not None:
            exchange.picked += 1  # its header says how much of it was the person's
        self.end_pick()

    def on_candidate_bars_clicked(self, message: CandidateBars.Clicked) -> None:
        """In pick mode, a click on one of the candidates picks it, as its number key does."""
        if self.check_action("pick", (message.index,)):
            self.action_pick(message.index)

    def end_pick(self) -> None:
        self.pick_top = None
        for bars in self.query(CandidateBars):
            bars.border_title = "next character"
        self.lend_pick_keys(False)

    def lend_pick_keys(self, lent: bool) -> None:
        """While a reply waits for a pick, the seed input leaves pick mode's keys to the app."""
        keys = frozenset(binding.key for binding in self.PICK_BINDINGS) if lent else frozenset()
        for seed_input in self.query(SeedInput):
            seed_input.lent_keys = keys
        self.refresh_bindings()

    def action_toggle_pick(self) -> None:
        self.pick_mode = not self.pick_mode
        if not self.pick_mode and self.pick_top is not None:
            self.action_pick(-1)  # a reply waiting for a pick goes on by itself
        self.update_status()
        self.notify("Pick mode: each next character waits for you (1-5 or a click picks, space draws)."
                    if self.pick_mode else "Pick mode off: the model draws every character.")

    def on_generation_chunk(self, message: GenerationChunk) -> None:
        chars = message.mailbox.take()
        if not chars:
            return
        exchange = self.exchanges.get(message.exchange)
        if exchange is not None and exchange.is_attached:
            exchange.append(chars)
        for bars in self.query(CandidateBars) if chars[-1].top else ():
            bars.show_top(chars[-1].top)

    def on_generation_done(self, message: GenerationDone) -> None:
        exchange = self.exchanges.get(message.exchange)
        if message.exchange == len(self.exchanges):
            self.set_streaming(False)
        if self.pick_top is not None and self.pick_exchange == message.exchange:  # stopped while it waited
            self.end_pick()
        if message.error:
            self.notify(message.error, title="Generation failed", severity="error")
        if exchange is None or not exchange.is_attached:
            return
        total = len(exchange.generated)  # a continued reply counts all its parts
        note = f"stopped after {total:,} characters" if message.stopped else f"{total:,} characters"
        if exchange.continued_at is not None:
            note += f", continued at step {exchange.continued_at:,}"
        if exchange.picked:
            note += f", {exchange.picked:,} picked by you"
        exchange.finish(note)

    def set_streaming(self, streaming: bool) -> None:
        self.streaming = streaming
        self.refresh_bindings()  # shows or hides Stop in the footer

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_stream" and not self.streaming:
            return False  # nothing to stop: off the footer
        if action == "pick" and (self.pick_top is None or parameters[0] >= len(self.pick_top)
                                 or self.screen is not self.screen_stack[0]):
            return False  # no reply waits for a pick (or a dialog is up): the key goes on as usual
        return True

    def action_stop_stream(self) -> None:
        for worker in self.workers:
            if worker.group == "generate" and worker.is_running:
                worker.cancel()

    def action_copy_reply(self) -> None:
        if not self.exchanges:
            self.notify("Nothing to copy yet: type a seed text and press enter.")
            return
        number = max(self.exchanges)
        text = self.exchanges[number].reply_plain
        # OSC 52: the terminal puts it on the system clipboard (most terminals allow it).
        self.copy_to_clipboard(text)
        self.notify(f"Copied reply #{number} ({len(text):,} characters).")

    def action_export_transcript(self) -> None:
        if not self.exchanges:
            self.notify("Nothing to export yet: type a seed text and press enter.")
            return
        # Each reply as shown: its header line, then the seed text and what followed it.
        text = "".join(f"{exchange.header_line}\n\n{exchange.reply_plain}\n\n"
                       for _, exchange in sorted(self.exchanges.items()))
        self.export(text)

    @work(thread=True, group="export")
    def export(self, text: str) -> None:
        from rnntui.files import write_atomically
        from rnntui.paths import transcripts_dir

        path = transcripts_dir() / f"transcript-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        try:
            write_atomically(path, text.encode("utf-8"))
        except RnntuiError as error:
            self.call_from_thread(self.notify, str(error), title="Export failed", severity="error", timeout=10)
            return
        count = len(self.exchanges)
        self.call_from_thread(self.notify, f"Exported {count} repl{'y' if count == 1 else 'ies'} to {path}",
                              title="Transcript")

    def action_scale(self, direction: int) -> None:
        new = next_scale(self.scale_factor, direction)
        if new == self.scale_factor:
            end = "maximum" if direction > 0 else "minimum"
            self.notify(f"The scale factor is at its {end}, {new:g}.", severity="warning")
            return
        self.scale_factor = new
        if self.sampler is not None:
            self.draw_as_set(self.sampler)  # applies from the next character
        self.update_status()
        self.remember(scale_factor=new)

    def show_chart(self, shown: bool | None) -> None:
        """Show or hide the loss chart; None leaves it to the terminal's width (app.tcss)."""
        panel = self.query_one(LossPanel)
        panel.set_class(shown is True, "-shown")
        panel.set_class(shown is False, "-hidden")

    def action_toggle_chart(self) -> None:
        shown = not self.query_one(LossPanel).display
        self.show_chart(shown)
        self.remember(chart=shown)

    def watch_theme(self, theme: str) -> None:
        self.remember(theme=theme)
        self.palette = self.theme_palette()
        for exchange in self.exchanges.values():  # the replies so far, in the new theme's colours
            exchange.set_palette(self.palette)

    def theme_palette(self) -> dict:
        """The colours of a reply's unlikely characters: the theme's warning and error colours."""
        from textual.color import Color

        theme = self.current_theme
        if not (theme.warning and theme.error):
            return confidence_palette()
        return confidence_palette(Color.parse(theme.warning), Color.parse(theme.error))

    def remember(self, **changes) -> None:
        """Keep a setting the person changed for the next session (a tiny atomic write).
        Values the caller passed in (the screenshot script's, say) are not written."""
        settings = replace(self.settings, **changes)
        if settings == self.settings or self.settings_error is not None:
            return
        try:
            write_settings(self.settings_path, settings)
        except RnntuiError as error:
            self.settings_error = f"settings are not being saved ({error})"
            self.notify(self.settings_error, severity="warning")
            return
        self.settings = settings

    def action_reply_settings(self) -> None:
        from rnntui.tui.screens.reply_settings import ReplySettingsScreen

        def chosen(changes: dict | None) -> None:
            if changes is None:
                return
            for name, value in changes.items():
                setattr(self, name, value)
            if "reflow" in changes:  # the person's choice, from now on, over the text's
                self.reflow_setting = self.reflow
                for exchange in self.exchanges.values():
                    exchange.set_reflow(self.reflow)
            self.next_sample_at = None  # counted from the current step
            if self.sampler is not None:  # a reply streaming now draws the new way from its next character
                self.draw_as_set(self.sampler)
            self.update_status()
            self.remember(**changes)
            cut = ", ".join(f"{name} {value}" for name, value in self.sampling_cut()) or "no cut"
            lines = "wrapped lines joined" if self.reflow else "line breaks as written"
            samples = (f"a reply every {self.sample_every:,} steps of training" if self.sample_every
                       else "no replies while training")
            adapted = ", adapting to each seed text" if self.adapt else ""
            self.notify(f"{self.length:,} characters a reply, scale factor {self.scale_factor:g}, {cut}, "
                        f"{lines}, {samples}{adapted}.", title="Reply settings")

        current = {"length": self.length, "scale_factor": self.scale_factor, "top_k": self.top_k, "top_p": self.top_p,
                   "reflow": self.reflow, "sample_every": self.sample_every, "adapt": self.adapt}
        self.push_screen(ReplySettingsScreen(current), chosen)

    def action_clear_chat(self) -> None:
        if self.streaming:
            self.notify("A reply is streaming: escape stops it, then the chat can be cleared.")
            return
        for transcript in self.query(Transcript):
            transcript.remove_children()
        self.exchanges.clear()
        self.sampler, self.sampler_for = None, None  # nothing left to continue
        self.notify("The chat is cleared; the model and its training are as they were.")

    # -- model info ---------------------------------------------------------------------------
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

    # -- exact evaluation -------------------------------------------------------------------
    def action_evaluate(self) -> None:
        if not self.ready():
            return
        if self.evaluating:
            self.notify("An evaluation is already running; its progress is in the chat.")
            return
        if self.session.needs_download():
            self.notify("The model is judged on the held-out end of The Mysterious Island, which is not "
                        "downloaded yet: ctrl+t downloads it (and trains), as does rnntui corpus --fetch; "
                        "rnntui corpus --fetch FILE copies one you have, as does rnntui --corpus FILE.",
                        title="Evaluation", severity="error", timeout=10)
            return
        self.evaluating = True
        self.evaluations += 1
        self.evaluate(self.evaluations)

    @work(thread=True, exclusive=True, group="evaluate")
    def evaluate(self, number: int) -> None:
        """The exact loss of the current weights on the held-out tail (evaluate_ids), then the
        dynamic evaluation's on the same characters (a copy that adapts as it reads), reported
        through messages; a closing app stops it between two chunks."""
        from rnntui.dynamic import DynamicConfig, dynamic_loss
        from rnntui.evaluate import evaluate_ids

        worker = get_current_worker()
        try:
            held_out = self.session.held_out()
        except RnntuiError as error:
            self.post_message(EvaluationDone(number, error=str(error)))
            return
        last_post = time.monotonic()
        self.post_message(EvaluationProgress(number, held_out, 0, len(held_out.ids) - 1))
        static = None

        def progress(done: int, total: int) -> None:
            nonlocal last_post
            if worker.is_cancelled:
                raise EvaluationCancelled
            if time.monotonic() - last_post >= 0.25:
                last_post = time.monotonic()
                self.post_message(EvaluationProgress(number, held_out, done, total, static is not None, static))

        config = DynamicConfig()
        try:
            static, count = evaluate_ids(held_out.model, held_out.ids, progress=progress)
            self.post_message(EvaluationProgress(number, held_out, 0, count, True, static))
            try:
                dynamic = dynamic_loss(held_out.model, held_out.ids, config, held_out.train_ids,
                                       progress=progress).loss
            except RnntuiError:  # no training text for the rms rule's statistics: the static figure alone
                dynamic = None
        except EvaluationCancelled:
            return
        self.post_message(EvaluationDone(number, held_out, static, count, dynamic_loss=dynamic,
                                         dynamic_rule=config.describe()))

    def on_evaluation_progress(self, message: EvaluationProgress) -> None:
        held_out, share = message.held_out, message.done / max(message.total, 1)
        if message.dynamic:
            text = (f"Validation loss at step {held_out.step:,}: {message.loss:.4f} nats/char exact; dynamic "
                    f"evaluation (adapting as it reads): {share:.0%}")
        else:
            text = (f"Evaluating step {held_out.step:,} on the held-out last {held_out.val_fraction:.0%} of "
                    f"{held_out.corpus_name}: {share:.0%}")
        for transcript in self.query(Transcript):
            transcript.note(text, id=f"evaluation-{message.number}")

    def on_evaluation_done(self, message: EvaluationDone) -> None:
        self.evaluating = False
        if message.error is not None:
            self.notify(message.error, title="Evaluation", severity="error", timeout=10)
            return
        held_out, loss = message.held_out, message.loss
        text = (f"Validation loss at step {held_out.step:,}: {loss:.4f} nats/char ({loss / math.log(2):.2f} "
                f"bits/char), exact, over the last {message.characters:,} characters of {held_out.corpus_name}")
        if message.dynamic_loss is not None:
            dynamic = message.dynamic_loss
            text += (f"; dynamic evaluation {dynamic:.4f} nats/char ({dynamic / math.log(2):.2f} bits/char), "
                     f"adapting as it reads ({message.dynamic_rule}; the model itself is unchanged)")
        for transcript in self.query(Transcript):
            transcript.note(text, id=f"evaluation-{message.number}")
        self.notify(text + ".", title="Evaluation", timeout=10)

    # -- training ---------------------------------------------------------------------------
    def action_toggle_training(self) -> None:
        if not self.trains_here("it trains in its own process. ctrl+o loads its newest checkpoint."):
            return
        if self.training == "idle":
            self.training = "starting"
            self.next_sample_at = None  # the first sample comes sample_every steps from here
            self.train()
            if not self.query_one(LossPanel).display:  # hidden on a narrow terminal, or by choice
                self.notify("Training. The loss chart is hidden: ctrl+b shows it.")
        elif self.training == "running":
            self.session.trainer.pause()
            self.training = "paused"
            self.announce_pause(self.session.trainer)
        elif self.training == "paused":
            self.session.trainer.resume()
            self.training = "running"
        self.update_status()

    @work(thread=True, group="pause")
    def announce_pause(self, trainer: Trainer) -> None:
        """The step in flight still finishes after pause(): report where training really stopped."""
        while not trainer.wait_until_paused(0.05):
            if not trainer.paused or trainer.stopping or self.training_ended.is_set():
                return  # resumed or stopped meanwhile
        mailbox = self.training_mailbox
        if mailbox is not None and mailbox.claim():  # the last steps, which the rate limit held back
            self.post_message(TrainingProgress(mailbox))
        self.post_message(TrainingPaused(trainer.step))

    def on_training_paused(self, message: TrainingPaused) -> None:
        if self.training == "paused":
            self.notify(f"Training paused at step {message.step:,}.")

    @work(thread=True, exclusive=True, group="train")
    def train(self) -> None:
        self.training_ended.clear()
        try:
            self._train(get_current_worker())
        finally:
            self.training_ended.set()

    def _train(self, worker: Worker) -> None:
        try:
            if self.session.needs_download():
                from rnntui.download import ensure_default_corpus

                self.downloading = True  # nothing waits for this worker meanwhile
                try:
                    ensure_default_corpus(lambda done, total: self.post_message(DownloadProgress(done, total)))
                finally:
                    self.downloading = False
            if worker.is_cancelled:  # another model was loaded (or the app closed) meanwhile
                self.post_message(TrainingStopped(None))
                return
            trainer = self.session.ensure_trainer()
            note, self.session.corpus_note = self.session.corpus_note, None
            if note:
                self.post_message(TrainingNote(note))
        except DownloadError as error:
            # The engine's message names the command-line way; in the app there is one more.
            self.post_message(TrainingStopped(f"{error}, or press ctrl+n for a new model on any text file"))
            return
        except RnntuiError as error:
            self.post_message(TrainingStopped(str(error)))
            return
        mailbox = self.training_mailbox = Mailbox()
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
        for status in self.query(StatusLine):
            status.show_message(
                f" downloading The Mysterious Island from Project Gutenberg: {message.done / 1e6:.1f} MB{total}")

    def on_training_progress(self, message: TrainingProgress) -> None:
        # The training thread posts until it ends, which can be after the app has begun to take
        # its widgets down: the panel and the status line are then absent, and left alone.
        panels = list(self.query(LossPanel))
        if self.training == "starting":
            self.training = "running"
            for panel in panels:
                panel.set_device(f"{self.session.trainer.device} ({self.session.trainer.precision})")
                panel.show_corpus(getattr(self.session.corpus, "name", None))  # the text it trains on
        events = message.mailbox.take()
        for event in events:
            if event.overfitting:
                text = (f"At step {event.step:,} {event.overfitting}. f2 raises dropout; ctrl+s keeps this "
                        "model (the best estimate was earlier); ctrl+n can fine-tune the bundled model on a small "
                        "text instead, which needs far fewer steps.")
                for transcript in self.query(Transcript):
                    transcript.note(text)
                self.notify(text, title="Overfitting", severity="warning", timeout=15)
        if events:
            for panel in panels:
                panel.add_events(events)
            self.info.step = events[-1].step
            if self.training == "running":
                self.sample_while_training(events[-1].step)
        self.update_status()

    def on_training_note(self, message: TrainingNote) -> None:
        self.notify(message.text, title="Training", severity="warning", timeout=10)

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.training = "idle"
        if message.error:
            self.notify(message.error, title="Training stopped", severity="error", timeout=10)
            for transcript in self.query(Transcript):  # a toast is easy to miss: a line in the chat too
                from textual.markup import escape

                transcript.note(escape(f"Training stopped: {message.error}."))
        self.update_status()

    def action_training_settings(self) -> None:
        if not self.trains_here("its settings are its own process's."):
            return
        from rnntui.tui.screens.training_settings import TrainingSettingsScreen

        def chosen(changes: dict | None) -> None:
            if changes is None:
                return
            restart = self.training in ("starting", "running")
            self.apply_training_settings(changes, restart)

        self.push_screen(TrainingSettingsScreen(self.session.settings()), chosen)

    @work(thread=True, exclusive=True, group="engine")
    def apply_training_settings(self, changes: dict, restart: bool) -> None:
        """Stop training, rebuild the trainer with the new settings, and say so (the UI then
        starts training again if it was running)."""
        self.stop_training_and_wait()
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
        if message.restart and self.training == "idle":
            self.training = "starting"
            self.train()
            self.update_status()

    # -- checkpoints ------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.ready():
            self.save()

    def action_save_as(self) -> None:
        if not self.ready():
            return
        from rnntui.tui.screens.dialogs import SaveAsScreen

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.save(path=path)

        self.push_screen(SaveAsScreen(self.session.next_save_path(), self.session.save_to), chosen)

    def autosave(self) -> None:
        """Every few minutes, save training progress, so that a crash or a power cut loses at
        most that much (quitting, closing the terminal and ``kill`` save it anyway)."""
        saving = any(worker.group == "save" and worker.is_running for worker in self.workers)
        if (self.session is not None and self.training in ("running", "paused") and not saving
                and self.session.unsaved_steps > 0):
            self.save(autosave=True)

    @work(thread=True, exclusive=True, group="save")
    def save(self, autosave: bool = False, path: Path | None = None) -> None:
        saved = self.save_now(autosave, path)
        if saved is not None:
            self.post_message(Saved(str(saved), autosave=autosave))

    def save_now(self, autosave: bool = False, path: Path | None = None) -> Path | None:
        """Save from a worker thread (to ``path``, if one was chosen); a failure is reported to
        the UI and gives None."""
        try:
            return self.session.save(path)
        except RnntuiError as error:
            self.post_message(Saved(None, str(error), autosave=autosave))
            return None

    def on_saved(self, message: Saved) -> None:
        if message.error:
            title = "Autosave failed" if message.autosave else "Save failed"
            self.notify(message.error, title=title, severity="error", timeout=10)
            return
        name, verb = Path(message.path).name, "Autosaved" if message.autosave else "Saved"
        if name != self.session.name:  # another model came in while this one was written
            self.notify(f"{verb} the previous model to {message.path}", title="Checkpoint saved")
            return
        self.info.name = self.sub_title = name
        # Where it wrote, in full: a model opened from a file saves back to that file.
        self.notify(f"{verb} step {self.session.saved_step:,} to {message.path}", title="Checkpoint saved",
                    timeout=3 if message.autosave else 5)
        self.update_status()

    def action_open_picker(self) -> None:
        if not self.engine_started():
            return
        from rnntui.checkpoint import list_checkpoints, read_header
        from rnntui.paths import bundled_model_path, checkpoints_dir
        from rnntui.tui.screens.picker import CheckpointPicker

        folder = checkpoints_dir() if self.watch is None else self.follower.path.parent
        entries = list_checkpoints(folder)
        bundled = bundled_model_path()
        if bundled.is_file():
            entries.append((bundled, read_header(bundled)[0]))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.if_unsaved_work(f"Load {path.name}?", f"load {path.name}",
                                     lambda save_first: self.load_checkpoint(path, save_first))

        self.push_screen(CheckpointPicker(entries, folder), chosen)

    @work(thread=True, exclusive=True, group="engine")
    def load_checkpoint(self, path: Path, save_first: bool = False) -> None:
        session = self.session
        try:
            checkpoint, model = session.read(path)
        except RnntuiError as error:
            self.post_message(EngineFailed(str(error)))
            return
        if not self.stop_training_and_save(save_first):
            return
        info = session.install(checkpoint, model, path)
        self.post_message(EngineReady(info, session.history, f"Loaded {info.name} (step {info.step:,})."))

    def action_new_model(self) -> None:
        if self.watch is not None:
            self.notify("Watching a run: its model is trained in its own process.")
            return
        if not self.engine_started():
            return
        from rnntui.tui.screens.dialogs import NewModelChoice, NewModelScreen

        def chosen(choice: NewModelChoice | None) -> None:
            if choice is not None:
                self.if_unsaved_work("Start a new model?", "start",
                                     lambda save_first: self.new_model(choice.corpus_path, save_first,
                                                                       choice.finetune, choice.encoding))

        self.push_screen(NewModelScreen(self.info.name if self.info else None), chosen)

    @work(thread=True, exclusive=True, group="engine")
    def new_model(self, corpus_path: Path, save_first: bool = False, finetune: bool = False,
                  encoding: str | None = None) -> None:
        from rnntui.corpus import load_corpus

        try:
            corpus = load_corpus(corpus_path, encoding)  # read before the current model is touched
        except RnntuiError as error:
            self.post_message(EngineFailed(str(error)))
            return
        if not self.stop_training_and_save(save_first):
            return
        try:
            if finetune:
                info = self.session.finetune(corpus_path, corpus)
            else:
                info = self.session.fresh(corpus_path, corpus)
        except RnntuiError as error:
            self.post_message(EngineFailed(str(error)))
            return
        kind = "Fine-tuning" if finetune else "New model"
        self.post_message(EngineReady(info, self.session.history,
                                      f"{kind} ({len(self.session.vocab)} characters)."))

    def if_unsaved_work(self, title: str, verb: str, then: Callable[[bool], object]) -> None:
        """Run ``then(save_first)`` now if no training progress would be lost; otherwise ask
        whether to save it first, throw it away, or do nothing."""
        unsaved = self.session.unsaved_steps if self.session is not None else 0
        if unsaved <= 0:
            then(False)
            return
        from rnntui.tui.screens.dialogs import UnsavedScreen

        def chosen(answer: str) -> None:
            if answer in ("save", "discard"):
                then(answer == "save")

        self.push_screen(UnsavedScreen(lambda: self.session.unsaved_steps, title, verb), chosen)

    def stop_training_and_save(self, save_first: bool) -> bool:
        """From a worker: stop training, then save if asked; False if that save failed."""
        self.stop_training_and_wait()
        if not save_first:
            return True
        path = self.save_now()
        if path is not None:
            self.post_message(Saved(str(path)))
        return path is not None

    def stop_trainer(self) -> None:
        """Ask the trainer to stop after the step in flight (also releases a paused one); a
        training worker still fetching the book stops when the download ends."""
        if self.session is not None and self.session.trainer is not None:
            self.session.trainer.stop()
        for worker in self.workers:
            if worker.group == "train":
                worker.cancel()

    def stop_training_and_wait(self) -> None:
        """Stop the trainer and wait for its worker to end."""
        self.stop_trainer()
        deadline = time.monotonic() + 60
        # A download cannot be interrupted; the cancelled worker gives up after it.
        while not self.training_ended.is_set() and not self.downloading and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- help and quitting ------------------------------------------------------------------
    def action_help(self) -> None:
        # Imported on first use: the Markdown widget is slow to import, the first frame is not.
        from rnntui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_help()))

    async def action_quit(self) -> None:
        self.if_unsaved_work("Quit rnntui?", "quit",
                             lambda save_first: self.save_and_quit() if save_first else self.shut_down())

    @work(thread=True, exclusive=True, group="save")
    def save_and_quit(self, on_signal: int | None = None) -> None:
        """Stop training, save, and exit; ``on_signal``: asked to end by that signal, so the
        app ends even if the save fails."""
        self.stop_training_and_wait()
        try:
            path, error = self.session.save(), None
        except RnntuiError as exc:
            if on_signal is None:  # the app stays open, with the progress still counted as unsaved
                self.post_message(Saved(None, str(exc)))
                return
            path, error = None, f"rnntui: error: {exc}"
        if on_signal is not None and on_signal == getattr(signal, "SIGHUP", None):
            # The terminal is gone: Textual's shutdown would wait for ever to write to it.
            os.kill(os.getpid(), on_signal)  # its default action, now that the work is saved
        if error is None:  # said on the terminal once the app has closed
            said = f"rnntui: saved step {self.session.step:,} to {path}"
            self.call_from_thread(self.exit, f"saved {path}", 0, said)
        else:  # said on stderr once the terminal is restored
            self.call_from_thread(self.exit, None, 1, error)

    def shut_down(self) -> None:
        self.stop_trainer()
        self.action_stop_stream()
        self.exit()

    def on_unmount(self) -> None:
        self.stop_trainer()  # a paused trainer's thread would otherwise wait for ever
        loop = asyncio.get_running_loop()
        for number in self.signals_handled:  # the signals' own effect again, after the app
            loop.remove_signal_handler(number)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A worker the app cancelled itself (training, when a model is loaded) ends with a
        # CancelledError as its "error": that is no error to report.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(f"{type(event.worker.error).__name__}: {event.worker.error}",
                        title="Unexpected error", severity="error", timeout=10)
