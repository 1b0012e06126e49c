"""The line above the footer: in the chat, the scale factor, length, model and training state;
in the reviews, the sentiment model and how many reviews are in the list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

if TYPE_CHECKING:
    from rnntui.charlm.session import ModelInfo

NARROW_BELOW = 100  # columns
TRAINING_STATE_SHOWN = {"idle": "stopped", "starting": "starting…", "running": "running", "paused": "paused"}


def chat_status(scale_factor: float, length: int, cut: list[tuple[str, str]], pick_mode: bool,
                info: ModelInfo | None, training: str, engine_error: str | None,
                watching: bool = False) -> tuple[str, str]:
    """The chat's status line, wide and narrow: how replies are drawn (``cut``: top-k / top-p,
    ``pick_mode``), the model and its ``training`` state (a TrainingState's value)."""
    waiting = "none open (ctrl+o, ctrl+n)" if engine_error else "loading…"
    model = f"{info.name} · step {info.step:,}" if info else waiting
    state = "watching" if watching and training == "idle" else TRAINING_STATE_SHOWN[training]
    short_model = (f"step [b]{info.step:,}[/] │ [b]{info.name}[/]" if info
                   else f"[b]{'no model' if engine_error else 'loading…'}[/]")
    cuts = "".join(f"{name} [b]{value}[/] │ " for name, value in cut)
    cuts += "[b]you pick[/] │ " if pick_mode else ""
    drawn = f"[b]{scale_factor:.2f}[/] │ length [b]{length:,}[/] │ {cuts}"
    # The same facts in fewer words for narrow terminals; the model last, as a long name is cut
    # short there.
    return (f" scale factor {drawn}model [b]{model}[/] │ training [b]{state}[/]",
            f" scale {drawn}[b]{state}[/] │ {short_model}")


def reviews_status(model_name: str | None, loading: bool, reviews: int, step: int | None,
                   training: str) -> tuple[str, str]:
    """The reviews' status line, wide and narrow: the sentiment model (``step``: its training
    step, None before a model is open), how many ``reviews`` are in the list, its ``training``."""
    model = model_name or ("loading…" if loading else "none open (ctrl+o)")
    count = f"reviews [b]{reviews:,}[/]"
    training = TRAINING_STATE_SHOWN[training]
    step = f"step [b]{step:,}[/] │ " if step is not None and model_name else ""
    return (f" mode [b]reviews[/] │ sentiment model [b]{model}[/] │ {step}{count} │ training [b]{training}[/]",
            f" [b]reviews[/] │ {count} │ [b]{training}[/] │ [b]{model}[/]")


class StatusLine(Static):
    """Shows the long form of the facts where it fits and a shorter one where it does not,
    choosing again when the terminal is resized."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.wide, self.narrow = "", ""

    def show(self, wide: str, narrow: str) -> None:
        self.wide, self.narrow = wide, narrow
        self._choose()

    def show_message(self, text: str) -> None:
        """A passing message (a download's progress) until the next ``show``."""
        self.update(text)

    def on_resize(self) -> None:
        self._choose()

    def _choose(self) -> None:
        width = self.size.width or self.app.size.width
        self.update(self.narrow if width < NARROW_BELOW else self.wide)
