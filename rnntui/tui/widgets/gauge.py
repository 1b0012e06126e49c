"""A one-line gauge of the probability that a review is positive: a bar from "negative" to
"positive" with the figure and the verdict."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

BAR_MIN = 10  # columns the bar keeps on the narrowest terminal


def gauge_text(probability: float | None, width: int, note: str = "") -> Text:
    """The gauge drawn in ``width`` columns; ``None``: no review to judge yet (``note`` says why)."""
    if probability is None:
        return Text(note or "type a review: the gauge shows how positive the model finds it", style="dim")
    verdict = "positive" if probability >= 0.5 else "negative"
    # "1.0% negative" read as 1 % sure it is negative: the figure is named, as in the list.
    figure = f" {verdict} · {probability:5.1%} positive"
    bar_width = max(BAR_MIN, width - len("negative ") - len(" positive") - len(figure))
    filled = round(probability * bar_width)
    colour = "green" if probability >= 0.5 else "red"
    text = Text("negative ", style="dim")
    text.append("█" * filled, style=colour)
    text.append("░" * (bar_width - filled), style="dim")
    text.append(" positive", style="dim")
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
