"""The audit log and the redactor at their edges, on real files and real sockets: where the log goes by
default, finding the chain's end behind another writer's long lines, a short write undone, the errors'
words, the syslog copy's address, priority and ident, and which environment variables are secrets
(mutants of runner/audit.py and runner/redact.py that test_audit.py let through: `make mutation`,
docs/mutation.md)."""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import socket
from pathlib import Path

import pytest

from runner import audit, redact
from runner.errors import AuditError


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("REMEDIATE_AUDIT_LOG", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_the_default_log_is_under_the_home_state_directory(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert audit.default_path() == home / ".local" / "state" / "remediate" / "audit.jsonl"
    monkeypatch.setenv("XDG_STATE_HOME", "")
    assert audit.default_path() == home / ".local" / "state" / "remediate" / "audit.jsonl"
    monkeypatch.setenv("REMEDIATE_AUDIT_LOG", "")
    assert audit.default_path() == home / ".local" / "state" / "remediate" / "audit.jsonl"


def test_the_operator_under_sudo_is_named_with_the_real_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("sudo_user", "")
    monkeypatch.setenv("LOGNAME", "root")
    log = audit.AuditLog(tmp_path / "a.jsonl")
    assert log.operator_name == "root (sudo from alice)"
    assert log.emit("run.started")["operator"] == {"login": "root", "sudo_user": "alice"}
    log.close()
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.setenv("sudo_user", "bob")
    assert audit.operator() == {"login": "root"}


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _continues(path: Path) -> dict[str, object]:
    """A new run appends to ``path``: its first record, after checking the whole file's chain."""
    log = audit.AuditLog(path)
    record = log.emit("run.started")
    log.close()
    return record


def test_a_run_continues_a_log_of_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = _continues(path)
    assert first["prev"] == audit.GENESIS
    assert _continues(path)["prev"] == first["hash"]
    assert audit.verify(path) == (True, 2, f"{path}: 2 lines, chain intact")


def test_a_run_continues_after_a_line_longer_than_the_first_window(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    long = log.emit("step.finished", message="x" * 10_000)
    log.close()
    assert _continues(path)["prev"] == long["hash"]
    assert audit.verify(path)[0]


def test_a_torn_or_foreign_last_line_is_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = _continues(path)
    _append(path, '{"note": "no hash"}\n[1, 2]\n{"ts": "2026-')  # a record without hash, a list, a torn line
    assert _continues(path)["prev"] == first["hash"]


def test_the_chain_end_is_not_searched_beyond_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _continues(path)
    _append(path, "y" * (1_500_000) + "\n")
    assert _continues(path)["prev"] == audit.GENESIS


def _emit_under_a_file_size_limit(log: audit.AuditLog, limit: int) -> dict[str, str | None]:
    """In a forked child (the limit is the whole process's): RLIMIT_FSIZE lowered to ``limit`` with SIGXFSZ
    ignored, so a write past it is short; one emit; the AuditError's parts back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        result: dict[str, str | None] = {}
        try:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
            log.emit("step.started", message="m" * 200)
        except AuditError as exc:
            result = {"what": exc.what, "where": exc.where, "hint": exc.hint}
        except BaseException as exc:
            result = {"other": repr(exc)}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return dict(json.loads(answer))


def test_a_short_write_is_undone_and_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    log.emit("run.started")
    before = path.read_bytes()
    error = _emit_under_a_file_size_limit(log, len(before) + 10)
    log.close()
    assert error == {
        "what": "cannot write audit log: short write (disk full?)",
        "where": str(path),
        "hint": "nothing more will run",
    }
    assert path.read_bytes() == before  # no half line left behind


def test_a_closed_log_cannot_be_locked_and_closes_twice(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    for _ in range(3):
        log.emit("step.started")
    assert log.count == 3
    log.close()
    log.close()
    with pytest.raises(AuditError) as caught:
        log.emit("step.finished")
    assert caught.value.what == "cannot lock audit log: Bad file descriptor"
    assert caught.value.where == str(path)


def test_a_secret_inside_the_previous_hash_leaves_the_link_intact(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path, secrets=["0000"])
    first = log.emit("run.started", reason="pin 0000")
    log.close()
    assert first["prev"] == audit.GENESIS and first["reason"] == "pin ***"
    assert audit.verify(path)[0]


def test_verify_counts_an_empty_log_and_names_an_unreadable_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert audit.verify(empty) == (True, 0, f"{empty}: 0 lines, chain intact")
    missing = tmp_path / "missing.jsonl"
    assert audit.verify(missing) == (False, 0, f"{missing}: cannot read: No such file or directory")


def test_verify_names_the_line_a_moved_line_should_follow(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    for _ in range(3):
        log.emit("step.started")
    log.close()
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2] + lines[1])
    assert audit.verify(path) == (False, 2, f"{path}:2: does not follow line 1 (removed or reordered)")


def _syslog_copy(target: str, server: socket.socket, tmp_path: Path) -> tuple[str, dict[str, object]]:
    log = audit.AuditLog(tmp_path / "a.jsonl")
    log.listeners.append(audit.syslog_listener(target))
    written = log.emit("run.started", module="web")
    log.close()
    return server.recv(65536).decode(), written


def test_the_syslog_copy_goes_to_a_udp_host_port_as_authpriv_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    try:
        datagram, written = _syslog_copy(f"127.0.0.1:{server.getsockname()[1]}", server, tmp_path)
    finally:
        server.close()
    # authpriv (10) * 8 + info (6) = 86; the ident, then the record's own line
    assert datagram == f"<86>remediate: {audit.canonical(written)}\x00"
    assert not [r for r in caplog.records if r.name.startswith("remediate.audit.syslog")]  # not propagated


@pytest.mark.parametrize("name", ["log:514", "514"])
def test_a_socket_path_with_a_colon_or_only_digits_is_a_path(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(name)
    server.settimeout(5)
    target = str(tmp_path / name) if ":" in name else name
    try:
        datagram, written = _syslog_copy(target, server, tmp_path)
    finally:
        server.close()
    assert datagram == f"<86>remediate: {audit.canonical(written)}\x00"


def test_only_named_and_non_empty_environment_values_are_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "pg-secret-1")
    monkeypatch.setenv("REMEDIATE_PLAIN_SETTING", "not-a-secret-value")
    monkeypatch.setenv("EMPTY_TOKEN", "")
    found = redact.env_secrets()
    assert "pg-secret-1" in found
    assert "not-a-secret-value" not in found and "" not in found


def test_secrets_added_later_and_bound_fields_reach_every_later_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    log.bind(incident="INC-1234", change=None)
    log.add_secrets(["late-secret"])
    first = log.emit("run.started", reason="uses late-secret")
    second = log.emit("run.finished")
    log.close()
    assert first["reason"] == "uses ***"
    assert first["incident"] == second["incident"] == "INC-1234"
    assert "change" not in first and "change" not in second
    assert _lines(path) == [first, second]


def test_the_chain_end_is_found_behind_a_foreign_line_within_the_last_mebibyte(tmp_path: Path) -> None:
    """A long record, then a short one, then 500 kB of a foreign line: only the last window (1 MiB, cut
    inside the long record) reaches the short record, the first whole line in it."""
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path)
    log.emit("step.finished", message="x" * 600_000)
    short = log.emit("step.finished")
    log.close()
    _append(path, "y" * 500_000 + "\n")
    assert path.stat().st_size > 1 << 20
    assert _continues(path)["prev"] == short["hash"]


def test_a_run_continues_a_log_whose_last_record_starts_one_byte_before_the_first_window(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = _continues(path)
    size = path.stat().st_size
    _append(path, "y" * (4097 - size - 1) + "\n")  # 4097 bytes: the first window starts at byte 1
    assert path.stat().st_size == 4097
    assert _continues(path)["prev"] == first["hash"]


def test_the_canonical_form_is_compact_sorted_utf8_and_names_other_types() -> None:
    event = {"b": "é", "a": 1, "p": Path("/var/log")}
    assert audit.canonical(event) == '{"a":1,"b":"é","p":"/var/log"}'


def test_the_log_is_created_private_with_its_directories(tmp_path: Path) -> None:
    path = tmp_path / "state" / "remediate" / "audit.jsonl"
    log = audit.AuditLog(path)
    log.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(log.run_id) == 16 and int(log.run_id, 16) >= 0


def test_a_log_that_cannot_be_opened_names_the_path_and_the_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(AuditError) as caught:
        audit.AuditLog(blocker / "audit.jsonl")
    assert caught.value.what == "cannot open audit log: File exists"
    assert caught.value.where == str(blocker / "audit.jsonl")
    assert caught.value.hint == "pass --audit-log PATH to a writable file"


def test_a_secret_inside_another_is_replaced_whole() -> None:
    redactor = redact.Redactor(["aaaa", "aaaazzzz", "wxyz", "abcdwxyz"])
    assert redactor.text("1 aaaazzzz 2 abcdwxyz 3 aaaa 4 wxyz") == "1 *** 2 *** 3 *** 4 ***"
