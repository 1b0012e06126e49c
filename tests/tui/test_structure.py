"""How the app's parts talk: the training controller and the status line know no pane and no
sibling widget (data goes up by messages and down by attributes), and each key is bound by the
part its row in the key table names."""

from __future__ import annotations

import ast
from pathlib import Path

import rnntui

TUI = Path(rnntui.__file__).resolve().parent / "tui"


def rnntui_imports(path: Path) -> set[str]:
    """Every rnntui module the file imports, wherever the import is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnntui"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("rnntui"))
    return found


def test_the_training_controller_imports_no_widget_and_queries_none():
    path = TUI / "training" / "controller.py"
    wrong = {name for name in rnntui_imports(path)
             if name.startswith(("rnntui.tui.widgets", "rnntui.tui.chat", "rnntui.tui.reviews", "rnntui.tui.app"))}
    assert not wrong
    assert ".query(" not in path.read_text(encoding="utf-8") and ".query_one(" not in path.read_text(encoding="utf-8")


def test_the_status_line_imports_no_pane_and_no_controller():
    assert not {name for name in rnntui_imports(TUI / "widgets" / "status_line.py") if name.startswith("rnntui.tui")}


def test_each_part_binds_its_own_keys():
    from rnntui.tui import keys
    from rnntui.tui.app import RnntuiApp
    from rnntui.tui.chat import ChatPane
    from rnntui.tui.reviews import ReviewsPane

    for part, owner in ((keys.APP, RnntuiApp), (keys.CHAT, ChatPane), (keys.REVIEWS, ReviewsPane)):
        bound = {binding.id for binding in owner.BINDINGS}
        assert bound == {key.id for key in keys.KEYS + keys.PICK_KEYS if key.keys and key.part == part}, part
        for key in keys.KEYS:  # every action of the part, keyed or in the palette only, is the owner's
            if key.part == part:
                assert hasattr(owner, "action_" + key.action.split("(")[0]), key.action
