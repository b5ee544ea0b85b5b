"""runner/ imports in one direction, and each third-party library stays behind one module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "runner"
# library -> the only runner modules allowed to import it (at run time)
LIBRARIES = {
    "fabric": {"runner.transport"},
    "paramiko": {"runner.transport"},
    "invoke": {"runner.transport"},
    "tenacity": {"runner.retry"},
    "structlog": {"runner.audit"},
    "yaml": {"runner.yamlfile"},
}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules imported at run time (``if TYPE_CHECKING:`` blocks left out); ``from pkg import sub`` is ``pkg.sub``."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for n in ast.walk(node)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            out |= subs or {node.module}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    files = {_name(p): p for p in ROOT.rglob("*.py")}
    known = set(files)
    return {m: _imports(p, known) for m, p in files.items()}


def test_runner_has_no_import_cycle() -> None:
    graph = _graph()
    inner = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for d in sorted(inner[m]):
            assert state.get(d) != 1, "import cycle: " + " -> ".join([*path[path.index(d) :], d])
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in sorted(inner):
        if m not in state:
            visit(m)


def test_each_library_behind_one_module() -> None:
    for module, deps in _graph().items():
        for lib, allowed in LIBRARIES.items():
            if any(d == lib or d.startswith(lib + ".") for d in deps):
                assert module in allowed, f"{module} imports {lib}; only {sorted(allowed)} may"


def test_only_the_cli_and_the_console_print() -> None:
    for path in ROOT.rglob("*.py"):
        name = _name(path)
        if name.startswith("runner.cli") or name in ("runner.console", "runner.schema"):
            continue  # runner.schema is the developer's generator (python -m runner.schema)
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"{name} prints"
        assert "click" not in _imports(path, set()), f"{name} imports click"


def _action_names_compared(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """String constants naming an action that take part in a comparison (``==``, ``in``, ``match``)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        operands: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op in node.comparators:
                if isinstance(op, ast.Tuple | ast.List | ast.Set):
                    operands.extend(op.elts)
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        found += [
            (n.lineno, n.value)
            for n in operands
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names
        ]
    return found


def test_the_engine_tests_no_action_by_name() -> None:
    """Only runner/actions knows actions by name: the engine asks an action's properties (merge,
    settles, effects), so a new action never needs a change outside its family file."""
    from runner.actions import ACTIONS

    names = set(ACTIONS)
    offenders = [
        f"{_name(path)}:{line}: {value!r}"
        for path in ROOT.rglob("*.py")
        if not _name(path).startswith("runner.actions")
        for line, value in _action_names_compared(ast.parse(path.read_text()), names)
    ]
    assert not offenders, "action names tested outside runner/actions: " + ", ".join(offenders)


def test_the_action_name_probe_finds_a_comparison() -> None:
    """The probe above sees each shape of test it forbids (so it cannot pass blind)."""
    source = 'a == "sql"\nb in ("x", "query")\nmatch c:\n    case "module_running":\n        pass\n'
    found = _action_names_compared(ast.parse(source), {"sql", "query", "module_running"})
    assert [v for _l, v in found] == ["sql", "query", "module_running"]


README = ROOT.parent / "README.md"
ARROW = re.compile(r"imports in one direction \(([^)]*)\)")


def _layers() -> list[str]:
    """The README's layout arrow, e.g. ``cli -> execute -> ...``: each name imports the next."""
    found = ARROW.search(README.read_text())
    assert found, "README.md: the Layout section has no 'imports in one direction (a -> b -> ...)' arrow"
    return [name.strip() for name in found.group(1).split("->")]


def _members(layer: str, graph: dict[str, set[str]]) -> set[str]:
    name = f"runner.{layer}"
    return {m for m in graph if m == name or m.startswith(name + ".")}


def test_the_readme_layout_arrow_matches_the_imports() -> None:
    """Each layer of the arrow imports the next one, and none imports a layer before it."""
    graph = _graph()
    layers = _layers()
    assert len(layers) >= 5, layers
    members = [_members(layer, graph) for layer in layers]
    for layer, found in zip(layers, members, strict=True):
        assert found, f"README arrow names {layer!r}, which is no module of runner/"
    for index in range(len(layers) - 1):
        deps = set().union(*(graph[m] for m in members[index]))
        assert deps & members[index + 1], f"{layers[index]} does not import {layers[index + 1]}"
    for index, found in enumerate(members):
        earlier = set().union(*members[:index]) if index else set()
        for module in found:
            back = graph[module] & earlier
            assert not back, f"{module} imports {sorted(back)}, a layer before it in the README arrow"


def test_every_audit_event_is_a_member_of_the_vocabulary() -> None:
    """``emit`` is called with an ``Event`` member (or a name holding one), never a string literal, so
    the vocabulary in runner/events.py is the whole list of events."""
    literal = [
        f"{_name(path)}:{node.lineno}"
        for path in ROOT.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "emit"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    assert not literal, "audit events written as string literals: " + ", ".join(literal)
