"""``-q`` and ``-v`` on the command line, against a healthy lab host: ``-q`` prints only the summary block,
``-v`` adds under each check what the host answered (pdump's own line for wfserver, with the pid the
host's process table holds); neither changes the host."""

from __future__ import annotations

import re

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import healthy, pid_of

WF = "wfserver@prod"


def _check_lines(text: str, host: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.match(rf"\s*{re.escape(host)}\s+(check|connected)\b", ln)]


def test_quiet_prints_only_the_summary_and_verbose_what_the_host_answered(
    lab: Lab, host: str, remediate: Runner
) -> None:
    pid = pid_of(lab, host, WF)
    assert pid is not None

    plain = remediate("wfserver", "--host", host)
    assert plain.returncode == 0, plain.stderr
    assert any("wfserver_running" in ln for ln in _check_lines(plain.stdout, host)), plain.stdout
    assert "| " not in plain.stdout  # without -v, no answer is shown

    quiet = remediate("wfserver", "--host", host, "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert _check_lines(quiet.stdout, host) == [], quiet.stdout
    body = [ln for ln in quiet.stdout.splitlines() if ln.strip()]
    assert body[0] == "Summary" and f"{host}: healthy" in body[1], quiet.stdout
    assert "wfserver_running" not in quiet.stdout + quiet.stderr

    verbose = remediate("wfserver", "--host", host, "-v")
    assert verbose.returncode == 0, verbose.stderr
    lines = verbose.stdout.splitlines()
    at = next(i for i, ln in enumerate(lines) if re.search(rf"{host}\s+check\s+passed\s+wfserver_running:", ln))
    answered = []
    for ln in lines[at + 1 :]:
        if not ln.lstrip().startswith("| "):
            break
        answered.append(ln.lstrip()[2:])
    # pdump's own line for wfserver, with the pid the host's process table holds
    assert any(re.fullmatch(rf"{re.escape(WF)} \({pid}\) - [\d.]+ MB", a) for a in answered), answered
    assert "Summary" in verbose.stdout

    assert pid_of(lab, host, WF) == pid and healthy(lab, host)  # read-only: the host is as it was
