"""At 3 a.m., on a terminal: a live line says what a host waits for while verification polls, and the
same run without a terminal prints only plain event lines (no carriage returns, no live line).

The terminal is a real pseudo-terminal (pty): the runner sees a tty on stdin, stdout and stderr, as at a
console. The lab's slow_restart fault makes wfserver take about 4 s to show in pdump after its start,
so the verification polls long enough for the live line to tick.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def _on_a_terminal(remediate: Runner, *args: str, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with a pty as its stdin, stdout and stderr; (exit code, everything it wrote)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        remediate.argv(args),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=remediate.workdir,
        env=remediate.env(TERM="xterm"),
        close_fds=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the pty closes when the process and its children are gone
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_a_live_line_while_verification_polls_on_a_terminal_only(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "slow_restart")
    lab.break_(host, "wfserver_down")
    code, text = _on_a_terminal(remediate, "wfserver", "--host", host, "--yes")
    assert code == 0, text
    assert pid_of(lab, host, WF) is not None  # the run really repaired the host
    assert f"\r\x1b[K{host}  waiting  " in text and "/60 s" in text, text  # what it waits for, elapsed/limit
    assert text.count(f"{host}  waiting") >= 2  # it moved: redrawn while the poll ran

    lab.break_(host, "wfserver_down")
    res = remediate("wfserver", "--host", host, "--yes")  # pipes, no terminal
    assert res.returncode == 0, res.stderr
    assert f"{host}  waiting  " not in res.stdout + res.stderr and "\r" not in res.stdout + res.stderr
    assert f"{host}" in res.stdout and "remediated" in res.stdout  # plain event lines and the summary
