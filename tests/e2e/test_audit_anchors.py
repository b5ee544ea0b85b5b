"""The audit log as evidence, on the lab: anchors on the hosts catch a rewritten or truncated log.

Each test makes real changing runs (wfserver stopped, then started by the runner over sshd), then
tampers with the audit log as a dishonest operator could, and asks ``audit verify`` with and without
``--anchors``. The anchors are read back from the lab host over SSH, read-only.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lab import Lab
from runner.audit import GENESIS, line_hash
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def _repair(lab: Lab, host: str, remediate: Runner, reason: str) -> None:
    lab.break_(host, "wfserver_down")
    res = remediate("wfserver", "--host", host, "--yes", "--reason", reason)
    assert res.returncode == 0, res.stdout + res.stderr
    assert pid_of(lab, host, WF) is not None


def _rechain(lines: list[dict]) -> str:
    prev = GENESIS
    for e in lines:
        e["prev"] = prev
        e["hash"] = line_hash(e)
        prev = e["hash"]
    return "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in lines)


def _verify(remediate: Runner, *extra: str) -> tuple[int, dict]:
    res = remediate("audit", "verify", str(remediate.audit_log), *extra, "--output", "json")
    return res.returncode, json.loads(res.stdout)


def test_recomputed_rewrite_passes_the_chain_but_not_the_anchors(lab: Lab, host: str, remediate: Runner) -> None:
    _repair(lab, host, remediate, "INC-41")
    _repair(lab, host, remediate, "INC-42")
    runs = [e["run_id"] for e in remediate.events() if e["event"] == "run.started"]
    anchored = [e for e in remediate.events() if e["event"] == "anchor.written"]
    assert [e["run_id"] for e in anchored] == runs and all(e["host"] == host for e in anchored)
    code, report = _verify(remediate, "--anchors", "-i", str(remediate.inventory))
    assert code == 0 and {m["run_id"] for m in report["matched"]} == set(runs)

    events = remediate.events()
    for e in events:  # blame someone else and hide the incident: then recompute the whole chain
        if e["event"] == "run.started" and e["run_id"] == runs[0]:
            e["reason"] = "routine maintenance"
            e["operator"] = {"login": "someone_else"}
    remediate.audit_log.write_text(_rechain(events))

    code, report = _verify(remediate)
    assert code == 0 and report["chain_intact"]  # the chain alone cannot tell
    res = remediate("audit", "verify", str(remediate.audit_log))
    assert "chain intact (unanchored)" in res.stdout
    code, report = _verify(remediate, "--anchors", "-i", str(remediate.inventory))
    assert code == 1
    assert {r["run_id"] for r in report["rewritten"]} == set(runs)  # every later hash changed too
    assert not report["matched"]


def test_truncated_log_is_named_by_the_anchors(lab: Lab, host: str, remediate: Runner) -> None:
    _repair(lab, host, remediate, "INC-43")
    _repair(lab, host, remediate, "INC-44")
    events = remediate.events()
    last = [e for e in events if e["event"] == "run.started"][-1]["run_id"]
    kept = [e for e in events if e["run_id"] != last]
    remediate.audit_log.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in kept))
    code, report = _verify(remediate)
    assert code == 0  # the chain of what is left is intact
    code, report = _verify(remediate, "--anchors", "-i", str(remediate.inventory))
    assert code == 1
    assert {"host": host, "run_id": last} in report["missing_from_log"]


def test_unreachable_host_is_reported_not_matched(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    _repair(lab, host, remediate, "INC-45")
    inventory = yaml.safe_load(remediate.inventory.read_text())
    for group in [inventory["all"], *inventory["all"].get("children", {}).values()]:
        for name, values in (group.get("hosts") or {}).items():
            if name == host:
                values["ansible_port"] = 1  # nothing listens there
    broken = tmp_path / "inventory.yml"
    broken.write_text(yaml.safe_dump(inventory))
    code, report = _verify(remediate, "--anchors", "-i", str(broken))
    assert code == 1
    assert [u["host"] for u in report["unreachable"]] == [host] and not report["matched"]


def test_runs_and_show_tell_what_happened(lab: Lab, host: str, remediate: Runner) -> None:
    _repair(lab, host, remediate, "INC-46")
    run_id = [e for e in remediate.events() if e["event"] == "run.started"][-1]["run_id"]
    res = remediate("audit", "runs", "--audit-log", str(remediate.audit_log), "--host", host, "--since", "1h")
    assert (
        res.returncode == 0 and run_id in res.stdout and "INC-46" in res.stdout and f"{host}=remediated" in res.stdout
    )
    res = remediate("audit", "runs", "--audit-log", str(remediate.audit_log), "--output", "json", "--module", "web")
    assert json.loads(res.stdout) == []
    res = remediate("audit", "show", run_id, "--audit-log", str(remediate.audit_log), "--output", "json")
    told = json.loads(res.stdout)
    assert told["run"]["reason"] == "INC-46" and told["run"]["exit_code"] == 0
    story = told["hosts"][host]
    assert [c["step"] for c in story["failed"]] == ["wfserver_running"]
    assert next(c["command"] for c in story["commands"]).endswith(f"start {WF}")
    assert story["end"]["outcome"] == "remediated"
    text = remediate("audit", "show", run_id, "--audit-log", str(remediate.audit_log)).stdout
    assert f"start {WF}" in text and "=> remediated" in text
