"""The lab's module structure: every module imports alone, the import graph has no cycle, and the
simulator package is stdlib-only and runs from a copy under ``python3 -I -S`` (as the lab runs it).

No lab is started: these tests only read and import source files.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
SIM = LAB / "sim" / "nlsim"
SYSTEM_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(LAB.rglob("*.py")) if "__pycache__" not in p.parts}


def imported_modules(name: str, path: Path) -> set[str]:
    """Every module `name` imports (at any depth, TYPE_CHECKING blocks included), absolute names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # `from . import faults` imports a module
    return out


def ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts))}


def lab_graph() -> dict[str, set[str]]:
    """Module -> the lab modules it imports. A module's own parent packages are left out: Python
    initialises them before the module itself, so importing one of them never starts a cycle."""
    return {
        name: {m for m in imported_modules(name, path) if m in MODULES and m != name and m not in ancestors(name)}
        for name, path in MODULES.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_graph_sees_relative_and_from_package_imports() -> None:
    graph = lab_graph()
    assert "lab.base" in graph["lab.status"]
    assert "lab.faults" in graph["lab.core"]  # `from . import faults as _faults`
    assert "lab.sim.nlsim.pids" in graph["lab.base"]


def test_lab_import_graph_has_no_cycle() -> None:
    assert find_cycle(lab_graph()) is None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_imports_alone(name: str) -> None:
    r = subprocess.run(
        [sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0, r.stderr


def test_simulator_is_stdlib_only() -> None:
    for path in sorted(SIM.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:  # relative imports stay in the package
                names = [node.module or ""]
            for n in names:
                assert n.split(".")[0] in sys.stdlib_module_names, f"{path.name}: imports {n}"


def test_simulator_runs_from_a_copy_isolated(tmp_path: Path) -> None:
    """As the lab installs it: the package directory copied elsewhere, run with -I -S, no `lab` importable."""
    shutil.copytree(SIM, tmp_path / "sim" / "nlsim", ignore=shutil.ignore_patterns("__pycache__"))
    host = tmp_path / "host"
    (host / "nl6").mkdir(parents=True)
    (host / "host.json").write_text(json.dumps({"name": "lab1", "address": "127.0.0.1", "instance": "prod"}))
    r = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-S", str(tmp_path / "sim" / "nlsim" / "__main__.py"), "pdump"],
        cwd="/",
        env={"NL6_ROOT": str(host / "nl6"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "Application server for Adobe Campaign Classic" in r.stdout
    assert r.stdout.rstrip().endswith("No tasks")
