"""What a sweep costs the host: nlserver process starts, counted from the host's own record.

Each nlserver start loads the Campaign runtime on a real server. The lab host appends one line per
nlserver command it receives to ``run/nlserver-starts.log`` (time, pid, argv: lab/sim/nlsim/cli.py);
these tests count the lines a run added, never what the runner says it sent.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from lab import Lab
from tests.e2e.playbook_helpers import HOST

# One start per nlserver command the sweep reads, each once (runner.actions.base.Snapshot): pdump (as
# pdump -who, which serves pdump's readers too), monitor -missing, one javascript for every query and
# option, and monitor for its indicators (a command of its own: its XML names no module state, so it
# cannot stand for monitor -missing, nor the other way round).
CHECK_ALL = ["javascript", "monitor", "monitor -missing", "pdump -who"]


def _record(lab: Lab, name: str) -> Path:
    return lab.hdir(name) / "run" / "nlserver-starts.log"


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def starts_since(lab: Lab, name: str, offset: int) -> list[list[str]]:
    """The argv of each nlserver start the host recorded after byte ``offset`` of its record."""
    with _record(lab, name).open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8")
    out = []
    for line in text.splitlines():
        stamp, pid, argv = line.split("\t", 2)  # a line that is not time, pid, argv fails here
        assert float(stamp) > 0 and pid.isdigit(), line
        out.append(shlex.split(argv))
    return out


def test_the_host_records_each_nlserver_command_it_receives(lab, host):
    before = _size(_record(lab, HOST))
    lab.nlserver(HOST, "pdump")
    assert starts_since(lab, HOST, before) == [["pdump"]]


def test_check_all_on_a_healthy_host_starts_each_nlserver_command_once(lab, remediate, host):
    before = _size(_record(lab, HOST))
    code, doc = remediate.json("check", "all", "--host", HOST)
    report = doc["hosts"][HOST]
    assert code == 0, report["found"]
    assert set(report["modules"].values()) == {"healthy"} and len(report["modules"]) == 11  # every check judged
    started = starts_since(lab, HOST, before)
    commands = sorted(" ".join(a for a in argv if not a.startswith(("-instance", "-file", "/"))) for argv in started)
    assert commands == CHECK_ALL, started  # each once: no reading taken twice
    assert len(started) <= 4, started
