"""stat playbook on the lab: stat down → started on udp 7777, the Pending delivery is sent."""

from __future__ import annotations

from tests.e2e.playbook_helpers import INSTANCE, check_dry_run, check_healthy_run, run, steps
from tests.support.labfix import pid_of


def test_stat_down_is_started_and_deliveries_leave_pending(lab, remediate, host):
    lab.break_(host, "stat_down")
    assert pid_of(lab, host, f"stat@{INSTANCE}") is None
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, report = run(remediate, "stat", "--yes")
    assert code == 0, report
    st = lab.status(host)
    pid = st["processes"][f"stat@{INSTANCE}"]["pid"]
    assert st["processes"][f"stat@{INSTANCE}"]["alive"]
    assert st["ports"]["udp/7777"]["pids"] == [pid]
    assert st["db"]["pending_deliveries"] == 0
    assert pid_of(lab, host, f"mta@{INSTANCE}") == mta_pid
    assert st["healthy"]["stat"] and st["healthy"]["mta"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_stat"]


def test_stat_playbook_also_starts_mta(lab, remediate, host):
    lab.break_(host, "mta_down")
    stat_pid = pid_of(lab, host, f"stat@{INSTANCE}")
    code, report = run(remediate, "stat", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["healthy"]["mta"] and st["db"]["pending_deliveries"] == 0
    assert pid_of(lab, host, f"stat@{INSTANCE}") == stat_pid  # no restart, no reload needed
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_mta"]


def test_stat_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "stat", "stat_down", [f"nlserver start stat@{INSTANCE}"])


def test_stat_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "stat")
