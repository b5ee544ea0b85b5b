"""The live line's source during a changing step: the engine tells ``RunConfig.waiting`` what a host waits
for, and how long at most, around a restart and around the verification poll, over an in-memory host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.audit import AuditLog
from runner.errors import CommandTimeout
from runner.execute import Engine, NoOneWatching, RunConfig
from runner.outcomes import HostStatus
from tests.unit.fakehost import FakeHost
from tests.unit.test_engine import Campaign, _book, _host

# wfserver is restarted when pdump does not list it (a restart, not a start: the step that waits longest)
RESTART = """
module: wfserver
title: Workflow server
scope: runs workflows
symptom: workflows stuck
checks:
  - id: wfserver_running
    title: wfserver is in pdump
    effect: read
    action: module_running
    args: {module: wfserver}
remediation:
  - id: restart_wfserver
    title: Restart wfserver
    effect: disrupt
    action: restart_module
    args: {module: wfserver}
    when: {failed: wfserver_running}
    interrupts: running workflows
    timeout: 90
verification:
  - id: wfserver_back
    title: wfserver is listed by pdump again
    effect: read
    action: module_running
    args: {module: wfserver}
    poll: {timeout: 5, interval: 0.01}
"""


class Recorder:
    """A :class:`runner.execute.Waiting` that keeps every call, with the changes the host had been sent."""

    def __init__(self, fake: FakeHost) -> None:
        self.fake = fake
        self.calls: list[tuple[Any, ...]] = []

    def begin(self, host: str, what: str, limit: float) -> None:
        self.calls.append(("begin", host, what, limit, list(self.fake.changes())))

    def end(self, host: str) -> None:
        self.calls.append(("end", host, list(self.fake.changes())))


def _run(tmp_path: Path, fake: FakeHost, **config: Any) -> tuple[HostStatus, list[dict[str, Any]]]:
    log = AuditLog(tmp_path / "audit.jsonl")
    book = _book(tmp_path, RESTART)
    (outcome,) = Engine([_host()], log, RunConfig(session_factory=fake.factory, **config)).run(book)
    log.close()
    return outcome.status, [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_a_restart_and_its_verification_are_each_one_wait_with_their_limit(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}))
    waiting = Recorder(fake)
    status, _events = _run(tmp_path, fake, yes=True, waiting=waiting)
    assert status is HostStatus.REMEDIATED
    restart = ["nlserver restart wfserver@prod"]
    assert fake.changes() == restart
    assert waiting.calls == [
        ("begin", "prod1", "Restart wfserver", 90.0, []),  # told before the restart is sent, with its timeout
        ("end", "prod1", restart),  # and over once it answered
        ("begin", "prod1", "wfserver is listed by pdump again", 5.0, restart),  # the verification poll
        ("end", "prod1", restart),
    ]


def test_a_restart_that_times_out_still_ends_its_wait(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}), fail_changes=CommandTimeout)
    waiting = Recorder(fake)
    status, _events = _run(tmp_path, fake, yes=True, waiting=waiting)
    assert status is HostStatus.UNKNOWN
    assert [c[0] for c in waiting.calls] == ["begin", "end"]
    assert waiting.calls[0][2] == "Restart wfserver"


def test_no_wait_is_told_when_nothing_changes(tmp_path: Path) -> None:
    healthy = FakeHost(Campaign({"wfserver@prod", "watchdog"}))
    waiting = Recorder(healthy)
    assert _run(tmp_path, healthy, yes=True, waiting=waiting)[0] is HostStatus.HEALTHY
    assert waiting.calls == [] and healthy.changes() == []
    (tmp_path / "dry").mkdir()
    dry = FakeHost(Campaign({"watchdog"}))
    waiting = Recorder(dry)
    assert _run(tmp_path / "dry", dry, dry_run=True, waiting=waiting)[0] is HostStatus.WOULD_REMEDIATE
    assert waiting.calls == [] and dry.changes() == []


def test_without_a_watcher_the_restart_runs_the_same(tmp_path: Path) -> None:
    assert isinstance(RunConfig().waiting, NoOneWatching)
    fake = FakeHost(Campaign({"watchdog"}))
    status, events = _run(tmp_path, fake, yes=True)
    assert status is HostStatus.REMEDIATED and fake.changes() == ["nlserver restart wfserver@prod"]
    assert not any("waiting" in e.get("event", "") for e in events)  # a tick is no audit fact
