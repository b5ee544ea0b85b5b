"""trackinglogd playbook on the lab: trackinglogd down → started, redir/log grows again, /r/test OK."""

from __future__ import annotations

import time

from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, run, steps
from tests.support.labfix import pid_of
from tests.support.wait import wait_until


def _newest_mtime(lab, host):
    files = list((lab.hdir(host) / "nl6/var/prod/redir/log").glob("0x*.log"))
    return max((p.stat().st_mtime for p in files), default=0.0)


def test_trackinglogd_down_is_started_and_logs_grow(lab, remediate, host):
    lab.break_(host, "trackinglogd_down")
    assert pid_of(lab, host, "trackinglogd@default") is None
    stopped_at = time.time()
    code, report = run(remediate, "trackinglogd", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["processes"]["trackinglogd@default"]["alive"]
    assert st["r_test"]["ok"]
    # new lines written after the fix (trackinglogd writes one every 2 s)
    wait_until(lambda: _newest_mtime(lab, host) > stopped_at, 10, "redir/log written after the start")
    assert lab.status(host)["healthy"]["trackinglogd"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_trackinglogd"]


def test_trackinglogd_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "trackinglogd", "trackinglogd_down", ["nlserver start trackinglogd@default"])
    assert pid_of(lab, host, "trackinglogd@default") is None


def test_trackinglogd_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "trackinglogd")
