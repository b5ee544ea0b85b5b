"""export playbook on the lab: the inventory's export workflows, failed or paused, re-launched; modes; refusals.

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


def test_export_paused_is_resumed(lab, remediate, host):
    lab.break_(host, "export_paused")
    assert _wf(lab.status(host))["state"] == 13
    code, report = run(remediate, "export", "--yes")
    assert code == 0, report
    assert _wf(lab.status(host))["state"] != 13
    assert step(report, "relaunch_delta")["outcome"] == "ran"


def test_export_mode_full_runs_the_full_export_workflow(lab, remediate, host):
    before = _wf(lab.status(host), "exportRecipientsFull")
    code, report = run(remediate, "export", "--mode", "full", "--yes")
    assert code == 0, report
    ran = steps(report, "remediation", "ran")
    assert [s["id"] for s in ran] == ["run_full_export"]
    assert 'xtk.workflow.Start("exportRecipientsFull")' in ran[0]["command"]
    wait_until(
        lambda: _wf(lab.status(host), "exportRecipientsFull")["last_run"] != before["last_run"],
        30,
        "the full export workflow to run",
    )
    assert any("exportRecipientsFull" in f for f in lab.status(host)["files"]["export_files"])


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
