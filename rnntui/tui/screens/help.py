"""F1: every key, from the app's own bindings (one source of truth)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

CHAT_NOTES = """
Generated characters are coloured by the probability they were drawn with: plain ≥ 50 %, the
theme's warning colour ≥ 20 %, a colour between it and its error colour ≥ 5 %, the error colour in
bold below (amber, orange and crimson in the default theme). The bars under the transcript show the
most likely next characters while a reply streams: raise the scale factor and watch them sharpen.

`val~` is an estimate over fixed windows of the held-out tail; `f5` (or `rnntui evaluate`) gives the exact figure.
"""
REVIEWS_NOTES = """
The gauge is the probability that the review is positive; each word is coloured by how it moved
it as the model read (green up, red down, bold by 10 points or more, dim: a word the model does not
know). `ctrl+g` needs a language model of reviews: `rnntui sentiment pretrain` makes one.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, keys: list[tuple[str, str]], reviews: bool = False) -> None:
        super().__init__()
        self.keys = keys
        self.notes = REVIEWS_NOTES if reviews else CHAT_NOTES  # each mode's own

    def compose(self) -> ComposeResult:
        rows = "\n".join(f"| `{key}` | {text} |" for key, text in self.keys)
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "rnntui keys (escape closes)"
            yield Markdown(f"| key | does |\n| --- | --- |\n{rows}\n{self.notes}")
