"""The package's shape (docs/architecture.md): what may import what, no import cycles, no private
names reached across packages, modules small enough to read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import rnntui

PACKAGE = Path(rnntui.__file__).resolve().parent
MAX_LINES = 500
# What each part may import: the engine never imports a client, and the shared core imports
# neither model.
MAY_IMPORT = {
    "core": {"core"},
    "charlm": {"core", "charlm"},
    "sentiment": {"core", "sentiment"},
    "neurons": {"core", "charlm", "sentiment", "neurons"},
    "sweep": {"core", "charlm", "sentiment", "sweep"},
    "cli": {"core", "charlm", "sentiment", "neurons", "sweep", "cli", "tui"},  # `rnntui` opens the app
    "tui": {"core", "charlm", "sentiment", "neurons", "tui"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, top_level_only: bool) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for each rnntui import in the file; with
    ``top_level_only``, those that run when the module is imported (TYPE_CHECKING ones included),
    not those inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and not (top_level_only and in_function):
                found.extend((alias.name, None, child.lineno) for alias in child.names
                             if alias.name.startswith("rnntui"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("rnntui") \
                    and not (top_level_only and in_function):
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.append((full, None, child.lineno) if full in MODULES
                                 else (child.module, alias.name, child.lineno))
            visit(child, inside)

    visit(tree, False)
    return found


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ""


def test_each_part_imports_only_what_it_may():
    wrong = []
    for name, path in MODULES.items():
        if part(name) in MAY_IMPORT:
            for target, _, line in imports(path, top_level_only=False):
                if part(target) and part(target) not in MAY_IMPORT[part(name)]:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_package_root_is_only_its_face():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_no_import_cycles():
    graph = {name: {target for target, _, _ in imports(path, top_level_only=True)
                    if target in MODULES and target != name} for name, path in MODULES.items()}
    cycles, state = [], {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [node, target]) if target in stack
                              else f"{node} -> {target}")
            elif target not in state:
                walk(target, stack + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [])
    assert not cycles, "\n".join(cycles)


def test_the_command_line_has_no_import_cycle_even_through_imports_inside_functions():
    """Each command's module is imported when it runs (``cli.common.command``): the parsers import
    no command's module, and no command's module imports a parser or, through others, itself."""
    graph = {name: {target for target, _, _ in imports(path, top_level_only=False)
                    if target in MODULES and target != name}
             for name, path in MODULES.items() if part(name) == "cli"}

    def reached(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    assert [name for name in sorted(graph) if name in reached(name)] == []


def test_no_private_name_is_imported_from_another_package():
    wrong = []
    for name, path in MODULES.items():
        home = name.rpartition(".")[0]
        for target, imported, line in imports(path, top_level_only=False):
            if imported and imported.startswith("_") and not imported.startswith("__") \
                    and target.rpartition(".")[0] != home:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported} from {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_is_longer_than_one_sitting():
    long = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in MODULES.values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


MAX_APP_METHODS = 30


def test_the_app_class_coordinates_and_no_more():
    tree = ast.parse((PACKAGE / "tui" / "app.py").read_text(encoding="utf-8"))
    app = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "RnntuiApp")
    methods = [node.name for node in app.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert len(methods) <= MAX_APP_METHODS, f"{len(methods)} methods: {', '.join(methods)}"
