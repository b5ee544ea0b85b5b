"""export playbook on the lab: failed export workflow and missing file → re-launched, file written."""

from __future__ import annotations

from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, run, step, steps


def _export(st):
    return st["db"]["workflows"]["exportRecipients"]


def test_export_failed_is_relaunched_delta(lab, remediate, host):
    lab.break_(host, "export_failed")
    st = lab.status(host)
    assert _export(st)["failed"] == 1 and not st["files"]["export_files"]
    code, report = run(remediate, "export", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert _export(st)["state"] == 20 and _export(st)["failed"] == 0 and not _export(st)["error"]
    assert len(st["files"]["export_files"]) == 1
    assert st["healthy"]["export"]
    relaunch = step(report, "relaunch_delta")
    assert relaunch["outcome"] == "ran"
    assert 'xtk.workflow.Start("exportRecipients")' in relaunch["command"]
    assert "nlserver javascript -instance:prod" in relaunch["command"]


def test_export_failed_is_relaunched_full_with_mode_option(lab, remediate, host):
    lab.break_(host, "export_failed")
    code, report = run(remediate, "export", "--mode", "full", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert _export(st)["state"] == 20 and st["files"]["export_files"]
    ran = steps(report, "remediation", "ran")
    assert [s["id"] for s in ran] == ["relaunch_full"]
    assert 'xtk.workflow.Restart("exportRecipients")' in ran[0]["command"]


def test_export_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "export", "export_failed", ['xtk.workflow.Start("exportRecipients")'])
    assert not after["files"]["export_files"]


def test_export_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "export")
