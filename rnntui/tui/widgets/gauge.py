"""A one-line gauge of the probability that a review is positive: a bar from "negative" to
"positive", the verdict's end in its colour, and the figure."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

BAR_MIN = 10  # columns the bar keeps on the narrowest terminal


def gauge_text(probability: float | None, width: int, note: str = "") -> Text:
    """The gauge drawn in ``width`` columns; ``None``: no review to judge yet (``note`` says why)."""
    if probability is None:
        return Text(note or "type a review: the gauge shows how positive the model finds it", style="dim")
    positive = probability >= 0.5
    colour = "green" if positive else "red"
    # The verdict is the end of the bar it leans to, in its colour; the figure says what it is
    # the probability of ("1.0%" alone reads as 1 % sure of a negative review).
    figure = f" · {probability:5.1%} positive"
    bar_width = max(BAR_MIN, width - len("negative ") - len(" positive") - len(figure))
    filled = round(probability * bar_width)
    text = Text()
    text.append("negative", style="dim" if positive else f"bold {colour}")
    text.append(" ")
    text.append("█" * filled, style=colour)
    text.append("░" * (bar_width - filled), style="dim")
    text.append(" ")
    text.append("positive", style=f"bold {colour}" if positive else "dim")
    text.append(figure, style=f"bold {colour}")
    if note:
        text.append(f" · {note}", style="dim")
    return text


class SentimentGauge(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.probability: float | None = None
        self.note = ""

    def show(self, probability: float | None, note: str = "") -> None:
        self.probability, self.note = probability, note
        self.update(gauge_text(probability, self.size.width or 80, note))

    def on_resize(self) -> None:
        self.update(gauge_text(self.probability, self.size.width or 80, self.note))
