"""stat playbook on the lab: a healthy host left alone, stat_down started on udp 7777, the reload option,
and the instance whose stat is shared (lab2's prod2 uses stat@prod): not applicable there, nothing
started there even when the shared stat is down; the mid-sourced host: not applicable.
"""

from __future__ import annotations

from tests.e2e.playbook_helpers import INSTANCE, check_dry_run, check_healthy_run, pids, run, steps
from tests.support.labfix import healthy, pid_of
from tests.support.wait import wait_until

TWO_INSTANCES, SECOND = "lab2", "lab2-prod2"  # lab2's instance prod2: mta@prod2 asks stat@prod
MID_SOURCED = "lab3"


def test_stat_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "stat")


def test_stat_down_is_started_on_its_port(lab, remediate, host):
    lab.break_(host, "stat_down")
    assert pid_of(lab, host, f"stat@{INSTANCE}") is None
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, report = run(remediate, "stat", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_stat"]
    st = lab.status(host)
    assert st["processes"][f"stat@{INSTANCE}"]["alive"]
    assert st["ports"]["udp/7777"]["pids"] == [st["processes"][f"stat@{INSTANCE}"]["pid"]]
    assert pid_of(lab, host, f"mta@{INSTANCE}") == mta_pid
    wait_until(lambda: lab.status(host)["db"]["pending_deliveries"] == 0, 30, "mta sends once stat answers")


def test_stat_reload_option_keeps_the_process(lab, remediate, host):
    stat_pid = pid_of(lab, host, f"stat@{INSTANCE}")
    code, report = run(remediate, "stat", "--yes", "--option", "reload=yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["reload_stat"]
    assert "stat -reload" in steps(report, "remediation", "ran")[0]["command"]
    assert pid_of(lab, host, f"stat@{INSTANCE}") == stat_pid


def test_stat_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "stat", "stat_down", [f"nlserver start stat@{INSTANCE}"])


def test_shared_stat_instance_is_not_applicable_and_nothing_starts(lab, remediate):
    before = lab.status(TWO_INSTANCES)
    code, doc = remediate.json("stat", "--host", SECOND, "--yes")
    report = doc["hosts"][SECOND]
    assert code == 0 and report["status"] == "not_applicable", report
    assert "stat@prod" in report["message"] and "shared" in report["message"]
    after = lab.status(TWO_INSTANCES)
    assert pids(after) == pids(before) and "stat@prod2" not in after["processes"]


def test_shared_stat_down_is_reported_on_the_other_instance_never_started_there(lab, remediate):
    lab.break_(TWO_INSTANCES, "stat_down")  # stat@prod, the stat prod2's mta asks
    try:
        before = lab.status(TWO_INSTANCES)
        code, doc = remediate.json("stat", "--host", SECOND, "--yes")
        report = doc["hosts"][SECOND]
        assert code == 1 and report["status"] == "failed", report
        assert not steps(report, "remediation", "ran")
        after = lab.status(TWO_INSTANCES)
        assert pids(after) == pids(before)
        assert not after["processes"]["stat@prod"]["alive"] and "stat@prod2" not in after["processes"]
    finally:
        lab.heal(TWO_INSTANCES)
        wait_until(lambda: healthy(lab, TWO_INSTANCES), 30, "lab2 healed")


def test_stat_on_the_mid_sourced_host_is_not_applicable(lab, remediate):
    before = lab.status(MID_SOURCED)
    code, doc = remediate.json("stat", "--host", MID_SOURCED, "--yes")
    assert code == 0 and doc["hosts"][MID_SOURCED]["status"] == "not_applicable", doc
    assert pids(lab.status(MID_SOURCED)) == pids(before)
