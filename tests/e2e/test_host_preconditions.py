"""A host that was reached but cannot hold the run lock: its own error, never "unreachable", nothing run."""

from __future__ import annotations

from pathlib import Path

import yaml

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of


def _inventory_with(remediate: Runner, tmp_path: Path, host: str, **values: str) -> Path:
    doc = yaml.safe_load(remediate.inventory.read_text())
    for group in [doc["all"], *doc["all"].get("children", {}).values()]:
        for name, host_vars in (group.get("hosts") or {}).items():
            if name == host:
                host_vars.update(values)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_lock_dir_the_ssh_user_cannot_write(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    locked = tmp_path / "root-only"  # the lab logs in as neolane: a root-owned 0700 directory is not its
    locked.mkdir(mode=0o700)
    lab.break_(host, "wfserver_down")
    inventory = _inventory_with(remediate, tmp_path, host, lock_dir=str(locked / "locks"))
    code, doc = remediate.json("wfserver", "--host", host, "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 1, report
    assert report["status"] == "failed"  # reached: not "unreachable" (exit 3)
    assert str(locked / "locks") in report["message"] and "lock_dir" in report["message"]
    assert "Permission denied" in report["message"]
    assert pid_of(lab, host, "wfserver@prod") is None  # nothing was run: wfserver is still down
    assert not [e for e in remediate.events() if e["event"] == "step.started"]
    assert [e["event"] for e in remediate.events() if e.get("host") == host and "precondition" in e["event"]] == [
        "host.precondition_failed"
    ]
