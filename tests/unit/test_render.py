"""Each output format, rendered from the fixed outcomes of :mod:`tests.unit.run_documents`, byte for byte.

The expected texts in ``golden/`` (and the Nagios lines below) are what remediate printed for these
outcomes; the coloured variants are what a terminal receives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import console, monitoring, report
from runner.report import HostOutcome
from tests.unit import run_documents

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN_ID = "0123456789abcdef"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def _printed(monkeypatch: pytest.MonkeyPatch, colour: bool, show: object, *args: object) -> str:
    lines: list[str] = []
    monkeypatch.setattr(console, "out", lambda text="", err=False: lines.append(text))
    monkeypatch.setattr(console, "color_for", lambda _stream: console.Color(colour))
    show(*args)  # type: ignore[operator]
    return "".join(line + "\n" for line in lines)


def render_run(monkeypatch: pytest.MonkeyPatch, output: str, hosts: list[HostOutcome], colour: bool = False) -> str:
    code = report.exit_code(hosts)
    if output == "json":
        return json.dumps(report.document(RUN_ID, "web", False, hosts, code), indent=2) + "\n"
    return _printed(monkeypatch, colour, console.summary, hosts, code)


def render_sweep(
    monkeypatch: pytest.MonkeyPatch, output: str, hosts: list[HostOutcome], colour: bool = False
) -> tuple[int, str]:
    code = report.exit_code(hosts)
    if output == "json":
        return code, json.dumps(report.document(RUN_ID, "check", True, hosts, code), indent=2) + "\n"
    if output == "prometheus":
        return code, monitoring.prometheus(hosts, run_documents.SWEEP_MODULES)
    if output == "nagios":
        plugin_code, line = monitoring.nagios(hosts)
        return plugin_code, line + "\n"
    return code, _printed(monkeypatch, colour, console.sweep, hosts)


@pytest.mark.parametrize(
    ("output", "colour", "expected"),
    [("text", False, "run.txt"), ("text", True, "run.colour.txt"), ("json", False, "run.json")],
)
def test_run_formats(monkeypatch: pytest.MonkeyPatch, output: str, colour: bool, expected: str) -> None:
    assert render_run(monkeypatch, output, run_documents.run_hosts(), colour) == golden(expected)


@pytest.mark.parametrize(
    ("output", "colour", "expected"),
    [
        ("text", False, "sweep.txt"),
        ("text", True, "sweep.colour.txt"),
        ("json", False, "sweep.json"),
        ("prometheus", False, "sweep.prom"),
    ],
)
def test_sweep_formats(monkeypatch: pytest.MonkeyPatch, output: str, colour: bool, expected: str) -> None:
    assert render_sweep(monkeypatch, output, run_documents.sweep_hosts(), colour) == (1, golden(expected))


SWEEP = run_documents.sweep_hosts()
PERF = "undetermined={u};;;0 skipped={s};;;0 unreachable={n};;;0 duration={d}s;;;0\n"


@pytest.mark.parametrize(
    ("hosts", "code", "line"),
    [
        (
            SWEEP,
            2,
            "REMEDIATE CRITICAL - problem: prod1 web; unreachable: prod2 | healthy=3;;;0 problem=1;;;0 "
            + PERF.format(u=1, s=1, n=1, d="2.500"),
        ),
        (
            run_documents.healthy_sweep(),
            0,
            "REMEDIATE OK - 2 module checks healthy on 1 host(s) | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=0, s=1, n=0, d="0.750"),
        ),
        (
            [SWEEP[2]],
            1,
            "REMEDIATE WARNING - cannot decide: prod3 web | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=1, s=0, n=0, d="1.000"),
        ),
        (
            [SWEEP[1]],
            3,
            "REMEDIATE UNKNOWN - unreachable: prod2 | healthy=0;;;0 problem=0;;;0 "
            + PERF.format(u=0, s=0, n=1, d="0.000"),
        ),
        (
            [SWEEP[1], SWEEP[2]],
            3,
            "REMEDIATE UNKNOWN - unreachable: prod2 | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=1, s=0, n=1, d="1.000"),
        ),
    ],
)
def test_nagios_lines(monkeypatch: pytest.MonkeyPatch, hosts: list[HostOutcome], code: int, line: str) -> None:
    assert render_sweep(monkeypatch, "nagios", hosts) == (code, line)
