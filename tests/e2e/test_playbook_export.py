"""export playbook on the lab: the inventory's export workflows in error re-launched; a paused one (a pause may
be an operator's) started only on confirmation; modes; refusals.

The lab inventory names ``export_workflows: [exportRecipients]`` (a recurring delta export that stays
started, @state 11, between runs) and ``export_full_workflow: exportRecipientsFull``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.playbook_helpers import check_dry_run, db_view, pids, run, step, steps
from tests.support.wait import wait_until


def _wf(st, name="exportRecipients"):
    return st["db"]["workflows"][name]


def _inventory_without_full(remediate, tmp_path: Path) -> Path:
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].pop("export_full_workflow", None)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_export_healthy_started_recurring_export_is_left_alone(lab, remediate, host):
    before = lab.status(host)
    assert _wf(before)["state"] == 11 and not _wf(before)["failed"]  # started between two runs: healthy
    code, report = run(remediate, "export", "--yes")
    after = lab.status(host)
    assert code == 0 and report["status"] == "healthy", report
    assert not steps(report, "remediation") and report["done"] == []
    assert pids(after) == pids(before)
    assert db_view(after)["workflows"] == db_view(before)["workflows"]
    assert after["files"]["export_files"] == before["files"]["export_files"]


def test_export_failed_is_relaunched_delta_and_verified(lab, remediate, host):
    lab.break_(host, "export_failed")
    assert _wf(lab.status(host))["failed"] == 1
    code, report = run(remediate, "export", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert not _wf(st)["failed"] and _wf(st)["state"] != 13
    assert st["files"]["export_files"]  # the re-launched export wrote its file
    relaunch = step(report, "relaunch_delta")
    assert relaunch["outcome"] == "ran" and 'xtk.workflow.Start("exportRecipients")' in relaunch["command"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["relaunch_delta"]
    assert step(report, "export_workflows_recovered")["outcome"] == "passed"


def test_export_paused_is_not_started_without_confirmation(lab, remediate, host):
    """Paused without @failed: maybe on purpose. With no terminal and no --yes the run is refused (exit 4)
    and the workflow stays paused: no Start request reaches the database, no export file is written."""
    lab.break_(host, "export_paused")
    before = lab.status(host)
    assert _wf(before)["state"] == 13 and not _wf(before)["failed"]
    code, report = run(remediate, "export")
    assert code == 4, report
    assert report["status"] == "not_confirmed" and "resume_paused" in report["message"], report
    resume = step(report, "resume_paused")
    assert resume["outcome"] == "declined" and 'xtk.workflow.Start("exportRecipients")' in resume["command"]
    found = step(report, "export_workflows_paused")
    assert found["outcome"] == "failed" and "paused without error" in found["message"]
    assert step(report, "export_workflows_failed")["outcome"] == "passed"
    assert not steps(report, "remediation", "ran")
    after = lab.status(host)
    assert _wf(after)["state"] == 13 and not _wf(after)["failed"]
    assert after["db"]["pending_workflow_starts"] == 0  # nothing queued for wfserver
    assert after["files"]["export_files"] == before["files"]["export_files"]
    assert pids(after) == pids(before)
    refused = [e for e in remediate.events() if e["event"] == "confirmation.refused"]
    assert refused and refused[0]["step"] == "resume_paused"


def test_export_paused_is_resumed_once_confirmed(lab, remediate, host):
    lab.break_(host, "export_paused")
    assert _wf(lab.status(host))["state"] == 13
    code, report = run(remediate, "export", "--yes")
    assert code == 0, report
    assert _wf(lab.status(host))["state"] != 13
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["resume_paused"]
    assert step(report, "resume_paused")["effect"] == "disrupt"
    given = [e for e in remediate.events() if e["event"] == "confirmation.given"]
    assert given and given[0]["via"] == "--yes" and given[0]["step"] == "resume_paused"


def test_export_failed_is_not_relaunched_without_confirmation(lab, remediate, host):
    """In error (@failed = 1): the re-launch is sent as xtk.workflow.Start, a JavaScript name no page shows,
    so it is asked for first: no terminal and no --yes, exit 4, still in error, nothing queued."""
    lab.break_(host, "export_failed")
    before = lab.status(host)
    code, report = run(remediate, "export")
    assert code == 4 and report["status"] == "not_confirmed", report
    assert step(report, "relaunch_delta")["outcome"] == "declined"
    assert not steps(report, "remediation", "ran")
    after = lab.status(host)
    assert _wf(after)["failed"] == 1 and after["db"]["pending_workflow_starts"] == 0
    assert after["files"]["export_files"] == before["files"]["export_files"]
    refused = [e for e in remediate.events() if e["event"] == "confirmation.refused"]
    assert refused and refused[0]["step"] == "relaunch_delta"


def _full_exports(st) -> set[str]:
    return {f for f in st["files"]["export_files"] if "exportRecipientsFull" in f}


def test_export_mode_full_runs_the_full_export_workflow(lab, remediate, host):
    before = _full_exports(lab.status(host))
    code, report = run(remediate, "export", "--mode", "full", "--yes")
    assert code == 0, report
    ran = steps(report, "remediation", "ran")
    assert [s["id"] for s in ran] == ["run_full_export"]
    assert 'xtk.workflow.Start("exportRecipientsFull")' in ran[0]["command"]
    # the workflow ran: it wrote a file of its own (a fact, not a clock read twice)
    wait_until(lambda: _full_exports(lab.status(host)) - before, 30, "the full export workflow to write its file")


def test_export_mode_full_without_full_workflow_is_refused(lab, remediate, host, tmp_path):
    inventory = _inventory_without_full(remediate, tmp_path)
    before = lab.status(host)
    code, doc = remediate.json("export", "--host", host, "--mode", "full", "--yes", inventory=inventory)
    report = doc["hosts"][host]
    after = lab.status(host)
    assert code == 1, report
    full = step(report, "run_full_export")
    assert full["outcome"] == "skipped" and "export_full_workflow" in full["message"]
    assert "incremental history" in report["message"]
    assert report["done"] == []
    assert db_view(after)["workflows"] == db_view(before)["workflows"] and pids(after) == pids(before)


def test_export_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "export", "export_failed", ['xtk.workflow.Start("exportRecipients")'])
    assert _wf(after)["failed"] == 1


def test_export_dry_run_of_a_paused_export_starts_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "export", "export_paused", ['xtk.workflow.Start("exportRecipients")'])
    assert _wf(after)["state"] == 13 and after["db"]["pending_workflow_starts"] == 0
