"""What the view shows, as Rich text: a text coloured by a unit (with a cursor and a marked span),
one step's gates and next-character bars, two replies side by side, and sparklines. Black
letters on light backgrounds, so that each reads the same in every theme."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 24


def shown_char(char: str) -> str:
    """A character as the step panel names it (a space or a line break would be invisible)."""
    return {" ": "␠", "\n": "⏎", "\t": "⇥"}.get(char, char)


def background(value: float, top: float) -> str:
    """A diverging background: blue below zero, red above, white at zero."""
    fade = round(255 - 200 * min(abs(value) / (top or 1.0), 1.0))
    return f"rgb(255,{fade},{fade})" if value > 0 else f"rgb({fade},{fade},255)"


def coloured(text: str, values: list[float], cursor: int | None = None,
             span: tuple[int, int] | None = None, start: int = 0) -> Text:
    """Each character of ``text`` on a diverging background by its value; ``cursor`` (reversed)
    and ``span`` (underlined) are positions in the whole text, of which ``text`` begins at
    ``start``."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    shown = Text()
    for offset, (char, value) in enumerate(zip(text, values, strict=True)):
        position = start + offset
        extra = ""
        if span is not None and span[0] <= position < span[1]:
            extra += " underline"
        if position == cursor:
            extra += " reverse bold"
        if char == "\n":
            if position == cursor:  # the cursor on a line break: show where it is
                shown.append("⏎", style="reverse bold")
            shown.append("\n")
            continue
        shown.append(char, style=f"black on {background(value, top)}{extra}")
    return shown


def bars(pairs: list[tuple[str, float]], label: str = "next", width: int = BAR_WIDTH) -> list[Text]:
    """The likeliest next characters, one bar each (their probability of the whole bar)."""
    lines = []
    for index, (char, probability) in enumerate(pairs):
        line = Text(f"{label if index == 0 else '':>5} {shown_char(char):>2} ")
        line.append("█" * max(1, round(probability * width)), style="bold")
        line.append(f" {probability:.2f}")
        lines.append(line)
    return lines


def step_panel(step, state: str, unit: int, rank: str, off: list[tuple[str, float]] | None = None,
               off_label: str = "") -> Text:
    """One step (``rnntui.neurons.step.Step``) for one unit: the character, the gates and
    states, the next-character bars (beside them, with ``off_label``'s units off, the bars
    ``off``), and for a plain RNN the chapter's sum."""
    shown = Text()
    shown.append(f"step {step.position:,}: {shown_char(step.char)!r}  ", style="bold")
    shown.append(f"{state} unit {unit} ({rank})  ←→ character, m marks a span\n")
    values = step.values
    parts = [f"{name} {values[name][0]:.2f}" for name in values if name not in ("hidden", "cell")]
    parts += [f"{name} {values[name][0]:+.3f}" for name in ("cell", "hidden") if name in values]
    shown.append(" · ".join(parts) + "\n")
    if step.sum_terms is not None:
        terms = {name: values[0] for name, values in step.sum_terms.items()}
        shown.append(f"h = tanh(W_xh x {terms['input']:+.2f} + W_hh h {terms['recurrent']:+.2f} + b "
                     f"{terms['bias']:+.2f}) = tanh({terms['sum']:+.2f}) = {terms['tanh']:+.3f}\n")
    if off is None:
        shown.append_text(Text("\n").join(bars(step.next_chars)))
        return shown
    shown.append(f"{'':>9}{'units on':<24}{off_label}\n", style="italic")
    width = BAR_WIDTH // 2
    on_lines, off_lines = bars(step.next_chars, width=width), bars(off, "", width)
    for index, line in enumerate(on_lines):
        line.pad_right(9 + width + 5 - line.cell_len + 1)
        if index < len(off_lines):
            line.append_text(off_lines[index])
    shown.append_text(Text("\n").join(on_lines))
    return shown


def replies(on: str, off: str, parted_at: int | None, off_label: str) -> Table:
    """The reply with the units on beside the one with them off; the part after they differ is
    bold in both."""
    table = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
    table.add_column("units on", ratio=1)
    table.add_column(off_label, ratio=1)

    def marked(reply: str) -> Text:
        cut = len(reply) if parted_at is None else parted_at
        text = Text(reply[:cut].replace("\n", "⏎"))
        text.append(reply[cut:].replace("\n", "⏎"), style="bold underline")
        return text

    table.add_row(marked(on), marked(off))
    return table


def sparkline(values: list[float], low: float, high: float) -> str:
    """One block character per value, from ``low`` (▁) to ``high`` (█)."""
    span = (high - low) or 1.0
    top = len(SPARKS) - 1
    return "".join(SPARKS[min(max(round((v - low) / span * top), 0), top)] for v in values)
