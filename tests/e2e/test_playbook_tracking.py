"""tracking playbook on the lab: a healthy host whose tracking logs hold only Adobe-shaped lines (written
by simulated clicks) is left alone; a corrupted line is set aside in Adobe's order (stop the Tracking
workflow, remove the line, start the workflow); a file in another layout is refused with nothing stopped or
moved; a workflow in error is started; a workflow paused or stopped without an error is started only once
confirmed (no terminal: exit 4, still stopped); the tracking utility runs only on request, never after a
start; of two tracking servers in NmsTracking_ServerUrlList the one that does not answer /r/test is named,
and nothing is restarted for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import Lab
from lab.base import FRONT_PORT
from tests.e2e.playbook_helpers import HOST, check_dry_run, db_view, pids, run, step, steps

LOGDIR = "nl6/var/prod/redir/log"


def _tracking(st):
    return st["db"]["workflows"]["tracking"]


def _files(lab: Lab, host: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((lab.hdir(host) / LOGDIR).glob("*"))}


def _nothing_moved(before: dict[str, bytes], after: dict[str, bytes]) -> bool:
    """Every file is still there with every line it had; trackinglogd may only have appended (clicks of
    earlier tests reach the file when it flushes), and no new .rejected file appeared."""
    kept = all(name in after and after[name].startswith(content) for name, content in before.items())
    new_rejected = {n for n in after if n.endswith(".rejected")} - set(before)
    return kept and not new_rejected


def test_healthy_host_with_clicked_lines_is_left_alone(lab, remediate, host):
    for k in range(1, 6):
        assert lab.click(host, delivery=1, recipient=k, url=1, event="h" if k % 2 else "o") in (200, 302)
    before, files = lab.status(host), _files(lab, host)
    assert before["healthy"]["tracking"] and not before["files"]["corrupted_lines"]
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    assert report["status"] == "healthy" and not steps(report, "remediation"), report["steps"]
    assert step(report, "redir_lines_ok")["outcome"] == "passed"
    after = lab.status(host)
    assert pids(after) == pids(before) and db_view(after) == db_view(before)
    assert _nothing_moved(files, _files(lab, host))


def test_corrupted_line_is_set_aside_in_adobes_order(lab, remediate, host):
    lab.break_(host, "redir_corrupt")
    corrupted = lab.status(host)["files"]["corrupted_lines"]
    assert len(corrupted) == 1
    path, line = corrupted[0].rsplit(":", 1)
    lines = Path(path).read_bytes().split(b"\n")
    good = [ln for k, ln in enumerate(lines, 1) if ln and k != int(line)]
    inode = Path(path).stat().st_ino
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    found = step(report, "redir_lines_ok")
    assert found["outcome"] == "failed" and corrupted[0] in found["message"]  # file:line before any change
    ran = [s["id"] for s in steps(report, "remediation", "ran")]
    assert ran == ["stop_tracking_workflow", "quarantine_corrupted_lines", "start_tracking_workflow"]
    assert 'xtk.workflow.Stop("tracking")' in step(report, "stop_tracking_workflow")["command"]
    st = lab.status(host)
    assert st["files"]["corrupted_lines"] == [] and st["healthy"]["tracking"]
    assert _tracking(st)["state"] == 11 and not _tracking(st)["failed"]
    assert [ln for ln in Path(path).read_bytes().split(b"\n") if ln] == good  # the good lines stay, same file
    assert Path(path).stat().st_ino == inode
    assert Path(path + ".rejected").read_bytes().startswith(f"{line}:".encode())


def test_file_in_another_layout_is_refused_and_nothing_moves(lab, remediate, host):
    d = lab.hdir(host) / LOGDIR
    wrong = d / "0x0000000000000F00.log"
    text = "".join(f"50x0000000000000F{k:02X}\t2024/03/15 14:10:02\t1\t{k}\t1\tclick\n" for k in range(30))
    lab.write(wrong, text)
    before, files = lab.status(host), _files(lab, host)
    try:
        code, report = run(remediate, "tracking", "--yes")
        assert code == 1, report
        scan = step(report, "redir_lines_ok")
        assert scan["outcome"] == "undetermined" and "30 of 30 lines" in scan["message"]
        assert "the expression or the file is wrong" in scan["message"]
        assert not steps(report, "remediation", "ran")  # the workflow was not stopped either
        assert _nothing_moved(files, _files(lab, host))
        assert db_view(lab.status(host))["workflows"] == db_view(before)["workflows"]
    finally:
        wrong.unlink()


@pytest.mark.parametrize(
    ("fault", "finding", "started_by"),
    [
        ("tracking_failed", "tracking_workflow_ok", "start_failed_tracking_workflow"),
        ("tracking_stale", "tracking_workflow_started", "start_stopped_tracking_workflow"),
    ],
)
def test_workflow_in_error_or_paused_is_started_not_rerun(lab, remediate, host, fault, finding, started_by):
    lab.break_(host, fault)
    assert not lab.status(host)["healthy"]["tracking"]
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    assert step(report, finding)["outcome"] == "failed"
    assert [s["id"] for s in steps(report, "remediation", "ran")] == [started_by]
    assert 'xtk.workflow.Start("tracking")' in step(report, started_by)["command"]
    assert not any("-download" in str(s.get("command")) for s in report["steps"])  # no utility after a start
    assert step(report, "tracking_workflow_running")["outcome"] == "passed"  # the state is verified
    st = lab.status(host)
    assert _tracking(st)["failed"] == 0 and _tracking(st)["state"] == 11 and not _tracking(st)["error"]
    assert _tracking(st)["hours_since_last_run"] < 0.1 and st["healthy"]["tracking"]


def test_workflow_in_error_is_not_started_without_confirmation(lab, remediate, host):
    """xtk.workflow.Start is a JavaScript name no page shows: asked for first, even for a workflow in error."""
    lab.break_(host, "tracking_failed")
    code, report = run(remediate, "tracking")
    assert code == 4 and report["status"] == "not_confirmed", report
    assert step(report, "start_failed_tracking_workflow")["outcome"] == "declined"
    assert not steps(report, "remediation", "ran")
    assert _tracking(lab.status(host))["failed"] == 1


def test_stopped_workflow_is_not_started_without_confirmation(lab, remediate, host):
    """@state 20 without @failed: someone stopped it. No terminal and no --yes: refused, exit 4, still 20."""
    lab.break_(host, "tracking_stopped")
    before = lab.status(host)
    assert (_tracking(before)["state"], _tracking(before)["failed"]) == (20, 0)
    code, report = run(remediate, "tracking")
    assert code == 4 and report["status"] == "not_confirmed", report
    assert step(report, "tracking_workflow_started")["outcome"] == "failed"
    assert step(report, "start_stopped_tracking_workflow")["outcome"] == "declined"
    assert not steps(report, "remediation", "ran")
    after = lab.status(host)
    assert (_tracking(after)["state"], _tracking(after)["failed"]) == (20, 0)
    assert db_view(after)["workflows"] == db_view(before)["workflows"] and pids(after) == pids(before)
    assert after["db"]["pending_workflow_starts"] == 0  # no Start was even queued


def test_the_tracking_server_that_does_not_answer_is_named_and_nothing_restarts(lab, remediate, host):
    lab.break_(host, "tracking_server_down")
    before = lab.status(host)
    servers = before["tracking_servers"]
    good = f"http://{lab.addr(host)}:{FRONT_PORT}"
    bad = next(url for url in servers if url != good)
    assert servers[good]["ok"] and not servers[bad]["ok"], servers
    code, report = run(remediate, "tracking", "--yes")
    assert code == 1 and report["status"] == "failed", report
    found = step(report, "tracking_servers_answer")
    assert found["outcome"] == "failed" and f"{bad} does not answer" in found["message"], found
    assert f"answering: {good}" in found["message"] and good + " does not" not in found["message"]
    assert not steps(report, "remediation"), report["steps"]
    after = lab.status(host)
    assert pids(after) == pids(before) and after["front_web"]["pid"] == before["front_web"]["pid"]
    assert db_view(after)["workflows"] == db_view(before)["workflows"]


def test_stale_consolidation_is_reported_and_the_utility_runs_only_on_request(lab, remediate, host):
    """The workflow runs (11, not failed) but NmsTracking_LastConsolidation is 5 h old: reported; the
    undocumented tracking utility runs only with --option rerun_utility=yes, confirmed."""
    lab.psql(
        "UPDATE XtkOption SET tsTimeStampValue=now() - interval '5 hours' WHERE sName='NmsTracking_LastConsolidation'",
        db=f"campaign_{host}",
    )
    before = lab.status(host)
    assert before["db"]["hours_since_last_consolidation"] >= 4.9
    code, report = run(remediate, "tracking", "--yes")
    assert code == 1 and not steps(report, "remediation"), report
    assert step(report, "tracking_consolidated")["outcome"] == "failed"
    assert "NmsTracking_LastConsolidation" in step(report, "tracking_consolidated")["message"]
    assert db_view(lab.status(host))["workflows"] == db_view(before)["workflows"]
    code, report = run(remediate, "tracking", "--option", "rerun_utility=yes")
    assert code == 4 and step(report, "rerun_tracking")["outcome"] == "declined", report  # confirmed first
    assert lab.status(host)["db"]["hours_since_last_consolidation"] >= 4.9
    code, report = run(remediate, "tracking", "--option", "rerun_utility=yes", "--yes")
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["rerun_tracking"], report
    assert "tracking -instance:prod -download -update" in step(report, "rerun_tracking")["command"]
    assert lab.status(host)["db"]["hours_since_last_consolidation"] < 0.1


def test_tracking_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "tracking", "tracking_failed", ['xtk.workflow.Start("tracking")'])
    assert _tracking(after)["failed"] == 1


def test_tracking_corrupt_dry_run_keeps_the_line(lab, remediate, host):
    files = _files(lab, host)
    after = check_dry_run(lab, remediate, "tracking", "redir_corrupt", ['xtk.workflow.Stop("tracking")', ".rejected"])
    assert len(after["files"]["corrupted_lines"]) == 1
    assert _nothing_moved(files, _files(lab, host))


def test_not_a_redirection_server_reads_only_the_workflow(lab, remediate, host):
    other = lab.hosts()[-1]
    assert other != HOST and not lab.status(other)["redirection_server"]
    before = lab.status(other)
    code, doc = remediate.json("tracking", "--host", other, "--yes")
    rep = doc["hosts"][other]
    assert code == 0, rep
    scan = next(s for s in rep["steps"] if s["id"] == "redir_lines_ok")
    assert scan["outcome"] == "skipped" and "not a redirection server" in scan["message"]
    assert next(s for s in rep["steps"] if s["id"] == "tracking_workflow_ok")["outcome"] == "passed"
    assert pids(lab.status(other)) == pids(before)
