"""The engine reads each host's own settings once, right after connecting, and every step takes them.

On an in-memory host (tests/unit/fakehost.py): TRACE_ADDR in customer.sh moves the port a check reads;
an inventory var that says otherwise wins and is recorded; a settings read that fails as a whole, and a
holds listing that times out, stop the host before anything is sent.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from runner import playbook
from runner.audit import AuditLog
from runner.errors import CommandTimeout
from runner.execute import Engine, RunConfig
from runner.inventory import Host
from runner.outcomes import HostStatus
from tests.unit.fakehost import HOLD_MARK, SETTINGS_MARK, FakeHost, FakeSession, Sent

BANNER = "12:09:54 >   Application server for Adobe Campaign Classic (7.3 23.10 build 9362@6e4ecd4) of 14/02/2024"
PORTS = """
module: syslogd
title: Log server
scope: writes logs
symptom: log lines missing
checks:
  - id: syslogd_bound
    title: syslogd listens
    action: port_listening
    args: {module: syslogd, port: "{syslogd_port}", proto: udp, address: "{syslogd_address}"}
remediation:
  - id: restart_syslogd
    title: Restart syslogd
    effect: disrupt
    action: restart_module
    args: {module: syslogd}
    when: {failed: syslogd_bound}
    interrupts: log records
verification:
  - check: syslogd_bound
"""


LISTENING = "UNCONN 0 0 127.0.0.1:6667 0.0.0.0:* ino:4242\n"


def syslogd(command: str) -> tuple[str, str, int]:
    """A host whose syslogd (pid 700) listens on udp 127.0.0.1:6667 only (TRACE_ADDR=localhost:6667)."""
    if "sport = :" not in command:
        return "", f"unexpected {command!r}", 127
    there = LISTENING if "sport = :6667" in command else ""
    pdump = f"{BANNER}\nsyslogd@default (700) - 9 MB\n"
    return f"{pdump}@@addr 127.0.0.1 ::1\n@@ss\n{there}@@own 4242\n@@mine\n{LISTENING}@@ps\n", "", 0


def _run(tmp_path: Path, fake: FakeHost, **vars_: Any) -> tuple[Any, list[dict[str, Any]]]:
    path = tmp_path / "syslogd.yml"
    path.write_text(textwrap.dedent(PORTS))
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod", "nlserver": "nlserver", **vars_}, "test:1")
    (outcome,) = Engine([host], log, RunConfig(session_factory=fake.factory, yes=True)).run(playbook.load(path))
    log.close()
    return outcome, [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_the_host_trace_addr_moves_the_port_and_a_healthy_syslogd_is_left_alone(tmp_path: Path) -> None:
    fake = FakeHost(syslogd, settings={"customer": "export TRACE_ADDR=localhost:6667"})
    outcome, events = _run(tmp_path, fake)
    assert outcome.status is HostStatus.HEALTHY, outcome.message
    assert fake.changes() == []
    (read,) = [e for e in events if e["event"] == "settings.read"]
    assert read["settings"]["syslogd_port"] == {
        "value": 6667,
        "source": "TRACE_ADDR in /usr/local/neolane/nl6/customer.sh",
    }
    # the settings are read once, before the checks
    order = [e["event"] for e in events]
    assert order.index("settings.read") < order.index("step.started")
    assert sum(1 for s in fake.sent if SETTINGS_MARK in s.command) == 1


def test_without_the_host_setting_the_port_check_is_undetermined_not_a_restart(tmp_path: Path) -> None:
    """The host's TRACE_ADDR could not be known (none read): syslogd listens on 6667, the check was
    given 6666; it runs, so restarting it would bind 6667 again: undetermined, nothing sent."""
    fake = FakeHost(syslogd)
    outcome, _events = _run(tmp_path, fake)
    assert outcome.status is HostStatus.FAILED and "undetermined" in outcome.message
    assert "listens on udp 127.0.0.1:6667, not on 6666" in outcome.message
    assert fake.changes() == []


def test_an_inventory_var_that_says_otherwise_wins_and_is_reported(tmp_path: Path) -> None:
    fake = FakeHost(syslogd, settings={"customer": "export TRACE_ADDR=localhost:6667"})
    outcome, events = _run(tmp_path, fake, syslogd_port=6666)
    (mismatch,) = [e for e in events if e["event"] == "host.setting_mismatch"]
    assert (mismatch["var"], mismatch["inventory_value"], mismatch["host_value"]) == ("syslogd_port", 6666, 6667)
    assert any("the inventory says 6666, the host says 6667" in s for s in outcome.settings)
    assert "not on 6666" in outcome.message  # the inventory's value was used
    assert fake.changes() == []


class Failing(FakeSession):
    """A session whose settings read (or holds listing) times out."""

    def __init__(self, host: FakeHost, endpoint: Any, mark: str) -> None:
        super().__init__(host, endpoint)
        self.mark = mark

    def run(self, command: str, timeout: float) -> Any:
        if self.mark in command:
            self.host.sent.append(Sent(command, batched=False))
            raise CommandTimeout("command timed out", host="prod1", timeout=timeout)
        return super().run(command, timeout)


def _failing(fake: FakeHost, mark: str) -> Any:
    base = fake.factory

    def factory(host: Host, ssh_config: Path | None) -> FakeSession:
        return Failing(fake, base(host, ssh_config).endpoint, mark)

    return factory


def test_a_settings_read_that_fails_stops_the_host_before_any_check(tmp_path: Path) -> None:
    fake = FakeHost(syslogd)
    path = tmp_path / "syslogd.yml"
    path.write_text(textwrap.dedent(PORTS))
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod"}, "test:1")
    config = RunConfig(session_factory=_failing(fake, SETTINGS_MARK), yes=True)
    (outcome,) = Engine([host], log, config).run(playbook.load(path))
    log.close()
    assert outcome.status is HostStatus.FAILED and "settings could not be read" in outcome.message
    assert fake.reads() == [] and fake.changes() == []


def deaf(command: str) -> tuple[str, str, int]:
    """syslogd (pid 700) runs and listens nowhere: the check fails and asks for a restart."""
    if "sport = :" in command:
        return f"{BANNER}\nsyslogd@default (700) - 9 MB\n@@addr 127.0.0.1\n@@ss\n@@own 4242\n@@mine\n@@ps\n", "", 0
    return "Stop requested\nServer started\n", "", 0


def test_a_holds_listing_that_times_out_holds_every_module(tmp_path: Path) -> None:
    """Fail safe (issue 18): a listing that cannot be read is a hold on every module, so the restart the
    failed check asks for is not sent."""
    fake = FakeHost(deaf)
    path = tmp_path / "syslogd.yml"
    path.write_text(textwrap.dedent(PORTS))
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod"}, "test:1")
    config = RunConfig(session_factory=_failing(fake, HOLD_MARK), yes=True)
    (outcome,) = Engine([host], log, config).run(playbook.load(path))
    log.close()
    assert outcome.status is HostStatus.HELD, outcome.message
    assert fake.changes() == []
