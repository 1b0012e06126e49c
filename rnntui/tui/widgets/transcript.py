"""The conversation: each exchange is the seed text (you) and the model's continuation."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

# A reply is shown in blocks of about this many characters, split at a line break where
# possible, so appending to a long reply re-renders one block, not the whole reply.
BLOCK_CHARS = 400

# Probability buckets for colouring generated characters: (lowest probability, style).
CONFIDENCE_STYLES = ((0.5, ""), (0.2, "yellow"), (0.05, "dark_orange"), (0.0, "bold red"))


def style_for(probability: float) -> str:
    for low, style in CONFIDENCE_STYLES:
        if probability >= low:
            return style
    return ""


def split_runs(runs: list[list[str]], at: int, skip: int = 0) -> tuple[list[list[str]], list[list[str]]]:
    """Split [text, style] runs at character ``at``, dropping ``skip`` characters there."""
    head, tail, position = [], [], 0
    for text, style in runs:
        end = position + len(text)
        if end <= at:
            head.append([text, style])
        elif position >= at + skip:
            tail.append([text, style])
        else:
            if at > position:
                head.append([text[: at - position], style])
            if end > at + skip:
                tail.append([text[max(at + skip - position, 0):], style])
        position = end
    return head, tail


class Exchange(Vertical):
    """One seed text and the reply streaming in under it."""

    def __init__(self, number: int, seed_text: str, header: str, colour: bool = True) -> None:
        super().__init__(classes="exchange")
        self.number = number
        self.seed_text = seed_text
        self.header_text = header
        self.colour = colour
        # The block being written, as [text, style] runs of equally coloured characters, so that
        # what is drawn does not depend on how the stream happened to be chunked.
        self._runs: list[list[str]] = [[seed_text, "bold"]]
        self._generated: list[str] = []
        self.continued_at: int | None = None  # the step of the weights it was continued with, if new
        self.note = ""  # how it ended ("400 characters"), once it has
        self.picked = 0  # characters the person picked in pick mode (the rest the model drew)

    def compose(self):
        yield Static(self.header_text, classes="exchange-header")
        yield Static(Text(self.seed_text), classes="seed")
        with Vertical(classes="reply"):
            yield Static(self._block_text(), classes="block")

    def _block_text(self, runs: list[list[str]] | None = None) -> Text:
        return Text.assemble(*((text, style) for text, style in (runs if runs is not None else self._runs)))

    @property
    def generated(self) -> str:
        return "".join(self._generated)

    @property
    def reply_plain(self) -> str:
        return self.seed_text + self.generated

    def append(self, chars) -> None:
        runs = self._runs
        for item in chars:
            style = style_for(item.probability) if self.colour else ""
            if runs and runs[-1][1] == style:
                runs[-1][0] += item.char
            else:
                runs.append([item.char, style])
        self._generated.append("".join(item.char for item in chars))
        current = list(self.query(".block").results(Static))[-1]
        length = sum(len(text) for text, _ in runs)
        if length > BLOCK_CHARS:
            plain = "".join(text for text, _ in runs)
            cut = plain.rfind("\n", 0, length - 1)
            if cut > 0:  # the line break becomes the boundary between two blocks
                head, tail = split_runs(runs, cut, skip=1)
            elif length > 4 * BLOCK_CHARS:  # no line break for a long while: split anyway
                head, tail = runs, []
            else:
                head = None
            if head is not None:
                current.update(self._block_text(head))
                self._runs = tail
                self.query_one(".reply", Vertical).mount(Static(self._block_text(), classes="block"))
                return
        current.update(self._block_text())

    def finish(self, note: str) -> None:
        self.note = note
        self.query_one(".exchange-header", Static).update(self.header_line)

    @property
    def header_line(self) -> str:
        """The header as shown: what generated the reply and, once it ended, how long it is."""
        return f"{self.header_text} · {self.note}" if self.note else self.header_text


class Transcript(VerticalScroll):
    """Follows the stream only while the person is scrolled to the bottom (an anchor)."""

    def on_mount(self) -> None:
        self.anchor()

    def add_exchange(self, exchange: Exchange) -> Exchange:
        self.mount(exchange)
        return exchange

    def note(self, text: str, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        """A line from the app; a note with an ``id`` is rewritten by the next one with that id."""
        if id is not None:
            for old in self.query(f"#{id}").results(Static):
                old.update(text)
                return
        self.mount(Static(text, classes="note", id=id))
