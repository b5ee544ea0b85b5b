"""Tracking actions on Adobe's samples: the commands run in a real local shell (bash, grep, stat) against
tracking logs written from tests/fixtures/adobe/redir-log-lines.yml, and their judges read that output.

Nothing here needs a host: the command is the exact text the runner would send, run on a temporary
``var/<instance>/redir/log`` directory.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.actions import ACTIONS, Context
from runner.actions.tracking import allowed, refused
from runner.inventory import Host
from runner.outcomes import Verdict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe" / "redir-log-lines.yml"
SAMPLES = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["samples"]
GOOD = [s["sample"] for s in SAMPLES if s.get("valid", True)]
BAD = [s["sample"] for s in SAMPLES if not s.get("valid", True)]
ARGS = {"dir": "{nl6_root}/var/{instance}/redir/log", "pattern": "0x*.log"}
FILE = "0x00000000000A0000.log"


def _ctx(root: Path, **extra: Any) -> Context:
    return Context(Host("prod1", (), {"instance": "prod", "nl6_root": str(root), **extra}, "-"))


def _logdir(root: Path) -> Path:
    d = root / "var" / "prod" / "redir" / "log"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _write(path: Path, lines: list[str]) -> bytes:
    data = b"".join(line.encode("utf-8") + b"\n" for line in lines)
    path.write_bytes(data)
    return data


def _run(name: str, root: Path, **extra: Any) -> tuple[Verdict, subprocess.CompletedProcess[str]]:
    ctx = _ctx(root, **extra)
    act = ACTIONS[name]
    res = subprocess.run(
        ["bash", "-c", act.build(ARGS, ctx)], capture_output=True, text=True, errors="replace", check=False
    )
    return act.judge(ARGS, ctx, res.stdout, res.stderr, res.returncode), res


def _many_good(n: int) -> list[str]:
    return [GOOD[k % len(GOOD)] for k in range(n)]


def test_only_adobe_shaped_lines_are_clean(tmp_path: Path) -> None:
    _write(_logdir(tmp_path) / FILE, GOOD * 3)
    verdict, _ = _run("redir_scan", tmp_path)
    assert verdict.passed and not verdict.not_applicable, verdict.message
    assert f"all {len(GOOD) * 3} line(s) of 1 tracking log file(s)" in verdict.message


@pytest.mark.parametrize("bad", BAD, ids=range(len(BAD)))
def test_each_corrupted_sample_is_found_as_file_line(tmp_path: Path, bad: str) -> None:
    lines = _many_good(150)
    lines.insert(41, bad)
    _write(_logdir(tmp_path) / FILE, lines)
    verdict, _ = _run("redir_scan", tmp_path)
    assert verdict.failed, verdict.message
    expected = f"{tmp_path}/var/prod/redir/log/{FILE}:42"
    assert verdict.data["corrupted"] == [expected]
    assert expected in verdict.message


def test_no_redir_directory_is_not_applicable(tmp_path: Path) -> None:
    verdict, _ = _run("redir_scan", tmp_path)
    assert verdict.not_applicable and verdict.clear and not verdict.passed
    assert "not a redirection server" in verdict.message


def test_quarantine_sets_lines_aside_numbered_and_keeps_the_inode(tmp_path: Path) -> None:
    path = _logdir(tmp_path) / FILE
    lines = _many_good(200)
    lines[9], lines[120] = BAD[1], BAD[2]
    _write(path, lines)
    inode = path.stat().st_ino
    verdict, res = _run("redir_quarantine", tmp_path)
    assert verdict.passed, (verdict.message, res.stderr)
    assert f"{path}.rejected" in verdict.message
    kept = [ln for k, ln in enumerate(lines) if k not in (9, 120)]
    assert path.read_bytes() == b"".join(ln.encode() + b"\n" for ln in kept)
    assert path.stat().st_ino == inode
    rejected = Path(f"{path}.rejected").read_bytes().split(b"\n")
    assert rejected[0] == b"10:" + BAD[1].encode("utf-8")
    assert rejected[1] == b"121:" + BAD[2].encode("utf-8")
    again, _ = _run("redir_scan", tmp_path)
    assert again.passed, again.message  # .rejected does not match 0x*.log


def test_one_corrupted_line_of_a_small_file_may_go(tmp_path: Path) -> None:
    # Adobe's case: one line cut short by a crash. A file of three lines exceeds 1 % with it, but one
    # line per file is always allowed; two of three are not.
    path = _logdir(tmp_path) / FILE
    _write(path, [GOOD[0], BAD[1], GOOD[1]])
    scan, _ = _run("redir_scan", tmp_path)
    assert scan.failed
    verdict, _ = _run("redir_quarantine", tmp_path)
    assert verdict.passed and path.read_text().splitlines() == [GOOD[0], GOOD[1]]


def test_a_file_in_another_layout_is_refused_and_nothing_moves(tmp_path: Path) -> None:
    d = _logdir(tmp_path)
    other = [f"50x000000000FD7EC{k:02X}\t2017/06/24 21:00:50\t1\t2\t3\tclick" for k in range(40)]
    wrong = _write(d / FILE, other[:38] + GOOD[:2])
    small = _write(d / "0x00000000000B0000.log", [GOOD[0], BAD[1], GOOD[1]])
    scan, _ = _run("redir_scan", tmp_path)
    assert scan.undetermined, scan.message  # never a reason to stop the workflow or move a line
    assert "38 of 40 lines" in scan.message and "the expression or the file is wrong" in scan.message
    verdict, res = _run("redir_quarantine", tmp_path)
    assert res.returncode == 4 and verdict.failed
    assert verdict.message.startswith("refused, nothing was moved") and "38 of 40 lines" in verdict.message
    assert (d / FILE).read_bytes() == wrong
    assert (d / "0x00000000000B0000.log").read_bytes() == small  # not even the file that alone would pass
    assert not list(d.glob("*.rejected"))


def test_every_line_bad_is_refused(tmp_path: Path) -> None:
    d = _logdir(tmp_path)
    data = _write(d / FILE, [BAD[0]])
    scan, _ = _run("redir_scan", tmp_path)
    assert scan.undetermined and "1 of 1 lines" in scan.message
    verdict, _ = _run("redir_quarantine", tmp_path)
    assert verdict.failed and (d / FILE).read_bytes() == data


def test_share_is_the_host_var(tmp_path: Path) -> None:
    lines = _many_good(100)
    lines[3] = lines[50] = lines[70] = BAD[1]
    _write(_logdir(tmp_path) / FILE, lines)
    assert _run("redir_scan", tmp_path)[0].undetermined  # 3 of 100 > 1 %
    loose, _ = _run("redir_scan", tmp_path, quarantine_max_share=0.05)
    assert loose.failed and len(loose.data["corrupted"]) == 3
    assert allowed(100, 10_000) == 1 and allowed(3, 10_000) == 1 and allowed(1000, 10_000) == 10
    assert refused(3, 3, 1_000_000) and not refused(1, 3, 10_000) and refused(2, 3, 10_000)


def test_unreadable_directory_is_undetermined() -> None:
    judge = ACTIONS["redir_scan"].judge
    ctx = _ctx(Path("/opt/nl6"))
    assert judge(ARGS, ctx, "", "cd: permission denied", 2).undetermined


def test_workflow_stop_waits_for_state_20() -> None:
    ctx = _ctx(Path("/opt/nl6"))
    args = {"workflow": "{tracking_workflow}", "wait": 30}
    cmd = ACTIONS["workflow_stop"].build(args, ctx)
    assert 'xtk.workflow.Stop("tracking");' in cmd and "javascript -instance:prod -file" in cmd
    assert "@internalName = " in cmd and "row\t20$" in cmd and "+ 30 ))" in cmd
    judge = ACTIONS["workflow_stop"].judge
    assert judge(args, ctx, "@@stopped\n", "", 0).passed
    late = judge(args, ctx, "@@running\n", "", 4)
    assert late.failed and "did not reach @state 20 within 30s" in late.message
    missing = judge(args, ctx, "", "XTK-170006 Unable to find workflow 'tracking'.", 1)
    assert missing.failed and "XTK-170006" in missing.message
    odd = _ctx(Path("/opt/nl6"), tracking_workflow="x'; rm -rf /")
    with pytest.raises(Exception, match="not a workflow internal name"):
        ACTIONS["workflow_stop"].build(args, odd)


LOG = "2024-03-15T14:{:02d}:00.000Z\t{}\t00000000\t1\t{}\ttrackinglogd\t{}"


def test_log_errors_count_only_since_the_module_started(tmp_path: Path) -> None:
    args = {"module": "trackinglogd", "file": "{nl6_root}/var/default/log/trackinglogd.log", "window": 3600}
    args["errors"] = "all"  # BAS-010007 below is a code a restart cannot fix: "module" leaves it out
    act, ctx = ACTIONS["log_errors_since_start"], _ctx(tmp_path)
    cmd = act.build(args, ctx)
    assert "trackinglogd.log" in cmd and "/proc/stat" in cmd and "trackinglogd@default" in cmd
    now = 1710512400  # 2024-03-15T14:20:00Z
    log = "\n".join(
        [
            LOG.format(0, 11, "error", "BAS-010007 cannot write shared memory (iRc=-53)"),
            LOG.format(15, 12, "info", "started"),
        ]
    )
    out = f"{now}\n@@log\n{log}\n@@uptime\n"
    before = act.judge(args, ctx, out + f"{now - 3000}.250\n", "", 0)  # started 50 min ago: the error is after it
    assert before.failed and "BAS-010007" in before.message
    after = act.judge(args, ctx, out + f"{now - 300}.250\n", "", 0)  # restarted 5 min ago: the error is older
    assert after.passed and "since trackinglogd@default started" in after.message
    not_running = act.judge(args, ctx, out, "", 0)
    assert not_running.failed
    assert act.judge(args, ctx, "", "cannot read", 2).undetermined


def test_commands_have_no_unquoted_user_text(tmp_path: Path) -> None:
    evil = _ctx(tmp_path / "a b;touch x")
    cmd = ACTIONS["redir_scan"].build(ARGS, evil)
    assert "'" + str(tmp_path / "a b;touch x") in cmd
    os.chdir(tmp_path)
    subprocess.run(["bash", "-c", cmd], capture_output=True, check=False)
    assert not (tmp_path / "x").exists()
