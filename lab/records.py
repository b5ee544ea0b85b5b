"""What a lab host received, read back from its own records (hosts set up with REMEDIATE_LAB_RECORD=1).

Owns: reading, from a byte offset taken before a run, the host's records of that run: its sshd log (one
``Accepted publickey`` line per connection, one ``Starting session: command`` line per command session, at
LogLevel VERBOSE), ``run/env-sourced.log`` (one line per sourcing of env.sh), ``run/sessions.log`` (each
session's script, read on stdin by ``sh -c 'eval "$(cat)"'``, or its own ``sh -c TEXT``: rec/sh),
``run/commands.log`` (each other command run through ``sh``: start, end, exit code, its text; rec/sh) and
``run/nlserver-starts.log`` (one line per nlserver command: lab/sim/nlsim/cli.py); and what is compared across
runs of different tools (:func:`signature`). Must not: write to a host, or count anything a client says it
sent.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import SSH_PORT

FILES = {
    "sshd": Path("run") / f"sshd.{SSH_PORT}.log",
    "env": Path("run") / "env-sourced.log",
    "commands": Path("run") / "commands.log",
    "scripts": Path("run") / "sessions.log",
    "nlserver": Path("run") / "nlserver-starts.log",
}
# what differs from run to run in the same command: random tokens (batch markers, query names, probe
# tokens) and temporary file names
_TIMEOUT = re.compile(r"timeout -k (\d+) (\d+) sh -c ")
_RANDOM = re.compile(r"/tmp/tmp\.[A-Za-z0-9]+|[0-9a-f]{8,}")


def normalize(text: str) -> str:
    """``text`` with its per-run random parts replaced by ``#``: the same command sent twice compares equal."""
    return _RANDOM.sub("#", text)


@dataclass
class Command:
    """One command the host ran through ``sh``: its text, start and end (epoch ns), exit code (None: no end)."""

    text: str
    start: int
    end: int | None = None
    rc: int | None = None


@dataclass
class Script:
    """One session's script as the host's shell read it on stdin, and the command line that started that shell."""

    start: int
    line: str
    text: str
    kind: str = "T"  # T: read on stdin by sh -c 'eval "$(cat)"'; C: the session's command sh -c TEXT itself

    def remote(self) -> str:
        """The command line to send to run this script the same way: ``timeout -k K S sh -c 'eval "$(cat)"'``
        when the shell was started so (the runner's transport.remote_command), ``sh -c TEXT`` for a session's
        own command (kind C), else the stdin shell alone."""
        if self.kind == "C":
            return f"sh -c {shlex.quote(self.text)}"
        m = _TIMEOUT.match(self.line)
        stdin_shell = "sh -c 'eval \"$(cat)\"'"
        return f"timeout -k {m.group(1)} {m.group(2)} {stdin_shell}" if m else stdin_shell


@dataclass
class Received:
    """What a host recorded between two moments."""

    connections: int = 0
    sessions: int = 0
    env_sourcings: int = 0
    commands: list[Command] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    nlserver: list[str] = field(default_factory=list)


def offsets(hdir: Path) -> dict[str, int]:
    """The current size of each record of the host (what a later :func:`since` starts from)."""
    out = {}
    for name, rel in FILES.items():
        path = hdir / rel
        out[name] = path.stat().st_size if path.exists() else 0
    return out


def _lines(path: Path, offset: int) -> list[str]:
    if not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    # a record line is written in one write; a partial last line (a writer mid-way) is left for later
    text = data.decode("utf-8", errors="replace")
    return text.split("\n")[:-1]


def since(hdir: Path, marks: dict[str, int]) -> Received:
    """What the host recorded after ``marks`` (from :func:`offsets`)."""
    got = Received()
    for line in _lines(hdir / FILES["sshd"], marks.get("sshd", 0)):
        if line.startswith("Accepted publickey "):
            got.connections += 1
        elif line.startswith("Starting session: command "):
            got.sessions += 1
    got.env_sourcings = len([x for x in _lines(hdir / FILES["env"], marks.get("env", 0)) if x])
    running: dict[str, Command] = {}
    for line in _lines(hdir / FILES["commands"], marks.get("commands", 0)):
        fields = line.split("\t")
        if fields[0] == "S" and len(fields) >= 5:
            cmd = Command(text="\t".join(fields[4:]), start=int(fields[1]))
            running[fields[2]] = cmd
            got.commands.append(cmd)
        elif fields[0] == "E" and len(fields) >= 4 and fields[2] in running:
            cmd = running.pop(fields[2])
            cmd.end, cmd.rc = int(fields[1]), int(fields[3])
    for line in _lines(hdir / FILES["scripts"], marks.get("scripts", 0)):
        fields = line.split("\t")
        if fields[0] in ("T", "C") and len(fields) == 5:
            text = base64.b64decode(fields[4]).decode("utf-8", errors="replace")
            got.scripts.append(Script(int(fields[1]), fields[3].strip(), text, fields[0]))
    got.scripts.sort(key=lambda x: x.start)
    for line in _lines(hdir / FILES["nlserver"], marks.get("nlserver", 0)):
        parts = line.split("\t", 2)
        if len(parts) == 3:
            got.nlserver.append(parts[2])
    return got


def max_parallel(commands: list[Command]) -> int:
    """The most commands running at once (from their recorded starts and ends)."""
    events = sorted(
        [(c.start, 1) for c in commands] + [(c.end, -1) for c in commands if c.end is not None],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    now = best = 0
    for _t, step in events:
        now += step
        best = max(best, now)
    return best


def waves(commands: list[Command]) -> list[int]:
    """The commands grouped by start: a group ends when every command started so far has ended before
    the next one starts. Their sizes say how many the client let run at once (a batch run ``parallel_reads``
    at a time gives groups of that size, one after another gives 1s), even for commands too short to
    overlap: one that ends before its sibling starts keeps the group open while another still runs."""
    sizes: list[int] = []
    ended: int | None = None  # when every command started so far had ended (None: one has not)
    for c in sorted(commands, key=lambda c: c.start):
        if sizes and ended is not None and c.start > ended:
            sizes.append(1)
            ended = c.end
        elif sizes:
            sizes[-1] += 1
            ended = None if ended is None or c.end is None else max(ended, c.end)
        else:
            sizes.append(1)
            ended = c.end
    return sizes


def signature(got: Received) -> dict[str, Any]:
    """What two runs that did the same work on a host have in common: sessions, env sourcings, the
    commands (normalized, sorted), the largest group of :func:`waves`, the nlserver starts (normalized,
    sorted)."""
    return {
        "sessions": got.sessions,
        "scripts": [normalize(x.remote() + "\n" + x.text) for x in got.scripts],
        "env_sourcings": got.env_sourcings,
        "commands": sorted(normalize(c.text) for c in got.commands),
        "parallel": max(waves(got.commands), default=0),
        "nlserver": sorted(normalize(a) for a in got.nlserver),
    }
