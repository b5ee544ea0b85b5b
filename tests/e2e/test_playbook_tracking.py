"""tracking playbook on the lab: workflow in error/stale → re-run; corrupted line reported as file:line."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, run, step, steps


def _tracking(st):
    return st["db"]["workflows"]["tracking"]


def test_tracking_failed_is_rerun(lab, remediate, host):
    lab.break_(host, "tracking_failed")
    assert _tracking(lab.status(host))["failed"] == 1
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert _tracking(st)["failed"] == 0 and _tracking(st)["state"] == 11 and not _tracking(st)["error"]
    assert st["db"]["workflows"]["tracking"]["hours_since_last_run"] < 0.1
    assert st["healthy"]["tracking"]
    ran = [s["id"] for s in steps(report, "remediation", "ran")]
    assert ran == ["rerun_tracking", "start_tracking_workflow"]
    assert "tracking -instance:prod -download -update" in step(report, "rerun_tracking")["command"]


def test_tracking_stale_is_restarted(lab, remediate, host):
    lab.break_(host, "tracking_stale")
    assert _tracking(lab.status(host))["state"] == 13
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert _tracking(st)["state"] == 11 and st["db"]["workflows"]["tracking"]["hours_since_last_run"] < 0.1


def test_corrupted_line_is_reported_then_set_aside(lab, remediate, host):
    lab.break_(host, "redir_corrupt")
    corrupted = lab.status(host)["files"]["corrupted_lines"]
    assert len(corrupted) == 1
    path, line = corrupted[0].rsplit(":", 1)
    good_lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if "garbled" not in ln]
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    found = step(report, "redir_lines_ok")
    assert found["outcome"] == "failed" and corrupted[0] in found["message"]  # file:line before any change
    order = [s["id"] for s in report["steps"]]
    assert order.index("redir_lines_ok") < order.index("quarantine_corrupted_lines")
    st = lab.status(host)
    assert st["files"]["corrupted_lines"] == []
    assert st["healthy"]["tracking"]
    assert Path(path).read_text().splitlines() == good_lines  # the good lines stay
    rejected = Path(path + ".rejected").read_text(errors="replace")
    assert rejected.startswith(f"{line}:") and "garbled" in rejected


def test_tracking_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(
        lab, remediate, "tracking", "tracking_failed", ["nlserver tracking -instance:prod -download -update"]
    )
    assert _tracking(after)["failed"] == 1


def test_tracking_corrupt_dry_run_keeps_the_line(lab, remediate, host):
    after = check_dry_run(lab, remediate, "tracking", "redir_corrupt", [".rejected"])
    assert len(after["files"]["corrupted_lines"]) == 1


def test_tracking_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "tracking")
