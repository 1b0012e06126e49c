"""Every message rnntui shows names only flags and keys that exist.

The messages are the string literals of rnntui's modules (docstrings aside): each flag one names
(``--xyz``) must be an option of the command it belongs to: the command the message names
("rnntui sentiment train --resume"), else the command its module runs (rnntui/cli), else the app's
own flags (rnntui/tui, where the person is in the app), else some command's (the engine's
messages, which both show). Each key the app's messages name (ctrl+…, alt+…, f1-f12) must be in
the app's key table.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import rnntui
from rnntui.cli.parser import build_parser
from rnntui.tui import keys

PACKAGE = Path(rnntui.__file__).resolve().parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
NAMED_COMMAND = re.compile(r"\brnntui\b((?: [a-z]+)*)")  # "rnntui --corpus": the app's
KEY = re.compile(r"(?<![\w+])(?:(?:ctrl|alt|shift)\+(?:[a-z0-9]+|↑|↓)|f(?:1[0-2]|[1-9]))(?![\w+])")
# The commands each module of rnntui/cli runs (its own flags are theirs); "" is the app's.
MODULE_COMMANDS = {"train": ("train",), "generate": ("generate",), "evaluate": ("evaluate",),
                   "info": ("info", "corpus"), "app": ("", "watch"),
                   "sentiment": ("sentiment train", "sentiment evaluate", "sentiment predict")}


def options_by_command() -> dict[str, set[str]]:
    """Each command's option strings ("" for the app's, "sentiment train" for a subcommand's)."""
    found: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, command: str) -> None:
        found[command] = {option for action in parser._actions for option in action.option_strings}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{command} {name}".strip())

    walk(build_parser(), "")
    return found


def messages(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module (an f-string's fields as "{}"), without its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings, parts = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        if isinstance(node, ast.JoinedStr):
            parts.update(id(value) for value in node.values)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and id(node) not in parts:
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(value.value if isinstance(value, ast.Constant) else "{}" for value in node.values)
            found.append((node.lineno, text))
    return found


def owner(text: str, at: int, options: dict[str, set[str]]) -> str | None:
    """The command named in the clause of ``text`` before position ``at`` ("rnntui corpus
    --fetch"; "" for "rnntui --corpus"), if any: the longest run of its words that is a command."""
    clause = re.split(r"[;,.] |[()]", text[:at])[-1]
    named = None
    for match in NAMED_COMMAND.finditer(clause):
        words = match.group(1).split()
        while words and " ".join(words) not in options:
            words.pop()
        named = " ".join(words)
    return named


def said(command: str) -> str:
    return f"rnntui {command}" if command else "the app (rnntui)"


def flag_problems(path: Path, options: dict[str, set[str]]) -> list[str]:
    relative = path.relative_to(PACKAGE)
    if relative.parts[0] == "tui":  # the person is in the app
        commands: tuple[str, ...] = ("",)
    elif relative.parts[0] == "cli" and path.stem in MODULE_COMMANDS:
        commands = MODULE_COMMANDS[path.stem]
    else:  # the engine's, shown by any command and the app
        commands = tuple(options)
    problems = []
    for line, text in messages(path):
        for match in FLAG.finditer(text):
            command = owner(text, match.start(), options)
            allowed = (command,) if command is not None else commands
            if not any(match.group() in options[c] for c in allowed):
                where = "any command" if len(allowed) == len(options) else " or ".join(map(said, allowed))
                problems.append(f"{relative}:{line}: {match.group()} is not a flag of {where}: {text[:90]!r}")
    return problems


def test_every_flag_a_message_names_exists_in_its_commands_parser():
    options = options_by_command()
    assert {"--reviews-data", "--checkpoint"} <= options[""] and "--data" in options["sentiment train"]
    problems = [problem for path in sorted(PACKAGE.rglob("*.py")) for problem in flag_problems(path, options)]
    assert not problems, "\n".join(problems)
    named = {flag for path in PACKAGE.rglob("*.py") for _, text in messages(path) for flag in FLAG.findall(text)}
    assert {"--reviews-data", "--corpus", "--fetch", "--resume", "--lr"} <= named  # the messages' flags are found


def test_the_check_finds_a_flag_that_is_not_there(tmp_path):
    """The flag the reviews mode once named: the app has no --data (its flag is --reviews-data),
    though rnntui sentiment train has."""
    options = options_by_command()
    module = PACKAGE / "tui" / "probe_for_the_test.py"
    try:
        module.write_text('NOTE = f"if you have the reviews, pass it with --data PATH or rnntui --corpu {1}"\n'
                          'OK = "rnntui sentiment train --data PATH, rnntui corpus --fetch FILE"\n',
                          encoding="utf-8")
        problems = flag_problems(module, options)
    finally:
        module.unlink()
    assert [problem.split(": ")[1] for problem in problems] == [
        "--data is not a flag of the app (rnntui)", "--corpu is not a flag of the app (rnntui)"]


def key_names() -> set[str]:
    """Every key the app knows: its table's, pick mode's, the inside view's, and the others its help lists."""
    names = {name for key in keys.KEYS + keys.PICK_KEYS for name in key.keys.split(",") if name}
    names |= {name for shown, _, _ in keys.NEURONS_KEYS for name in shown.split(",")}
    return names | {name for rows in keys.OTHER_HELP.values() for shown, _ in rows for name in shown.split(" / ")}


def test_every_key_an_app_message_names_is_in_the_key_table():
    known = key_names()
    problems, named = [], set()
    for path in sorted((PACKAGE / "tui").rglob("*.py")):
        for line, text in messages(path):
            for match in KEY.finditer(text):
                key = match.group().replace("↑", "up").replace("↓", "down")
                named.add(key)
                if key not in known:
                    problems.append(f"{path.relative_to(PACKAGE)}:{line}: {key}: {text[:90]!r}")
    assert not problems, "\n".join(problems)
    assert {"ctrl+t", "f7", "f8", "ctrl+p"} <= known and "ctrl+x" not in known
    assert {"ctrl+o", "ctrl+n", "ctrl+b", "f2", "ctrl+up"} <= named  # the messages' keys are found
