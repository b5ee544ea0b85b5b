"""Inventories as operators have them, on the lab: Ansible INI, the JSON of ``ansible-inventory --list``,
``--limit`` with Ansible's host patterns, and ``--rerun-failed``.

The INI inventory is written here from the lab's own YAML inventory (same hosts, same vars), with
groups made of host ranges; the JSON is what the real ``ansible-inventory`` (ansible-core, a dev
dependency) prints for that INI. Each run is judged by the lab hosts' real state afterwards (the pid of
wfserver@prod, read by ``lab.status``) and by the hosts the audit log says the run selected.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import healthy, pid_of
from tests.support.wait import wait_until

WF = "wfserver@prod"
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def _ini_value(value: Any) -> str:
    """A YAML value as INI text that Ansible types back to the same value (literal_eval)."""
    if isinstance(value, bool):
        return "true" if value else "false"  # Ansible keeps the string; the runner reads its booleans
    if isinstance(value, int | float | list):
        return repr(value)
    return str(value)


def _lab_ini(lab: Lab, path: Path) -> Path:
    """The lab's YAML inventory as an Ansible INI file: [all:vars], one host line each, range groups."""
    data = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    hosts = data["all"]["children"]["lab"]["hosts"]
    assert {"lab1", "lab2", "lab3"} <= set(hosts), list(hosts)  # and lab2-prod2, lab2's second instance
    lines = ["# the lab, as an operator's INI inventory", "[lab]"]
    for name, hvars in hosts.items():
        inline = " ".join(f"{key}={shlex.quote(_ini_value(value))}" for key, value in hvars.items())
        lines.append(f"{name} {inline}")
    lines += ["", "[odd]", "lab[1:3:2]", "", "[emea:children]", "odd", "", "[canary]", "lab[2:3]", "", "[all:vars]"]
    lines += [f"{key}={_ini_value(value)}" for key, value in data["all"]["vars"].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def three(lab: Lab) -> Iterator[list[str]]:
    """lab1..lab3 healed before and after the test."""
    names = ["lab1", "lab2", "lab3"]
    for name in names:
        lab.heal(name)
    for name in names:
        wait_until(lambda n=name: healthy(lab, n), 60, f"{name} healthy before the test")
    yield names
    for name in names:
        lab.heal(name)


def _started_hosts(remediate: Runner) -> list[list[str]]:
    return [e["hosts"] for e in remediate.events() if e["event"] == "run.started"]


def test_an_ini_inventory_of_the_lab_loads_as_its_yaml(lab: Lab, remediate: Runner, tmp_path: Path) -> None:
    ini = _lab_ini(lab, tmp_path / "hosts")
    code_yaml, from_yaml = remediate.json("hosts")
    code_ini, from_ini = remediate.json("hosts", "-i", str(ini))
    assert code_yaml == code_ini == 0
    by_name = {row["host"]: row for row in from_ini}
    for row in from_yaml:
        mine = by_name[row["host"]]
        assert mine["vars"] == row["vars"], row["host"]  # every var, typed the same (syslog_probe: true)
        assert (mine["address"], mine["port"], mine["user"]) == (row["address"], row["port"], row["user"])
    res = remediate("hosts", "-i", str(ini), "--limit", "emea:!lab3", "--output", "json")
    assert [row["host"] for row in json.loads(res.stdout)] == ["lab1"]


def test_limit_on_an_ini_inventory_repairs_only_the_hosts_it_selects(
    lab: Lab, three: list[str], remediate: Runner, tmp_path: Path
) -> None:
    ini = _lab_ini(lab, tmp_path / "hosts")
    lab.break_("lab1", "wfserver_down")
    lab.break_("lab3", "wfserver_down")
    # odd is lab1 and lab3 (the range lab[1:3:2]); the pattern takes lab3 out again
    res = remediate("wfserver", "-i", str(ini), "--group", "odd", "--limit", "emea:!lab3", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _started_hosts(remediate) == [["lab1"]]
    assert pid_of(lab, "lab1", WF) is not None  # repaired
    assert pid_of(lab, "lab3", WF) is None  # left alone: --limit excluded it
    lab2_pid = pid_of(lab, "lab2", WF)

    # --limit alone narrows all hosts: the canary group (lab2, lab3), intersected with emea (lab1, lab3)
    res = remediate("wfserver", "-i", str(ini), "--limit", "canary:&emea", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _started_hosts(remediate)[-1] == ["lab3"]
    assert pid_of(lab, "lab3", WF) is not None
    assert pid_of(lab, "lab2", WF) == lab2_pid  # never touched


def test_a_bad_limit_or_ini_line_exits_2_before_any_host(
    lab: Lab, three: list[str], remediate: Runner, tmp_path: Path
) -> None:
    ini = _lab_ini(lab, tmp_path / "hosts")
    lab.break_("lab1", "wfserver_down")
    res = remediate("wfserver", "-i", str(ini), "--limit", "emea:^lab3", "--yes")
    assert res.returncode == 2 and "--limit: unknown pattern operator '^'" in res.stderr, res.stderr
    broken = tmp_path / "broken"
    broken.write_text(ini.read_text() + "[late]\nlab9 ansible_host='127.0.0.1\n")
    res = remediate("wfserver", "-i", str(broken), "--limit", "lab1", "--yes")
    line = len(ini.read_text().splitlines()) + 2
    assert res.returncode == 2 and f"{broken}:{line}: cannot read this host line" in res.stderr, res.stderr
    remediate.assert_no_audit_log()
    assert pid_of(lab, "lab1", WF) is None  # nothing ran


def test_the_json_of_ansible_inventory_drives_a_repair(
    lab: Lab, three: list[str], remediate: Runner, tmp_path: Path
) -> None:
    """A dynamic inventory reaches the runner through Ansible: ``ansible-inventory -i SRC --list``."""
    assert ANSIBLE_INVENTORY.exists(), "ansible-core is a dev dependency: pip install -e '.[dev]'"
    ini = _lab_ini(lab, tmp_path / "hosts")
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "at")}
    listed = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(ini), "--list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    inventory_json = tmp_path / "lab.json"
    inventory_json.write_text(listed.stdout)
    lab.break_("lab2", "wfserver_down")
    res = remediate("wfserver", "-i", str(inventory_json), "--limit", "canary[0]", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _started_hosts(remediate) == [["lab2"]]
    assert pid_of(lab, "lab2", WF) is not None


def test_rerun_failed_selects_only_the_host_that_did_not_end_healthy(
    lab: Lab, three: list[str], remediate: Runner
) -> None:
    lab.break_("lab2", "wfserver_down")
    lab1_pid = pid_of(lab, "lab1", WF)
    # no terminal and no --yes: lab2's start cannot be confirmed; lab1 is healthy
    code, doc = remediate.json("wfserver", "--limit", "lab1:lab2")
    assert code == 4, doc
    assert {h: doc["hosts"][h]["status"] for h in ("lab1", "lab2")} == {"lab1": "healthy", "lab2": "not_confirmed"}
    assert pid_of(lab, "lab2", WF) is None
    first = doc["run_id"]

    code, doc = remediate.json("wfserver", "--rerun-failed", first, "--yes")
    assert code == 0, doc
    assert list(doc["hosts"]) == ["lab2"] and doc["hosts"]["lab2"]["status"] == "remediated"
    assert _started_hosts(remediate) == [["lab1", "lab2"], ["lab2"]]
    assert pid_of(lab, "lab2", WF) is not None  # repaired
    assert pid_of(lab, "lab1", WF) == lab1_pid  # not even checked again: same process

    # the rerun of a run that ended healthy has nothing to do; an unknown id is refused
    res = remediate("wfserver", "--rerun-failed", doc["run_id"], "--yes")
    assert res.returncode == 0 and "nothing to rerun" in res.stderr, res.stderr
    assert len(_started_hosts(remediate)) == 2
    res = remediate("wfserver", "--rerun-failed", "0000feedbeef0000", "--yes")
    assert res.returncode == 2, res.stderr
    assert "--rerun-failed: no run '0000feedbeef0000' in the audit log" in res.stderr
    assert str(remediate.audit_log) in res.stderr
