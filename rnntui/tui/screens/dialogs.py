"""Small modal dialogs: a new model's text (or a fine-tune), save as, unsaved training, the
movie reviews to train on, a new review model's start."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from rnntui.core.errors import RnntuiError
from rnntui.core.files import output_target, replace_problem
from rnntui.tui.screens.settings_form import SpaceCheckbox
from rnntui.tui.widgets.path_suggester import PathSuggester


@dataclass(frozen=True)
class NewModelChoice:
    corpus_path: Path
    finetune: bool  # start from the current model's weights instead of random ones
    encoding: str | None = None  # how the text is read, when it is not UTF-8


class NewModelScreen(ModalScreen[NewModelChoice | None]):
    """Ctrl+N: the text file a new model will learn, and whether it starts from the current one."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "submit", "Start", show=False)]
    AUTO_FOCUS = "#corpus-path"

    def __init__(self, current_model: str | None) -> None:
        super().__init__()
        self.current_model = current_model  # None: no model is open, so there is none to fine-tune

    def compose(self) -> ComposeResult:
        with Vertical(id="new-model", classes="dialog") as dialog:
            dialog.border_title = "New model"
            yield Label("Train a new model of the book's size (Embedding 256 → LSTM 512) on a text "
                        "file. It replaces the current model; ctrl+t starts training.")
            yield Input(placeholder="path of a text file (→ accepts a completion)", id="corpus-path",
                        suggester=PathSuggester())
            yield SpaceCheckbox(f"Fine-tune {self.current_model or 'the current model (none is open)'}",
                              id="finetune", disabled=self.current_model is None)
            yield Label("Ticked (tab, then space), the new model starts from the current one's weights "
                        "instead of random ones: a model that already writes English learns a new "
                        "English text in far fewer steps. Enter starts.", classes="hint")
            yield Input(placeholder="its encoding, if not UTF-8 (e.g. latin-1, cp1252)", id="corpus-encoding")
            yield Label("", id="corpus-error", classes="field-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        typed = self.query_one("#corpus-path", Input).value.strip()
        path = Path(typed).expanduser()
        problem = ("type the path of a text file" if not typed
                   else f"{typed} is a folder: choose a text file in it" if path.is_dir()
                   else f"no such file: {typed}" if not path.is_file() else None)
        if problem:
            self.query_one("#corpus-error", Label).update(problem)
            return
        encoding = self.query_one("#corpus-encoding", Input).value.strip() or None
        if encoding is not None:
            import codecs

            try:
                codecs.lookup(encoding)
            except LookupError:
                self.query_one("#corpus-error", Label).update(f"unknown encoding {encoding!r}")
                return
        self.dismiss(NewModelChoice(path, self.query_one("#finetune", Checkbox).value, encoding))


class SaveAsScreen(ModalScreen[Path | None]):
    """F4: the file to save the current model to (and to save it to from then on). A checkpoint
    that exists is replaced only when enter is pressed a second time on the same path; any other
    file is never replaced."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    AUTO_FOCUS = "#save-path"

    def __init__(self, suggested: Path, current: Path | None) -> None:
        super().__init__()
        self.suggested = suggested
        self.current = current  # the model's own file: saving over it needs no confirmation
        self.confirmed: Path | None = None  # an existing file that enter was pressed on once

    def compose(self) -> ComposeResult:
        with Vertical(id="save-as", classes="dialog") as dialog:
            dialog.border_title = "Save as"
            yield Label("The checkpoint file for this model: ctrl+s and the autosave write to it from now on.")
            yield Input(str(self.suggested), id="save-path", suggester=PathSuggester())
            yield Label("", id="save-error", classes="field-error")

    def on_mount(self) -> None:
        # The path's start is what tells where it goes: show it from the start, cursor at its end.
        field = self.query_one("#save-path", Input)
        field.call_after_refresh(lambda: field.scroll_to(x=0, animate=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        path = Path(typed).expanduser()
        problem = ("type the path of the file to write" if not typed
                   else f"{typed} is a folder: add a file name" if path.is_dir() else None)
        if problem is None and not path.suffix:
            path = path.with_suffix(".ckpt")
            problem = f"{path} is a folder: choose another name" if path.is_dir() else None
        if problem is None and os.path.lexists(path):  # only an rnntui checkpoint may be replaced
            try:
                problem = replace_problem(output_target(path), allowed=True)
            except RnntuiError as error:
                problem = str(error)
        if problem is None and path.exists() and path != self.current and path != self.confirmed:
            self.confirmed = path
            problem = f"{path.name} exists: enter again to replace it"
        if problem:
            self.query_one("#save-error", Label).update(problem)
            return
        self.dismiss(path.absolute())


class UnsavedScreen(ModalScreen[str]):
    """Asked before training progress that is not saved would be lost: save, discard, or stay.
    The count of unsaved steps stays live: training goes on while the question is up.

    ``title`` is the question, which may name a file ("Load …?"): it wraps in the dialog, and the
    buttons name only the ``verb`` ("load"), so that they fit side by side whatever the name."""

    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]

    def __init__(self, unsaved_steps: Callable[[], int], title: str, verb: str) -> None:
        super().__init__()
        self.unsaved_steps = unsaved_steps
        self.title_text, self.verb = title, verb

    def count_text(self) -> str:
        return f"{self.unsaved_steps():,} training steps are not saved."

    def compose(self) -> ComposeResult:
        with Vertical(id="unsaved", classes="dialog") as dialog:
            dialog.border_title = "Unsaved training"
            yield Label(self.title_text, id="unsaved-question")
            yield Label(self.count_text(), id="unsaved-count")
            with Horizontal(classes="buttons"):
                yield Button(f"Save and {self.verb}", id="save", variant="primary")
                yield Button(f"{self.verb[:1].upper()}{self.verb[1:]} without saving", id="discard", variant="error")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.set_interval(0.5, lambda: self.query_one("#unsaved-count", Label).update(self.count_text()))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)


class ReviewsDataScreen(ModalScreen[Path | None]):
    """The movie reviews the reviews mode trains on, when they cannot be downloaded (``problem``
    says why) or the person chooses them: Stanford's tarball or its extracted folder."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    AUTO_FOCUS = "#reviews-data-path"

    def __init__(self, problem: str | None, current: Path | None) -> None:
        super().__init__()
        self.problem, self.current = problem, current

    def compose(self) -> ComposeResult:
        with Vertical(id="reviews-data", classes="dialog") as dialog:
            dialog.border_title = "Movie reviews"
            if self.problem:
                yield Label(f"{self.problem[:1].upper()}{self.problem[1:]}.", classes="field-error")
            yield Label("Training needs the Large Movie Review Dataset (Maas et al., 2011): give aclImdb_v1.tar.gz "
                        "or its aclImdb/ folder. It is remembered for the next time; enter starts training.")
            yield Input(str(self.current or ""), placeholder="path of aclImdb_v1.tar.gz or its folder "
                        "(→ accepts a completion)", id="reviews-data-path", suggester=PathSuggester())
            yield Label("", id="reviews-data-error", classes="field-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        path = Path(typed).expanduser()
        problem = ("type the path of the tarball or of its folder" if not typed
                   else f"no such file or folder: {typed}" if not path.exists() else None)
        if problem:
            self.query_one("#reviews-data-error", Label).update(problem)
            return
        self.dismiss(path.absolute())


def language_model_line(path: Path, header: dict) -> str:
    """A language model of reviews in a line: its file, steps and held-out perplexity."""
    from rnntui.core.paths import checkpoints_dir
    from rnntui.tui.screens.picker import header_perplexity

    step, found = header.get("step"), header_perplexity(header)
    step_text = f" · step {step:,}" if isinstance(step, int) and not isinstance(step, bool) else ""
    perplexity = f" · perplexity {found:,.0f}" if found is not None else ""
    where = "" if path.parent == checkpoints_dir() else f" (in {path.parent})"
    return f"From {path.name}{where}{step_text}{perplexity}"


class ReviewStartScreen(ModalScreen[str | None]):
    """Ctrl+t in the reviews mode, when a new model would start and a language model of reviews is
    at hand: start it from one of them, or from random weights. Dismissed with the chosen model's
    path, "" for random weights, or None (escape)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    AUTO_FOCUS = "#review-start-choice"

    def __init__(self, models: list[tuple[Path, dict]]) -> None:
        super().__init__()
        self.models = models

    def compose(self) -> ComposeResult:
        with Vertical(id="review-start", classes="dialog") as dialog:
            dialog.border_title = "New review model"
            yield Label("The open model cannot train on, so ctrl+t starts a new one. A language model of reviews "
                        "(rnntui sentiment pretrain) gives it a start: its vocabulary, embedding and LSTM, "
                        "fine-tuned as docs/sentiment-model.md found best. Enter starts; escape cancels.")
            yield OptionList(*[Option(language_model_line(path, header), id=str(index))
                               for index, (path, header) in enumerate(self.models)],
                             Option("From random weights: the book's model, as before", id="random"),
                             id="review-start-choice")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = event.option.id
        self.dismiss("" if chosen == "random" else str(self.models[int(chosen)][0]))
