"""Reading the audit log back: one line per run, one run's story. Pure: events in, records out.

Owns: grouping events into runs (when, who, why, hosts, module, outcome, exit code), the filters of
``remediate audit runs`` (host, module, operator, since), and the story of one run for ``audit show``
(checks, what failed, what was confirmed and by whom, the exact commands, the verification), and the
hosts a run left unhealthy (``--rerun-failed``). Must not: read files or print (the CLI does both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.events import STEP_RECORDS, Event
from runner.outcomes import HostStatus

_SINCE = re.compile(r"^(\d+)([smhd])$")
# how a host may end a run and need nothing more (--rerun-failed leaves it out)
ENDED_HEALTHY = frozenset({HostStatus.HEALTHY, HostStatus.REMEDIATED, HostStatus.NOT_APPLICABLE, HostStatus.RELEASED})
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def load(path: Path) -> list[dict[str, Any]]:
    """Every event of a log; a missing, empty or unreadable log is an input error, never an empty list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the audit log: {exc.strerror}", where=str(path)) from None
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            raise InputError("not a JSON line", where=f"{path}:{number}") from None
        if not isinstance(event, dict):
            raise InputError("not an audit event", where=f"{path}:{number}")
        events.append(event)
    if not events:
        raise InputError("the audit log is empty", where=str(path))
    return events


def since_cutoff(text: str, now: datetime | None = None) -> datetime:
    """``24h``, ``30m``, ``7d``, ``90s`` back from now, or an ISO time (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    match = _SINCE.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"expected e.g. 24h, 30m, 7d or an ISO time, got {text!r}", where="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(ts: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None


def _who(operator: Any) -> str:
    if isinstance(operator, Mapping):
        login = str(operator.get("login", "?"))
        return f"{login} (sudo from {operator['sudo_user']})" if operator.get("sudo_user") else login
    return str(operator or "?")


@dataclass
class Run:
    run_id: str
    started: str
    operator: str
    module: str
    reason: str | None
    dry_run: bool
    hosts: list[str]
    outcome: dict[str, str] = field(default_factory=dict)  # host -> status
    exit_code: int | None = None
    status: str | None = None  # finished, interrupted, audit_failed; None: the run has no end in the log

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def runs(events: Iterable[Mapping[str, Any]]) -> list[Run]:
    out: dict[str, Run] = {}
    for e in events:
        rid = str(e.get("run_id"))
        if e.get("event") == Event.RUN_STARTED:
            out[rid] = Run(
                rid,
                str(e.get("ts")),
                _who(e.get("operator")),
                str(e.get("module")),
                e.get("reason"),
                bool(e.get("dry_run")),
                [str(h) for h in e.get("hosts") or []],
            )
        elif e.get("event") == Event.RUN_FINISHED and rid in out:
            out[rid].outcome = {str(k): str(v) for k, v in (e.get("hosts") or {}).items()}
            out[rid].exit_code = e.get("exit_code")
            out[rid].status = str(e.get("status"))
    return list(out.values())


def filter_runs(
    found: list[Run],
    *,
    host: str | None = None,
    module: str | None = None,
    operator: str | None = None,
    since: datetime | None = None,
) -> list[Run]:
    def keep(r: Run) -> bool:
        started = _when(r.started)
        return (
            (host is None or host in r.hosts)
            and (module is None or r.module == module)
            and (operator is None or operator == r.operator.split(" ", 1)[0] or operator in r.operator)
            and (since is None or (started is not None and started >= since))
        )

    return [r for r in found if keep(r)]


def hosts_to_rerun(events: Iterable[Mapping[str, Any]], run_id: str, log: str) -> list[str]:
    """The hosts of run ``run_id`` that did not end healthy (``--rerun-failed``), in the run's order.

    Ended healthy: ``run.finished`` gives the host one of :data:`ENDED_HEALTHY`. Every other status
    (failed, unreachable, not_confirmed, locked, held, unknown, would_remediate ...), and a host the run
    never concluded on (interrupted, or no ``run.finished`` at all), is to rerun.
    """
    found = [r for r in runs(events) if r.run_id == run_id]
    if not found:
        raise InputError(
            f"no run {run_id!r} in the audit log {log}",
            where="--rerun-failed",
            hint="remediate audit runs lists the runs (pass the same --audit-log as that run)",
        )
    run = found[-1]
    return [host for host in run.hosts if run.outcome.get(host) not in ENDED_HEALTHY]


def story(events: Sequence[Mapping[str, Any]], run_id: str) -> dict[str, Any]:
    """One run told in order: how it began, per host its checks, confirmations, commands and verification."""
    mine = [e for e in events if str(e.get("run_id")) == run_id]
    if not mine:
        known = ", ".join(r.run_id for r in runs(events)[-5:]) or "none"
        raise InputError(f"no run {run_id!r} in the audit log", where="RUN_ID", hint=f"latest runs: {known}")
    head = next((r for r in runs(mine)), None)
    hosts: dict[str, dict[str, Any]] = {}

    def host(name: str) -> dict[str, Any]:
        return hosts.setdefault(
            name, {"checks": [], "failed": [], "confirmations": [], "commands": [], "verification": [], "end": None}
        )

    for e in mine:
        name, kind = str(e.get("host") or ""), e.get("event")
        if not name:
            continue
        if kind in STEP_RECORDS:
            entry = {k: e.get(k) for k in ("step", "outcome", "message", "command", "exit_code")}
            if e.get("phase") == "check":
                host(name)["checks"].append(entry)
                if e.get("outcome") in ("failed", "undetermined", "error"):
                    host(name)["failed"].append(entry)
            elif e.get("phase") == "verification":
                host(name)["verification"].append(entry)
            else:
                host(name)["commands"].append(entry)
        elif kind and str(kind).startswith("confirmation."):
            how = str(kind).split(".", 1)[1]
            who = _who(e.get("operator"))
            host(name)["confirmations"].append({"step": e.get("step"), "how": how, "via": e.get("via"), "by": who})
        elif kind == Event.HOST_FINISHED:
            host(name)["end"] = {"outcome": e.get("outcome"), "message": e.get("message")}
        elif kind in (
            Event.HOST_UNREACHABLE,
            Event.LOCK_REFUSED,
            Event.ANCHOR_WRITTEN,
            Event.ANCHOR_FAILED,
            Event.HOST_PRECONDITION_FAILED,
        ):
            host(name).setdefault("events", []).append(
                {"event": kind, "message": e.get("message"), "file": e.get("file")}
            )
    return {"run": head.as_dict() if head else {"run_id": run_id}, "hosts": hosts}


def local_time(ts: Any) -> str:
    """An audit time (UTC, microseconds) as an operator reads it: local time to the second, with its zone."""
    when = _when(ts)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if when is not None else str(ts)


def run_line(r: Run) -> str:
    hosts = ", ".join(f"{h}={r.outcome.get(h, '?')}" for h in r.hosts) or "-"
    end = f"exit {r.exit_code}" if r.exit_code is not None else "no end recorded"
    dry = " (dry-run)" if r.dry_run else ""
    why = f' "{r.reason}"' if r.reason else ""
    return f"{local_time(r.started)}  {r.run_id}  {r.operator}  {r.module}{dry}  {hosts}  {end}{why}"


def story_lines(told: Mapping[str, Any]) -> list[str]:
    r = told["run"]
    lines = [
        f"run {r.get('run_id')}: {r.get('module')} by {r.get('operator')} at {local_time(r.get('started'))}"
        + (" (dry-run)" if r.get("dry_run") else ""),
        f"  reason: {r.get('reason') or '-'}",
        f"  ended: {r.get('status') or 'no end recorded'}, exit {r.get('exit_code')}",
    ]
    for name, h in told["hosts"].items():
        lines.append(f"  {name}:")
        for c in h["checks"]:
            lines.append(f"    check {c['step']}: {c['outcome']} - {c['message']}")
        for c in h["confirmations"]:
            via = f" via {c['via']}" if c.get("via") else ""
            lines.append(f"    confirmation {c['how']} for {c['step']} by {c['by']}{via}")
        for c in h["commands"]:
            lines.append(f"    {c['outcome']}: {c['step']}: $ {c['command']}")
            if c.get("message"):
                lines.append(f"        {c['message']}")
        for c in h["verification"]:
            lines.append(f"    verify {c['step']}: {c['outcome']} - {c['message']}")
        for ev in h.get("events", []):
            lines.append(f"    {ev['event']}: {ev.get('message') or ev.get('file') or ''}")
        if h["end"]:
            lines.append(f"    => {h['end']['outcome']}: {h['end']['message']}")
    return lines
