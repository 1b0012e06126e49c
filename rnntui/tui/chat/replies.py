"""The chat's replies: the replies so far, the seed text input, and everything that makes a
reply: the generation worker, continuing, pick mode, the reply settings, copy, export and clear.

``Replies`` owns this state; the chat mode (rnntui.tui.chat.pane.ChatPane, which builds on it)
lends it the current model (``model_ready``) and says when training has taken a step
(``sample_while_training``). Workers talk to it only through messages (rnntui.tui.messages).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import groupby
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.worker import get_current_worker

from rnntui.core.errors import RnntuiError
from rnntui.core.info import counted
from rnntui.core.paths import seed_history_path
from rnntui.tui.chat.drawing import Drawing, change_note, drawn_with, next_scale, sampling_cut
from rnntui.tui.chat.picking import PickMode
from rnntui.tui.messages import (
    DrawingChanged,
    GenerationChunk,
    GenerationDone,
    Mailbox,
    ReplyControl,
    StreamedChar,
)
from rnntui.tui.persistence import Settings
from rnntui.tui.widgets.candidates import CandidateBars
from rnntui.tui.widgets.seed_input import SeedInput, seed_placeholder
from rnntui.tui.widgets.transcript import Exchange, Transcript

if TYPE_CHECKING:  # the engine (torch) is imported after the first frame is drawn
    from rnntui.charlm.sampling import Sampler
    from rnntui.charlm.session import ModelInfo, Session

FRAME = 1 / 30  # how often a streaming reply reports to the UI
REPLY_SETTINGS = ("length", "scale_factor", "top_k", "top_p", "reflow", "sample_every", "adapt")


class Replies(PickMode, Vertical):
    """Replies to seed texts. ``settings``: the reply settings to start with (the saved ones,
    or the caller's); ``remember(**changes)`` keeps a changed one for the next session. The
    status line shows the reply settings and pick mode: ``status_changed()`` says they changed."""

    def __init__(self, settings: Settings, remember: Callable[..., None], random_seed: int | None = None,
                 palette: dict | None = None, status_changed: Callable[[], None] = lambda: None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.remember, self.status_changed = remember, status_changed
        self.random_seed = random_seed
        self.palette = palette or {}  # the theme's colours for unlikely characters
        self.scale_factor, self.length = settings.scale_factor, settings.length
        self.top_k, self.top_p = settings.top_k, settings.top_p  # 0 and 1: no cut
        # Replies join wrapped lines when the person said so, else when the model's text is
        # hard-wrapped prose (decided once the model is known; the book's way until then).
        self.reflow_setting = settings.reflow
        self.reflow = True if settings.reflow is None else settings.reflow
        self.adapt = settings.adapt  # each reply's model first learns from its seed text
        self.sample_every = settings.sample_every  # while training, a reply every this many steps
        self.next_sample_at: int | None = None  # the step of the next one (None: work it out)
        self.session: Session | None = None  # lent by the chat mode once torch and the model are loaded
        self.loading = True  # torch and the first model are still loading
        self.info: ModelInfo | None = None
        self.exchanges: dict[int, Exchange] = {}
        # The last reply's sampler, handed back by its worker when it ended, to continue it with
        # its state: (sampler, exchange, training step it was made at).
        self.sampler: Sampler | None = None
        self.sampler_for: tuple[int, int] | None = None
        self.last_seed: str | None = None
        self.streaming = False
        self.pending_seed: str | None = None  # a seed text entered while the model was loading
        self.pick_mode = False  # f3: the person picks each next character (PickWanted)
        self.pick_top: tuple | None = None  # the candidates a waiting reply offers, while it waits
        self.pick_exchange = 0  # the number of the reply that waits
        self.control = ReplyControl()  # picks and escape, to the current generation worker

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript")
        yield CandidateBars(id="candidates")
        yield SeedInput(history_path=seed_history_path(), placeholder=seed_placeholder("The island"),
                        id="seed-input", value="")

    def on_mount(self) -> None:
        self.query_one("#candidates").border_title = "next character"
        seed_input = self.query_one(SeedInput)
        seed_input.focus()
        if self.app.is_headless:
            seed_input.cursor_blink = False  # nobody to see it; keeps screenshots stable
        self.note("Loading torch and the model…", id="engine-note")

    def note(self, text: str, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        for transcript in self.query(Transcript):  # none while the app takes its widgets down
            transcript.note(text, id=id)

    # -- the model ----------------------------------------------------------------------------
    def model_ready(self, info: ModelInfo, session: Session) -> None:
        """A model is loaded: replies come from it, and the seed field suggests its own text."""
        self.info, self.session, self.loading = info, session, False
        for seed_input in self.query(SeedInput):
            seed_input.placeholder = seed_placeholder(info.example_seed)
        if self.reflow_setting is None:  # a new model's text decides how its replies show line breaks
            self.reflow = info.hard_wrapped

    def start_pending(self) -> None:
        """A seed text typed while the model loaded: answer it now."""
        if self.pending_seed is not None:
            seed_text, self.pending_seed = self.pending_seed, None
            self.start_generation(seed_text)

    def model_failed(self) -> None:
        """The start-up model could not be opened: nothing to answer a waiting seed text with."""
        self.loading = False
        self.pending_seed = None

    def ready(self) -> bool:
        """A model answers (the chat mode's override says why not)."""
        return self.session is not None

    def on_screen(self) -> bool:
        """No dialog is over the chat."""
        return self.app.screen is self.app.screen_stack[0]

    # -- replies ------------------------------------------------------------------------------
    def on_input_submitted(self, event: SeedInput.Submitted) -> None:
        if isinstance(event.input, SeedInput):
            self.action_generate()

    def action_generate(self) -> None:
        seed_input = self.query_one(SeedInput)
        if not seed_input.value and self.exchanges:
            self.action_continue_reply()  # enter on an empty line: go on, as in a chat
            return
        self.start_generation(seed_input.value)

    def action_regenerate(self) -> None:
        if self.last_seed is None:
            self.notify("Nothing to repeat yet: type a seed text and press enter.")
            return
        self.start_generation(self.last_seed)

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
        carried = self.sampler if self.sampler is not None and self.sampler_for == (number, step) else None
        if carried is None:
            exchange.continued_at = step
        settings = self.drawn_with()
        if settings != exchange.drawn_with:  # each part of the reply names the settings it was drawn with
            exchange.drawn_with, exchange.drawing = settings, self.drawing()
            exchange.scale_changes = False
            exchange.header_text += f" · then {settings}"
            exchange.finish(exchange.note)
        self.set_streaming(True)
        self.generate(number, exchange.reply_plain, carried)

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
        if (self.streaming or self.pick_mode or not self.on_screen()
                or self.session.vocab.unknown_chars(seed_text)):
            return
        self.start_generation(seed_text, while_training=True)

    def start_generation(self, seed_text: str, while_training: bool = False) -> None:
        if not seed_text:
            example = self.info.example_seed if self.info else "The island"
            self.notify(f"Type a seed text first, e.g. {example}.", severity="warning")
            return
        if self.loading:  # torch is still loading: reply as soon as the model is there
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
        exchange.drawn_with, exchange.drawing = settings, self.drawing()
        self.exchanges[number] = exchange
        self.set_streaming(True)
        self.generate(number, seed_text)

    def drawing(self) -> Drawing:
        """The scale factor, top-k and top-p that replies draw with now."""
        return self.scale_factor, self.top_k, self.top_p

    def generate(self, number: int, seed_text: str, carried: Sampler | None = None) -> None:
        """Stream a reply to ``seed_text`` in a worker, or go on with the ``carried`` sampler."""
        self.control = ReplyControl()  # a stopped reply's late picks go nowhere
        self.stream(number, seed_text, self.length, self.session, carried, self.control,
                    seed_text if self.adapt and carried is None else None, self.exchanges[number].drawing)

    @work(thread=True, exclusive=True, group="generate")
    def stream(self, number: int, seed_text: str, length: int, session: Session, carried: Sampler | None,
               control: ReplyControl, adapt_to: str | None, drawing: Drawing) -> None:
        """``drawing``: the settings the reply's header names; a change is put in the mailbox
        where it takes effect, for the header to record."""
        worker = get_current_worker()

        def stopped() -> bool:  # escape (maybe before this thread ran), or the app closing
            return worker.is_cancelled or control.stop.is_set()

        seed = None if self.random_seed is None else self.random_seed + number
        count, sampler, step = 0, carried, session.step
        mailbox = Mailbox()
        try:
            if carried is not None:
                chars = carried.resume(length)
            else:
                sampler = session.sampler(self.scale_factor, seed, candidates=5, adapt_to=adapt_to)
                chars = sampler.stream(seed_text, length)
            applied = drawing
            sampler.scale_factor, sampler.top_k, sampler.top_p = applied
            sampler.choose = self.wait_for_pick(number, mailbox, stopped, control.answers)
            last_post = time.monotonic()

            def follow_settings() -> None:  # changed since: from the next character on
                nonlocal applied
                current = self.drawing()
                if current != applied:
                    applied = current
                    sampler.scale_factor, sampler.top_k, sampler.top_p = current
                    mailbox.put(DrawingChanged(current))

            follow_settings()  # changed since the header was written
            for sampled in chars:
                mailbox.put(StreamedChar(sampled.char, sampled.probability, sampled.top))
                count += 1
                if stopped():  # after keeping the character drawn, which a
                    break                # continuation's carried state has already read
                follow_settings()
                now = time.monotonic()
                # At most one message per frame, and none while the UI has one to handle.
                if now - last_post >= FRAME and mailbox.claim():
                    self.post_message(GenerationChunk(number, mailbox))
                    last_post = now
            self.post_message(GenerationChunk(number, mailbox))
        except RnntuiError as error:
            self.post_message(GenerationDone(number, count, True, str(error)))
            return
        self.post_message(GenerationDone(number, count, stopped(), sampler=sampler,
                                         made_at=step if carried is None else None))

    def on_generation_chunk(self, message: GenerationChunk) -> None:
        items = message.mailbox.take()
        chars = [item for item in items if isinstance(item, StreamedChar)]
        exchange = self.exchanges.get(message.exchange)
        # In order: a change of settings lands between the characters it came between.
        for is_char, group in groupby(items, key=lambda item: isinstance(item, StreamedChar)):
            if exchange is None or not exchange.is_attached:
                break
            if is_char:
                exchange.append(list(group))
            for change in () if is_char else group:
                self.record_drawing_change(exchange, change.drawing)
        for bars in self.query(CandidateBars) if chars and chars[-1].top else ():
            bars.show_top(chars[-1].top)

    def record_drawing_change(self, exchange: Exchange, drawing: Drawing) -> None:
        """The reply's header records a change of settings made while it streamed, at the
        character it took effect (change_note)."""
        note, exchange.scale_changes = change_note(exchange.drawing, drawing, len(exchange.generated) + 1,
                                                   exchange.scale_changes, self.adapt)
        exchange.drawing, exchange.drawn_with = drawing, drawn_with(drawing, self.adapt)
        exchange.header_text += note
        exchange.finish(exchange.note)

    def on_generation_done(self, message: GenerationDone) -> None:
        exchange = self.exchanges.get(message.exchange)
        if message.exchange == len(self.exchanges):
            self.set_streaming(False)
            if message.sampler is not None:  # the last reply's, to continue it with its state
                self.sampler = message.sampler
                if message.made_at is not None:
                    self.sampler_for = (message.exchange, message.made_at)
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
        self.app.refresh_bindings()  # shows or hides Stop in the footer

    def action_stop_stream(self) -> None:
        # Not the worker's cancel: before its thread has started, that would drop the reply's end.
        self.control.stop.set()

    # -- settings -----------------------------------------------------------------------------
    def drawn_with(self) -> str:
        """How a reply is drawn now, as its header names it."""
        return drawn_with(self.drawing(), self.adapt)

    def sampling_cut(self) -> list[tuple[str, str]]:
        return sampling_cut(self.top_k, self.top_p)

    def action_scale(self, direction: int) -> None:
        new = next_scale(self.scale_factor, direction)
        if new == self.scale_factor:
            end = "maximum" if direction > 0 else "minimum"
            self.notify(f"The scale factor is at its {end}, {new:g}.", severity="warning")
            return
        self.scale_factor = new  # a streaming reply draws with it from its next character
        self.remember(scale_factor=new)
        self.status_changed()

    def action_reply_settings(self) -> None:
        """The ctrl+l form, with the settings as they are."""
        from rnntui.tui.screens.reply_settings import ReplySettingsScreen

        def chosen(changes: dict | None) -> None:
            if changes is not None:
                self.change_reply_settings(changes)
                self.status_changed()

        self.app.push_screen(ReplySettingsScreen(self.reply_settings()), chosen)

    def reply_settings(self) -> dict:
        return {name: getattr(self, name) for name in REPLY_SETTINGS}

    def change_reply_settings(self, changes: dict) -> None:
        """Settings from the ctrl+l form: from the next character of a streaming reply on."""
        for name, value in changes.items():
            setattr(self, name, value)
        if "reflow" in changes:  # the person's choice, from now on, over the text's
            self.reflow_setting = self.reflow
            for exchange in self.exchanges.values():
                exchange.set_reflow(self.reflow)
        self.next_sample_at = None  # counted from the current step
        self.remember(**changes)
        cut = ", ".join(f"{name} {value}" for name, value in self.sampling_cut()) or "no cut"
        lines = "wrapped lines joined" if self.reflow else "line breaks as written"
        samples = (f"a reply every {counted(self.sample_every, 'step')} of training" if self.sample_every
                   else "no replies while training")
        adapted = ", adapting to each seed text" if self.adapt else ""
        self.notify(f"{self.length:,} characters a reply, scale factor {self.scale_factor:g}, {cut}, "
                    f"{lines}, {samples}{adapted}.", title="Reply settings")

    def set_palette(self, palette: dict) -> None:
        self.palette = palette
        for exchange in self.exchanges.values():  # the replies so far, in the new theme's colours
            exchange.set_palette(palette)

    # -- copy, export, clear ------------------------------------------------------------------
    def action_copy_reply(self) -> None:
        if not self.exchanges:
            self.notify("Nothing to copy yet: type a seed text and press enter.")
            return
        number = max(self.exchanges)
        text = self.exchanges[number].reply_plain
        # OSC 52: the terminal puts it on the system clipboard (most terminals allow it).
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied reply #{number} ({len(text):,} characters).")

    def action_export_transcript(self) -> None:
        if not self.exchanges:
            self.notify("Nothing to export yet: type a seed text and press enter.")
            return
        # Each reply as shown: its header line, then the seed text and what followed it.
        text = "".join(f"{exchange.header_line}\n\n{exchange.reply_plain}\n\n"
                       for _, exchange in sorted(self.exchanges.items()))
        self.export(text, len(self.exchanges))

    @work(thread=True, group="export")
    def export(self, text: str, count: int) -> None:
        from rnntui.core.files import write_atomically
        from rnntui.core.paths import transcripts_dir

        path = transcripts_dir() / f"transcript-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        try:
            write_atomically(path, text.encode("utf-8"))
        except RnntuiError as error:
            self.app.call_from_thread(self.notify, str(error), title="Export failed", severity="error", timeout=10)
            return
        self.app.call_from_thread(self.notify, f"Exported {count} repl{'y' if count == 1 else 'ies'} to {path}",
                                  title="Transcript")

    def action_clear_chat(self) -> None:
        if self.streaming:
            self.notify("A reply is streaming: escape stops it, then the chat can be cleared.")
            return
        for transcript in self.query(Transcript):
            transcript.remove_children()
        self.exchanges.clear()
        self.sampler, self.sampler_for = None, None  # nothing left to continue
        self.notify("The chat is cleared; the model and its training are as they were.")
