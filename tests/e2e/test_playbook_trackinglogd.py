"""trackinglogd playbook on the lab: a quiet healthy redirection host is left alone, trackinglogd down is
started (not restarted) and writes Adobe-shaped lines again on the next click, a server that is not a
redirection server (the lab's last host: no redir directory) is not applicable and nothing is started, and a
failing /r/test (on Tomcat, or through a front web server that is down) is reported where it lives, with
trackinglogd left alone (same pid)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lab import Lab
from runner.campaign_formats import is_redir_line
from tests.e2e.playbook_helpers import HOST, check_dry_run, pids, run, step, steps
from tests.support.labfix import pid_of
from tests.support.wait import wait_until


def _redir_files(lab: Lab, host: str) -> dict[str, tuple[int, int, float]]:
    """Every tracking log of the host: name -> (inode, size, mtime)."""
    d = lab.hdir(host) / "nl6/var/prod/redir/log"
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime) for p in sorted(d.glob("*"))}


def test_quiet_healthy_redirection_host_is_left_alone(lab, remediate, host):
    before, files = lab.status(host), _redir_files(lab, host)
    assert before["redirection_server"] and before["healthy"]["trackinglogd"]
    code, report = run(remediate, "trackinglogd", "--yes")
    assert code == 0, report
    assert report["status"] == "healthy" and not steps(report, "remediation"), report["steps"]
    after = lab.status(host)
    assert pids(after) == pids(before)
    assert _redir_files(lab, host) == files  # nothing written, moved or touched
    assert step(report, "redirection_server")["outcome"] == "passed"
    assert step(report, "r_test_front")["outcome"] == "passed"
    assert step(report, "r_test_tomcat")["outcome"] == "passed"


@pytest.mark.parametrize(
    ("fault", "failing", "passing"),
    [("web_r_test_failing", "r_test_tomcat", None), ("front_web_down", "r_test_front", "r_test_tomcat")],
)
def test_failing_r_test_leaves_trackinglogd_alone(lab, remediate, host, fault, failing, passing):
    lab.break_(host, fault)
    before = lab.status(host)
    old = pid_of(lab, host, "trackinglogd@default")
    assert old and before["healthy"]["trackinglogd"]
    code, report = run(remediate, "trackinglogd", "--yes")
    assert code == 1 and report["status"] == "failed", report
    assert step(report, failing)["outcome"] == "failed"
    if passing:
        assert step(report, passing)["outcome"] == "passed"
    assert not steps(report, "remediation"), report["steps"]
    after = lab.status(host)
    assert pid_of(lab, host, "trackinglogd@default") == old
    assert pids(after) == pids(before) and after["front_web"]["pid"] == before["front_web"]["pid"]


def test_trackinglogd_down_is_started_and_writes_on_the_next_click(lab, remediate, host):
    lab.break_(host, "trackinglogd_down")
    assert pid_of(lab, host, "trackinglogd@default") is None
    code, report = run(remediate, "trackinglogd", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_trackinglogd"]
    assert "start trackinglogd@default" in step(report, "start_trackinglogd")["command"]
    st = lab.status(host)
    assert st["processes"]["trackinglogd@default"]["alive"] and st["r_test"]["ok"]
    before = {p.name: p.read_bytes() for p in (lab.hdir(host) / "nl6/var/prod/redir/log").glob("0x*.log")}
    assert lab.click(host, delivery=1, recipient=7, url=1) == 302

    def new_lines() -> list[bytes]:
        out = []
        for p in (lab.hdir(host) / "nl6/var/prod/redir/log").glob("0x*.log"):
            data = p.read_bytes()
            out += data[len(before.get(p.name, b"")) :].splitlines()
        return out

    wait_until(lambda: bool(new_lines()), 15, "trackinglogd writes the click")
    assert all(is_redir_line(line) for line in new_lines()), new_lines()


def test_trackinglogd_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "trackinglogd", "trackinglogd_down", ["nlserver start trackinglogd@default"])
    assert pid_of(lab, host, "trackinglogd@default") is None


def test_not_a_redirection_server_is_not_applicable(lab, remediate, host):
    other = lab.hosts()[-1]
    assert other != HOST
    before = lab.status(other)
    assert not before["redirection_server"] and "trackinglogd@default" not in before["processes"]
    assert not (lab.hdir(other) / "nl6/var/prod/redir").exists()
    code, doc = remediate.json("trackinglogd", "--host", other, "--yes")
    rep = doc["hosts"][other]
    assert code == 0, rep
    assert rep["status"] == "not_applicable" and "not a redirection server" in rep["message"], rep
    assert not [s for s in rep["steps"] if s["phase"] != "check"]
    after = lab.status(other)
    assert pids(after) == pids(before) and "trackinglogd@default" not in after["processes"]
    assert not Path(lab.hdir(other) / "nl6/var/prod/redir").exists()


def test_an_error_a_restart_cannot_fix_is_reported_and_its_own_error_restarts(lab, remediate, host):
    """trackinglogd.log gets, after trackinglogd's start, a line with a code of Adobe's table whose fix is
    not a restart (XTK-170024: a build upgrade, rn/using/release-2021.md): reported (exit 1), trackinglogd
    left alone even with --yes. Once that line is gone, an error of its own (no documented code) is the
    restart Adobe's table gives, confirmed by --yes."""
    log = lab.var_dir(host) / "default" / "log" / "trackinglogd.log"
    kept = log.read_text(errors="replace")
    old = pid_of(lab, host, "trackinglogd@default")
    assert old
    try:
        time.sleep(1.1)  # the line comes after trackinglogd's start, to the second
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with log.open("a") as f:  # Adobe's log layout
            f.write(
                f"{stamp}.000Z\t{old}\t{old}\t1\terror\ttrackinglogd\tXTK-170024 The temporary 'temp:group' schema "
                "is not defined in the current context\n"
            )
        code, report = run(remediate, "trackinglogd", "--yes")
        assert code == 1, report
        unfixable = step(report, "trackinglogd_unfixable_errors")
        assert unfixable["outcome"] == "failed" and "XTK-170024 x1" in unfixable["message"], unfixable
        assert step(report, "trackinglogd_log_errors")["outcome"] == "passed"
        assert not steps(report, "remediation", "ran"), report["steps"]
        assert pid_of(lab, host, "trackinglogd@default") == old
    finally:
        lab.write(log, kept, in_place=True)  # the line leaves the log (syslogd appends to the same file)
    with log.open("a") as f:
        f.write(f"{stamp}.500Z\t{old}\t{old}\t1\terror\ttrackinglogd\tUnable to write the tracking log (iRc=-53)\n")
    code, report = run(remediate, "trackinglogd", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["restart_trackinglogd"]
    new = pid_of(lab, host, "trackinglogd@default")
    assert new and new != old
