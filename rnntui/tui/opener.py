"""Opening another model: a checkpoint from the picker (ctrl+o), a new or fine-tuned model on a
text file (ctrl+n), and, before either replaces the current one (or the app quits), asking what
to do with training progress not yet saved.

The workers read the new model before the current one is touched, stop its training (saving it
first if asked), and report with EngineReady / EngineFailed, which the app handles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget

from rnntui.core.errors import RnntuiError
from rnntui.tui.messages import EngineFailed, EngineReady

if TYPE_CHECKING:
    from rnntui.charlm.session import Session
    from rnntui.tui.training.controller import TrainingController


def kept_trials(left_out: list[Path] | None = None) -> list[tuple[Path, dict]]:
    """The trial checkpoints every study in the sweeps folder kept (its best, or all with
    --keep-all), newest first within each study, with their headers. ``left_out`` collects the
    files that could not be read (see list_checkpoints)."""
    from rnntui.core.checkpoint import list_checkpoints
    from rnntui.core.paths import sweeps_dir

    try:
        studies = sorted(path for path in sweeps_dir().iterdir() if path.is_dir())
    except OSError:
        return []
    return [entry for study in studies for entry in list_checkpoints(study, left_out)]


def listed_checkpoints(folder: Path, bundled: Path) -> tuple[list[tuple[Path, dict]], list[Path]]:
    """The picker's rows: the checkpoints in ``folder``, the trials the sweeps kept and the
    ``bundled`` model, with their headers; and the files left out, which could not be read or
    described (any error: a crafted file must not end the app, and its unsaved training)."""
    from rnntui.core.checkpoint import list_checkpoints, read_header
    from rnntui.tui.screens.picker import describe

    left_out: list[Path] = []
    listed = list_checkpoints(folder, left_out)
    listed += kept_trials(left_out)
    try:
        if bundled.is_file():
            listed.append((bundled, read_header(bundled)[0]))
    except Exception:  # noqa: BLE001 - see above
        left_out.append(bundled)
    entries = []
    for path, header in listed:
        try:
            describe(header)
        except Exception:  # noqa: BLE001 - see above
            left_out.append(path)
            continue
        entries.append((path, header))
    return entries, left_out


def reading_error(path: Path | str, error: Exception) -> str:
    """What to say when ``path`` could not be opened: rnntui's own message, or, for an error it
    did not foresee, its kind and first line."""
    if isinstance(error, RnntuiError):
        return str(error)
    first = (str(error).splitlines() or [""])[0][:200]
    return f"cannot read {path}: {type(error).__name__}{': ' + first if first else ''}"


class ModelOpener(Widget):
    """``session()`` gives the app's session (None while torch loads); ``training`` stops and
    saves the current model's training."""

    DEFAULT_CSS = "ModelOpener { display: none; }"

    def __init__(self, session: Callable[[], Session | None], training: TrainingController) -> None:
        super().__init__()
        self.session = session
        self.training = training

    def if_unsaved_work(self, title: str, verb: str, then: Callable[[bool], object],
                        unsaved: Callable[[], int] | None = None) -> None:
        """Run ``then(save_first)`` now if no training progress would be lost (``unsaved()``
        steps; default: the chat's model's); otherwise ask whether to save it first, throw it
        away, or do nothing."""
        if unsaved is None:
            def unsaved() -> int:
                session = self.session()
                return session.unsaved_steps if session is not None else 0
        if unsaved() <= 0:
            then(False)
            return
        from rnntui.tui.screens.dialogs import UnsavedScreen

        def chosen(answer: str) -> None:
            if answer in ("save", "discard"):
                then(answer == "save")

        self.app.push_screen(UnsavedScreen(unsaved, title, verb), chosen)

    def open_picker(self, folder: Path, bundled: Path, then: Callable[[Path], object] | None = None) -> None:
        """The checkpoints in ``folder``, and the ``bundled`` model; the one chosen goes to
        ``then`` (default: load it as the chat's language model)."""
        from rnntui.tui.screens.picker import CheckpointPicker

        entries, left_out = listed_checkpoints(folder, bundled)

        def chosen(path: Path | None) -> None:
            if path is not None and then is not None:
                then(path)
            elif path is not None:
                self.if_unsaved_work(f"Load {path.name}?", "load",
                                     lambda save_first: self.load_checkpoint(self.session(), path, save_first))

        self.app.push_screen(CheckpointPicker(entries, folder, left_out), chosen)

    @work(thread=True, exclusive=True, group="engine")
    def load_checkpoint(self, session: Session, path: Path, save_first: bool = False) -> None:
        try:
            checkpoint, model = session.read(path)
        except Exception as error:  # noqa: BLE001 - whatever a file does, the app and its training go on
            self.post_message(EngineFailed(reading_error(path, error)))
            return
        if not self.training.stop_and_save(save_first):
            return
        info = session.install(checkpoint, model, path)
        self.post_message(EngineReady(info, session.history, session, f"Loaded {info.name} (step {info.step:,})."))

    def ask_for_new_model(self, current_name: str | None) -> None:
        from rnntui.tui.screens.dialogs import NewModelChoice, NewModelScreen

        def chosen(choice: NewModelChoice | None) -> None:
            if choice is not None:
                self.if_unsaved_work("Start a new model?", "start",
                                     lambda save_first: self.new_model(self.session(), choice.corpus_path,
                                                                       save_first, choice.finetune, choice.encoding))

        self.app.push_screen(NewModelScreen(current_name), chosen)

    @work(thread=True, exclusive=True, group="engine")
    def new_model(self, session: Session, corpus_path: Path, save_first: bool = False, finetune: bool = False,
                  encoding: str | None = None) -> None:
        from rnntui.charlm.corpus import load_corpus

        try:
            corpus = load_corpus(corpus_path, encoding)  # read before the current model is touched
        except RnntuiError as error:
            self.post_message(EngineFailed(str(error)))
            return
        if not self.training.stop_and_save(save_first):
            return
        try:
            info = session.finetune(corpus_path, corpus) if finetune else session.fresh(corpus_path, corpus)
        except RnntuiError as error:
            self.post_message(EngineFailed(str(error)))
            return
        kind = "Fine-tuning" if finetune else "New model"
        self.post_message(EngineReady(info, session.history, session, f"{kind} ({len(session.vocab)} characters)."))
