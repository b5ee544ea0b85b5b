from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runner import audit, redact
from runner.errors import AuditError


def _log(path: Path, **kw) -> audit.AuditLog:
    return audit.AuditLog(path, **kw)


def test_every_event_is_on_disk_with_schema_fields(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = _log(path)
    log.emit("run.started", module="wfserver", dry_run=False)
    # Durable before the next command: another reader sees it right away.
    line = json.loads(path.read_text().splitlines()[0])
    assert line["event"] == "run.started" and line["run_id"] == log.run_id
    assert line["ts"].endswith("Z") and line["operator"]["login"]
    assert line["prev"] == audit.GENESIS and len(line["hash"]) == 64
    log.close()


def test_chain_continues_across_runs_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    for run in range(3):
        log = _log(path)
        log.emit("run.started", n=run)
        log.emit("run.finished", n=run)
        log.close()
    ok, count, _msg = audit.verify(path)
    assert ok and count == 6


@pytest.mark.parametrize("damage", ["edit", "remove", "swap", "garbage", "drop_first"])
def test_verify_names_the_first_bad_line(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "a.jsonl"
    log = _log(path)
    for i in range(6):
        log.emit("step.finished", step=f"s{i}", exit_code=0)
    log.close()
    lines = path.read_text().splitlines()
    if damage == "edit":
        ev = json.loads(lines[2])
        ev["exit_code"] = 1
        lines[2] = json.dumps(ev)
        bad = 3
    elif damage == "remove":
        del lines[2]
        bad = 3
    elif damage == "swap":
        lines[2], lines[3] = lines[3], lines[2]
        bad = 3
    elif damage == "garbage":
        lines[4] = "not json"
        bad = 5
    else:
        del lines[0]
        bad = 1
    path.write_text("\n".join(lines) + "\n")
    ok, _count, message = audit.verify(path)
    assert not ok
    assert f"a.jsonl:{bad}:" in message


def test_secrets_redacted_by_value_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = _log(path, secrets=["hunter2-pass", "ab"])  # two-letter values are not treated as secrets
    log.emit(
        "step.finished",
        command="PGPASSWORD=hunter2-pass psql",
        message="auth hunter2-pass failed",
        nested={"k": ["x hunter2-pass y"]},
    )
    log.close()
    text = path.read_text()
    assert "hunter2-pass" not in text and text.count("***") == 3
    assert audit.verify(path)[0]


def test_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "pg-secret-1")
    monkeypatch.setenv("MY_API_TOKEN", "tok-2")
    assert {"pg-secret-1", "tok-2"} <= redact.env_secrets()


def test_listeners_see_events_after_disk(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = _log(path)
    seen: list[int] = []
    log.listeners.append(lambda ev: seen.append(len(path.read_text().splitlines())))
    log.emit("a.b")
    log.emit("a.c")
    assert seen == [1, 2]


def test_unwritable_path_is_an_audit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(AuditError, match="audit log"):
        _log(blocker / "a.jsonl")  # fails even for root


def test_write_failure_raises(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.jsonl")
    os.close(log._sink._fd)
    log._sink._fd = os.open("/dev/full", os.O_WRONLY)
    with pytest.raises(AuditError, match="cannot write audit log"):
        log.emit("step.started")


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REMEDIATE_AUDIT_LOG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert audit.default_path() == tmp_path / "remediate" / "audit.jsonl"
    monkeypatch.setenv("REMEDIATE_AUDIT_LOG", "/x/y.jsonl")
    assert audit.default_path() == Path("/x/y.jsonl")


def _writer(path: str, i: int) -> None:
    log = audit.AuditLog(Path(path))
    for n in range(100):
        log.emit("step.finished", i=i, n=n)
    log.close()


def test_concurrent_runs_sharing_one_log_keep_the_chain(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "shared.jsonl"
    procs = [multiprocessing.get_context("fork").Process(target=_writer, args=(str(path), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    ok, count, message = audit.verify(path)
    assert ok, message
    assert count == 400


def test_syslog_copy_of_each_event(tmp_path: Path) -> None:
    import socket

    address = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(5)
    try:
        log = audit.AuditLog(tmp_path / "a.jsonl", secrets=["hunter2-pass"])
        log.listeners.append(audit.syslog_listener(address))
        written = log.emit("run.started", module="web", reason="uses hunter2-pass")
        log.close()
        datagram = server.recv(65536).decode()
    finally:
        server.close()
    assert datagram.startswith("<")  # a syslog priority (authpriv.info)
    assert "remediate: " in datagram and written["hash"] in datagram
    assert "hunter2-pass" not in datagram  # the copy is the redacted line
