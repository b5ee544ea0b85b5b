"""Faults over real sshd: afterwards the audit log verifies, the exit code is the documented one, and the
host is in the state the report claims (asserted through ``lab.status``, /proc and files, not the output).

Custom playbooks use the ``import`` module name (REMEDIATE_PLAYBOOKS) so their locks never meet a
real wfserver run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lab import Lab
from lab.core import read_pidfile
from tests.reliability.figures import Figures
from tests.reliability.helpers import drop_ssh_connections, lock_file, lock_is_free, wait_event, write_playbook
from tests.support.cli import Runner, finish, read_events
from tests.support.labfix import pid_of, stopped_by_operator
from tests.support.wait import wait_until

WF = "wfserver@prod"
MOD = "import"  # module name of the custom playbooks


def _slow_playbook(tmp_path: Path, marker: Path, seconds: int = 30, name: str = "playbooks") -> Path:
    return write_playbook(
        tmp_path / name,
        MOD,
        f"""\
        - id: slow_change
          effect: change
          action: shell
          args: {{command: "echo ran >> {marker}; sleep {seconds}"}}
          timeout: 60
        """,
    )


def _wait_slow_change_running(remediate: Runner, marker: Path) -> None:
    """The slow playbook's changing step is logged as started and its command is running on the host."""
    wait_event(
        remediate.audit_log,
        lambda e: e["event"] == "step.started" and e.get("step") == "slow_change",
        30,
        "the changing step to start",
    )
    wait_until(lambda: _lines(marker), 10, "the changing command to run on the host")


def _started(events: list[dict], step: str) -> list[dict]:
    return [e for e in events if e["event"] == "step.started" and e.get("step") == step]


def _changes(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] == "step.started" and e.get("effect") in ("change", "disrupt")]


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _inventory_plus(
    remediate: Runner, tmp_path: Path, hosts: dict[str, dict] | None = None, **all_vars: object
) -> Path:
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update(all_vars)
    data["all"]["children"]["lab"]["hosts"].update(hosts or {})
    out = tmp_path / "inventory.yml"
    out.write_text(yaml.safe_dump(data))
    return out


def _ssh_config(lab: Lab, tmp_path: Path, **replace: str) -> Path:
    text = (Path(lab.dir) / "ssh_config").read_text()
    for key, value in replace.items():
        text = re.sub(rf"{key} .*", f"{key} {value}", text)
    out = tmp_path / "ssh_config"
    out.write_text(text)
    return out


# --- sshd dropping connections -------------------------------------------------------------------


def test_sshd_drops_before_the_run_connect_is_retried(lab: Lab, host: str, remediate: Runner, figures: Figures) -> None:
    lab.break_(host, "wfserver_down")
    lab.break_(host, "sshd_drops")
    figures.fault("sshd drops every connection before the run (lab fault sshd_drops)", "lab")
    code, doc = remediate.json("wfserver", "--host", host, "--yes")
    events = figures.audit(remediate.audit_log)
    assert code == 0, doc
    assert doc["hosts"][host]["status"] == "remediated"
    retries = [e for e in events if e["event"] == "host.retrying" and e.get("host") == host]
    assert retries, "the dropped connections were not retried"
    assert pid_of(lab, host, WF) is not None  # the report says remediated: the real process is back
    assert len(_started(events, "start_wfserver")) == 1


def test_drop_in_the_middle_of_a_changing_command_is_unknown_and_not_rerun(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    marker = shared_dir / "ran"
    books = _slow_playbook(tmp_path, marker)
    proc = remediate.start(MOD, "--host", host, "--output", "json", REMEDIATE_PLAYBOOKS=str(books))
    try:
        _wait_slow_change_running(remediate, marker)
        figures.fault("sshd connection killed mid changing command", "lab")
        assert drop_ssh_connections(lab, host), "no per-connection sshd process to kill"
        code, out, err = finish(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = figures.audit(remediate.audit_log)
    started = _started(events, "slow_change")
    figures.add("reruns_after_unknown", max(0, len(started) - 1) + max(0, len(_lines(marker)) - 1))
    assert code == 5, out + err
    doc = json.loads(out)
    assert doc["hosts"][host]["status"] == "unknown", doc
    assert len(started) == 1 and _lines(marker) == ["ran"]  # never re-run, neither in the log nor on the host
    finished = [e for e in events if e["event"] == "step.finished" and e.get("step") == "slow_change"]
    assert finished and finished[-1]["outcome"] == "unknown"
    assert not [e for e in events if e["event"] == "step.started" and e.get("phase") == "verification"]
    assert events[-1]["event"] == "run.finished" and events[-1]["exit_code"] == 5
    assert "Traceback" not in err


# --- a command that hangs ------------------------------------------------------------------------


def test_hanging_command_is_stopped_on_the_host_and_the_other_hosts_go_on(
    lab: Lab, remediate: Runner, tmp_path: Path, figures: Figures
) -> None:
    for h in ("lab1", "lab2", "lab3"):
        lab.heal(h)
    books = write_playbook(
        tmp_path / "playbooks",
        "wfserver",
        """\
        - id: start_wfserver
          effect: change
          action: start_module
          args: {module: wfserver}
          when: {failed: wfserver_running}
        """,
        checks="""\
        - id: wfserver_running
          effect: read
          action: module_running
          args: {module: wfserver}
          timeout: 3
        """,
        verification="""\
        - id: wfserver_back
          effect: read
          action: module_running
          args: {module: wfserver}
          timeout: 3
          poll: {timeout: 10, interval: 1}
        """,
    )
    try:
        lab.break_("lab1", "command_hangs")
        figures.fault("a check command hangs on the host (lab fault command_hangs)", "lab")
        start = time.monotonic()
        code, doc = remediate.json("wfserver", "--group", "lab", "--yes", env={"REMEDIATE_PLAYBOOKS": str(books)})
        elapsed = time.monotonic() - start
        events = figures.audit(remediate.audit_log)
        assert code == 1, doc
        statuses = {h: doc["hosts"][h]["status"] for h in ("lab1", "lab2", "lab3")}
        assert statuses == {"lab1": "failed", "lab2": "healthy", "lab3": "healthy"}, doc
        assert "undetermined: " in doc["hosts"]["lab1"]["message"], doc["hosts"]["lab1"]
        assert not [e for e in _changes(events) if e.get("host") == "lab1"], "remediated a host it could not diagnose"
        assert elapsed < 45
        # the hung processes were stopped on the host at the timeout, not left running
        hung = sorted((lab.hdir("lab1") / "run" / "hung").glob("*.pid"))
        assert hung, "the fault did not hang any command"
        wait_until(lambda: not [p for p in hung if read_pidfile(p)], 15, "the hung commands to be stopped")
        assert pid_of(lab, "lab1", WF) is not None  # nothing was done to the module itself
    finally:
        lab.heal("lab1")


# --- a slow restart ------------------------------------------------------------------------------


def test_slow_restart_verification_polls_until_the_module_is_back(
    lab: Lab, host: str, remediate: Runner, figures: Figures
) -> None:
    lab.break_(host, "wfserver_down")
    lab.break_(host, "slow_restart")
    figures.fault("module slow to come back after a start (lab fault slow_restart)", "lab")
    code, doc = remediate.json("wfserver", "--host", host, "--yes")
    events = figures.audit(remediate.audit_log)
    assert code == 0, doc
    assert doc["hosts"][host]["status"] == "remediated"
    back = [e for e in events if e["event"] == "step.finished" and e.get("step") == "wfserver_back"]
    assert back and back[0]["outcome"] == "passed"
    assert 2.0 <= back[0]["duration"] <= 60.0, back[0]  # it had to poll, and stayed within its bound
    assert pid_of(lab, host, WF) is not None


# --- one host unreachable among several ------------------------------------------------------------


def test_one_unreachable_host_among_several(lab: Lab, remediate: Runner, tmp_path: Path, figures: Figures) -> None:
    for h in ("lab1", "lab2"):
        lab.heal(h)
    net = lab.net
    inventory = _inventory_plus(remediate, tmp_path, {"ghost": {"ansible_host": f"{net}.201", "ansible_port": 2222}})
    try:
        lab.break_("lab1", "wfserver_down")
        figures.fault("connection refused: nothing listens at one host's address (one of several)", "network")
        res = remediate("wfserver", "--host", "lab1", "--host", "ghost", "--host", "lab2", "--yes", inventory=inventory)
        events = figures.audit(remediate.audit_log)
        assert res.returncode == 3, res.stdout + res.stderr
        assert re.search(r"ghost: unreachable", res.stdout), res.stdout
        finished = {e["host"]: e["outcome"] for e in events if e["event"] == "host.finished"}
        assert finished == {"lab1": "remediated", "ghost": "unreachable", "lab2": "healthy"}
        assert pid_of(lab, "lab1", WF) is not None and pid_of(lab, "lab2", WF) is not None
        assert not [e for e in events if e["event"] == "step.started" and e.get("host") == "ghost"]
        # a refused connection is retried (it may be a restarting sshd), within the connect policy
        assert [e for e in events if e["event"] == "host.retrying" and e.get("host") == "ghost"], events
    finally:
        lab.heal("lab1")


# --- refused: authentication, unknown key, changed key -----------------------------------------------


REFUSED = {  # the fault, and where it is: the client's key and known_hosts, or the host's sshd key
    "auth_failure": ("authentication refused: the client offers a key the host does not know", "client"),
    "unknown_host_key": ("host key not in the client's known_hosts", "client"),
    "hostkey_changed": ("host key changed on the host's sshd (lab fault hostkey_changed)", "lab"),
}


@pytest.mark.parametrize("fault", list(REFUSED))
def test_refused_host_exit_3_no_command_no_retry(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, figures: Figures, fault: str
) -> None:
    lab.break_(host, "wfserver_down")
    args = ["wfserver", "--host", host, "--yes", "--output", "json"]
    if fault == "auth_failure":
        key = tmp_path / "stranger_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        args += ["--ssh-config", str(_ssh_config(lab, tmp_path, IdentityFile=str(key)))]
    elif fault == "unknown_host_key":
        known = tmp_path / "known_hosts"
        known.write_text("")
        args += ["--ssh-config", str(_ssh_config(lab, tmp_path, UserKnownHostsFile=str(known)))]
    else:
        lab.break_(host, "hostkey_changed")
    figures.fault(*REFUSED[fault])
    start = time.monotonic()
    res = remediate(*args)
    events = figures.audit(remediate.audit_log)
    assert res.returncode == 3, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["hosts"][host]["status"] == "unreachable"
    message = doc["hosts"][host]["message"]
    assert {"auth_failure": "authentication", "unknown_host_key": "not in", "hostkey_changed": "CHANGED"}[
        fault
    ] in message, message
    assert not [e for e in events if e["event"] in ("step.started", "host.retrying")]
    assert time.monotonic() - start < 20  # refused at once, not after a retry budget
    assert pid_of(lab, host, WF) is None  # nothing was started


# --- interrupted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_run_writes_run_finished_and_releases_the_host_lock(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures, sig: signal.Signals
) -> None:
    marker = shared_dir / "ran"
    books = _slow_playbook(tmp_path, marker)
    proc = remediate.start(MOD, "--host", host, REMEDIATE_PLAYBOOKS=str(books))
    try:
        _wait_slow_change_running(remediate, marker)
        lock_held = not lock_is_free(lab, host, MOD)
        figures.fault(f"{sig.name} to the runner mid changing command", "client")
        proc.send_signal(sig)
        code, out, err = finish(proc, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = figures.audit(remediate.audit_log)
    assert code == 130, out + err
    last = events[-1]
    assert last["event"] == "run.finished" and last["status"] == "interrupted" and last["exit_code"] == 130
    assert lock_held, "no lock was held on the host during the run"
    wait_until(lambda: lock_is_free(lab, host, MOD), 10, "the host lock to be released")
    assert "Traceback" not in err


# --- two runs at once ----------------------------------------------------------------------------


def test_second_run_on_the_same_host_and_module_is_refused_while_the_first_holds_the_lock(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    marker = shared_dir / "ran"
    books = _slow_playbook(tmp_path, marker)
    first_log = tmp_path / "laptop1.jsonl"  # two engineers: two audit logs, one host
    second_log = tmp_path / "laptop2.jsonl"
    first = remediate.start(MOD, "--host", host, audit_log=first_log, REMEDIATE_PLAYBOOKS=str(books))
    try:
        wait_event(
            first_log,
            lambda e: e["event"] == "step.started" and e.get("step") == "slow_change",
            30,
            "the first run's changing step to start",
        )
        first_id = read_events(first_log)[0]["run_id"]
        figures.fault("a second runner on the same host and module", "client")
        code, doc = remediate.json(
            MOD, "--host", host, env={"REMEDIATE_PLAYBOOKS": str(books), "REMEDIATE_AUDIT_LOG": str(second_log)}
        )
        assert first.poll() is None, "the first run ended before the second was tried"
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGTERM)
        first_code, _out, _err = finish(first, 30)
    figures.audit(first_log)
    second = figures.audit(second_log)
    assert code == 4, doc
    assert doc["hosts"][host]["status"] == "locked", doc
    assert first_id in doc["hosts"][host]["message"], doc["hosts"][host]["message"]
    assert not [e for e in second if e["event"] == "step.started"], "the refused run ran something on the host"
    assert _lines(marker) == ["ran"]  # only the first run's command ran on the host
    assert first_code == 130


# --- kill -9 ---------------------------------------------------------------------------------------


def test_kill_9_mid_run_every_line_verifies_and_the_stale_lock_is_recognised(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    marker = shared_dir / "ran"
    books = _slow_playbook(tmp_path, marker)
    dead_log = tmp_path / "dead.jsonl"
    proc = remediate.start(MOD, "--host", host, audit_log=dead_log, REMEDIATE_PLAYBOOKS=str(books))
    try:
        wait_event(
            dead_log,
            lambda e: e["event"] == "step.started" and e.get("step") == "slow_change",
            30,
            "the changing step to start",
        )
        figures.fault("kill -9 of the runner mid changing command", "client")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dead = figures.audit(dead_log)  # every line already written verifies
    dead_id = dead[0]["run_id"]
    assert len(_started(dead, "slow_change")) == 1  # the in-flight changing command's record is there
    assert not [e for e in dead if e["event"] == "run.finished"]
    # the lock died with the run's connection: only its owner file is left
    wait_until(lambda: lock_is_free(lab, host, MOD), 15, "the dead run's lock to be released by the host")
    owner = Path(str(lock_file(lab, host, MOD)) + ".owner")
    assert owner.exists() and dead_id in owner.read_text()
    quick = write_playbook(
        tmp_path / "quick",
        MOD,
        """\
        - id: quick_change
          effect: change
          action: shell
          args: {command: "true"}
        """,
    )
    code, doc = remediate.json(MOD, "--host", host, env={"REMEDIATE_PLAYBOOKS": str(quick)})
    events = figures.audit(remediate.audit_log)
    assert code == 0, doc
    stale = [e for e in events if e["event"] == "lock.stale"]
    assert stale and dead_id in json.dumps(stale[0]), stale


# --- the audit log cannot be written -------------------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(options: str) -> Iterator[Path | None]:
    d = Path(tempfile.mkdtemp(prefix="remediate-rel-fs-", dir="/tmp"))
    mounted = (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True).returncode
        == 0
    )
    try:
        yield d if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(d)], capture_output=True)
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def _audit_path(kind: str) -> Iterator[Path]:
    if kind == "dev_full":
        yield Path("/dev/full")
    elif kind == "read_only_fs":
        with _tmpfs("size=64k,ro") as d:
            if d is None:
                pytest.skip("cannot mount a read-only tmpfs here (needs root)")
            yield d / "audit.jsonl"
    else:
        with _tmpfs("size=16k,nr_inodes=64") as d:
            if d is None:
                pytest.skip("cannot mount a small tmpfs here (needs root)")
            with contextlib.suppress(OSError), open(d / "filler", "wb") as fh:
                while True:
                    fh.write(b"x" * 4096)
                    fh.flush()
            yield d / "audit.jsonl"


AUDIT_FAULTS = {
    "read_only_fs": "audit log on a read-only filesystem",
    "full_fs": "audit log on a full filesystem",
    "dev_full": "audit log is /dev/full (every write fails)",
}


@pytest.mark.parametrize("kind", list(AUDIT_FAULTS))
def test_audit_log_unwritable_nothing_changing_runs(
    lab: Lab, host: str, remediate: Runner, figures: Figures, kind: str
) -> None:
    lab.break_(host, "wfserver_down")
    with _audit_path(kind) as path:
        figures.fault(AUDIT_FAULTS[kind], "client")
        res = remediate("wfserver", "--host", host, "--yes", "--audit-log", str(path))
    assert "Traceback" not in res.stderr
    if kind == "read_only_fs":
        assert res.returncode == 2, res.stdout + res.stderr
        assert "cannot open audit log" in res.stderr
    else:
        assert res.returncode in (1, 2), res.stdout + res.stderr
        assert re.search(r"cannot (open|write) audit log", res.stderr), res.stderr
    assert str(path) in res.stderr
    assert stopped_by_operator(lab, host, WF)  # no nlserver start reached the host
    assert pid_of(lab, host, WF) is None  # nothing ran


def _run_with_file_size_limit(
    remediate: Runner, limit: int, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    code = (
        "import resource, runpy, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        f"sys.argv = ['remediate', *{args!r}]\n"
        "runpy.run_module('runner', run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=remediate.workdir,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _fill_up_mid_run(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> tuple[bytes, bytes]:
    """Run 4 changing steps with the audit log's file size limited to end inside step3's record."""
    steps = "".join(
        f'- id: step{k}\n  effect: change\n  action: shell\n  args: {{command: "echo step{k} >> MARKER"}}\n'
        for k in range(1, 5)
    )

    def books(name: str, marker: Path) -> Path:
        return write_playbook(tmp_path / name, MOD, steps.replace("MARKER", str(marker)))

    args = [MOD, "--host", host, "-i", str(remediate.inventory)]
    # measure where step3's record starts with an unlimited log (same lengths: markers m1/m2); twice, the
    # second measured, so a stale lock an earlier test left (one more event) is gone as in the limited run
    for name in ("warm-up.jsonl", "measured.jsonl"):
        measured = tmp_path / name
        env = remediate.env(REMEDIATE_PLAYBOOKS=str(books("pb1", shared_dir / "m1")), REMEDIATE_AUDIT_LOG=str(measured))
        argv = [sys.executable, "-m", "runner", *args]
        assert subprocess.run(argv, env=env, capture_output=True, cwd=remediate.workdir, timeout=120).returncode == 0
    raw = measured.read_bytes()
    assert b"lock.stale" not in raw, "the measured run took over a stale lock: its offsets would not match"
    offset = next(
        m.start() for m in re.finditer(rb'[^\n]*"event":"step.started"[^\n]*\n', raw) if b'"step":"step3"' in m.group()
    )
    limit = offset + 60  # the disk fills up in the middle of step3's "started" record
    env.update(
        {"REMEDIATE_PLAYBOOKS": str(books("pb2", shared_dir / "m2")), "REMEDIATE_AUDIT_LOG": str(remediate.audit_log)}
    )
    figures.fault("audit log: file size limit reached mid-run (disk full)", "client")
    res = _run_with_file_size_limit(remediate, limit, args, env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "cannot write audit log" in res.stderr and "Traceback" not in res.stderr
    ran = _lines(shared_dir / "m2")
    assert ran == ["step1", "step2"], ran  # the run stopped before the command whose record failed
    data = remediate.audit_log.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    written = [json.loads(line) for line in complete.splitlines()]
    for step in ran:  # nothing changing ran without its audit record
        assert _started(written, step), f"{step} ran without its step.started record"
    return data, complete


def test_audit_log_filling_up_mid_run_stops_before_the_next_command_and_still_verifies(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    data, complete = _fill_up_mid_run(lab, host, remediate, tmp_path, shared_dir, figures)
    assert data == complete, f"a partial audit line was left at the end of the log: {data[len(complete) :][:80]!r}"
    figures.audit(remediate.audit_log)  # `remediate audit verify` on the log itself: every line verifies


# --- the host's lock directory and anchor file, the client's audit path and key --------------------------


def _remediate_with_unwritable(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, var: str, path: Path
) -> tuple[int, dict]:
    """wfserver remediated on a broken host whose ``var`` points at ``path``, which the SSH user cannot write."""
    if os.geteuid() != 0:
        pytest.skip("the lab's login user is this user: no path it cannot write")
    lab.break_(host, "wfserver_down")
    code, doc = remediate.json(
        "wfserver", "--host", host, "--yes", inventory=_inventory_plus(remediate, tmp_path, **{var: str(path)})
    )
    return code, doc


def test_lock_dir_not_writable_is_the_runners_own_error_and_nothing_runs(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, root_only_dir: Path, figures: Figures
) -> None:
    locks = root_only_dir / "locks"
    figures.fault("lock directory on the host not writable by the SSH user", "lab")
    code, doc = _remediate_with_unwritable(lab, host, remediate, tmp_path, "lock_dir", locks)
    events = figures.audit(remediate.audit_log)
    assert code == 1, doc  # README: a host still unhealthy
    message = doc["hosts"][host]["message"]
    assert f"the lock directory {locks} cannot be used" in message, message
    assert [e for e in events if e["event"] == "host.precondition_failed" and e.get("host") == host]
    assert not _changes(events), "a changing command ran without the host lock"
    assert not locks.exists() and stopped_by_operator(lab, host, WF) and pid_of(lab, host, WF) is None


def test_anchor_file_not_writable_is_recorded_and_the_run_stands(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, root_only_dir: Path, figures: Figures
) -> None:
    anchors = root_only_dir / "audit-anchors.jsonl"
    figures.fault("audit anchor file on the host not writable", "lab")
    code, doc = _remediate_with_unwritable(lab, host, remediate, tmp_path, "anchor_file", anchors)
    events = figures.audit(remediate.audit_log)
    assert code == 0 and doc["hosts"][host]["status"] == "remediated", doc
    failed = [e for e in events if e["event"] == "anchor.failed" and e.get("host") == host]
    assert failed and failed[0]["file"] == str(anchors), failed
    assert not [e for e in events if e["event"] == "anchor.written"]
    assert not anchors.exists() and pid_of(lab, host, WF) is not None  # the remediation itself stands


def test_audit_log_path_is_a_directory_nothing_runs(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, figures: Figures
) -> None:
    lab.break_(host, "wfserver_down")
    target = tmp_path / "audit-dir"
    target.mkdir()
    figures.fault("audit log path is a directory", "client")
    res = remediate("wfserver", "--host", host, "--yes", "--audit-log", str(target))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "cannot open audit log" in res.stderr and str(target) in res.stderr and "Traceback" not in res.stderr
    assert list(target.iterdir()) == []
    assert stopped_by_operator(lab, host, WF) and pid_of(lab, host, WF) is None


def test_identity_file_missing_is_refused_without_a_command(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, figures: Figures
) -> None:
    lab.break_(host, "wfserver_down")
    cfg = _ssh_config(lab, tmp_path, IdentityFile=str(tmp_path / "no-such-key"))
    figures.fault("the client's SSH key file is missing", "client")
    res = remediate("wfserver", "--host", host, "--yes", "--output", "json", "--ssh-config", str(cfg))
    events = figures.audit(remediate.audit_log)
    assert res.returncode == 3, res.stdout + res.stderr
    assert json.loads(res.stdout)["hosts"][host]["status"] == "unreachable"
    assert not [e for e in events if e["event"] == "step.started"] and "Traceback" not in res.stderr
    assert stopped_by_operator(lab, host, WF) and pid_of(lab, host, WF) is None
