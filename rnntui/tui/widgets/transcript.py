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


class Exchange(Vertical):
    """One seed text and the reply streaming in under it."""

    def __init__(self, number: int, seed_text: str, header: str, colour: bool = True) -> None:
        super().__init__(classes="exchange")
        self.number = number
        self.seed_text = seed_text
        self.header_text = header
        self.colour = colour
        self.block_text = Text(seed_text, style="bold")
        self._generated: list[str] = []

    def compose(self):
        yield Static(self.header_text, classes="exchange-header")
        yield Static(Text(self.seed_text), classes="seed")
        with Vertical(classes="reply"):
            yield Static(self.block_text, classes="block")

    @property
    def generated(self) -> str:
        return "".join(self._generated)

    @property
    def reply_plain(self) -> str:
        return self.seed_text + self.generated

    def append(self, chars) -> None:
        # One span per run of equally coloured characters, not one per character.
        run, run_style = [], None
        for item in chars:
            style = style_for(item.probability) if self.colour else ""
            if style != run_style and run:
                self.block_text.append("".join(run), style=run_style)
                run = []
            run.append(item.char)
            run_style = style
        if run:
            self.block_text.append("".join(run), style=run_style)
        self._generated.append("".join(item.char for item in chars))
        blocks = self.query(".block").results(Static)
        current = list(blocks)[-1]
        text = self.block_text
        if len(text) > BLOCK_CHARS:
            cut = text.plain.rfind("\n", 0, len(text) - 1)
            head = tail = None
            if cut > 0:  # the line break becomes the boundary between two blocks
                head, tail = text[:cut], text[cut + 1:]
            elif len(text) > 4 * BLOCK_CHARS:  # no line break for a long while: split anyway
                head, tail = text, Text()
            if head is not None:
                current.update(head)
                self.block_text = tail
                self.query_one(".reply", Vertical).mount(Static(tail, classes="block"))
                return
        current.update(text)

    def finish(self, note: str) -> None:
        self.query_one(".exchange-header", Static).update(f"{self.header_text} · {note}")


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
