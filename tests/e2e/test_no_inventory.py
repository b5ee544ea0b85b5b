"""A single host with no inventory at all: the OpenSSH config says where it is, the host says what it runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lab import Lab
from tests.support.cli import REMEDIATE, Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def _bare(remediate: Runner, lab: Lab, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Run in a directory with no ./inventory and no $REMEDIATE_INVENTORY, with only the lab's ssh_config."""
    workdir = tmp_path / "no-inventory-here"
    workdir.mkdir(exist_ok=True)
    env = {k: v for k, v in remediate.env().items() if k != "REMEDIATE_INVENTORY"}
    argv = [*REMEDIATE, *args, "--ssh-config", str(Path(lab.dir) / "ssh_config")]
    res = subprocess.run(
        argv, capture_output=True, text=True, timeout=240, cwd=workdir, env=env, stdin=subprocess.DEVNULL, check=False
    )
    return res.returncode, res.stdout, res.stderr


def test_wfserver_on_a_host_only_the_ssh_config_knows(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    lab.break_(host, "wfserver_down")
    code, out, err = _bare(remediate, lab, tmp_path, "wfserver", "--host", host, "--yes", "--output", "json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["hosts"][host]["status"] == "remediated"
    assert pid_of(lab, host, WF) is not None
    started = [e for e in remediate.events() if e["event"] == "step.started" and e.get("effect") == "change"]
    assert started[0]["command"].endswith(f"nl6/bin/nlserver start {WF}")  # nlserver found on the host


def test_hosts_shows_what_was_discovered(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    code, out, err = _bare(remediate, lab, tmp_path, "hosts", "--host", host, "--output", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["vars"]["instance"] == "prod"
    assert row["vars"]["nl6_root"] == str(lab.hdir(host) / "nl6")
    assert row["address"] == lab.addr(host)


def test_unknown_host_without_inventory_names_where_it_looked(lab: Lab, remediate: Runner, tmp_path: Path) -> None:
    code, _out, err = _bare(remediate, lab, tmp_path, "wfserver", "--host", "nosuchhost")
    assert code == 2
    assert "no inventory" in err and "ssh_config" in err and "nosuchhost" in err
