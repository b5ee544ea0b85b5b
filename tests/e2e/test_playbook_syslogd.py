"""syslogd playbook on the lab: start when down, refuse when a foreign process holds udp 6666."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.playbook_helpers import HOST, check_dry_run, check_healthy_run, run, steps
from tests.support.labfix import pid_of
from tests.support.wait import wait_until


def test_syslogd_down_is_started_and_records_reach_the_log(lab, remediate, host):
    lab.break_(host, "syslogd_down")
    assert pid_of(lab, host, "syslogd@default") is None
    log = Path(lab.hdir(host)) / "nl6/var/default/log/remediate.log"
    lines_before = log.read_text().count("\n") if log.exists() else 0
    code, report = run(remediate, "syslogd", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["healthy"]["syslogd"]
    pid = st["processes"]["syslogd@default"]["pid"]
    assert st["ports"]["udp/6666"]["pids"] == [pid]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_syslogd"]
    # the verification's test record really reached the log file
    token = next(s for s in report["steps"] if s["id"] == "fresh_record_written")
    assert token["outcome"] == "passed"
    text = log.read_text()
    assert text.count("\n") > lines_before
    assert "remediate-syslog-probe-" in text.splitlines()[-1]


def test_syslogd_foreign_port_holder_is_named_and_left_alone(lab, remediate, host):
    lab.break_(host, "syslogd_port_taken")
    foreign = wait_until(lambda: lab.status(host)["ports"]["udp/6666"]["foreign"], 10, "the squatter holds udp 6666")
    assert len(foreign) == 1
    squatter = foreign[0]
    res = remediate("syslogd", "--host", host, "--yes")
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"pid {squatter}" in res.stdout
    assert "_squat udp" in res.stdout  # the holder's command line
    assert "no remediation step applies" in res.stdout
    after = lab.status(host)
    assert after["ports"]["udp/6666"]["pids"] == [squatter]  # still alive, still holding the port
    assert Path(f"/proc/{squatter}").exists()
    assert pid_of(lab, host, "syslogd@default") is None  # nothing was started against it
    events = remediate.events()
    assert not [e for e in events if e.get("event") == "step.started" and e.get("phase") == "remediation"]


def test_syslogd_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "syslogd", "syslogd_down", ["nlserver start syslogd@default"])


def test_syslogd_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "syslogd")
    wait_until(lambda: lab.status(HOST)["healthy"]["syslogd"], 5, "syslogd healthy")
