"""What an operator meant: a module that is not running may have been stopped on purpose, and a hold says so.

monitor -missing lists "error in modules, modules shut down, etc." (production/using/usual-commands.md): an
mta stopped to halt a bad send looks like a crashed one. A start is therefore confirmed like a disruptive
step, and an operator's hold keeps every run away from the module until it is released. Each test reads the
host's real state afterwards (pid of the module, the hold file), not what the runner printed.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

MTA = "mta@prod"


def _hold_file(lab: Lab, host: str) -> Path:
    return lab.hdir(host) / "nl6" / "var" / "remediate" / "locks" / f"{MTA}.hold"


def test_an_admin_stopped_mta_is_not_started_without_confirmation(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "mta_down")
    code, doc = remediate.json("mta", "--host", host)  # no terminal, no --yes
    report = doc["hosts"][host]
    assert code == 4 and report["status"] == "not_confirmed", report
    assert "starts a module that is not running" in report["message"]
    assert pid_of(lab, host, MTA) is None  # nothing was run: mta stays stopped
    changes = [e for e in remediate.events() if e["event"] == "step.started" and e.get("effect") != "read"]
    assert changes == []
    refused = [e for e in remediate.events() if e["event"] == "confirmation.refused"]
    assert refused and "start" in refused[0]["command"]
    story = refused[0]["context"]  # what the host says about how mta stopped, read before asking
    assert any("mta@prod: last lines of" in line or "mta@prod: no log at" in line for line in story), story
    assert any(line.startswith("watchdog running: watchdog (") for line in story), story
    # the sweep says so too, and starts nothing either
    code, doc = remediate.json("check", "mta", "--host", host)
    found = " ".join(doc["hosts"][host]["found"])
    assert code == 1 and f"starting {MTA} is asked for first" in found, doc["hosts"][host]
    assert pid_of(lab, host, MTA) is None


def test_a_held_module_is_left_alone_even_with_force_and_yes_until_released(
    lab: Lab, host: str, remediate: Runner
) -> None:
    lab.break_(host, "mta_down")
    code, doc = remediate.json("hold", "mta", "--host", host, "--reason", "INC-7 bad send", "--until", "2h")
    assert code == 0 and doc["hosts"][host]["status"] == "held", doc
    record = json.loads(_hold_file(lab, host).read_text())  # the hold lives on the host
    assert record["process"] == MTA and record["reason"] == "INC-7 bad send" and record["until"]

    code, doc = remediate.json("mta", "--host", host, "--force", "--yes")
    report = doc["hosts"][host]
    assert code == 4 and report["status"] == "held", report
    assert "INC-7 bad send" in report["message"] and "held by" in report["message"]
    assert pid_of(lab, host, MTA) is None  # --force --yes did not start it
    assert [e["event"] for e in remediate.events() if e["event"].startswith("hold.")][-1] == "hold.honoured"

    code, doc = remediate.json("check", "mta", "--host", host)
    assert doc["hosts"][host]["holds"][0]["reason"] == "INC-7 bad send"  # the sweep shows the hold

    code, doc = remediate.json("release", "mta", "--host", host)
    assert code == 0 and doc["hosts"][host]["status"] == "released", doc
    assert not _hold_file(lab, host).exists()
    code, doc = remediate.json("mta", "--host", host, "--yes")
    assert code == 0 and doc["hosts"][host]["status"] == "remediated", doc
    assert pid_of(lab, host, MTA) is not None


def test_a_hold_file_that_cannot_be_parsed_still_holds(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "mta_down")
    hold = _hold_file(lab, host)
    lab.run_as(["mkdir", "-p", str(hold.parent)])  # as the Campaign account, like the runner's own lock files
    lab.run_as(["sh", "-c", 'printf "{half a record" > "$1"', "sh", str(hold)])
    try:
        code, doc = remediate.json("mta", "--host", host, "--yes")
        report = doc["hosts"][host]
        assert code == 4 and report["status"] == "held", report
        assert str(hold) in report["message"] and "not JSON" in report["message"]
        assert pid_of(lab, host, MTA) is None
    finally:
        hold.unlink()
