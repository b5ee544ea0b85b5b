"""Rolling remediation on the lab: batches as --serial says, in the audit and the JSON, every host repaired."""

from __future__ import annotations

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def test_serial_batches_repair_every_host_canary_first(lab: Lab, remediate: Runner) -> None:
    hosts = ["lab1", "lab2", "lab3"]
    for name in hosts:
        lab.heal(name)
        lab.break_(name, "wfserver_down")
    try:
        code, doc = remediate.json(
            "wfserver", "--host", "lab1", "--host", "lab2", "--host", "lab3", "--yes", "--serial", "1,2"
        )
        assert code == 0, doc
        assert {name: doc["hosts"][name]["batch"] for name in hosts} == {"lab1": 1, "lab2": 2, "lab3": 2}
        assert all(pid_of(lab, name, WF) is not None for name in hosts)  # every host really repaired
        batches = [e for e in remediate.events() if e["event"] == "batch.started"]
        assert [b["hosts"] for b in batches] == [["lab1"], ["lab2", "lab3"]] and batches[0]["canary"] is True
    finally:
        for name in hosts:
            lab.heal(name)
