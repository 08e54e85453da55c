"""The layout rules of CONTRIBUTING.md and docs/architecture.md, checked on the source.

Wings import only downward (core < notices < residents < planning < delivery < publishing <
reports < the faces); ``channels/`` never imports ``outage_notify``; no import circle; no
module over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("outage_notify", "channels")
MAX_LINES = 400
# The wings in import order: a module may import its own wing and those before it.
WINGS = ("core", "notices", "residents", "planning", "delivery", "publishing", "reports", "faces")
FACES = frozenset({"cli", "web", "demo", "__main__"})


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def wing(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "channels":
        return "channels"
    if len(parts) == 1:
        return "core"  # outage_notify/__init__.py
    if parts[1] in FACES:
        return "faces"
    if parts[1] in WINGS:
        return parts[1]
    return "core"  # the flat modules (settings, db, models, registry, ...) and migrations


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, *, top_level_only: bool) -> set[str]:
    """The project modules ``module`` imports (``from a import b`` counts ``a.b`` when it is
    a module, else ``a``). ``top_level_only``: not inside functions or TYPE_CHECKING."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    name = f"{base}.{alias.name}"
                    found.add(name if name in MODULES else base)
            elif isinstance(node, ast.If) and top_level_only and _is_type_checking(node):
                visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and top_level_only:
                continue
            else:
                visit([c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)])

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in PACKAGES and name in MODULES}


def test_the_wings_are_known() -> None:
    for module in MODULES:
        assert wing(module) in (*WINGS, "channels"), module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_only_downward(module: str) -> None:
    mine = wing(module)
    for imported in sorted(imports(module, top_level_only=False)):
        theirs = wing(imported)
        if mine == "channels":
            assert theirs == "channels", f"{module} (a leaf channel) imports {imported}"
        elif theirs != "channels":
            assert WINGS.index(theirs) <= WINGS.index(mine), (
                f"{module} ({mine}) imports {imported} ({theirs}): upward"
            )


def test_there_is_no_import_circle() -> None:
    graph = {m: imports(m, top_level_only=True) - {m} for m in MODULES}
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            circle = [*path[path.index(module) :], module]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if module in done:
            return
        for imported in sorted(graph[module]):
            # A package imports its own submodules when they are imported: not a circle.
            if not imported.startswith(module + "."):
                walk(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_under_400_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


def test_the_rules_are_checked_at_all() -> None:
    assert wing("outage_notify.delivery.dispatcher") == "delivery"
    assert wing("outage_notify.registry") == "core"
    assert wing("outage_notify.migrations.env") == "core"
    assert wing("outage_notify.web.api") == "faces"
    assert "outage_notify.delivery.fanout" in imports(
        "outage_notify.delivery.dispatcher", top_level_only=True
    )
