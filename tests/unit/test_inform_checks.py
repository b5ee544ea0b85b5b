"""Checks that only inform, on the shipped wfserver playbook over the in-memory host: what the inferred
xtk:workflowJob query finds is said beside the outcome, never a reason to fail the host or to act, and a
build whose schema lacks those attributes (the query errors) leaves the host judged by pdump alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runner.audit import AuditLog
from runner.execute import Engine, RunConfig
from runner.inventory import Host
from runner.outcomes import HostStatus
from runner.playbook import load_module
from tests.unit.fakehost import FakeHost
from tests.unit.test_engine import Campaign

ROW = "wkfExport\tstart\t2026-12-02 20:00:00"


class WithJobs(Campaign):
    """The fake Campaign, and what ``nlserver javascript`` prints for the xtk:workflowJob query: rows, or
    the query's own ``error`` line (runner.actions.querydef catches the exception the query raises; no
    Adobe page shows what a build without the attribute says, so the text here is the test's own)."""

    def __init__(self, rows: list[str] | None, running: set[str]) -> None:
        super().__init__(running)
        self.rows = rows  # None: the query fails as on a build without the attribute

    def __call__(self, command: str) -> tuple[str, str, int]:
        if "nlserver javascript" not in command:
            return super().__call__(command)
        keys = re.findall(r"var (q\w+) = xtk\.queryDef", command)
        assert keys, command
        out = []
        for key in keys:
            if self.rows is None:
                out.append(f"@@qd {key} error (the exception the query raised: an unknown attribute)")
                continue
            out += [f"@@qd {key} begin", *(f"@@qd {key} row\t{r}" for r in self.rows), f"@@qd {key} end"]
        return "\n".join(f"12:09:54 >   {line}" for line in out) + "\n", "", 0


def _run(tmp_path: Path, campaign: WithJobs, **config: object) -> tuple[HostStatus, str, list[str]]:
    fake = FakeHost(campaign)
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod", "nlserver": "nlserver"}, "test:1")
    outcomes = Engine([host], log, RunConfig(session_factory=fake.factory, **config)).run(load_module("wfserver"))  # type: ignore[arg-type]
    log.close()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(e.get("step") == "no_stuck_workflows" and e["event"] == "step.finished" for e in events)
    return outcomes[0].status, outcomes[0].message, fake.changes()


def test_a_waiting_request_is_reported_beside_a_healthy_outcome(tmp_path: Path) -> None:
    status, message, changes = _run(tmp_path, WithJobs([ROW], {"wfserver@prod", "watchdog"}))
    assert status is HostStatus.HEALTHY and changes == []
    assert "reported: no_stuck_workflows:" in message and "wkfExport" in message


def test_nothing_waiting_says_only_every_check_passed(tmp_path: Path) -> None:
    status, message, changes = _run(tmp_path, WithJobs([], {"wfserver@prod", "watchdog"}))
    assert (status, message, changes) == (HostStatus.HEALTHY, "every check passed", [])


def test_a_build_without_the_inferred_attributes_is_judged_by_pdump_alone(tmp_path: Path) -> None:
    status, message, changes = _run(tmp_path, WithJobs(None, {"wfserver@prod", "watchdog"}))
    assert status is HostStatus.HEALTHY and changes == []
    assert "reported: no_stuck_workflows:" in message
    # and a forced restart there is verified by pdump, not failed by the query that cannot be read
    campaign = WithJobs(None, {"wfserver@prod", "watchdog"})
    status, message, changes = _run(
        tmp_path / "forced", campaign, force=True, yes=True, collect_dir=None, options={"log_precision": "default"}
    )
    assert status is HostStatus.REMEDIATED, message
    assert changes == ["nlserver restart wfserver@prod"]
