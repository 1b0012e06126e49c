"""The conversation: each exchange is the seed text (you) and the model's continuation."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

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
        self.reply_text = Text(seed_text, style="bold")
        self.generated = ""

    def compose(self):
        yield Static(self.header_text, classes="exchange-header")
        yield Static(Text(self.seed_text), classes="seed")
        yield Static(self.reply_text, classes="reply")

    def append(self, chars) -> None:
        for item in chars:
            self.reply_text.append(item.char, style=style_for(item.probability) if self.colour else "")
        self.generated += "".join(item.char for item in chars)
        self.query_one(".reply", Static).update(self.reply_text)

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
