"""Host-key policy, the terminal confirmation prompt, and several hosts at once."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

from lab import Lab
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"


def _ssh_config(lab: Lab, tmp_path: Path, strict: str, known_hosts: Path) -> Path:
    text = (Path(lab.dir) / "ssh_config").read_text()
    text = re.sub(r"UserKnownHostsFile .*", f"UserKnownHostsFile {known_hosts}", text)
    text = re.sub(r"StrictHostKeyChecking .*", f"StrictHostKeyChecking {strict}", text)
    out = tmp_path / "ssh_config"
    out.write_text(text)
    return out


def test_unknown_host_key_refused(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    cfg = _ssh_config(lab, tmp_path, "yes", known)
    code, doc = remediate.json("wfserver", "--host", host, "--ssh-config", str(cfg))
    assert code == 3
    assert "not in" in doc["hosts"][host]["message"]
    assert known.read_text() == ""  # nothing recorded
    assert not [e for e in remediate.events() if e["event"] in ("step.started", "host.retrying")]


def test_accept_new_records_key_but_changed_key_still_refused(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("# operator's own file\n")
    cfg = _ssh_config(lab, tmp_path, "accept-new", known)
    code, doc = remediate.json("wfserver", "--host", host, "--ssh-config", str(cfg))
    assert code == 0, doc
    lines = known.read_text().splitlines()
    assert lines[0] == "# operator's own file" and len(lines) == 2  # appended, not rewritten
    assert lines[1].startswith(f"[{lab.addr(host)}]:2222 ssh-ed25519 ")
    # second run: the recorded key is used; nothing appended
    assert remediate("wfserver", "--host", host, "--ssh-config", str(cfg)).returncode == 0
    assert len(known.read_text().splitlines()) == 2
    lab.break_(host, "hostkey_changed")
    code, doc = remediate.json("wfserver", "--host", host, "--ssh-config", str(cfg))
    assert code == 3 and "CHANGED" in doc["hosts"][host]["message"]
    assert len(known.read_text().splitlines()) == 2


def _run_on_terminal(remediate: Runner, args: list[str], answer: str, timeout: float = 90) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr and answer its prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        remediate.argv(tuple(args)),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=remediate.env(NO_COLOR="1"),
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"Run it?" in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, seen.decode(errors="replace")


def test_prompt_on_terminal_default_no_declines(lab: Lab, host: str, remediate: Runner) -> None:
    pid = pid_of(lab, host, WF)
    code, screen = _run_on_terminal(remediate, ["wfserver", "--host", host, "--force"], "")
    assert code == 4, screen
    for fragment in (
        "host:        lab1",
        "module:      wfserver",
        "restart wfserver@prod",
        "interrupts:",
        "because:     none (--force)",
        "[y/N]",
    ):
        assert fragment in screen, fragment
    assert pid_of(lab, host, WF) == pid
    assert [e for e in remediate.events() if e["event"] == "confirmation.declined"]


def test_prompt_on_terminal_yes_restarts(lab: Lab, host: str, remediate: Runner) -> None:
    pid = pid_of(lab, host, WF)
    code, screen = _run_on_terminal(remediate, ["wfserver", "--host", host, "--force"], "y")
    assert code == 0, screen
    assert pid_of(lab, host, WF) not in (None, pid)
    given = [e for e in remediate.events() if e["event"] == "confirmation.given"]
    assert given and given[0]["via"] == "prompt"


def test_several_hosts_in_parallel(lab: Lab, remediate: Runner) -> None:
    for h in ("lab1", "lab2", "lab3"):
        lab.heal(h)
    try:
        lab.break_("lab1", "wfserver_down")
        lab.break_("lab3", "wfserver_down")
        code, doc = remediate.json("wfserver", "--group", "lab", "--forks", "3", "--yes")
        assert code == 0, doc
        assert {h: doc["hosts"][h]["status"] for h in ("lab1", "lab2", "lab3")} == {
            "lab1": "remediated",
            "lab2": "healthy",
            "lab3": "remediated",
        }
        assert all(pid_of(lab, h, WF) for h in ("lab1", "lab2", "lab3"))
    finally:
        for h in ("lab1", "lab2", "lab3"):
            lab.heal(h)


def test_rolling_stops_at_first_host_whose_verification_fails(lab: Lab, remediate: Runner, tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(prefix="remediate-rolling-", dir="/tmp"))
    try:
        _rolling_stops_at_the_canary(lab, remediate, tmp_path, shared)
    finally:
        shutil.rmtree(shared, ignore_errors=True)  # pass or fail


def _rolling_stops_at_the_canary(lab: Lab, remediate: Runner, tmp_path: Path, shared: Path) -> None:
    d = tmp_path / "playbooks"
    d.mkdir()
    shared.chmod(0o777)  # the lab's login user writes the marker
    marker = shared / "touched"
    (d / "wfserver.yml").write_text(
        textwrap.dedent(f"""\
        module: wfserver
        title: rolling test
        scope: test
        symptom: test
        checks:
          - id: always_fails
            effect: read
            action: shell
            args: {{command: "false"}}
        remediation:
          - id: disruptive_touch
            effect: disrupt
            action: shell
            args: {{command: "echo {{address}} >> {marker}"}}
            interrupts: nothing real (test)
        verification:
          - id: never_ok
            effect: read
            action: shell
            args: {{command: "false"}}
        """)
    )
    code, doc = remediate.json("wfserver", "--group", "lab", "--yes", env={"REMEDIATE_PLAYBOOKS": str(d)})
    assert code == 1
    assert doc["hosts"]["lab1"]["status"] == "failed" and doc["hosts"]["lab1"].get("batch") == 1, doc  # canary
    for later in ("lab2", "lab3"):
        assert doc["hosts"][later]["status"] == "not_started", doc["hosts"][later]
        assert "not started: batch 1 (lab1) had 1 failed of 1" in doc["hosts"][later]["message"]
    assert marker.read_text().split() == [lab.addr("lab1")]  # only the first host was touched


def test_web_restart_prompt_shows_the_sessions_it_cuts(lab: Lab, host: str, remediate: Runner) -> None:
    lab.break_(host, "web_r_test_failing")  # web runs but /r/test is not OK: reported; a restart needs --force
    pid = pid_of(lab, host, "web@default")
    code, screen = _run_on_terminal(remediate, ["web", "--host", host, "--force"], "n")
    assert code == 4, screen
    assert "restart web@default" in screen
    cut = [line for line in screen.splitlines() if "it cuts:" in line]
    assert cut and "web_sessions:" in cut[0] and "connection(s) a web restart would cut" in cut[0], screen
    assert pid_of(lab, host, "web@default") == pid  # declined: web untouched
    declined = [e for e in remediate.events() if e["event"] == "confirmation.declined"]
    assert declined and declined[0]["context"][0].startswith("web_sessions:")
