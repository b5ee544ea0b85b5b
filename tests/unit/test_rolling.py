"""Rolling remediation: Ansible's serial and max_fail_percentage, the canary, and the engine over several
in-memory hosts (batches run in parallel, a failed batch stops the later ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner import rolling
from runner.audit import AuditLog
from runner.errors import InputError
from runner.execute import Engine, RunConfig
from runner.inventory import Host
from runner.outcomes import HostStatus
from runner.rolling import Size
from tests.unit.fakehost import FakeHost
from tests.unit.test_engine import WFSERVER, Campaign, _book


def test_serial_as_ansible_reads_it() -> None:
    sizes = rolling.parse_serial("1,5,25%")
    assert sizes == (Size(1), Size(5), Size(25, True))
    hosts = list(range(20))
    assert [len(b) for b in rolling.plan_batches(hosts, sizes, 20)] == [1, 5, 5, 5, 4]  # 25% of 20, repeated
    assert [len(b) for b in rolling.plan_batches(hosts[:3], (Size(10, True),), 3)] == [1, 1, 1]  # at least one
    for bad in ("0", "1,,2", "150%", "x", "-1"):
        with pytest.raises(InputError, match="--serial"):
            rolling.parse_serial(bad)


def test_defaults_keep_disruption_one_host_at_a_time() -> None:
    assert rolling.defaults(rolling.Rollout(), disruptive=True) == ((Size(1),), 0.0)
    assert rolling.defaults(rolling.Rollout(), disruptive=False) == ((Size(100, True),), 100.0)
    assert rolling.stops(1, 5, 0.0) and not rolling.stops(1, 5, 20.0) and rolling.stops(2, 5, 20.0)


class Fleet:
    """Several fake hosts by name, one session factory for the engine."""

    def __init__(self, hosts: dict[str, FakeHost]) -> None:
        self.hosts = hosts

    def factory(self, host: Host, ssh_config: Path | None) -> Any:
        return self.hosts[host.name].factory(host, ssh_config)


def _fleet_run(tmp_path: Path, fleet: Fleet, **config: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    log = AuditLog(tmp_path / "audit.jsonl")
    hosts = [Host(n, ("all",), {"instance": "prod", "nlserver": "nlserver"}, "t") for n in fleet.hosts]
    outcomes = Engine(hosts, log, RunConfig(session_factory=fleet.factory, yes=True, **config)).run(
        _book(tmp_path, WFSERVER)
    )
    log.close()
    return outcomes, [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_starts_go_in_one_parallel_batch_by_default(tmp_path: Path) -> None:
    fleet = Fleet({f"h{i}": FakeHost(Campaign({"watchdog"})) for i in range(4)})
    outcomes, events = _fleet_run(tmp_path, fleet)
    assert {o.status for o in outcomes} == {HostStatus.REMEDIATED}
    assert [e["hosts"] for e in events if e["event"] == "batch.started"] == [["h0", "h1", "h2", "h3"]]
    assert {o.batch for o in outcomes} == {1}


class Broken(Campaign):
    """A host whose start does not bring the module back (verification fails)."""

    def __call__(self, command: str) -> tuple[str, str, int]:
        if " start " in command and "last lines of" not in command:
            return "Server started", "", 0  # says started, never shows in pdump
        return super().__call__(command)


def test_a_failed_canary_stops_the_later_batches(tmp_path: Path) -> None:
    canary = FakeHost(Broken({"watchdog"}))
    others = {f"h{i}": FakeHost(Campaign({"watchdog"})) for i in range(1, 4)}
    fleet = Fleet({"h0": canary, **others})
    book = WFSERVER.replace("timeout: 5,", "timeout: 0.2,")
    log = AuditLog(tmp_path / "audit.jsonl")
    hosts = [Host(n, ("all",), {"instance": "prod", "nlserver": "nlserver"}, "t") for n in fleet.hosts]
    config = RunConfig(
        session_factory=fleet.factory, yes=True, rollout=rolling.Rollout(rolling.parse_serial("1,2"), 0.0)
    )
    outcomes = {o.host: o for o in Engine(hosts, log, config).run(_book(tmp_path, book))}
    log.close()
    assert outcomes["h0"].status is HostStatus.FAILED and outcomes["h0"].batch == 1
    for name in ("h1", "h2", "h3"):
        assert outcomes[name].status is HostStatus.NOT_STARTED, outcomes[name]
        assert "batch 1 (h0) had 1 failed of 1" in outcomes[name].message
        assert others[name].changes() == []  # nothing was sent to the later hosts
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    finished = [e for e in events if e["event"] == "batch.finished"]
    assert finished == [finished[0]] and finished[0]["failed"] == ["h0"] and finished[0]["stopped"] is True
