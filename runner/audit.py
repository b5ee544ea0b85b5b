"""The audit log: a hash-chained stream of JSON-line events; the only module that imports structlog.

Owns: writing every event (``run.started``, ``step.started``, ``step.finished``, ``host.unreachable``,
``confirmation.given``, ``run.finished`` ...) as one JSON line, appended, flushed and fsynced before the
caller goes on; the hash chain (each line carries ``prev``, the hash of the line before it, and
``hash``, the sha256 of its own canonical content) that ``remediate audit verify`` checks; and redaction
of secrets by value. Listeners (the console) receive the same events after they are on disk.
Must not: print, or let an event be lost silently — a failed write raises :class:`AuditError`.

Field names are a public schema: ts, run_id, event, operator, host, module, step, phase, effect,
command, exit_code, duration, outcome, message, reason, dry_run, playbook_sha256, host_key, prev, hash,
incident (on every record of a run given ``--incident``).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from runner.errors import AuditError
from runner.events import Event
from runner.redact import Redactor

GENESIS = "0" * 64
Listener = Callable[[dict[str, Any]], None]


def default_path() -> Path:
    env = os.environ.get("REMEDIATE_AUDIT_LOG")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "remediate" / "audit.jsonl"


def operator() -> dict[str, str]:
    """Who runs this: the login name and, under sudo, the real user behind it."""
    who = {"login": getpass.getuser()}
    if os.environ.get("SUDO_USER"):
        who["sudo_user"] = os.environ["SUDO_USER"]
    return who


def canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def line_hash(event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


class _FileSink:
    """structlog logger that appends one line, flushes and fsyncs it before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written_to = -1
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditError(
                f"cannot open audit log: {exc.strerror}",
                where=str(path),
                hint="pass --audit-log PATH to a writable file",
            ) from None

    def last_hash(self) -> str:
        """Hash of the file's last complete line, read at the end of the file (another process may append)."""
        size = os.fstat(self._fd).st_size
        window = 4096
        while True:
            start = max(0, size - window)
            tail = os.pread(self._fd, size - start, start) if size else b""
            lines = tail.splitlines()
            complete = lines if start == 0 else lines[1:]
            for raw in reversed(complete):
                try:
                    last = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(last, dict) and isinstance(last.get("hash"), str):
                    return str(last["hash"])
            if start == 0 or window >= 1 << 20:
                return GENESIS
            window *= 4

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def lock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def msg(self, message: str) -> str:
        """Append ``message`` as one line, fsynced; return it (the record the caller reads back)."""
        data = (message + "\n").encode("utf-8")
        size = None
        try:
            size = os.fstat(self._fd).st_size
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(28, "short write (disk full?)")
            os.fsync(self._fd)
            self.written_to = size + written
        except OSError as exc:
            if size is not None:
                # Never leave half a line behind: the chain must still verify up to the last whole event.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)
            raise AuditError(
                f"cannot write audit log: {exc.strerror}", where=str(self.path), hint="nothing more will run"
            ) from None
        return message

    info = msg  # structlog's bound logger calls the level-named method

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _build(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Stamp the time and drop empty fields (``None`` is never written)."""
    event_dict["ts"] = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {k: v for k, v in event_dict.items() if v is not None}


def _redacting(redact: Redactor) -> Callable[[Any, str, MutableMapping[str, Any]], Any]:
    """Replace every known secret by ``***`` before anything is hashed or written (``prev``, a hash of
    the chain, is left as it is: a short secret must never alter the link to the line before)."""

    def processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
        fields = dict(event_dict)
        prev = fields.pop("prev", None)
        out = redact(fields)
        if prev is not None:
            out["prev"] = prev
        return out

    return processor


def _chain(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Seal the record: ``hash`` over its canonical content, ``prev`` (given by the caller) included."""
    event_dict["hash"] = line_hash(dict(event_dict))
    return event_dict


def _render(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    return canonical(dict(event_dict))


class AuditLog:
    """One run's view of the audit log: every ``emit`` is on disk when it returns.

    The record is built by a structlog pipeline of stateless processors (build, redact, chain,
    render) on a logger bound to the run; the chain's previous hash is passed in with each event, and
    the sink returns the line it wrote, from which the record is read back for the listeners.
    """

    def __init__(self, path: Path, *, run_id: str | None = None, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self.redact = Redactor(secrets)
        self.listeners: list[Listener] = []
        self.count = 0
        self._lock = threading.Lock()
        self._operator = operator()
        self._sink = _FileSink(path)
        self._prev = GENESIS
        self._end = -1  # file size after our last write; -1: read the chain's end from the file
        self._log = structlog.wrap_logger(
            self._sink,
            processors=[_build, _redacting(self.redact), _chain, _render],
            cache_logger_on_first_use=False,
        ).bind(run_id=self.run_id, operator=self._operator)

    @property
    def operator_name(self) -> str:
        who = self._operator
        return f"{who['login']} (sudo from {who['sudo_user']})" if "sudo_user" in who else who["login"]

    @property
    def head(self) -> str:
        """The hash of the last line this run wrote (the chain's end when it last wrote)."""
        return self._prev

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.redact.add(secrets)

    def bind(self, **fields: Any) -> None:
        """Fields every later record of this run carries (``incident``), before its first event."""
        with self._lock:
            self._log = self._log.bind(**{k: v for k, v in fields.items() if v is not None})

    def emit(self, event: Event, **fields: Any) -> dict[str, Any]:
        """Write one event durably, then tell the listeners; raise AuditError if it cannot be written."""
        with self._lock:
            # Several runs may share one log: hold the file lock while extending the chain.
            try:
                self._sink.lock()
                if self._sink.size() != self._end:  # another process appended since our last line
                    self._prev = self._sink.last_hash()
            except OSError as exc:
                raise AuditError(f"cannot lock audit log: {exc.strerror}", where=str(self.path)) from None
            try:
                line: str = self._log.msg(str(event), **fields, prev=self._prev)
            finally:
                self._sink.unlock()
            record: dict[str, Any] = json.loads(line)
            self._prev = record["hash"]
            self._end = self._sink.written_to
            self.count += 1
        for listener in self.listeners:
            listener(record)
        return record

    def close(self) -> None:
        self._sink.close()


def syslog_listener(target: str) -> Listener:
    """A listener that copies each event, as its JSON line, to syslog/journald (stdlib SysLogHandler).

    ``target`` is a local socket path (``/dev/log``: journald or rsyslog) or ``host:port`` (udp). The
    file stays the record; the copy lets central logging hold one the operator cannot rewrite.
    """
    import logging
    import logging.handlers

    host, sep, port = target.rpartition(":")
    address: str | tuple[str, int] = (
        (host, int(port)) if sep and port.isdigit() and not target.startswith("/") else target
    )
    handler = logging.handlers.SysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
    handler.ident = "remediate: "
    logger = logging.getLogger(f"remediate.audit.syslog.{target}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        logger.addHandler(handler)

    def send(event: dict[str, Any]) -> None:
        logger.info(canonical(event))

    return send


def verify(path: Path) -> tuple[bool, int, str]:
    """Check the chain of an audit log: (intact, lines checked, problem of the first bad line)."""
    prev: str | None = None
    count = 0
    try:
        handle = path.open("rb")
    except OSError as exc:
        return False, 0, f"{path}: cannot read: {exc.strerror}"
    with handle:
        for number, raw in enumerate(handle, 1):
            count = number
            try:
                event = json.loads(raw)
            except ValueError:
                return False, count, f"{path}:{number}: not a JSON line"
            if not isinstance(event, dict) or "hash" not in event or "prev" not in event:
                return False, count, f"{path}:{number}: no hash chain fields"
            if line_hash(event) != event["hash"]:
                return False, count, f"{path}:{number}: content does not match its hash (edited)"
            if prev is not None and event["prev"] != prev:
                return False, count, f"{path}:{number}: does not follow line {number - 1} (removed or reordered)"
            if prev is None and number == 1 and event["prev"] != GENESIS:
                return False, count, f"{path}:1: chain does not start at the beginning (lines removed before it)"
            prev = event["hash"]
    return True, count, f"{path}: {count} lines, chain intact"
