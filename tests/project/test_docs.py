"""The README is a front page and docs/ holds the rest: links that lead somewhere, figures that
agree, and text written for users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def prose(text: str) -> str:
    """The text outside fenced code blocks (whose lines are blanked, so blocks stay apart)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return "\n".join(lines)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, without punctuation but for
    hyphens and underscores, spaces made hyphens."""
    text = LINK.sub(r"\1", heading).replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.*)", line)
        if heading:
            name = base = slug(heading.group(1))
            number = 0
            while name in found:  # GitHub numbers a repeated heading's anchor
                number += 1
                name = f"{base}-{number}"
            found.add(name)
    return found


def relative_links(page: Path) -> list[str]:
    return [target for _, target in LINK.findall(prose(page.read_text(encoding="utf-8")))
            if not re.match(r"[a-z]+:", target)]


def test_slugs_are_githubs():
    assert slug("Top-k and top-p") == "top-k-and-top-p"
    assert slug("Safe loading, checked before anything is built") == "safe-loading-checked-before-anything-is-built"
    assert slug("`rnntui train`: *the* [CLI](cli.md)") == "rnntui-train-the-cli"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    links = relative_links(page)
    assert page != README or len(links) >= 10
    for target in links:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.is_relative_to(ROOT) and file.exists(), f"{page.name}: {target}"
        if anchor:
            assert file.suffix == ".md" and anchor in anchors(file), f"{page.name}: {target}"


def blocks(text: str) -> list[tuple[str, str]]:
    """(section, block) for each paragraph, list item and table of a Markdown text's prose."""
    found, section, current = [], "", []

    def close() -> None:
        if current:
            found.append((section, "\n".join(current)))
            current.clear()

    for line in prose(text).splitlines():
        if line.startswith("#"):
            close()
            section = line
        elif not line.strip() or line.startswith("- "):
            close()
            if line.strip():
                current.append(line)
        else:
            current.append(line)
    close()
    return found


def doc_links(text: str) -> set[Path]:
    return {(ROOT / target.partition("#")[0]).resolve() for _, target in LINK.findall(text)
            if target.startswith("docs/")}


def figures(text: str) -> list[str]:
    """The numbers a reader sees: outside code spans and link targets."""
    text = LINK.sub(r"\1", re.sub(r"`[^`]*`", "", text))
    return NUMBER.findall(text)


def test_every_figure_on_the_front_page_is_in_the_doc_it_links_to():
    """Each paragraph, list item or table of the README with a number links to docs/ (or its
    section does), and each number is in one of the pages linked, as a whole number."""
    text = README.read_text(encoding="utf-8")
    sections: dict[str, set[Path]] = {}
    for section, block in blocks(text):
        sections.setdefault(section, set()).update(doc_links(block))
    checked = 0
    for section, block in blocks(text):
        numbers = figures(block)
        if not numbers:
            continue
        pages = doc_links(block) or sections[section]
        assert pages, f"figures with no link to docs/: {block!r}"
        docs = [page.read_text(encoding="utf-8") for page in pages]
        for number in numbers:
            whole = re.compile(rf"(?<![\d.,]){re.escape(number)}(?!\d|[.,]\d)")
            assert any(whole.search(doc) for doc in docs), \
                f"{number} is in the README but not in {', '.join(page.name for page in pages)}: {block!r}"
            checked += 1
    assert checked >= 15  # the front page's figures: losses, accuracy, speed-ups, versions


def test_the_check_finds_a_figure_the_doc_does_not_have():
    block = "- **Fast.** Training runs at 9.99× the book's loop ([benchmarks](docs/benchmarks.md))."
    (section, found), = blocks(block)
    assert figures(found) == ["9.99"] and doc_links(found) == {ROOT / "docs" / "benchmarks.md"}
    assert "9.99" not in (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert figures("`--steps 20000` and [5 runs](docs/cli.md#rnntui-train)") == ["5"]


def test_the_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 160
    headings = [line for line in lines if line.startswith("## ")]
    assert headings.index("## Install and run") < headings.index("## Keys") < headings.index("## Tests")
    text = "\n".join(lines)
    # The CPU build's hint comes before the install command, and the two commands a newcomer needs.
    assert text.index("download.pytorch.org/whl/cpu") < text.index("pip install . && rnntui")
    assert '```sh\npip install -e ".[test]" && python -m pytest -q\n```' in text


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_the_docs_are_written_for_users(page):
    """No notes about the project's own work: its issues, its commits, the dates of its work."""
    text = page.read_text(encoding="utf-8")
    for note in (r"\bissues?\b", r"\bcommit [0-9a-f]{7,40}\b", r"\b20\d\d-\d\d-\d\d\b", r"\bthis session\b"):
        assert not re.search(note, text, re.I), (page.name, re.search(note, text, re.I).group())


def test_the_docs_name_the_palettes_theme_command_as_textual_does():
    import inspect

    from textual.app import App

    files = (Path(__file__).resolve().parents[2] / "docs" / "files.md").read_text(encoding="utf-8")
    assert '"Theme"' in inspect.getsource(App.get_system_commands) and 'the palette\'s "Theme"' in files
    assert "Change theme" not in files
