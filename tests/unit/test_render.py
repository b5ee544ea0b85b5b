"""Each output format, rendered from the fixed outcomes of :mod:`tests.unit.run_documents`, byte for byte.

The expected texts in ``golden/`` (and the Nagios lines below) are what remediate printed for these
outcomes; the coloured variants are what a terminal receives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import console, render, report
from runner.outcomes import HostStatus, ModuleVerdict
from runner.report import HostOutcome
from tests.unit import run_documents

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN_ID = "0123456789abcdef"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def _paint(colour: bool) -> render.Paint:
    return console.Color(True) if colour else render.plain


def render_run(output: str, hosts: list[HostOutcome], colour: bool = False) -> str:
    doc = render.RunDocument(RUN_ID, "web", False, hosts, report.exit_code(hosts))
    rendered = render.render(output, doc, _paint(colour))
    assert rendered.exit_code == doc.exit_code
    return rendered.text


def render_sweep(output: str, hosts: list[HostOutcome], colour: bool = False) -> tuple[int, str]:
    doc = render.RunDocument(RUN_ID, "check", True, hosts, report.exit_code(hosts), checked=run_documents.SWEEP_MODULES)
    rendered = render.render(output, doc, _paint(colour))
    return rendered.exit_code, rendered.text


@pytest.mark.parametrize(
    ("output", "colour", "expected"),
    [("text", False, "run.txt"), ("text", True, "run.colour.txt"), ("json", False, "run.json")],
)
def test_run_formats(output: str, colour: bool, expected: str) -> None:
    assert render_run(output, run_documents.run_hosts(), colour) == golden(expected)


@pytest.mark.parametrize(
    ("output", "colour", "expected"),
    [
        ("text", False, "sweep.txt"),
        ("text", True, "sweep.colour.txt"),
        ("json", False, "sweep.json"),
        ("prometheus", False, "sweep.prom"),
    ],
)
def test_sweep_formats(output: str, colour: bool, expected: str) -> None:
    assert render_sweep(output, run_documents.sweep_hosts(), colour) == (1, golden(expected))


SWEEP = run_documents.sweep_hosts()
PERF = "undetermined={u};;;0 skipped={s};;;0 unreachable={n};;;0 warning={w};;;0 duration={d}s;;;0\n"


@pytest.mark.parametrize(
    ("hosts", "code", "line"),
    [
        (
            SWEEP,
            2,
            "REMEDIATE CRITICAL - problem: prod1 web; unreachable: prod2; 1 warning(s) | healthy=3;;;0 problem=1;;;0 "
            + PERF.format(u=1, s=1, n=1, w=1, d="2.500"),
        ),
        (
            run_documents.healthy_sweep(),
            0,
            "REMEDIATE OK - 2 module checks healthy on 1 host(s) | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=0, s=1, n=0, w=0, d="0.750"),
        ),
        (
            [SWEEP[2]],
            1,
            "REMEDIATE WARNING - undetermined: prod3 web | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=1, s=0, n=0, w=0, d="1.000"),
        ),
        (
            [SWEEP[1]],
            3,
            "REMEDIATE UNKNOWN - unreachable: prod2 | healthy=0;;;0 problem=0;;;0 "
            + PERF.format(u=0, s=0, n=1, w=0, d="0.000"),
        ),
        (
            [SWEEP[1], SWEEP[2]],
            3,
            "REMEDIATE UNKNOWN - unreachable: prod2 | healthy=2;;;0 problem=0;;;0 "
            + PERF.format(u=1, s=0, n=1, w=0, d="1.000"),
        ),
    ],
)
def test_nagios_lines(hosts: list[HostOutcome], code: int, line: str) -> None:
    assert render_sweep("nagios", hosts) == (code, line)


def test_a_warning_alone_is_nagios_warning_and_shown_everywhere() -> None:
    """A check that passed with a warning (a process above maxProcessMemoryWarningMb): Nagios WARNING (exit 1),
    the text and JSON name it, Prometheus counts it; the run itself stays healthy."""
    host = SWEEP[0]
    warned = HostOutcome(
        "prod1",
        HostStatus.HEALTHY,
        modules={"mta": ModuleVerdict.HEALTHY},
        steps=host.steps,
        duration=1.0,
    )
    code, line = render_sweep("nagios", [warned])
    assert code == 1 and line.startswith("REMEDIATE WARNING - warning: prod1 mta: mta@prod uses 1700 MB"), line
    assert "[process_memory_mb" not in line and " warning=1;;;0 " in line
    assert "    warning: mta@prod uses 1700 MB" in render_sweep("text", [warned])[1]
    assert '"warnings": [\n        "mta: mta@prod uses 1700 MB' in render_sweep("json", [warned])[1]
    prom = render_sweep("prometheus", [warned])[1]
    assert 'remediate_check_module_warning{host="prod1",module="mta"} 1\n' in prom
    assert 'remediate_process_memory_mb{host="prod1",module="mta",process="mta@prod",kind="current"} 1700\n' in prom


def test_nagios_bad_input_is_one_unknown_line() -> None:
    refusal = render.nagios_bad_input("inventory.yml:3: bad\nmore")
    assert (refusal.exit_code, refusal.text) == (3, "REMEDIATE UNKNOWN - inventory.yml:3: bad\n")


def test_each_command_offers_its_formats() -> None:
    assert render.format_names(sweep=False) == ["text", "json"]
    assert render.format_names(sweep=True) == ["text", "json", "prometheus", "nagios"]
    assert [name for name, fmt in render.FORMATS.items() if fmt.bad_input] == ["nagios"]


def test_a_format_is_one_renderer_and_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    def hosts_only(doc: render.RunDocument, _paint: render.Paint) -> render.Rendered:
        return render.Rendered("".join(f"{outcome.host}\n" for outcome in doc.hosts), doc.exit_code)

    monkeypatch.setitem(render.FORMATS, "hosts", render.Format(hosts_only, "host names"))
    assert render.format_names(sweep=False)[-1] == "hosts"
    assert render_run("hosts", run_documents.run_hosts()) == "prod1\nprod2\nprod3\n"


def test_holds_show_in_every_sweep_format() -> None:
    """An operator's hold read on the host: the text, JSON, Prometheus and Nagios outputs all say it."""
    hold = {"process": "mta@prod", "by": "alice", "reason": "INC-7 bad send", "since": "2026-12-02T20:00:00Z"}
    held = HostOutcome("prod1", HostStatus.HEALTHY, modules={"mta": ModuleVerdict.HEALTHY}, duration=1.0, holds=[hold])
    free = HostOutcome("prod2", HostStatus.HEALTHY, modules={"mta": ModuleVerdict.HEALTHY}, duration=1.0)
    assert "  held: mta@prod" in render_sweep("text", [held, free])[1]
    assert '"reason": "INC-7 bad send"' in render_sweep("json", [held, free])[1]
    prom = render_sweep("prometheus", [held, free])[1]
    assert 'remediate_check_module_held{host="prod1",process="mta@prod"} 1\n' in prom
    assert 'host="prod2",process=' not in prom
    code, line = render_sweep("nagios", [held, free])
    assert code == 0
    assert "held: prod1 mta@prod" in line
    assert "held:" not in render_sweep("nagios", [free])[1]
    assert "remediate_check_module_held" not in render_sweep("prometheus", [free])[1]
