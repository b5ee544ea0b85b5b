"""The team's history of changing runs: this audit log merged with the anchors the hosts keep. Pure.

Every run that held a host's lock left an anchor there (:mod:`runner.anchor`), with its summary: run
id, module, operator, incident, reason, start, end, the host's outcome, and the audit log it was
written from. ``remediate history`` reads those files from the hosts and merges them with the local log,
so one operator sees the runs of every other operator and machine that touched the same hosts.

Owns: the local log's changing runs (the hosts each held a lock on, their outcome, start, end,
incident), the merge with the anchors (one entry per run id, the local log first), where each entry came
from (:data:`THIS_LOG`, :data:`OTHER_LOG`, :data:`UNKNOWN_LOG`, :data:`NOT_IN_THIS_LOG`), the filters
(hosts, module, since) and the text line of an entry. Must not: read files, reach hosts or print (the
CLI, :mod:`runner.cli.history`, does).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner import auditview
from runner.events import Event

THIS_LOG = "this log"
OTHER_LOG = "another log"  # an anchor written from another audit log (another operator or machine)
UNKNOWN_LOG = "unknown log"  # an anchor written before anchors carried their log
NOT_IN_THIS_LOG = "this log, missing from it"  # an anchor says it came from this log, which lacks the run

# what shows that a run of the local log touched a host (held its lock)
_TOUCHED = (Event.LOCK_ACQUIRED, Event.ANCHOR_WRITTEN, Event.ANCHOR_FAILED)


@dataclass
class Entry:
    """One run in the history: what it was, where it acted, and where this account of it came from."""

    run_id: str
    started: str | None
    ended: str | None
    module: str
    operator: str
    incident: str | None
    reason: str | None
    hosts: dict[str, str] = field(default_factory=dict)  # host -> its outcome ("?": not known)
    source: str = THIS_LOG
    log: str | None = None  # id of the audit log it was written from (hash of its first record)
    log_host: str | None = None  # the machine that log was on
    via: list[str] = field(default_factory=list)  # hosts whose anchor file holds the run

    @property
    def when(self) -> datetime | None:
        return _time(self.started) or _time(self.ended)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _time(ts: Any) -> datetime | None:
    if not ts:
        return None
    try:
        when = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def local_runs(events: Sequence[Mapping[str, Any]], log: str | None) -> list[Entry]:
    """The changing runs of the local log: each run that held a lock on a host (dry-runs and ``check``
    hold none), with the hosts it held, their outcome (``run.finished``, else ``host.finished``), its
    start and end, and its incident when the run recorded one."""
    touched: dict[str, dict[str, str]] = {}
    ended: dict[str, str] = {}
    incident: dict[str, str] = {}
    finished: dict[tuple[str, str], str] = {}
    for e in events:
        rid, kind = str(e.get("run_id")), e.get("event")
        if kind in _TOUCHED and e.get("host"):
            touched.setdefault(rid, {}).setdefault(str(e["host"]), "?")
        elif kind == Event.HOST_FINISHED and e.get("host"):
            finished[(rid, str(e["host"]))] = str(e.get("outcome"))
        elif kind == Event.RUN_FINISHED:
            ended[rid] = str(e.get("ts"))
        elif kind == Event.RUN_STARTED and e.get("incident"):
            incident[rid] = str(e["incident"])
    out = []
    for run in auditview.runs(events):
        hosts = touched.get(run.run_id)
        if not hosts or run.dry_run:
            continue
        outcome = {h: run.outcome.get(h) or finished.get((run.run_id, h), "?") for h in hosts}
        out.append(
            Entry(
                run.run_id,
                run.started,
                ended.get(run.run_id),
                run.module,
                run.operator,
                incident.get(run.run_id),
                run.reason,
                outcome,
                THIS_LOG,
                log,
            )
        )
    return out


def merge(
    local: Iterable[Entry], anchors: Mapping[str, Sequence[Mapping[str, str | None]]], log: str | None
) -> list[Entry]:
    """One entry per run id, oldest first: the local log's account of a run wins; a run only the hosts
    know is told by its anchors (every host that holds it adds its outcome and its name to ``via``).
    ``anchors``: host -> its records (:func:`runner.anchor.summaries`); ``log``: the local log's id."""
    runs: dict[str, Entry] = {e.run_id: e for e in local}
    for host, records in anchors.items():
        for a in records:
            rid = str(a["run_id"])
            entry = runs.get(rid)
            if entry is None:
                entry = runs[rid] = _from_anchor(a, log)
            elif entry.source != THIS_LOG:
                entry.started = _earliest(entry.started, a.get("started"))
                entry.ended = _latest(entry.ended, a.get("ended") or a.get("ts"))
            if entry.source != THIS_LOG or host not in entry.hosts or entry.hosts[host] == "?":
                entry.hosts[host] = str(a.get("outcome") or "?")
            if host not in entry.via:
                entry.via.append(host)
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(runs.values(), key=lambda e: (e.when or far, e.run_id))


def _from_anchor(a: Mapping[str, str | None], log: str | None) -> Entry:
    if "log" not in a and "started" not in a:
        source = UNKNOWN_LOG  # written before anchors carried a summary
    elif a.get("log") is not None and a.get("log") == log:
        source = NOT_IN_THIS_LOG
    else:
        source = OTHER_LOG
    return Entry(
        str(a["run_id"]),
        a.get("started"),
        a.get("ended") or a.get("ts"),
        str(a.get("module")),
        str(a.get("operator")),
        a.get("incident"),
        a.get("reason"),
        {},
        source,
        a.get("log"),
        a.get("log_host"),
    )


def _earliest(a: str | None, b: str | None) -> str | None:
    ta, tb = _time(a), _time(b)
    return b if ta is None or (tb is not None and tb < ta) else a


def _latest(a: str | None, b: str | None) -> str | None:
    ta, tb = _time(a), _time(b)
    return b if ta is None or (tb is not None and tb > ta) else a


def filter_entries(
    entries: Iterable[Entry],
    *,
    hosts: Collection[str] | None = None,
    module: str | None = None,
    since: datetime | None = None,
) -> list[Entry]:
    """The entries on any of ``hosts``, of ``module``, started (else ended) at or after ``since``."""

    def keep(e: Entry) -> bool:
        when = e.when
        return (
            (hosts is None or any(h in hosts for h in e.hosts))
            and (module is None or e.module == module)
            and (since is None or (when is not None and when >= since))
        )

    return [e for e in entries if keep(e)]


def origin(e: Entry) -> str:
    """Where an entry's account comes from, in words."""
    via = f" via {', '.join(e.via)}" if e.via else ""
    if e.source == THIS_LOG:
        return THIS_LOG
    if e.source == OTHER_LOG:
        log = f"{e.log_host or '?'} {e.log[:12]}" if e.log else e.log_host or "?"
        return f"{OTHER_LOG} ({log}){via}"
    return f"{e.source}{via}"


def line(e: Entry) -> str:
    """``when  run  host=outcome ...  module  operator  incident/reason  [origin]``."""
    when = auditview.local_time(e.started or e.ended) if (e.started or e.ended) else "?"
    hosts = ", ".join(f"{h}={o}" for h, o in e.hosts.items()) or "-"
    why = " / ".join(x for x in (e.incident, f'"{e.reason}"' if e.reason else None) if x) or "-"
    return f"{when}  {e.run_id}  {hosts}  {e.module}  {e.operator}  {why}  [{origin(e)}]"
