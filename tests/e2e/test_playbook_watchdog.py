"""watchdog playbook on the lab: --dry-run and a healthy host change nothing (same pids, stop records kept);
No tasks -> the watchdog started through service_manager nlserver (the default); modules missing -> only
those started, each with nlserver start.
"""

from __future__ import annotations

from tests.e2e.playbook_helpers import HOST, INSTANCE, check_dry_run, check_healthy_run, pids, run, steps
from tests.support.cli import Runner
from tests.support.labfix import healthy, stopped_by_operator
from tests.support.wait import wait_until

MISSING = (f"mta@{INSTANCE}", "trackinglogd@default")  # what the modules_missing fault stops


def _changes(remediate: Runner) -> list[dict]:
    return [e for e in remediate.events() if e["event"] == "step.started" and e.get("effect") != "read"]


def test_watchdog_dry_run_missing_modules_shows_the_starts_and_changes_nothing(lab, remediate, host):
    running_before = {name for name, pid in pids(lab.status(HOST)).items() if pid}
    after = check_dry_run(lab, remediate, "watchdog", "modules_missing", [f"nlserver start {m}" for m in MISSING])
    assert set(after["missing"]) == set(MISSING)  # still missing: nothing was started
    assert all(stopped_by_operator(lab, HOST, m) for m in MISSING)  # no nlserver start reached the host
    assert {name for name, pid in pids(after).items() if pid} == running_before - set(MISSING)
    assert not _changes(remediate)
    assert [e for e in remediate.events() if e["event"] == "step.planned"]


def test_watchdog_dry_run_no_tasks_shows_the_watchdog_start_and_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "watchdog", "watchdog_down", ["nlserver watchdog -svc -noconsole"])
    assert not any(p["alive"] for p in after["processes"].values())  # still No tasks
    assert not _changes(remediate)


def test_watchdog_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "watchdog")  # same pids before and after, no remediation step
    assert not lab.status(HOST)["missing"]
    assert not _changes(remediate)


def test_watchdog_down_is_started_through_the_service_manager(lab, remediate, host):
    lab.break_(HOST, "watchdog_down")
    assert not any(p["alive"] for p in lab.status(HOST)["processes"].values())
    code, report = run(remediate, "watchdog", "--yes")
    assert code == 0, report
    ran = steps(report, "remediation", "ran")
    assert [s["id"] for s in ran] == ["start_watchdog"]
    assert ran[0]["command"].endswith("nlserver watchdog -svc -noconsole")
    wait_until(lambda: healthy(lab, HOST), 30, "every enabled module back")


def test_modules_missing_are_each_started_and_the_rest_untouched(lab, remediate, host):
    lab.break_(HOST, "modules_missing")
    before = {name: pid for name, pid in pids(lab.status(HOST)).items() if pid and name not in MISSING}
    code, report = run(remediate, "watchdog", "--yes")
    assert code == 0, report
    ran = steps(report, "remediation", "ran")
    assert [s["id"] for s in ran] == ["start_missing"]
    assert all(f"nlserver start {m}" in ran[0]["command"] for m in MISSING)
    after = lab.status(HOST)
    assert all(after["processes"][m]["alive"] for m in MISSING) and not after["missing"]
    assert {name: pids(after)[name] for name in before} == before
