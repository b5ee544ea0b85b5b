"""mta playbook on the lab: mta down with a Pending delivery → started, the delivery leaves Pending."""

from __future__ import annotations

from tests.e2e.playbook_helpers import INSTANCE, check_dry_run, check_healthy_run, run, steps
from tests.support.labfix import pid_of


def test_mta_down_is_started_and_deliveries_leave_pending(lab, remediate, host):
    lab.break_(host, "mta_down")
    st = lab.status(host)
    assert pid_of(lab, host, f"mta@{INSTANCE}") is None and st["db"]["pending_deliveries"] >= 1
    stat_pid = pid_of(lab, host, f"stat@{INSTANCE}")
    code, report = run(remediate, "mta", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["processes"][f"mta@{INSTANCE}"]["alive"]
    assert st["db"]["pending_deliveries"] == 0
    assert pid_of(lab, host, f"stat@{INSTANCE}") == stat_pid  # stat was healthy: untouched
    assert st["healthy"]["mta"] and st["healthy"]["stat"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_mta"]


def test_mta_playbook_also_fixes_stat(lab, remediate, host):
    lab.break_(host, "stat_down")
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, report = run(remediate, "mta", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["healthy"]["stat"] and st["db"]["pending_deliveries"] == 0
    assert st["ports"]["udp/7777"]["owner_ok"]
    assert pid_of(lab, host, f"mta@{INSTANCE}") == mta_pid
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_stat"]


def test_mta_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "mta", "mta_down", [f"nlserver start mta@{INSTANCE}"])
    assert after["db"]["pending_deliveries"] >= 1


def test_mta_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "mta")
