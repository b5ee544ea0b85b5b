"""The team history on the lab: two operators, two audit logs, one host; the host's anchors tell both runs.

Each run is a real repair (wfserver stopped, then started by the runner over sshd). What the host holds
is read from its anchor file through the lab's own directory, not from the runner's output; then
``remediate history`` reads the anchors back over SSH, read-only, and merges them with one operator's log.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def _anchor_file(lab: Lab, host: str) -> Path:
    """The host's anchor file (the default: <nl6_root>/var/remediate/locks/audit-anchors.jsonl)."""
    return lab.hdir(host) / "nl6" / "var" / "remediate" / "locks" / "audit-anchors.jsonl"


def _on_host(lab: Lab, host: str, run_id: str) -> dict[str, Any]:
    found = [json.loads(line) for line in _anchor_file(lab, host).read_text().splitlines() if run_id in line]
    assert len(found) == 1, found
    return found[0]


def _repair(
    lab: Lab, host: str, remediate: Runner, operator: str, reason: str, *log: str
) -> tuple[str, dict[str, Any]]:
    """Break wfserver, repair it as ``operator``; the run id and the first record of the log it wrote to."""
    lab.break_(host, "wfserver_down")
    res = remediate(
        "wfserver", "--host", host, "--yes", "--reason", reason, *log, env={"LOGNAME": operator, "USER": operator}
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert pid_of(lab, host, WF) is not None
    path = Path(log[log.index("--audit-log") + 1]) if "--audit-log" in log else remediate.audit_log
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in events if e["event"] == "run.started"][-1]["run_id"], events[0]


def _history(remediate: Runner, *args: str, inventory: Path | None = None) -> tuple[int, dict[str, Any]]:
    res = remediate("history", *args, "--output", "json", inventory=inventory)
    try:
        return res.returncode, json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {res.returncode}):\n{res.stdout}\n{res.stderr}") from None


def test_history_merges_the_runs_of_another_log_from_the_host(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    other_log = tmp_path / "bob-audit.jsonl"
    alice, alice_first = _repair(lab, host, remediate, "alice", "INC-51 workflows stuck")  # $REMEDIATE_AUDIT_LOG
    between = datetime.now(UTC).replace(microsecond=0)
    bob, bob_first = _repair(
        lab, host, remediate, "bob", "again", "--audit-log", str(other_log), "--incident", "INC-52"
    )

    # what the host itself holds: each run's summary, with the log it was written from
    a, b = _on_host(lab, host, alice), _on_host(lab, host, bob)
    assert (a["operator"], a["module"], a["reason"], a["outcome"]) == (
        "alice",
        "wfserver",
        "INC-51 workflows stuck",
        "remediated",
    )
    assert (b["operator"], b["module"], b["reason"], b["outcome"]) == ("bob", "wfserver", "again", "remediated")
    assert a["log"] == alice_first["hash"] and b["log"] == bob_first["hash"] and a["log"] != b["log"]
    assert a["log_host"] == b["log_host"] == socket.gethostname()
    assert "incident" in a and a["incident"] is None and b["incident"] == "INC-52"  # alice's run named none
    for rec in (a, b):
        started, ended = (datetime.fromisoformat(rec[k].replace("Z", "+00:00")) for k in ("started", "ended"))
        assert started <= ended and started.tzinfo is not None
    assert datetime.fromisoformat(a["ended"].replace("Z", "+00:00")) <= datetime.fromisoformat(
        b["started"].replace("Z", "+00:00")
    )

    code, doc = _history(remediate, "--host", host)  # alice's log: $REMEDIATE_AUDIT_LOG
    assert code == 0, doc
    assert doc["audit_log"]["id"] == alice_first["hash"] and doc["unread"] == []
    runs = {r["run_id"]: r for r in doc["runs"]}
    assert len([r for r in doc["runs"] if r["run_id"] in (alice, bob)]) == 2  # one entry per run
    mine, theirs = runs[alice], runs[bob]
    assert (mine["source"], mine["operator"], mine["module"], mine["reason"]) == (
        "this log",
        "alice",
        "wfserver",
        "INC-51 workflows stuck",
    )
    assert mine["hosts"] == {host: "remediated"} and mine["via"] == [host]
    assert (theirs["source"], theirs["operator"], theirs["module"], theirs["reason"], theirs["log"]) == (
        "another log",
        "bob",
        "wfserver",
        "again",
        bob_first["hash"],
    )
    assert theirs["incident"] == "INC-52" and mine["incident"] is None
    assert theirs["hosts"] == {host: "remediated"} and theirs["via"] == [host]
    text = remediate("history", "--host", host).stdout.splitlines()
    bob_line = next(line for line in text if bob in line)
    assert "bob" in bob_line and 'INC-52 / "again"' in bob_line and f"{host}=remediated" in bob_line
    assert "another log" in bob_line and f"via {host}" in bob_line
    assert next(line for line in text if alice in line).endswith("[this log]")

    # filters: --module, --since
    code, doc = _history(remediate, "--host", host, "--module", "web")
    assert code == 0 and not {alice, bob} & {r["run_id"] for r in doc["runs"]}
    code, doc = _history(remediate, "--host", host, "--since", between.isoformat())
    assert code == 0 and bob in {r["run_id"] for r in doc["runs"]} and alice not in {r["run_id"] for r in doc["runs"]}
    code, doc = _history(remediate, "--host", host, "--since", "1h", "--module", "wfserver")
    assert code == 0 and {alice, bob} <= {r["run_id"] for r in doc["runs"]}


def test_history_names_a_host_it_cannot_read(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    run, _first = _repair(lab, host, remediate, "alice", "INC-53")
    inventory = yaml.safe_load(remediate.inventory.read_text())
    for group in [inventory["all"], *inventory["all"].get("children", {}).values()]:
        for name, values in (group.get("hosts") or {}).items():
            if name == "lab2":
                values["ansible_port"] = 1  # nothing listens there
    broken = tmp_path / "inventory.yml"
    broken.write_text(yaml.safe_dump(inventory))
    before = _anchor_file(lab, host).read_text()
    res = remediate("history", "--host", host, "--host", "lab2", inventory=broken)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "lab2: not read:" in res.stderr and run in res.stdout  # the readable host is still told
    code, doc = _history(remediate, "--host", host, "--host", "lab2", inventory=broken)
    assert code == 3 and [u["host"] for u in doc["unread"]] == ["lab2"] and doc["unread"][0]["why"]
    assert _anchor_file(lab, host).read_text() == before  # history only reads


def test_history_refuses_a_bad_since_before_reaching_any_host(lab: Lab, remediate: Runner, tmp_path: Path) -> None:
    inventory = yaml.safe_load(remediate.inventory.read_text())
    for group in [inventory["all"], *inventory["all"].get("children", {}).values()]:
        for values in (group.get("hosts") or {}).values():
            values["ansible_port"] = 1  # any host it tried to reach would make it exit 3, not 2
    broken = tmp_path / "inventory.yml"
    broken.write_text(yaml.safe_dump(inventory))
    res = remediate("history", "--since", "yesterday", inventory=broken)
    assert res.returncode == 2 and "--since" in res.stderr and res.stdout == ""
    res = remediate("history", "--host", "nosuchhost")
    assert res.returncode == 2 and "nosuchhost" in res.stderr
