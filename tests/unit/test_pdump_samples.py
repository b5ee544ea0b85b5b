"""pdump on Adobe's samples (tests/fixtures/adobe/pdump.yml, pdump-who.yml): the shell pid filter the
checks use (``pid_in_pdump``, run by the real ``sh`` and ``sed``) and what a failed pdump reads as.

A pdump that exited other than 0 (1, 255, or -1 when it left no exit code) is never a pass: the
module's state is undetermined, so nothing is started or restarted on it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import plan
from runner.actions import ACTIONS, Context
from runner.actions.modules import CUT_WHO, MISSING_MARK, pid_in_pdump
from runner.inventory import Host

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
CTX = Context(Host("prod1", (), {"instance": "prod", "address": "10.0.0.5"}, "-"))


def _samples(name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return [s for s in doc["samples"] if s.get("valid", True) and s["expect"].get("processes")]


PDUMPS = _samples("pdump.yml") + _samples("pdump-who.yml")
IDS = [f"{s['page'].rsplit('/', 1)[-1]}:{i}" for i, s in enumerate(PDUMPS)]


def _filter(text: str, process: str, through: str | None = None) -> str:
    script = f"{through} | {pid_in_pdump(process)}" if through else pid_in_pdump(process)
    res = subprocess.run(["sh", "-c", script], input=text, capture_output=True, text=True, check=True, timeout=10)
    return res.stdout.strip()


@pytest.mark.parametrize("sample", PDUMPS, ids=IDS)
def test_the_pid_filter_finds_each_process_of_adobes_samples(sample: dict[str, Any]) -> None:
    for process, pid in sample["expect"]["processes"].items():
        assert _filter(sample["sample"], process) == str(pid), process


@pytest.mark.parametrize("sample", PDUMPS, ids=IDS)
def test_the_pid_filter_matches_whole_names_only(sample: dict[str, Any]) -> None:
    listed = sample["expect"]["processes"]
    for process in listed:
        name, _at, instance = process.partition("@")
        for other in (name, f"{name}@{instance}2", f"{name[:-1]}@{instance}", f"x{process}", f"{name}.{instance}"):
            if other not in listed:
                assert _filter(sample["sample"], other) == "", (process, other)


def test_the_pid_filter_reads_pdump_who_cut_as_pdump() -> None:
    who = _samples("pdump-who.yml")[0]
    for process, pid in who["expect"]["processes"].items():
        assert _filter(who["sample"], process, CUT_WHO) == str(pid)
    res = subprocess.run(["sh", "-c", CUT_WHO], input=who["sample"], capture_output=True, text=True, check=True)
    assert "Connections" not in res.stdout and "formation_fr" not in res.stdout
    assert res.stdout.strip().splitlines() == who["sample"].split("\n\nConnections")[0].strip().splitlines()


SAMPLE = PDUMPS[0]["sample"]  # enterprise-deployment.md: wfserver@demo ... web@default
DEMO = Context(Host("prod1", (), {"instance": "demo", "address": "10.0.0.5"}, "-"))


@pytest.mark.parametrize("code", ["1", "255", "-1", "", "x"])
def test_module_running_after_a_failed_pdump_is_undetermined(code: str) -> None:
    """The process is listed, but pdump did not exit 0: nothing is read as running or stopped."""
    judge = ACTIONS["module_running"].judge
    out = f"{SAMPLE}\n{MISSING_MARK} {code}\n"
    verdict = judge({"module": "wfserver"}, DEMO, out, "", 0)
    assert verdict.undetermined and not verdict.passed, verdict.message
    assert judge({"module": "wfserver"}, DEMO, f"{SAMPLE}\n{MISSING_MARK} 0\n", "", 0).passed


@pytest.mark.parametrize("rc", [1, 255, -1])
def test_pdump_readers_are_undetermined_when_pdump_failed(rc: int) -> None:
    for action, args in (("processes_running", {}), ("module_running", {"module": "watchdog"})):
        verdict = ACTIONS[action].judge(args, DEMO, SAMPLE, "", rc)
        assert verdict.undetermined and not verdict.passed, (action, rc, verdict.message)
    who = _samples("pdump-who.yml")[0]["sample"]
    assert ACTIONS["web_sessions"].judge({}, DEMO, who, "", rc).undetermined
    assert ACTIONS["monitor_missing"].judge({}, DEMO, SAMPLE, "", rc).undetermined


@pytest.mark.parametrize("code", ["1", "255"])
def test_a_port_check_after_a_failed_pdump_is_undetermined(code: str) -> None:
    args = {"module": "web", "port": 8080, "proto": "tcp", "address": "10.0.0.5"}
    socket = "LISTEN 0 50 10.0.0.5:8080 0.0.0.0:* uid:1001 ino:4242 sk:1 <->\n"
    body = f"@@addr 10.0.0.5\n@@ss\n{socket}@@own 4242\n@@mine\n{socket}@@ps\n"
    judge = ACTIONS["port_listening"].judge
    assert judge(args, DEMO, f"{SAMPLE}\n{body}", "", 0).passed  # pdump exited 0: web (28671) holds it
    failed = judge(args, DEMO, f"{SAMPLE}\n@@pdumpexit {code}\n{body}", "", 0)
    assert failed.undetermined and not failed.passed, failed.message


def test_a_replayed_snapshot_keeps_pdumps_exit_code(tmp_path: Path) -> None:
    """Through a batch's snapshot, the port check still sees pdump's own exit code."""
    (tmp_path / "s_pdump.o").write_text(SAMPLE + "\n")
    (tmp_path / "s_pdump.e").write_text("")
    (tmp_path / "s_pdump.r").write_text("255 10\n")
    line = f'RMD_SNAP={tmp_path}; export RMD_SNAP; d=$({plan.replay("pdump")}); r=$?; echo "rc=$r"'
    res = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "rc=255"


@pytest.mark.parametrize("code", ["1", "255"])
def test_log_errors_since_start_after_a_failed_pdump_is_undetermined(code: str) -> None:
    """Not "the module is not running, so every error counts": when it started is not known."""
    args = {"module": "inMail", "file": "/x/inMail.log"}
    log = "1733200000\n@@log\n2024-12-03T04:00:00.000Z\t1\t00000000\t1\terror\tinMail\tBAS-010007 failed\n"
    judge = ACTIONS["log_errors_since_start"].judge
    failed = judge(args, CTX, f"{log}@@uptime\n@@pdumpexit {code}\n", "", 0)
    assert failed.undetermined and not failed.failed, failed.message
    cmd = ACTIONS["log_errors_since_start"].build(args, CTX)
    assert '|| { echo "@@pdumpexit $?"; exit 0; }' in cmd
