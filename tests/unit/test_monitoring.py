"""Monitoring outputs of remediate check: Prometheus text (parsed by the client library's own parser), Nagios."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner import monitoring
from runner.outcomes import HostStatus, ModuleVerdict
from runner.report import HostOutcome


def _host(name: str, status: HostStatus, **modules: ModuleVerdict) -> HostOutcome:
    return HostOutcome(name, status, modules=dict(modules), duration=1.5, checked_at=1_700_000_000.0)


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
    samples = _samples(monitoring.prometheus(hosts, ["web", "mta"]))
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
    text = monitoring.prometheus([_host('we"ird\\host', HostStatus.HEALTHY, web=ModuleVerdict.HEALTHY)], ["web"])
    assert any(("host", 'we"ird\\host') in labels for _n, labels in _samples(text))


def test_written_atomically_and_readable_by_the_collector(tmp_path: Path) -> None:
    target = tmp_path / "remediate.prom"
    target.write_text("old\n")
    monitoring.write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["remediate.prom"]  # no temp file left behind
    with pytest.raises(OSError):
        monitoring.write_atomically(tmp_path / "missing-dir" / "remediate.prom", "newer\n")
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
    got, line = monitoring.nagios(hosts)
    assert got == code
    assert line.startswith(f"REMEDIATE {word} - ") and "\n" not in line
    _text, perf = line.split(" | ")
    assert all(item.count("=") == 1 and item.endswith(";;;0") for item in perf.split())
    assert "unreachable=" in perf and "problem=" in perf


def test_nagios_unknown_line() -> None:
    assert monitoring.nagios_unknown("inventory.yml:3: bad\nmore") == "REMEDIATE UNKNOWN - inventory.yml:3: bad"
