"""Campaign runs as its own account: an operator who logs in as root reaches it through become, and a
run that would start Campaign as root is refused with nothing sent (production/using/administration.md;
``su - neolane`` in installation/using/installing-packages-with-linux.md).

Each test logs in as root through a second sshd of lab1 that lets root in (only a lab run as root can
start one), and reads who owns the processes afterwards with ``ps -o user``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from lab import Lab
from lab.base import SSH_PORT
from lab.sshd import root_sshd_start
from tests.support.cli import Runner
from tests.support.labfix import pid_of

ROOT_PORT = SSH_PORT + 1  # the root-login sshd, beside the lab's own on lab1's address
WF = "wfserver@prod"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a root login needs a lab run as root (CI runs as root)")


def _as_root(lab: Lab, remediate: Runner, tmp_path: Path, host: str, **host_vars: str) -> Path:
    """An inventory in which ``host`` is reached as root on the root-login sshd, with ``host_vars``."""
    line = root_sshd_start(lab, host, ROOT_PORT)
    (tmp_path / "known_hosts").write_text(line + "\n")
    (tmp_path / "ssh_config").write_text(
        f"Host {host}\n  HostName {lab.addr(host)}\n  Port {ROOT_PORT}\n  User root\n"
        f"  IdentityFile {lab.dir}/id_ed25519\n  UserKnownHostsFile {tmp_path}/known_hosts\n"
        "  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  ConnectTimeout 10\n"
    )
    doc = yaml.safe_load(remediate.inventory.read_text())
    for group in [doc["all"], *doc["all"].get("children", {}).values()]:
        for name, values in (group.get("hosts") or {}).items():
            if name == host:
                values.update({"ssh_config": str(tmp_path / "ssh_config"), **host_vars})
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _owner(pid: int) -> str:
    return subprocess.run(["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("become", ["su", "sudo"])
def test_root_with_become_starts_campaign_as_the_campaign_account(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, become: str
) -> None:
    lab.break_(host, "wfserver_down")
    inventory = _as_root(lab, remediate, tmp_path, host, become=become)
    code, doc = remediate.json("wfserver", "--host", host, "--yes", inventory=inventory)
    assert code == 0, doc
    pid = pid_of(lab, host, WF)
    assert pid is not None
    assert _owner(pid) == lab.user != "root"  # started as the Campaign account, not as the SSH user root
    connected = [e for e in remediate.events() if e["event"] == "host.connected"]
    assert connected and connected[0]["user"] == "root"
    started = [e for e in remediate.events() if e["event"] == "step.started" and e["phase"] == "remediation"]
    head = f"su -s /bin/sh {lab.user} -c" if become == "su" else f"sudo -n -u {lab.user} -- sh -c"
    assert started and started[0]["command"].startswith(head), started  # the audit holds the text sent


def test_root_without_become_is_refused_and_nothing_is_started(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    lab.break_(host, "wfserver_down")
    inventory = _as_root(lab, remediate, tmp_path, host)
    doc = yaml.safe_load(inventory.read_text())  # campaign_user left at its default (neolane): set nowhere
    doc["all"].get("vars", {}).pop("campaign_user", None)
    for group in doc["all"].get("children", {}).values():
        group.get("vars", {}).pop("campaign_user", None)
    inventory.write_text(yaml.safe_dump(doc))
    assert "campaign_user" not in inventory.read_text()
    code, doc = remediate.json("wfserver", "--host", host, "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 1 and report["status"] == "failed", report
    assert "would run Campaign as root" in report["message"] and "become: su" in report["message"]
    assert pid_of(lab, host, WF) is None  # nothing was started
    assert not [e for e in remediate.events() if e["event"] == "step.started"]
    assert [e["event"] for e in remediate.events() if e.get("host") == host][-2:] == ["host.refused", "host.finished"]
