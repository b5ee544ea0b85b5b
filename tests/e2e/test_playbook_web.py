"""web playbook on the lab: web down → started, /r/test and SOAP Logon answer; sessions shown first."""

from __future__ import annotations

from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, run, step, steps
from tests.support.labfix import pid_of


def test_web_down_is_started_and_logon_works(lab, remediate, host):
    lab.break_(host, "web_down")
    st = lab.status(host)
    assert pid_of(lab, host, "web@default") is None and not st["r_test"]["ok"]
    code, report = run(remediate, "web", "--yes")
    assert code == 0, report
    st = lab.status(host)
    pid = st["processes"]["web@default"]["pid"]
    assert st["processes"]["web@default"]["alive"]
    assert st["ports"]["tcp/8080"]["pids"] == [pid]
    assert st["r_test"]["ok"] and st["soap_logon"]["ok"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_web"]


def test_web_soap_fault_is_found_and_restart_is_declared_disruptive(lab, remediate, host):
    """The data source points to a wrong DB port: Logon faults. A restart cannot fix a wrong config:
    the run restarts web (new pid), then its verification fails and says so (exit 1)."""
    lab.break_(host, "web_xtk_errors")
    st = lab.status(host)
    assert st["soap_logon"]["fault"]
    old = pid_of(lab, host, "web@default")
    code, report = run(remediate, "web", "--yes")
    assert code == 1, report
    assert step(report, "soap_logon")["outcome"] == "failed"
    sessions = step(report, "web_sessions")
    assert sessions["outcome"] == "passed" and "session" in sessions["message"]
    restart = step(report, "restart_web")
    assert restart["effect"] == "disrupt" and restart["outcome"] == "ran"
    new = pid_of(lab, host, "web@default")
    assert new and new != old
    assert step(report, "soap_logon_works")["outcome"] == "failed"
    assert not lab.status(host)["soap_logon"]["ok"]


def test_web_restart_without_terminal_is_not_run(lab, remediate, host):
    lab.break_(host, "web_xtk_errors")
    old = pid_of(lab, host, "web@default")
    res = remediate("web", "--host", host)
    assert res.returncode == 4, res.stdout + res.stderr
    assert pid_of(lab, host, "web@default") == old


def test_web_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "web", "web_down", ["nlserver start web@default"])


def test_web_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "web")
