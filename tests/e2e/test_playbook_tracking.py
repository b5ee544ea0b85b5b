"""tracking playbook on the lab: a healthy host whose tracking logs hold only Adobe-shaped lines (written
by simulated clicks) is left alone; a corrupted line is set aside in Adobe's order (stop the Tracking
workflow, remove the line, start the workflow) and the tracking utility re-run; a file in another layout
is refused with nothing stopped or moved; a workflow in error or stale is started and re-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import Lab
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
    assert ran == ["stop_tracking_workflow", "quarantine_corrupted_lines", "start_tracking_workflow", "rerun_tracking"]
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
    ("fault", "finding"), [("tracking_failed", "tracking_workflow_ok"), ("tracking_stale", "tracking_workflow_recent")]
)
def test_workflow_in_error_or_stale_is_started_and_rerun(lab, remediate, host, fault, finding):
    lab.break_(host, fault)
    assert not lab.status(host)["healthy"]["tracking"]
    code, report = run(remediate, "tracking", "--yes")
    assert code == 0, report
    assert step(report, finding)["outcome"] == "failed"
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_tracking_workflow", "rerun_tracking"]
    assert "tracking -instance:prod -download -update" in step(report, "rerun_tracking")["command"]
    st = lab.status(host)
    assert _tracking(st)["failed"] == 0 and _tracking(st)["state"] == 11 and not _tracking(st)["error"]
    assert _tracking(st)["hours_since_last_run"] < 0.1 and st["healthy"]["tracking"]


def test_tracking_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(
        lab, remediate, "tracking", "tracking_failed", ["nlserver tracking -instance:prod -download -update"]
    )
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
