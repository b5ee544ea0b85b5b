"""bench/fleet_remediation.py: ratios, verdicts and the generated docs/performance.md section."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fleet() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fleet_remediation", ROOT / "bench" / "fleet_remediation.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def side(walls: list[float], failures: list[str] | None = None) -> dict[str, Any]:
    s = sorted(walls)
    return {
        "runs": len(walls),
        "median_s": s[len(s) // 2],
        "min_s": s[0],
        "max_s": s[-1],
        "cpu_s": 0.5,
        "host_cpu_s": 1.5,
        "maxrss_mb": 50.0,
        "ok": not failures,
        "failures": failures or [],
    }


def results(fleet: ModuleType, load: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "date": "2026-12-03 03:40 UTC",
        "commit": "abc123",
        "dirty": [],
        "machine": {"nproc": 2, "cpu": "CPU", "python": "3.11"},
        "load_start": [load, 1.0, 1.0],
        "load_end": [3.0, 1.0, 1.0],
        "hosts": 10,
        "rounds": 5,
        "lab": "python -m lab ...",
        "rows": rows,
    }


def row(fleet: ModuleType, name: str, one: dict[str, Any], ten: dict[str, Any]) -> dict[str, Any]:
    return dict(fleet.figures(name, one, ten, [4.5, 1.0, 1.0], [6.25, 1.0, 1.0]))


def test_ratio_and_verdict(fleet: ModuleType) -> None:
    assert fleet.ratio(3.0, 2.0) == 1.5
    assert fleet.ratio(None, 2.0) is None
    assert fleet.ratio(3.0, 0.0) is None
    assert fleet.verdict(1.5, 1.5, True) is True  # at the target: met
    assert fleet.verdict(1.51, 1.5, True) is False
    assert fleet.verdict(1.0, 1.5, False) is False  # a run that did not do its work meets nothing
    assert fleet.verdict(None, 1.5, True) is None


def test_section_states_what_the_figures_say(fleet: ModuleType) -> None:
    rows = [
        row(fleet, fleet.START, side([1.0, 1.2, 1.1, 0.9, 1.0]), side([1.4, 1.3, 1.6, 1.4, 1.5])),
        row(fleet, fleet.RESTART, side([2.0, 2.0, 2.0, 2.0, 2.0]), {**side([6.0, 5.0, 6.2, 5.8, 6.0]), "batches": [2]}),
    ]
    text = fleet.render_section(results(fleet, 4.5, rows))
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and "N |" not in ln]
    assert len(table) == 4
    start10 = table[1].split(" | ")
    assert start10[1:4] == ["10", "1.40", "1.30-1.60"]
    assert start10[4:5] + start10[7:10] == ["0.50", "1.40", "<= 1.5", "yes"]
    restart10 = table[3].split(" | ")
    assert restart10[7:10] == ["3.00", "<= 2.5", "**no**"]
    assert "4.5 → 6.25" in table[0]
    assert "missed by 0.50" in text
    # 0.5 s runner + 1.5 s hosts on 2 cores: 1.00 s at least, 0.50 of the restart's one-host 2.00 s
    assert "at least 1.00 s on 2 cores with nothing else running: 0.50 times the one-host median" in text
    assert "within the target; the other 5.00 s of the median are not this CPU" in text
    assert "Batches per ten-host run, from its JSON document: 2." in text
    assert "Targets: 1 met, 1 missed, 0 not measured." in text
    assert "busy machine: load average 4.5" in text


def test_quiet_machine_and_failed_runs(fleet: ModuleType) -> None:
    one = side([1.0] * 5)
    ten = side([1.2] * 5, failures=["run 2: exit 1; not remediated: lab3 failed"])
    text = fleet.render_section(results(fleet, 1.5, [row(fleet, fleet.START, one, ten)]))
    assert "busy machine" not in text
    assert "missed (a run did not do its work)" in text
    assert "ten hosts: run 2: exit 1; not remediated: lab3 failed" in text
    assert "Targets: 0 met, 1 missed, 0 not measured." in text


def test_cpu_floor_above_the_target(fleet: ModuleType) -> None:
    assert fleet.cpu_floor({"cpu_s": 1.0, "host_cpu_s": 3.0}, 2) == 2.0
    assert fleet.cpu_floor({"cpu_s": 1.0}, 2) is None
    one, ten = side([1.0] * 5), {**side([4.0] * 5), "cpu_s": 2.0, "host_cpu_s": 4.0}
    text = fleet.row_sentence(row(fleet, fleet.START, one, ten), 2)
    assert "at least 3.00 s on 2 cores with nothing else running: 3.00 times the one-host median, above" in text


def test_commit_is_dirty_only_for_measured_code(fleet: ModuleType) -> None:
    assert fleet.measured_commit("abc-dirty", []) == "abc"
    assert fleet.measured_commit("abc-dirty", ["runner/run.py"]) == "abc-dirty"
    assert fleet.measured_commit("abc", []) == "abc"


def test_splice_replaces_only_its_section(fleet: ModuleType) -> None:
    first = f"{fleet.BEGIN}\nold figures\n{fleet.END}\n"
    doc = fleet.splice("# Performance\n\nother rows\n", first)
    assert doc == f"# Performance\n\nother rows\n\n{first}"
    doc += "\n## Later section\n"
    new = f"{fleet.BEGIN}\nnew figures\n{fleet.END}\n"
    again = fleet.splice(doc, new)
    assert again == f"# Performance\n\nother rows\n\n{new}\n## Later section\n"
    assert fleet.splice(again, new) == again


def test_make_bench_keeps_the_fleet_section(fleet: ModuleType, tmp_path: Path) -> None:
    """bench/run.py rewrites docs/performance.md whole: the section the fleet bench owns is carried over."""
    run = sys.modules["run"]  # bench/run.py, as the fleet bench imports it
    assert (fleet.BEGIN, fleet.END) in run.KEPT_SECTIONS
    doc = tmp_path / "performance.md"
    section = f"{fleet.BEGIN}\n## Fleet remediation\n\n| row |\n{fleet.END}"
    doc.write_text(f"# Performance\n\nold figures\n\n{section}\n\ntrailing\n")
    assert run.kept_sections(doc) == f"\n{section}\n"
    doc.write_text("# Performance\n")  # no section: nothing to keep
    assert run.kept_sections(doc) == ""
