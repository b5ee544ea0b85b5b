"""Every ``--output`` of ``remediate MODULE`` and ``remediate check``, through the real CLI, byte for byte.

The engine is replaced by one that returns the fixed outcomes of :mod:`tests.unit.run_documents`; the
inventory, the audit log and everything the CLI does around the engine are real. The expected texts in
``golden/`` are what remediate printed for these outcomes.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runner.cli import main
from runner.report import HostOutcome
from tests.unit import run_documents

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN_ID = re.compile(r'"run_id": "[0-9a-f]{16}"')


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


class FixedEngine:
    """Stands in for runner.execute.Engine: returns the fixed outcomes, contacts nothing."""

    def __init__(self, hosts: list[Any], audit: Any, config: Any) -> None:
        self.hosts = hosts

    def run(self, _playbook: Any) -> list[HostOutcome]:
        return run_documents.run_hosts()

    def check(self, _playbooks: Any) -> list[HostOutcome]:
        return run_documents.sweep_hosts()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An inventory of prod1..prod3 (resolved through a private OpenSSH config) and the fixed engine."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text("".join(f"Host prod{n}\n  HostName 127.0.0.{40 + n}\n  User neolane\n" for n in (1, 2, 3)))
    (tmp_path / "inventory.yml").write_text(
        f"all:\n  vars: {{ssh_config: {cfg}, instance: prod}}\n  hosts:\n    prod1: {{}}\n    prod2: {{}}\n"
        "    prod3: {}\n"
    )
    monkeypatch.setattr("runner.execute.Engine", FixedEngine)
    before = signal.getsignal(signal.SIGTERM)
    yield tmp_path
    signal.signal(signal.SIGTERM, before)


def _remediate(site: Path, *args: str) -> tuple[int, str, str]:
    argv = [*args, "--group", "all", "-i", str(site / "inventory.yml"), "--audit-log", str(site / "audit.jsonl")]
    res = CliRunner().invoke(main, argv, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_run_text_is_the_summary(site: Path) -> None:
    code, out, _err = _remediate(site, "web")
    assert (code, out) == (1, golden("run.txt"))


def test_run_json_is_the_run_document(site: Path) -> None:
    code, out, _err = _remediate(site, "web", "--output", "json")
    assert code == 1
    assert RUN_ID.sub('"run_id": "0123456789abcdef"', out) == golden("run.json")


def test_check_text_is_the_sweep_table(site: Path) -> None:
    code, out, _err = _remediate(site, "check", *run_documents.SWEEP_MODULES)
    assert (code, out) == (1, golden("sweep.txt"))


def test_check_json_is_the_run_document(site: Path) -> None:
    code, out, _err = _remediate(site, "check", *run_documents.SWEEP_MODULES, "--output", "json")
    assert code == 1
    assert RUN_ID.sub('"run_id": "0123456789abcdef"', out) == golden("sweep.json")


def test_check_prometheus_to_stdout_and_to_a_file(site: Path) -> None:
    code, out, _err = _remediate(site, "check", *run_documents.SWEEP_MODULES, "--output", "prometheus")
    assert (code, out) == (1, golden("sweep.prom"))
    target = site / "remediate.prom"
    code, out, _err = _remediate(
        site, "check", *run_documents.SWEEP_MODULES, "--output", "prometheus", "--output-file", str(target)
    )
    assert (code, out) == (1, "")
    assert target.read_text() == golden("sweep.prom")


def test_check_nagios_exit_code_is_the_plugins(site: Path) -> None:
    code, out, _err = _remediate(site, "check", *run_documents.SWEEP_MODULES, "--output", "nagios")
    assert code == 2
    assert out == (
        "REMEDIATE CRITICAL - problem: prod1 web; unreachable: prod2; 1 warning(s) | healthy=3;;;0 problem=1;;;0 "
        "undetermined=1;;;0 skipped=1;;;0 unreachable=1;;;0 warning=1;;;0 duration=2.500s;;;0\n"
    )


def test_check_nagios_bad_invocation_is_one_unknown_line(site: Path) -> None:
    argv = ["check", "web", "--output", "nagios", "--group", "nosuch", "-i", str(site / "inventory.yml")]
    res = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert res.exit_code == 3
    assert res.stdout.startswith("REMEDIATE UNKNOWN - ") and res.stdout.count("\n") == 1
    assert "nosuch" in res.stdout


def test_check_output_file_that_cannot_be_written_is_exit_2(site: Path) -> None:
    target = site / "missing-dir" / "remediate.prom"
    code, out, err = _remediate(site, "check", "web", "--output", "prometheus", "--output-file", str(target))
    assert (code, out) == (2, "")
    assert "cannot write" in err and str(target) in err


def test_formats_a_command_does_not_serve_are_refused(site: Path) -> None:
    code, _out, err = _remediate(site, "web", "--output", "nagios")
    assert code == 2 and "--output" in err


def test_check_text_to_a_file_is_the_plain_table(site: Path) -> None:
    target = site / "sweep.txt"
    code, out, _err = _remediate(
        site, "check", *run_documents.SWEEP_MODULES, "--output", "text", "--output-file", str(target)
    )
    assert (code, out) == (1, "")
    assert target.read_text() == golden("sweep.txt")
