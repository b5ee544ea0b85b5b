"""The run lock on a host: one changing run per module and host at a time.

Owns: the host-side protocol of the lock — an ``flock`` on ``<lock_dir>/<module>.lock`` held by a shell
on its own channel of the run's connection, so it dies with the connection and a killed run leaves no
live lock, only its owner file, which the next holder reports — and the meaning of each answer.
Must not: import the SSH stack (it talks through :meth:`runner.transport.Session.stream`), retry, or log.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Protocol

from runner.errors import ConnectionLost, PreconditionError
from runner.wire import DIRECT, Become, exec_as


class _Stream(Protocol):
    def readline(self) -> str: ...
    def exit_code(self) -> int | None: ...
    def send_last(self, text: str, wait: float = 5.0) -> None: ...
    def close(self) -> None: ...


class _Opens(Protocol):
    def stream(self, command: str) -> _Stream: ...


@dataclass(frozen=True)
class Taken:
    """The answer to a lock request: taken or not, and the owner text another run left."""

    acquired: bool
    other: str  # when acquired: a stale owner left by a run that died; else: the current holder


def script(directory: str, name: str, owner: str) -> str:
    """The shell program that takes the lock, reports, and holds it until told to release or cut off."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9][A-Za-z0-9_-]*)?", name):
        raise ValueError(f"invalid lock name {name!r}")
    return (
        "command -v flock >/dev/null 2>&1 || { echo 'NOFLOCK flock is not installed'; exit 4; }\n"
        "d=" + shlex.quote(directory) + "\n"
        'why=$(mkdir -p -- "$d" 2>&1) || { printf \'NODIR %s\\n\' "$why"; exit 3; }\n'
        'f="$d/' + name + '.lock"\n'
        '{ why=$( { : >>"$f"; } 2>&1 ); } || { printf \'NODIR %s\\n\' "$why"; exit 3; }\n'
        'exec 9>>"$f"\n'
        'prev=$(cat "$f.owner" 2>/dev/null)\n'
        "if flock -n 9; then\n"
        "  printf '%s\\n' " + shlex.quote(owner) + ' > "$f.owner"\n'
        "  printf 'LOCKED %s\\n' \"$prev\"\n"
        "  read -r line\n"
        '  [ "$line" = release ] && rm -f "$f.owner"\n'
        "  exit 0\n"
        "fi\n"
        "printf 'HELD %s\\n' \"$prev\"\n"
        "exit 75\n"
    )


class HostLock:
    """The lock of one module on one host, for as long as the run's connection lives."""

    def __init__(self, session: _Opens, host: str, directory: str, name: str, become: Become = DIRECT) -> None:
        self.session = session
        self.become = become  # the lock lives under the install: taken in the Campaign account
        self.host = host
        self.directory = directory
        self.name = name
        self._held: _Stream | None = None
        self.sent = ""  # the text of the last lock request, as the host received it (for the audit)

    def acquire(self, owner: str) -> Taken:
        """Take the lock or say who holds it; raise PreconditionError when the host cannot hold one."""
        self.sent = exec_as(script(self.directory, self.name, owner), self.become)
        stream = self.session.stream(self.sent)
        text = stream.readline().strip()
        if text.startswith("LOCKED"):
            self._held = stream
            return Taken(True, text[len("LOCKED") :].strip())
        stream.close()
        if text.startswith("HELD"):
            return Taken(False, text[len("HELD") :].strip() or "another run (owner unknown)")
        if text.startswith("NODIR"):
            reason = text[len("NODIR") :].strip().rpartition(": ")[2] or "cannot be created or written"
            raise PreconditionError(
                f"the lock directory {self.directory} cannot be used: {reason}",
                host=self.host,
                hint="set the lock_dir host var to a directory the Campaign account can write; nothing was run",
            )
        if text.startswith("NOFLOCK"):
            raise PreconditionError(
                "flock is not installed on the host (needed for the run lock)",
                host=self.host,
                hint="install util-linux; nothing was run",
            )
        raise ConnectionLost(f"cannot take the host lock: unexpected answer {text[:80]!r}", host=self.host)

    def release(self) -> None:
        """Release cleanly, so the next run sees no stale owner; harmless when not held."""
        held, self._held = self._held, None
        if held is not None:
            held.send_last("release\n")
