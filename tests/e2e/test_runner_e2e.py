"""The runner's contract end to end: real CLI, real sshd, real PostgreSQL, simulated Campaign host.

Every test asserts the host's real state through ``lab.status`` (processes from /proc, the DB), and
the audit log, not only what the runner printed.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import yaml

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of, stopped_by_operator
from tests.support.wait import wait_until

WF = "wfserver@prod"


def _steps(doc: dict, host: str = "lab1") -> list[dict]:
    return doc["hosts"][host]["steps"]


def _ran(doc: dict, host: str = "lab1") -> list[dict]:
    return [s for s in _steps(doc, host) if s["phase"] == "remediation" and s["outcome"] in ("ran", "failed")]


def test_wfserver_down_is_started_and_verified(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "wfserver_down")
    assert pid_of(lab, host, WF) is None
    code, doc = remediate.json("wfserver", "--host", host, "--yes", "--reason", "INC-1")
    assert code == 0, doc
    assert doc["hosts"][host]["status"] == "remediated"
    assert [s["id"] for s in _ran(doc)] == ["start_wfserver"]
    assert pid_of(lab, host, WF) is not None  # the real process is back
    events = remediate.events()
    started = [e for e in events if e["event"] == "step.started" and e.get("effect") == "change"]
    assert started and started[0]["command"].endswith("start wfserver@prod")
    assert started[0]["reason"] == "INC-1"
    finished = [e for e in events if e["event"] == "step.finished" and e.get("step") == "start_wfserver"]
    assert finished[0]["exit_code"] == 0
    assert events.index(started[0]) < events.index(finished[0])


def test_healthy_host_nothing_done(lab: Lab, host: str, remediate: Runner) -> None:
    before = lab.status(host)["processes"]
    code, doc = remediate.json("wfserver", "--host", host)
    assert code == 0
    assert doc["hosts"][host]["status"] == "healthy"
    assert not [s for s in _steps(doc) if s["phase"] != "check"]
    assert lab.status(host)["processes"] == before
    assert not [e for e in remediate.events() if e["event"] == "step.started" and e.get("effect") != "read"]


def test_dry_run_changes_nothing_and_shows_the_command(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "wfserver_down")
    res = remediate("wfserver", "--host", host, "--dry-run")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "nlserver start wfserver@prod" in res.stdout
    assert "would_remediate" in res.stdout
    assert stopped_by_operator(lab, host, WF)  # no nlserver start reached the host
    assert pid_of(lab, host, WF) is None
    assert not [e for e in remediate.events() if e["event"] == "step.started" and e.get("effect") != "read"]
    assert [e for e in remediate.events() if e["event"] == "step.planned"]


def test_force_without_yes_or_terminal_is_refused(lab: Lab, host: str, remediate: Runner) -> None:
    pid = pid_of(lab, host, WF)
    code, doc = remediate.json("wfserver", "--host", host, "--force")
    assert code == 4
    assert doc["hosts"][host]["status"] == "not_confirmed"
    assert pid_of(lab, host, WF) == pid
    assert [e for e in remediate.events() if e["event"] == "confirmation.refused"]


def test_force_with_yes_restarts_wfserver(lab: Lab, host: str, remediate: Runner) -> None:
    pid = pid_of(lab, host, WF)
    code, doc = remediate.json("wfserver", "--host", host, "--force", "--yes")
    assert code == 0, doc
    assert [s["id"] for s in _ran(doc)] == ["restart_wfserver"]
    new = pid_of(lab, host, WF)
    assert new is not None and new != pid
    given = [e for e in remediate.events() if e["event"] == "confirmation.given"]
    assert given and given[0]["via"] == "--yes"


def test_hung_wfserver_is_found_and_restarted(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    inventory = _inventory_with(remediate, tmp_path, workflow_start_grace=1)
    pid = pid_of(lab, host, WF)
    lab.break_(host, "wfserver_hung")
    wait_until(
        lambda: _pending_starts_older_than(lab, host, 1) > 0,
        10,
        "the requested workflow start to wait longer than workflow_start_grace (1 s)",
    )
    # waiting start requests are an inferred finding: reported beside a healthy outcome, never a restart
    code, doc = remediate.json("wfserver", "--host", host, "--yes", inventory=inventory)
    assert code == 0 and doc["hosts"][host]["status"] == "healthy", doc["hosts"][host]
    found = " ".join(doc["hosts"][host]["found"])
    assert "no_stuck_workflows" in found and "exportRecipients" in found, doc["hosts"][host]
    assert "reported: no_stuck_workflows" in doc["hosts"][host]["message"]
    assert pid_of(lab, host, WF) == pid
    # the operator asks for the restart with --force
    code, doc = remediate.json("wfserver", "--host", host, "--force", "--yes", inventory=inventory)
    assert code == 0, doc["hosts"][host]
    assert pid_of(lab, host, WF) not in (None, pid)
    wait_until(lambda: _pending_starts_older_than(lab, host, 0) == 0, 30, "the restarted wfserver to take the requests")


def test_changed_host_key_refused_nothing_run(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "wfserver_down")
    lab.break_(host, "hostkey_changed")
    code, doc = remediate.json("wfserver", "--host", host, "--yes")
    assert code == 3
    assert doc["hosts"][host]["status"] == "unreachable"
    assert "CHANGED" in doc["hosts"][host]["message"]
    assert pid_of(lab, host, WF) is None  # nothing was started
    events = remediate.events()
    assert [e for e in events if e["event"] == "host.unreachable"]
    assert not [e for e in events if e["event"] in ("step.started", "host.retrying")]


def test_watchdog_no_tasks_brings_everything_back(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "watchdog_down")
    assert all(not p["alive"] for p in lab.status(host)["processes"].values())
    code, doc = remediate.json("watchdog", "--host", host, "--yes")
    assert code == 0, doc
    assert [s["id"] for s in _ran(doc)] == ["start_watchdog"]
    assert "No tasks" in " ".join(doc["hosts"][host]["found"])
    st = lab.status(host)
    assert st["processes"]["watchdog"]["alive"]
    assert not st["missing"]
    assert all(p["alive"] for p in st["processes"].values())


def test_two_missing_modules_only_those_started(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "modules_missing")
    before = {k: v["pid"] for k, v in lab.status(host)["processes"].items() if v["alive"]}
    assert set(lab.status(host)["missing"]) == {"mta@prod", "trackinglogd@default"}
    code, doc = remediate.json("watchdog", "--host", host, "--yes")
    assert code == 0, doc
    ran = _ran(doc)
    assert [s["id"] for s in ran] == ["start_missing"]
    sourcing, *starts = ran[0]["command"].split(" && ")  # the host's env script, then one start each
    assert sourcing == f". {lab.hdir(host) / 'nl6/env.sh'}"
    assert sorted(starts) == sorted(
        f"{lab.hdir(host) / 'nl6/bin/nlserver'} start {m}" for m in ("mta@prod", "trackinglogd@default")
    )
    after = {k: v["pid"] for k, v in lab.status(host)["processes"].items() if v["alive"]}
    assert {k: after[k] for k in before} == before  # nothing else was touched
    assert {"mta@prod", "trackinglogd@default"} <= set(after)
    assert not lab.status(host)["missing"]


def test_audit_verify_catches_an_edited_line(lab: Lab, host: str, remediate: Runner) -> None:
    remediate("wfserver", "--host", host)
    remediate("watchdog", "--host", host)
    ok = remediate("audit", "verify", str(remediate.audit_log))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = remediate.audit_log.read_text().splitlines()
    assert len(lines) > 6
    event = json.loads(lines[3])
    event["outcome"] = "passed" if event.get("outcome") != "passed" else "failed"
    lines[3] = json.dumps(event)
    remediate.audit_log.write_text("\n".join(lines) + "\n")
    bad = remediate("audit", "verify", str(remediate.audit_log))
    assert bad.returncode == 1
    assert ":4:" in bad.stdout + bad.stderr


def test_every_audit_event_has_the_schema_fields(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "wfserver_down")
    remediate("wfserver", "--host", host, "--reason", "CHG-7")
    events = remediate.events()
    assert events[0]["event"] == "run.started" and events[-1]["event"] == "run.finished"
    assert len({e["run_id"] for e in events}) == 1
    for e in events:
        assert e["ts"].endswith("Z") and e["operator"]["login"]
    started = events[0]
    assert started["reason"] == "CHG-7" and len(started["playbook_sha256"]) == 64
    assert any(e.get("host_key", "").startswith("SHA256:") for e in events if e["event"] == "host.connected")


# --- exit codes ----------------------------------------------------------------------------------


def _playbooks_dir(tmp_path: Path, remediation: str) -> Path:
    d = tmp_path / "playbooks"
    d.mkdir()
    (d / "wfserver.yml").write_text(
        textwrap.dedent("""\
        module: wfserver
        title: test playbook
        scope: test
        symptom: test
        checks:
          - id: always_fails
            effect: read
            action: shell
            args: {command: "false"}
        remediation:
        """)
        + textwrap.indent(textwrap.dedent(remediation), "  ")
        + textwrap.dedent("""\
        verification:
          - id: still_fails
            effect: read
            action: shell
            args: {command: "false"}
        """)
    )
    return d


def _inventory_with(remediate: Runner, tmp_path: Path, **extra: object) -> Path:
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update(extra)
    out = tmp_path / "inventory.yml"
    out.write_text(yaml.safe_dump(data))
    return out


def test_exit_1_remediation_command_failed(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    d = _playbooks_dir(
        tmp_path,
        """\
        - id: fails
          effect: change
          action: shell
          args: {command: "echo broken >&2; exit 3"}
        """,
    )
    code, doc = remediate.json("wfserver", "--host", host, env={"REMEDIATE_PLAYBOOKS": str(d)})
    assert code == 1
    assert doc["hosts"][host]["status"] == "failed"
    step = _ran(doc)[0]
    assert step["exit_code"] == 3 and "broken" in step["message"]


def test_exit_5_changing_command_timed_out_not_retried(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    d = _playbooks_dir(
        tmp_path,
        """\
        - id: slow
          effect: change
          action: shell
          args: {command: "sleep 47"}
          timeout: 2
        """,
    )
    code, doc = remediate.json("wfserver", "--host", host, env={"REMEDIATE_PLAYBOOKS": str(d)})
    assert code == 5, doc
    assert doc["hosts"][host]["status"] == "unknown"
    started = [e for e in remediate.events() if e["event"] == "step.started" and e.get("step") == "slow"]
    assert len(started) == 1  # never re-run
    # the host itself stopped the command at its timeout
    wait_until(lambda: not _processes_with(lab, "sleep 47"), 15, "the timed-out command to be gone from the host")


def _pending_starts_older_than(lab: Lab, host: str, seconds: int) -> int:
    """Workflow start requests of the host's database still waiting after ``seconds``."""
    return int(
        lab.psql(
            "SELECT count(*) FROM XtkWorkflowJob WHERE iStatus = 0 AND tsCreated < now() - "
            f"make_interval(secs => {seconds})",
            db=f"campaign_{host}",
        )
    )


def _processes_with(lab: Lab, needle: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if needle in cmd and "timeout" not in cmd.split()[0]:
                found.append(int(entry))
    return found
