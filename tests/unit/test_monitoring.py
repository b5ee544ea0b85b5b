"""Monitoring outputs of remediate check: Prometheus text (parsed by the client library's own parser), Nagios,
and the atomic write of ``--output-file``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner import render
from runner.cli.output import write_atomically
from runner.outcomes import HostStatus, ModuleVerdict
from runner.report import HostOutcome, exit_code


def _host(name: str, status: HostStatus, **modules: ModuleVerdict) -> HostOutcome:
    return HostOutcome(name, status, modules=dict(modules), duration=1.5, checked_at=1_700_000_000.0)


def _sweep(hosts: list[HostOutcome], modules: list[str] | None = None) -> render.RunDocument:
    checked = modules if modules is not None else sorted({m for host in hosts for m in host.modules})
    return render.RunDocument("r1", "check", True, hosts, exit_code(hosts), checked=checked)


def _prometheus(hosts: list[HostOutcome], modules: list[str]) -> str:
    return render.render("prometheus", _sweep(hosts, modules)).text


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_prometheus_state_set_per_host_and_module() -> None:
    hosts = [
        _host("lab1", HostStatus.FAILED, web=ModuleVerdict.PROBLEM, mta=ModuleVerdict.HEALTHY),
        _host("lab2", HostStatus.UNREACHABLE),
    ]
    samples = _samples(_prometheus(hosts, ["web", "mta"]))
    key = ("remediate_check_module_state", (("host", "lab1"), ("module", "web"), ("state", "problem")))
    assert samples[key] == 1
    assert samples[("remediate_check_module_state", (("host", "lab1"), ("module", "web"), ("state", "healthy")))] == 0
    assert all(
        v == 0 for (n, labels), v in samples.items() if n.endswith("module_state") and ("host", "lab2") in labels
    )
    assert samples[("remediate_check_host_reachable", (("host", "lab2"),))] == 0
    assert samples[("remediate_check_duration_seconds", (("host", "lab1"),))] == 1.5
    assert samples[("remediate_check_timestamp_seconds", (("host", "lab1"),))] == 1_700_000_000.0


def test_prometheus_labels_are_escaped() -> None:
    text = _prometheus([_host('we"ird\\host', HostStatus.HEALTHY, web=ModuleVerdict.HEALTHY)], ["web"])
    assert any(("host", 'we"ird\\host') in labels for _n, labels in _samples(text))


def test_written_atomically_and_readable_by_the_collector(tmp_path: Path) -> None:
    target = tmp_path / "remediate.prom"
    target.write_text("old\n")
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["remediate.prom"]  # no temp file left behind
    with pytest.raises(OSError):
        write_atomically(tmp_path / "missing-dir" / "remediate.prom", "newer\n")
    assert target.read_text() == "new\n"


@pytest.mark.parametrize(
    ("hosts", "code", "word"),
    [
        ([_host("a", HostStatus.HEALTHY, web=ModuleVerdict.HEALTHY, mta=ModuleVerdict.SKIPPED)], 0, "OK"),
        ([_host("a", HostStatus.FAILED, web=ModuleVerdict.UNDETERMINED)], 1, "WARNING"),
        ([_host("a", HostStatus.FAILED, web=ModuleVerdict.PROBLEM)], 2, "CRITICAL"),
        ([_host("a", HostStatus.UNREACHABLE)], 3, "UNKNOWN"),
        ([_host("a", HostStatus.UNREACHABLE), _host("b", HostStatus.FAILED, web=ModuleVerdict.PROBLEM)], 2, "CRITICAL"),
        (
            [_host("a", HostStatus.UNREACHABLE), _host("b", HostStatus.FAILED, web=ModuleVerdict.UNDETERMINED)],
            3,
            "UNKNOWN",
        ),
    ],
)
def test_nagios_exit_codes_follow_the_plugin_guidelines(hosts: list[HostOutcome], code: int, word: str) -> None:
    rendered = render.render("nagios", _sweep(hosts))
    assert rendered.exit_code == code
    line = rendered.text.removesuffix("\n")
    assert line.startswith(f"REMEDIATE {word} - ") and "\n" not in line
    _text, perf = line.split(" | ")
    assert all(item.count("=") == 1 and item.endswith(";;;0") for item in perf.split())
    assert "unreachable=" in perf and "problem=" in perf


def test_nagios_unknown_line() -> None:
    refusal = render.FORMATS["nagios"].bad_input
    assert refusal is not None
    assert refusal("inventory.yml:3: bad\nmore").text == "REMEDIATE UNKNOWN - inventory.yml:3: bad\n"
