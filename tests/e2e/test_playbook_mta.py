"""mta playbook on the lab: healthy hosts left alone, mta_down started, stat started when it is mta's own,
a delivery waiting in 51 Start pending beyond the grace reported (never a restart), mid-sourced host not
applicable, a restart only with --force. State is read through lab.status (/proc, sockets, the database).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.playbook_helpers import HOST, INSTANCE, check_dry_run, check_healthy_run, pids, run, steps
from tests.support.labfix import pid_of
from tests.support.wait import wait_until

MID_SOURCED = "lab3"  # the lab's last host: mta, inMail and stat not enabled


def _drained(lab, host: str = HOST) -> bool:
    return lab.status(host)["db"]["pending_deliveries"] == 0


def test_mta_healthy_host_is_left_alone(lab, remediate, host):
    before = lab.status(HOST)["db"]
    check_healthy_run(lab, remediate, "mta")
    after = lab.status(HOST)["db"]
    assert (after["pending_deliveries"], after["pending_delivery_logs"]) == (
        before["pending_deliveries"],
        before["pending_delivery_logs"],
    )


def test_mta_down_is_started_and_deliveries_leave_start_pending(lab, remediate, host):
    lab.break_(host, "mta_down")
    st = lab.status(host)
    assert pid_of(lab, host, f"mta@{INSTANCE}") is None and st["db"]["pending_deliveries"] >= 1
    stat_pid = pid_of(lab, host, f"stat@{INSTANCE}")
    code, report = run(remediate, "mta", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_mta"]
    wait_until(lambda: _drained(lab), 30, "the pending delivery sent by the started mta")
    st = lab.status(host)
    assert st["processes"][f"mta@{INSTANCE}"]["alive"] and st["db"]["pending_delivery_logs"] == 0
    assert pid_of(lab, host, f"stat@{INSTANCE}") == stat_pid  # stat was healthy: untouched


def test_mta_playbook_starts_its_own_stat_and_leaves_mta_running(lab, remediate, host):
    lab.break_(host, "stat_down")
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, report = run(remediate, "mta", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_stat"]
    wait_until(lambda: _drained(lab), 30, "the pending delivery sent once stat answers")
    st = lab.status(host)
    assert st["healthy"]["stat"] and st["ports"]["udp/7777"]["owner_ok"]
    assert pid_of(lab, host, f"mta@{INSTANCE}") == mta_pid


def test_delivery_in_start_pending_beyond_the_grace_is_reported_not_a_restart(lab, remediate, host, tmp_path: Path):
    # delivery_pending_minutes 0: the delivery stat_down leaves in 51 is already beyond the grace
    inventory = yaml.safe_load(remediate.inventory.read_text())
    inventory["all"]["vars"]["delivery_pending_minutes"] = 0
    strict = tmp_path / "inventory.yml"
    strict.write_text(yaml.safe_dump(inventory))
    lab.break_(host, "stat_down")
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, doc = remediate.json("mta", "--host", HOST, "--yes", inventory=strict)
    report = doc["hosts"][HOST]
    assert code == 0, report
    stuck = [s for s in report["steps"] if s["id"] == "deliveries_not_stuck" and s["phase"] == "check"]
    assert stuck[0]["outcome"] == "failed" and "51 Start pending" in stuck[0]["message"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_stat"]  # never restart_mta
    assert pid_of(lab, host, f"mta@{INSTANCE}") == mta_pid


def test_running_mta_is_restarted_only_with_force(lab, remediate, host):
    mta_pid = pid_of(lab, host, f"mta@{INSTANCE}")
    code, report = run(remediate, "mta", "--yes", "--force")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["restart_mta"]
    wait_until(lambda: pid_of(lab, host, f"mta@{INSTANCE}") not in (None, mta_pid), 30, "mta restarted")


def test_mta_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "mta", "mta_down", [f"nlserver start mta@{INSTANCE}"])
    assert after["db"]["pending_deliveries"] >= 1


def test_mta_on_the_mid_sourced_host_is_not_applicable(lab, remediate):
    before = lab.status(MID_SOURCED)
    assert f"mta@{INSTANCE}" not in before["enabled"]
    code, doc = remediate.json("mta", "--host", MID_SOURCED, "--yes")
    report = doc["hosts"][MID_SOURCED]
    assert code == 0 and report["status"] == "not_applicable", report
    assert not steps(report, "remediation")
    after = lab.status(MID_SOURCED)
    assert pids(after) == pids(before) and f"mta@{INSTANCE}" not in after["processes"]


def test_pending_delivery_logs_are_read_within_the_window_only(lab, remediate, host):
    """NmsBroadLogRcp is "the largest table in the system": pending_logs reads logs changed within
    delivery_log_window (1 day) by @lastModified, at most 20 deliveries; older Pending logs are not read."""
    lab.break_(host, "stat_down")  # a new delivery and its 150 logs stay Pending
    wait_until(lambda: lab.status(host)["db"]["pending_delivery_logs"] >= 150, 15, "pending delivery logs")
    code, doc = remediate.json("mta", "--host", HOST, "--dry-run")
    shown = next(s for s in doc["hosts"][HOST]["steps"] if s["id"] == "pending_logs")
    assert code == 0 and shown["outcome"] == "passed", shown  # inform: shown, never a reason to act
    assert shown["message"].startswith("1 deliveries with Pending delivery logs") and " 150" in shown["message"]
    sent = " ".join([shown["command"], *shown.get("snapshots", {}).values()])  # the batch's javascript
    assert "@lastModified &gt; SubSeconds(GetDate(), 86400)" in sent and 'lineCount="20"' in sent
    lab.psql(
        "UPDATE NmsBroadLogRcp SET tsLastModified = now() - interval '2 days' WHERE iStatus = 6", db="campaign_lab1"
    )
    code, doc = remediate.json("mta", "--host", HOST, "--dry-run")
    shown = next(s for s in doc["hosts"][HOST]["steps"] if s["id"] == "pending_logs")
    assert shown["outcome"] == "passed" and shown["message"].startswith("no deliveries"), shown
    assert lab.status(host)["db"]["pending_delivery_logs"] >= 150  # they are there, just not read
