"""A lab host set up with REMEDIATE_LAB_RECORD=1 records what it received (lab/records.py): its sshd log counts
connections and command sessions, env.sh each sourcing, rec/sh each session's script read on stdin and each
other command run through ``sh`` (text, start, end, exit code), nlserver each start. The bench compares these
records across tools. Own lab of one host on ``$REMEDIATE_LAB_SPARE_NET`` (default 127.0.62)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab, records, temporary_lab
from tests.lab.labtools import ssh

NET = os.environ.get("REMEDIATE_LAB_SPARE_NET") or "127.0.62"
REMOTE = "timeout -k 5 30 sh -c 'eval \"$(cat)\"'"  # the runner's transport.remote_command(30)


@pytest.fixture(scope="module")
def rlab() -> Iterator[Lab]:
    mp = pytest.MonkeyPatch()
    mp.setenv("REMEDIATE_LAB_RECORD", "1")  # read when `up` writes the host
    try:
        with temporary_lab("remediate-lab-records-", NET, 1) as lab:
            yield lab
    finally:
        mp.undo()


def settle(hdir: Path, marks: dict[str, int]) -> records.Received:
    """The records after a session, once sshd has logged its close (written after the client returns)."""
    deadline = time.time() + 5
    while "Closing connection" not in (hdir / records.FILES["sshd"]).read_text()[marks["sshd"] :]:
        if time.time() > deadline:
            break
        time.sleep(0.05)
    return records.since(hdir, marks)


def test_host_records_sessions_sourcings_commands_and_starts(rlab: Lab) -> None:
    h = rlab.hdir("lab1")
    env = h / "nl6" / "env.sh"
    marks = records.offsets(h)
    script = (
        f". {shlex.quote(str(env))} && "
        "sh -c 'echo one; exit 3'; "
        "sh -c 'sleep 0.4' & sh -c 'sleep 0.4' & wait; "
        "nlserver pdump -who >/dev/null"
    )
    res = ssh(rlab, "lab1", script)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "one"  # the command's own output, untouched by the record
    got = settle(h, marks)
    assert got.connections == 1
    assert got.sessions == 1
    assert got.env_sourcings == 1
    assert sorted((c.text, c.rc) for c in got.commands) == [
        ("echo one; exit 3", 3),
        ("sleep 0.4", 0),
        ("sleep 0.4", 0),
    ]
    assert records.max_parallel(got.commands) == 2  # the two sleeps ran at once
    assert records.waves(got.commands) == [1, 2]  # one command, then two started together
    assert all(c.end is not None and c.end >= c.start for c in got.commands)
    assert got.nlserver == ["pdump -who"]


def test_env_sh_prints_nothing_and_a_session_script_is_recorded_as_sent(rlab: Lab) -> None:
    h = rlab.hdir("lab1")
    marks = records.offsets(h)
    script = f". {shlex.quote(str(h / 'nl6' / 'env.sh'))}\nprintf 'out\\n'; printf 'err\\n' >&2; exit 4\n\n"
    res = subprocess.run(
        ["ssh", "-F", str(rlab.dir / "ssh_config"), "-o", "BatchMode=yes", "lab1", REMOTE],
        input=script,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (res.returncode, res.stdout, res.stderr) == (4, "out\n", "err\n")  # env.sh printed nothing
    got = settle(h, marks)
    assert got.sessions == 1 and got.env_sourcings == 1
    assert [(x.text, x.remote()) for x in got.scripts] == [(script, REMOTE)]
    assert got.commands == []  # the session's own shell is the script's record, not a command's


def test_two_runs_of_the_same_work_have_one_signature(rlab: Lab) -> None:
    h = rlab.hdir("lab1")
    env = shlex.quote(str(h / "nl6" / "env.sh"))
    sigs = []
    for token in ("0123456789abcdef", "fedcba9876543210"):  # a per-run random token, as a batch marker
        marks = records.offsets(h)
        assert ssh(rlab, "lab1", f". {env} && sh -c 'echo {token}' >/dev/null").returncode == 0
        sigs.append(records.signature(settle(h, marks)))
    assert sigs[0] == sigs[1]
    assert sigs[0]["commands"] == ["echo #"]
    marks = records.offsets(h)
    assert ssh(rlab, "lab1", f". {env} && sh -c 'echo other' >/dev/null").returncode == 0
    assert records.signature(settle(h, marks)) != sigs[0]


def test_waves_group_commands_started_before_the_earlier_ones_ended() -> None:
    c = records.Command
    # a wave of three where the first ends before the third starts (the second still runs), then one alone
    wave = [c("a", 0, 5, 0), c("b", 1, 20, 0), c("c", 10, 12, 0), c("d", 30, 31, 0)]
    assert records.waves(wave) == [3, 1]
    assert records.max_parallel(wave) == 2
    assert records.waves([c("a", 0, 1, 0), c("b", 2, 3, 0), c("c", 4, None)]) == [1, 1, 1]
    assert records.waves([c("a", 0, None), c("b", 5, 6, 0)]) == [2]  # no end: the group stays open
    assert records.waves([]) == []


def test_a_session_command_of_its_own_is_recorded_as_a_session(rlab: Lab) -> None:
    """``sh -c TEXT`` as the session's command (the runner's lock holder): a session record, kind C."""
    h = rlab.hdir("lab1")
    marks = records.offsets(h)
    text = 'read -r line; echo "got $line"'
    res = subprocess.run(
        ["ssh", "-F", str(rlab.dir / "ssh_config"), "-o", "BatchMode=yes", "lab1", f"sh -c {shlex.quote(text)}"],
        input="release\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (res.returncode, res.stdout) == (0, "got release\n")
    got = settle(h, marks)
    assert [(x.kind, x.text, x.remote()) for x in got.scripts] == [("C", text, f"sh -c {shlex.quote(text)}")]
    assert got.commands == []
