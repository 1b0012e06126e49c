"""The conversation: each exchange is the seed text (you) and the model's continuation."""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

# A reply is shown in blocks of about this many characters, split at a line break where
# possible, so appending to a long reply re-renders one block, not the whole reply.
BLOCK_CHARS = 400

# How likely each generated character was: (lowest probability, level). The runs of a reply
# keep levels, not colours, so that a new theme recolours the replies already written.
CONFIDENCE_LEVELS = ((0.5, 0), (0.2, 1), (0.05, 2), (0.0, 3))
SEED = -1  # the seed text's level: the person's words, in bold


def level_for(probability: float) -> int:
    for low, level in CONFIDENCE_LEVELS:
        if probability >= low:
            return level
    return 0


def confidence_palette(warning: Color | None = None, error: Color | None = None) -> dict[int, Style]:
    """The style of each level: plain from 50 %, then the theme's warning colour, a colour
    halfway to its error colour, and its error colour in bold below 5 %. Without a theme,
    yellow, orange and red."""
    if warning is None or error is None:
        colours = ["yellow", "dark_orange", "red"]
    else:
        colours = [warning.rich_color, warning.blend(error, 0.5).rich_color, error.rich_color]
    return {SEED: Style(bold=True), 0: Style(), 1: Style(color=colours[0]), 2: Style(color=colours[1]),
            3: Style(color=colours[2], bold=True)}


# A line break with text on both sides of it: a book's hard wrap inside a paragraph. A break
# next to another one (a blank line) ends a paragraph. The last character's next is unknown
# yet, so a break there counts as a wrap until a second one arrives.
WRAPPED_LINE_BREAK = re.compile(r"(?<=[^\n])\n(?!\n)")


def theme_palette(theme) -> dict[int, Style]:
    """The colours of a reply's unlikely characters in a Textual ``theme``: its warning and
    error colours (the defaults where it has none)."""
    if not (theme.warning and theme.error):
        return confidence_palette()
    return confidence_palette(Color.parse(theme.warning), Color.parse(theme.error))


def join_wrapped_lines(runs: list[list]) -> list[list]:
    """The runs with each wrap inside a paragraph shown as a space: a reply then flows in the
    width it has, as a chat message does, instead of keeping the book's 70-column lines, which
    a narrower bubble breaks a second time. Same length, so every character keeps its style."""
    plain = "".join(text for text, _ in runs)
    if "\n" not in plain:
        return runs
    joined, position, out = WRAPPED_LINE_BREAK.sub(" ", plain), 0, []
    for text, style in runs:
        out.append([joined[position:position + len(text)], style])
        position += len(text)
    return out


def block_cut(plain: str, reflow: bool) -> tuple[int, int] | None:
    """Where a block that grew past BLOCK_CHARS ends: ``(at, skip)``, or None to wait.

    As written, at its last line break, which the border between blocks replaces. Reflowed, at
    its last blank line: the next block starts with that blank line, and a wrap never becomes a
    border. Without such a break for a long while, at its end anyway."""
    length = len(plain)
    if length <= BLOCK_CHARS:
        return None
    cut = plain.rfind("\n\n", 0, length - 1) if reflow else plain.rfind("\n", 0, length - 1)
    if cut > 0:
        return cut, 1
    if length > 4 * BLOCK_CHARS:
        return length, 0
    return None


def block_bounds(plain: str, reflow: bool) -> list[tuple[int, int]]:
    """``(start, end)`` of each block of ``plain``, cut as a stream growing one character at a
    time is cut (block_cut); the characters between two blocks are the breaks they replace."""
    bounds, start = [], 0
    while True:
        for length in range(BLOCK_CHARS + 1, len(plain) - start + 1):
            cut = block_cut(plain[start:start + length], reflow)
            if cut is not None:
                break
        else:
            bounds.append((start, len(plain)))
            return bounds
        at, skip = cut
        bounds.append((start, start + at))
        start += at + skip


def slice_runs(runs: list[list], bounds: list[tuple[int, int]]) -> list[list[list]]:
    """The [text, level] runs of each ``(start, end)`` span (in order, not overlapping), in one
    pass over ``runs``."""
    out: list[list[list]] = [[] for _ in bounds]
    position, first = 0, 0
    for text, style in runs:
        end = position + len(text)
        while first < len(bounds) and bounds[first][1] <= position:
            first += 1  # spans that ended before this run
        for number in range(first, len(bounds)):
            start, stop = bounds[number]
            if start >= end:
                break
            piece = text[max(start - position, 0):min(stop, end) - position]
            if piece:
                out[number].append([piece, style])
        position = end
    return out


def split_runs(runs: list[list], at: int, skip: int = 0) -> tuple[list[list], list[list]]:
    """Split [text, level] runs at character ``at``, dropping ``skip`` characters there."""
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


def add_runs(runs: list[list], added: list[list]) -> None:
    """Append ``added`` to ``runs``, merging a run into the last one where the styles match."""
    for text, style in added:
        if runs and runs[-1][1] == style:
            runs[-1][0] += text
        else:
            runs.append([text, style])


class Exchange(Vertical):
    """One seed text and the reply streaming in under it."""

    def __init__(self, number: int, seed_text: str, header: str, colour: bool = True,
                 reflow: bool = True, palette: dict[int, Style] | None = None) -> None:
        super().__init__(classes="exchange")
        self.number = number
        self.seed_text = seed_text
        self.header_text = header
        self.colour = colour
        self.reflow = reflow  # wraps inside a paragraph shown as spaces (join_wrapped_lines)
        self.palette = palette or confidence_palette()
        # The block being written, as [text, level] runs of characters of one level (level_for),
        # so that what is drawn does not depend on how the stream happened to be chunked.
        self._runs: list[list] = [[seed_text, SEED]]
        self._all_runs: list[list] = [[seed_text, SEED]]  # the whole reply, to redraw it
        self._generated: list[str] = []
        self.continued_at: int | None = None  # the step of the weights it was continued with, if new
        self.note = ""  # how it ended ("400 characters"), once it has
        self.picked = 0  # characters the person picked in pick mode (the rest the model drew)
        self.drawn_with = ""  # the settings its last part was drawn with (the app names each part's)
        self.drawing: tuple = ()  # those settings' values: (scale factor, top-k, top-p)
        self.scale_changes = False  # the header ends in changes of the scale factor while it streamed

    def compose(self):
        yield Static(self.header_text, classes="exchange-header")
        yield Static(Text(self.seed_text), classes="seed")
        with Vertical(classes="reply"):
            yield Static(self._block_text(), classes="block")

    def _block_text(self, runs: list[list] | None = None) -> Text:
        runs = runs if runs is not None else self._runs
        if self.reflow:
            runs = join_wrapped_lines(runs)
        palette = self.palette
        return Text.assemble(*((text, palette[level]) for text, level in runs))

    @property
    def generated(self) -> str:
        return "".join(self._generated)

    @property
    def reply_plain(self) -> str:
        return self.seed_text + self.generated

    def append(self, chars) -> None:
        added = []
        for item in chars:
            style = level_for(item.probability) if self.colour else 0
            if added and added[-1][1] == style:
                added[-1][0] += item.char
            else:
                added.append([item.char, style])
        for runs in (self._runs, self._all_runs):
            add_runs(runs, added)
        self._generated.append("".join(item.char for item in chars))
        current = list(self.query(".block").results(Static))[-1]
        head, self._runs = self._next_block(self._runs)
        if head is not None:
            current.update(self._block_text(head))
            self.query_one(".reply", Vertical).mount(Static(self._block_text(), classes="block"))
            return
        current.update(self._block_text())

    def _next_block(self, runs: list[list]) -> tuple[list[list] | None, list[list]]:
        """``(a finished block, the runs after it)``, or ``(None, runs)`` while the block grows."""
        cut = block_cut("".join(text for text, _ in runs), self.reflow)
        if cut is None:
            return None, runs
        return split_runs(runs, *cut)

    def set_reflow(self, reflow: bool) -> None:
        """Redraw the whole reply with wraps joined or as written, cut into blocks anew."""
        if reflow != self.reflow:
            self.reflow = reflow
            self.redraw()

    def set_palette(self, palette: dict[int, Style]) -> None:
        """Recolour the whole reply (a new theme)."""
        self.palette = palette
        self.redraw()

    def redraw(self) -> None:
        """The whole reply drawn anew from its runs, in blocks cut as a stream is cut."""
        plain = "".join(text for text, _ in self._all_runs)
        *blocks, self._runs = slice_runs(self._all_runs, block_bounds(plain, self.reflow))
        reply = self.query_one(".reply", Vertical)
        reply.remove_children()
        reply.mount_all([Static(self._block_text(block), classes="block") for block in [*blocks, self._runs]])

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
