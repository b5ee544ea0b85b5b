"""Rolling remediation over a seven-host lab: Ansible's `serial` and `max_fail_percentage` as the hosts see them.

The lab (its own, on ``REMEDIATE_E2E_FLEET_NET``, 127.0.70.x by default) has seven hosts, so that a batch
list repeats its last size and a threshold can stop a later batch, not only the canary.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab, temporary_lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

# one pytest-xdist worker runs the whole file: one seven-host lab for the module
pytestmark = pytest.mark.xdist_group("test_rolling_fleet")

NET = os.environ.get("REMEDIATE_E2E_FLEET_NET", "127.0.70")
HOSTS = [f"lab{k}" for k in range(1, 8)]
WF = "wfserver@prod"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Lab]:
    with temporary_lab("remediate-fleet-", NET, len(HOSTS)) as lab:
        yield lab


@pytest.fixture()
def runner(fleet: Lab, tmp_path: Path) -> Runner:
    return Runner(fleet, tmp_path / "audit.jsonl", tmp_path)


def _hosts() -> list[str]:
    return [arg for name in HOSTS for arg in ("--host", name)]


def test_serial_1_3_on_seven_hosts_gives_batches_1_3_3(fleet: Lab, runner: Runner) -> None:
    for name in HOSTS:
        fleet.break_(name, "wfserver_down")
    try:
        code, doc = runner.json("wfserver", *_hosts(), "--yes", "--serial", "1,3")
        assert code == 0, doc
        batches = [e["hosts"] for e in runner.events() if e["event"] == "batch.started"]
        assert batches == [["lab1"], ["lab2", "lab3", "lab4"], ["lab5", "lab6", "lab7"]], batches
        assert [doc["hosts"][name]["batch"] for name in HOSTS] == [1, 2, 2, 2, 3, 3, 3]
        assert all(pid_of(fleet, name, WF) is not None for name in HOSTS)  # every host really repaired
    finally:
        for name in HOSTS:
            fleet.heal(name)


def test_max_fail_percentage_stops_the_batch_that_passes_it(fleet: Lab, runner: Runner, tmp_path: Path) -> None:
    """--serial 1,2 --max-fail-percentage 50: batches lab1 | lab2 lab3 | lab4 lab5 | lab6 lab7. lab3 fails
    (1 of 2 = 50 %, not more than 50: the run goes on), lab4 and lab5 fail (100 %: the run stops), so lab6
    and lab7 are never touched."""
    shared = Path(tempfile.mkdtemp(prefix="remediate-fleet-", dir="/tmp"))
    try:
        shared.chmod(0o777)  # the lab's login user writes the marker
        marker = shared / "touched"
        passing = shared / "passing"
        passing.write_text("".join(f"{fleet.addr(h)}\n" for h in ("lab1", "lab2")))
        passing.chmod(0o644)
        books = tmp_path / "playbooks"
        books.mkdir()
        (books / "wfserver.yml").write_text(
            textwrap.dedent(f"""\
            module: wfserver
            title: rolling threshold test
            scope: test
            symptom: test
            checks:
              - id: always_fails
                action: shell
                args: {{command: "false"}}
            remediation:
              - id: disruptive_touch
                effect: disrupt
                action: shell
                args: {{command: "echo {{address}} >> {marker}"}}
                interrupts: nothing real (test)
            verification:
              - id: listed_as_passing
                action: shell
                args: {{command: "grep -qx {{address}} {passing}"}}
            """)
        )
        code, doc = runner.json(
            "wfserver",
            *_hosts(),
            "--yes",
            "--serial",
            "1,2",
            "--max-fail-percentage",
            "50",
            env={"REMEDIATE_PLAYBOOKS": str(books)},
        )
        assert code == 1, doc
        status = {name: doc["hosts"][name]["status"] for name in HOSTS}
        assert status == {
            "lab1": "remediated",
            "lab2": "remediated",
            "lab3": "failed",
            "lab4": "failed",
            "lab5": "failed",
            "lab6": "not_started",
            "lab7": "not_started",
        }, status
        assert "batch 3 (lab4, lab5) had 2 failed of 2" in doc["hosts"]["lab6"]["message"], doc["hosts"]["lab6"]
        # what the hosts themselves recorded: the five hosts of the first three batches, never lab6 or lab7
        touched = sorted(marker.read_text().split())
        assert touched == sorted(fleet.addr(h) for h in HOSTS[:5]), touched
    finally:
        shutil.rmtree(shared, ignore_errors=True)
