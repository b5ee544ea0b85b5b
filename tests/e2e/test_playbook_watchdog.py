"""watchdog playbook on the lab: --dry-run and a healthy host change nothing (same pids, stop records kept).

The repairs themselves (No tasks -> watchdog started; two modules missing -> only those started) are
in test_runner_e2e.py.
"""

from __future__ import annotations

from tests.e2e.playbook_helpers import HOST, INSTANCE, check_dry_run, check_healthy_run, pids
from tests.support.cli import Runner
from tests.support.labfix import stopped_by_operator

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
