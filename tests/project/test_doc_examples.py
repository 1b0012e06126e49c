"""The terminal sessions the docs print (`$ rnntui ...` followed by what it printed) are what
those commands print with the bundled models, so that a new bundled model cannot leave them
stale. Only commands whose output is repeatable are run: `generate` with `--random-seed`, and
`sentiment predict`."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.helpers import run

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def sessions(page: Path) -> list[tuple[list[str], str]]:
    """Each ``$ rnntui ...`` line of the page's fenced blocks with the lines printed under it."""
    found: list[tuple[list[str], str]] = []
    fenced = in_session = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced, in_session = not fenced, False
        elif fenced and line.startswith("$ rnntui "):
            found.append((shlex.split(line[2:], comments=True)[1:], ""))
            in_session = True
        elif line.startswith("$"):
            in_session = False
        elif in_session:
            argv, printed = found[-1]
            found[-1] = (argv, printed + line + "\n")
    return found


def repeatable(argv: list[str]) -> bool:
    return (argv[:1] == ["generate"] and "--random-seed" in argv) or argv[:2] == ["sentiment", "predict"]


EXAMPLES = [pytest.param(argv, printed, id=f"{page.name}: rnntui {' '.join(argv)}"[:90])
            for page in PAGES for argv, printed in sessions(page) if repeatable(argv) and printed]


def test_the_docs_print_sessions_to_check():
    assert {argv[0] for argv, _ in (example.values for example in EXAMPLES)} == {"generate", "sentiment"}


def test_the_parser_reads_a_session(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```text\n$ rnntui sentiment predict "Not good."   # a note\nnegative\n```\n'
                    'prose\n```sh\nrnntui\n```\n$ rnntui generate --random-seed 1\n', encoding="utf-8")
    assert sessions(page) == [(["sentiment", "predict", "Not good."], "negative\n")]


@pytest.mark.parametrize("argv, printed", EXAMPLES)
def test_a_printed_session_is_what_the_command_prints(capsys, argv, printed):
    code, out, err = run(capsys, *argv, "--threads", "1")
    assert code == 0, err

    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip("\n").splitlines()]

    assert lines(out) == lines(printed)
