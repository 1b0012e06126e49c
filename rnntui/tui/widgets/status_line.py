"""The line above the footer: in the chat, the scale factor, length, model and training state;
in the reviews, the sentiment model and how many reviews are in the list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

if TYPE_CHECKING:
    from rnntui.charlm.session import ModelInfo
    from rnntui.tui.chat import ChatPane
    from rnntui.tui.reviews import ReviewsPane
    from rnntui.tui.training.controller import TrainingState

NARROW_BELOW = 100  # columns
TRAINING_STATE_SHOWN = {"idle": "stopped", "starting": "starting…", "running": "running", "paused": "paused"}


def chat_status(chat: ChatPane, info: ModelInfo | None, training: TrainingState, engine_error: str | None,
                watching: bool = False) -> tuple[str, str]:
    """The chat's status line, wide and narrow."""
    waiting = "none open (ctrl+o, ctrl+n)" if engine_error else "loading…"
    model = f"{info.name} · step {info.step:,}" if info else waiting
    state = "watching" if watching and training == "idle" else TRAINING_STATE_SHOWN[training]
    short_model = (f"step [b]{info.step:,}[/] │ [b]{info.name}[/]" if info
                   else f"[b]{'no model' if engine_error else 'loading…'}[/]")
    cut = "".join(f"{name} [b]{value}[/] │ " for name, value in chat.sampling_cut())
    cut += "[b]you pick[/] │ " if chat.pick_mode else ""
    drawn = f"[b]{chat.scale_factor:.2f}[/] │ length [b]{chat.length:,}[/] │ {cut}"
    # The same facts in fewer words for narrow terminals; the model last, as a long name is cut
    # short there.
    return (f" scale factor {drawn}model [b]{model}[/] │ training [b]{state}[/]",
            f" scale {drawn}[b]{state}[/] │ {short_model}")


def reviews_status(reviews: ReviewsPane) -> tuple[str, str]:
    model = reviews.model_name or ("loading…" if reviews.loading else "none open (ctrl+o)")
    count = f"reviews [b]{reviews.reviews:,}[/]"
    training = TRAINING_STATE_SHOWN[reviews.training.state]
    step = f"step [b]{reviews.session.step:,}[/] │ " if reviews.session is not None and reviews.model_name else ""
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
