"""Holds: an operator's "leave this module alone" on a host, kept beside its run lock. Pure.

A hold says who stopped a module on purpose and why (an mta stopped to halt a bad send): while it holds,
no run starts, restarts or stops that module, ``--force --yes`` included. It lives on the host, in
``<lock_dir>/<module>@<instance>.hold`` (one JSON line: process, by, reason, since, until, run_id), so
every engineer's run sees it. A hold file that cannot be read or parsed counts as a hold (fail safe),
and says which file and why.

Owns: :class:`Hold`, the host-side scripts that list, place and release holds, the parsing of their
output, the ``--until`` syntax, and which holds stand in the way of a step (:func:`blocking`).
Must not: connect, run or log (the engine runs the scripts; the CLI prints).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SUFFIX = ".hold"
EVERY = "*"  # a step that touches every module of the host (the watchdog starts them all)
_MARK = "@@rmdhold"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9][A-Za-z0-9_-]*)?$")
_RELATIVE = re.compile(r"^(\d{1,6})([mhd])$")


def what_starts(starts: Sequence[str]) -> str:
    """The modules a start would start, in words: ``*`` is every enabled one (named where a check listed them)."""
    named = ", ".join(name for name in starts if name != EVERY)
    if EVERY not in starts:
        return named
    return "every enabled module" + (f" ({named})" if named else "")


@dataclass(frozen=True)
class Hold:
    """One hold on one host, as read from its file (``problem``: it could not be read or parsed)."""

    process: str
    by: str
    reason: str
    since: str
    until: str | None
    file: str
    run_id: str = ""
    problem: str | None = None

    def expired(self, now: datetime) -> bool:
        """An ``until`` in the past: the hold no longer holds (a broken hold never expires)."""
        if self.problem is not None or not self.until:
            return False
        try:
            return _parse_time(self.until) <= now
        except ValueError:
            return False

    def describe(self) -> str:
        if self.problem is not None:
            return f"{self.process} is held: {self.file} {self.problem} (a hold that cannot be read counts as one)"
        until = f" until {self.until}" if self.until else ""
        return f"{self.process} is held by {self.by} since {self.since}{until}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "process": self.process,
            "by": self.by,
            "reason": self.reason,
            "since": self.since,
            "until": self.until,
            "file": self.file,
        }
        if self.problem is not None:
            out["problem"] = self.problem
        return out


def file_name(process: str) -> str:
    if not _NAME.match(process):
        raise ValueError(f"invalid module name {process!r}")
    return process + SUFFIX


def list_script(directory: str) -> str:
    """Print every hold file of ``directory``, each framed (``@@rmdhold F <file>`` ... ``@@rmdhold E <rc>``)."""
    return (
        f"d={shlex.quote(directory)}\n"
        f'for f in "$d"/*{SUFFIX}; do\n'
        '  [ -e "$f" ] || continue\n'
        f"  printf '{_MARK} F %s\\n' \"$f\"\n"
        '  cat -- "$f" 2>&1; rc=$?\n'
        f"  printf '\\n{_MARK} E %s\\n' \"$rc\"\n"
        "done\n"
        f'[ -d "$d" ] || [ ! -e "$d" ] || {{ echo "{_MARK} X not a directory"; exit 3; }}\n'
        f'[ ! -d "$d" ] || [ -r "$d" ] || {{ echo "{_MARK} X cannot read the directory"; exit 3; }}\n'
        "exit 0\n"
    )


def parse_list(directory: str, out: str, rc: int) -> list[Hold]:
    """The holds :func:`list_script` printed. A listing that failed is one hold on every module."""
    if rc != 0:
        why = next((line.split(" X ", 1)[1] for line in out.splitlines() if line.startswith(f"{_MARK} X ")), "")
        return [_broken(EVERY, directory, f"cannot be listed ({why or f'exit {rc}'})")]
    holds: list[Hold] = []
    current: str | None = None
    body: list[str] = []
    for line in out.split("\n"):
        if line.startswith(f"{_MARK} F "):
            current, body = line[len(_MARK) + 3 :], []
        elif line.startswith(f"{_MARK} E ") and current is not None:
            holds.append(_read(current, "\n".join(body).strip(), line[len(_MARK) + 3 :].strip()))
            current = None
        elif current is not None:
            body.append(line)
    if current is not None:  # the output stopped inside a file
        holds.append(_broken(_process_of(current), current, "was cut off while being read"))
    return holds


def _process_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name


def _broken(process: str, path: str, problem: str) -> Hold:
    return Hold(process, "", "", "", None, path, problem=problem)


def _read(path: str, text: str, rc: str) -> Hold:
    process = _process_of(path)
    if rc != "0":
        return _broken(process, path, f"cannot be read: {text[:200] or f'exit {rc}'}")
    try:
        data = json.loads(text)
    except ValueError:
        return _broken(process, path, f"is not a hold record (not JSON): {text[:80]!r}")
    fields = ("process", "by", "reason", "since")
    if not isinstance(data, dict) or any(not isinstance(data.get(k), str) for k in fields):
        return _broken(process, path, "is not a hold record (process, by, reason, since)")
    until = data.get("until")
    if until is not None and not isinstance(until, str):
        return _broken(process, path, "has an until that is not a time")
    if data["process"] != process:
        return _broken(process, path, f"names {data['process']!r}, not {process!r}")
    return Hold(process, data["by"], data["reason"], data["since"], until, path, str(data.get("run_id", "")))


def record(process: str, by: str, reason: str, since: datetime, until: datetime | None, run_id: str) -> str:
    """The one JSON line of a hold file."""
    return json.dumps(
        {
            "process": process,
            "by": by,
            "reason": reason,
            "since": stamp(since),
            "until": stamp(until) if until is not None else None,
            "run_id": run_id,
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def place_script(directory: str, process: str, line: str) -> str:
    """Write the hold file atomically (a temporary file renamed over it); prints the previous hold, if any."""
    target = shlex.quote(f"{directory}/{file_name(process)}")
    return (
        f"d={shlex.quote(directory)}; f={target}\n"
        'mkdir -p -- "$d" || exit 3\n'
        f'[ -e "$f" ] && {{ printf \'{_MARK} PREV \'; cat -- "$f"; echo; }}\n'
        't=$(mktemp "$d/.hold.XXXXXX") || exit 3\n'
        f'printf \'%s\\n\' {shlex.quote(line)} > "$t" && mv -f -- "$t" "$f" || {{ rm -f -- "$t"; exit 3; }}\n'
    )


def release_script(directory: str, process: str) -> str:
    """Remove the hold file; prints what it held (``@@rmdhold NONE`` when there was none)."""
    target = shlex.quote(f"{directory}/{file_name(process)}")
    return (
        f"f={target}\n"
        f'if [ -e "$f" ]; then printf \'{_MARK} WAS \'; cat -- "$f"; echo; rm -f -- "$f" || exit 3;'
        f" else echo '{_MARK} NONE'; fi\n"
    )


def released(out: str) -> bool:
    """Whether the release removed a hold (False: there was none)."""
    return f"{_MARK} WAS " in out


def blocking(holds: Iterable[Hold], touched: Sequence[str], now: datetime) -> list[Hold]:
    """The holds in force that a step touching ``touched`` (process names, or :data:`EVERY`) would break."""
    live = [h for h in holds if not h.expired(now)]
    if not touched:
        return []
    if EVERY in touched:
        return live
    return [h for h in live if h.process == EVERY or h.process in touched]


def parse_until(text: str, now: datetime) -> datetime:
    """``--until``: ``30m``, ``2h``, ``1d`` from now, or an ISO 8601 time (local time when it has no zone)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
        return now + timedelta(**{unit_name: amount})
    when = _parse_time(text.strip())
    if when <= now:
        raise ValueError(f"{text!r} is in the past")
    return when


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.astimezone(UTC) if when.tzinfo is not None else when.astimezone().astimezone(UTC)


def stamp(when: datetime) -> str:
    """A time as hold files write it: UTC, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
