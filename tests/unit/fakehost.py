"""An in-memory stand-in for one host's SSH session, so the engine and the actions get fast unit tests.

It speaks the runner's side of the protocol exactly: it receives the same batch scripts and changing
commands a real sshd would, pulls each step's command out of a batch the way ``sh`` would see it, and
answers with frames the engine parses. What each command answers is the test's ``answer`` function.
Everything it was sent is kept in ``sent`` (batches split into their commands) and, as the session
received it, in ``received`` for assertions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import CommandTimeout, ConnectionLost
from runner.inventory import Host
from runner.sshconfig import Endpoint
from runner.wire import Result

HOLD_MARK = "@@rmdhold"  # runner.hold's frame marker
EVIDENCE_MARK = "watchdog: not in pdump"  # in the read of how a stopped module stopped (modules.stop_evidence)
SETTINGS_MARK = "@@hostfact"  # runner.hostfacts' frame marker: the read of the host's own settings
Answer = Callable[[str], tuple[str, str, int]]  # command -> (stdout, stderr, exit code)

_STEP = re.compile(r"cat >\"\$d/c(?P<index>\d+)\" <<'(?P<m>@@rmd[0-9a-f]+)'\n(?P<cmd>.*?)\n(?P=m)\n", re.DOTALL)
# a snapshot the batch takes once (runner.plan.batch), and a step's replay of it (runner.plan.replay)
_SNAPSHOT = re.compile(r"cat >\"\$d/s_(?P<name>\w+)\.c\" <<'(?P<m>@@rmd[0-9a-f]+)'\n(?P<cmd>.*?)\n(?P=m)\n", re.DOTALL)
_REPLAY = re.compile(
    r"\{ (?:cat|(?P<filter>.*?) <)\s?\"\$RMD_SNAP/s_(?P<name>\w+)\.o\"; cat \"\$RMD_SNAP/s_\w+\.e\" >&2; "
    r"read rmd_rc rmd_ms <\"\$RMD_SNAP/s_\w+\.r\" \|\| rmd_rc=255; \(exit \"\$rmd_rc\"\); \}"
)


@dataclass
class Sent:
    command: str
    batched: bool  # True: a read step inside a batch; False: a command run on its own (a change)
    snapshot: bool = False  # True: a snapshot a batch took once for its steps


@dataclass
class FakeHost:
    """One fake host: what it answers, what it was sent, and how its lock behaves."""

    answer: Answer
    lock_answer: str = "LOCKED \n"
    fail_changes: type[Exception] | None = None  # raise this on the next changing command
    drop_batches: int = 0  # lose the connection during this many read batches (they were received)
    sent: list[Sent] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # every text run() was given, byte for byte, in order
    streams: list[str] = field(default_factory=list)
    released: int = 0
    holds: dict[str, str] = field(default_factory=dict)  # hold file name -> its content, in the lock dir
    settings: dict[str, str] = field(default_factory=dict)  # runner.hostfacts section -> its text (else none)

    def factory(self, host: Host, _ssh_config: Path | None) -> FakeSession:
        session = FakeSession(self, Endpoint(host.name, "127.0.0.1", 22, "neolane"))
        session.inventory_host = host
        return session

    def changes(self) -> list[str]:
        """Changing commands sent to the host, the run's own reads sent alone excepted (its audit anchor,
        the hold listing, the read of how a stopped module stopped)."""
        return [
            s.command
            for s in self.sent
            if not s.batched
            and "audit-anchors.jsonl" not in s.command
            and HOLD_MARK not in s.command
            and EVIDENCE_MARK not in s.command
            and SETTINGS_MARK not in s.command
        ]

    def anchors(self) -> list[str]:
        return [s.command for s in self.sent if not s.batched and "audit-anchors.jsonl" in s.command]

    def reads(self) -> list[str]:
        return [s.command for s in self.sent if s.batched]

    def snapshots(self) -> list[str]:
        """The snapshots the batches took (each once per batch), in order."""
        return [s.command for s in self.sent if s.snapshot]


class _FakeStream:
    def __init__(self, host: FakeHost, text: str) -> None:
        self.host = host
        self.text = text

    def readline(self) -> str:
        line, self.text = self.text, ""
        return line

    def exit_code(self) -> int | None:
        return 0

    def send_last(self, text: str, wait: float = 5.0) -> None:
        if text == "release\n":
            self.host.released += 1

    def close(self) -> None:
        pass


class FakeSession:
    """Duck-typed :class:`runner.transport.Session`."""

    def _settings(self) -> str:
        """The answer to runner.hostfacts' read: the test's sections, the others as a host that sets nothing."""
        absent = ("No such file or directory\n", 1)
        out = []
        for section in ("env", "customer", "serverconf", "default", "instance", "systemd"):
            text, rc = (self.host.settings[section], 0) if section in self.host.settings else ("", 0)
            if section not in self.host.settings and section in ("customer", "serverconf", "default", "instance"):
                text, rc = absent
            out.append(f"{SETTINGS_MARK} {section}\n{text}\n{SETTINGS_MARK} rc {rc}\n")
        return "".join(out)

    def __init__(self, host: FakeHost, endpoint: Endpoint) -> None:
        self.host = host
        self.endpoint = endpoint
        self.fingerprint: str | None = None
        self.inventory_host: Host | None = None

    def _stand_in(self, name: str, taken: dict[str, str], match: re.Match[str]) -> str:
        """The command a step's replay of snapshot ``name`` stands for, so the test's ``answer`` sees the
        step as if it took its own reading: the snapshot's command, or the command of the snapshot a
        filtered replay gives (``pdump`` from ``pdump -who``)."""
        from runner.actions import SNAPSHOTS, Context

        wanted = match.group("filter")
        if not wanted:
            return taken[name]
        served = next(n for n, f in SNAPSHOTS[name].serves.items() if f == wanted)
        assert self.inventory_host is not None
        return SNAPSHOTS[served].command([], Context(self.inventory_host))

    def open(self) -> None:
        self.fingerprint = "SHA256:fake"

    def close(self) -> None:
        pass

    def stream(self, command: str) -> Any:
        self.host.streams.append(command)
        return _FakeStream(self.host, self.host.lock_answer)

    def run(self, command: str, timeout: float) -> Result:
        self.host.received.append(command)
        steps = list(_STEP.finditer(command))
        if not steps:
            self.host.sent.append(Sent(command, batched=False))
            if HOLD_MARK in command:  # the run reads the operators' holds beside the lock
                listing = "".join(
                    f"{HOLD_MARK} F /locks/{name}\n{text}\n{HOLD_MARK} E 0\n" for name, text in self.host.holds.items()
                )
                return Result(stdout=listing, stderr="", exit_code=0, duration=0.01)
            if SETTINGS_MARK in command:  # the run reads the host's own settings (none unless the test sets some)
                return Result(stdout=self._settings(), stderr="", exit_code=0, duration=0.01)
            if self.host.fail_changes is not None and EVIDENCE_MARK not in command:
                exc, self.host.fail_changes = self.host.fail_changes, None
                if exc is CommandTimeout:
                    raise CommandTimeout("command timed out", host=self.endpoint.name, timeout=timeout)
                raise ConnectionLost("connection lost during command", host=self.endpoint.name)
            if "audit-anchors.jsonl" in command:  # the run's chain head, appended to the host's anchor file
                return Result(stdout="", stderr="", exit_code=0, duration=0.01)

            out, err, rc = self.host.answer(command)
            return Result(stdout=out, stderr=err, exit_code=rc, duration=0.01)
        if self.host.drop_batches > 0:
            self.host.drop_batches -= 1
            raise ConnectionLost("connection lost during command", host=self.endpoint.name)
        frames = []
        taken = {m.group("name"): m.group("cmd") for m in _SNAPSHOT.finditer(command)}
        for snap in taken.values():
            self.host.sent.append(Sent(snap, batched=True, snapshot=True))
        for match in steps:
            marker, index, step_command = match.group("m"), match.group("index"), match.group("cmd")
            self.host.sent.append(Sent(step_command, batched=True))
            standing = _REPLAY.sub(lambda r: self._stand_in(r.group("name"), taken, r), step_command)
            out, err, rc = self.host.answer(standing)
            frames.append(f"\n{marker} O {index}\n{out}\n{marker} E {index} {rc} 5\n{err}\n{marker} X {index}\n")
        return Result(stdout="".join(frames), stderr="", exit_code=0, duration=0.01)
