"""Chain heads kept on the hosts a run changed: the audit log's proof beyond the operator's machine.

The hash chain of the audit log catches accidental edits and truncation, but anyone who can write the
file can rewrite it and recompute every hash. So at the end of every run that held a host's lock, the
run's chain head (run id, time, operator, module, outcome, and the hash of the last audit line the run
had written) is appended to a file on that host, through the connection the run already has. A rewritten
or truncated log no longer matches the heads on the hosts — unless every host it touched was rewritten too.

Each record also carries the run's summary, so the hosts tell the team's history (``remediate history``):
when the run started and ended (UTC, ISO 8601), its reason and incident, and which audit log it was
written from (:func:`log_id`: the hash of that log's first record, and the operator's hostname).
Records written before the summary existed have only the keys of :data:`ANCHOR_KEYS`; both are read.

The file stays bounded: an append that leaves more than ``anchor_keep`` records (host var, default
:data:`KEEP`) drops the oldest, under an ``flock`` of ``<anchor_file>.lock``, and puts :data:`TRIMMED` on
the file's first line, so a reader knows that runs older than its oldest record were dropped on purpose.

Owns: the anchor record, the commands that append and read it (host var ``anchor_file``, default
``<lock_dir>/audit-anchors.jsonl``), and the comparison of a log with the anchors read from its hosts.
Pure, except :func:`log_id` (reads the first line of the local audit log).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hostvars
from runner.events import Event

if TYPE_CHECKING:
    from runner.wire import Result

ANCHOR_KEYS = ("run_id", "ts", "operator", "module", "outcome", "head")
# the run's summary (null when unknown): when it started and ended, why, and the audit log it was written from
SUMMARY_KEYS = ("started", "ended", "reason", "incident", "log", "log_host")
KEEP = 1000  # records an anchor file keeps by default (host var anchor_keep)
TRIMMED = '{"trimmed":true}'  # first line of a file whose oldest records were dropped


def anchor_file(host: hostvars.HasVars) -> str:
    explicit = host.var("anchor_file")
    return str(explicit) if explicit else f"{hostvars.lock_dir(host)}/audit-anchors.jsonl"


def keep(host: hostvars.HasVars) -> int:
    """How many records the host's anchor file keeps: ``anchor_keep``, else :data:`KEEP` (at least 1)."""
    value = host.var("anchor_keep")
    return max(int(value), 1) if isinstance(value, int) and not isinstance(value, bool) else KEEP


def record(
    run_id: str,
    ts: str,
    operator: str,
    module: str,
    outcome: str,
    head: str,
    summary: Mapping[str, str | None] | None = None,
) -> str:
    """One anchor line; ``summary`` holds the keys of :data:`SUMMARY_KEYS` (a missing one is written null)."""
    values: dict[str, str | None] = dict(zip(ANCHOR_KEYS, (run_id, ts, operator, module, outcome, head), strict=True))
    if summary is not None:
        values.update({k: summary.get(k) for k in SUMMARY_KEYS})
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def log_id(path: Path) -> str | None:
    """A stable id of an audit log: the hash of its first record (None when it has none yet)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
        value = json.loads(first)
    except (OSError, ValueError):
        return None
    return str(value["hash"]) if isinstance(value, dict) and isinstance(value.get("hash"), str) else None


def append_command(path: str, line: str, keep: int = KEEP) -> str:
    """Append one anchor line, then drop the oldest records past ``keep`` (under an flock of
    ``<path>.lock``; the file is replaced by rename, so a reader sees the old or the new one). The append
    decides the exit code: a trim that fails says so on stderr and the next append tries again."""
    folder = path.rsplit("/", 1)[0] or "/"
    file, tmp, mark = shlex.quote(path), shlex.quote(f"{path}.tmp"), shlex.quote(TRIMMED)
    trim = (
        f'if [ "$(grep -c -v -x -F {mark} {file})" -gt {int(keep)} ]; then '
        f"{{ {{ printf '%s\\n' {mark}; grep -v -x -F {mark} {file} | tail -n {int(keep)}; }} > {tmp} "
        f"&& mv -f {tmp} {file}; }} || {{ rm -f {tmp}; echo 'anchor file not trimmed' >&2; }}; fi"
    )
    return (
        f"mkdir -p {shlex.quote(folder)} && ( flock -x 9 && printf '%s\\n' {shlex.quote(line)} >> {file} "
        f"&& {{ {trim}; true; }} ) 9>>{shlex.quote(f'{path}.lock')}"
    )


def read_command(path: str) -> str:
    """Read-only: the anchors a host holds (nothing when the file does not exist yet)."""
    return f"if [ -e {shlex.quote(path)} ]; then cat {shlex.quote(path)}; fi"


def read_back(results: Mapping[str, Result | str]) -> tuple[dict[str, str], dict[str, str]]:
    """What :func:`read_command` gave on each host (``runner.execute.read_each``): the text of each anchor
    file read, and why each other host could not be read (never to be taken as "no anchor")."""
    texts: dict[str, str] = {}
    unread: dict[str, str] = {}
    for name, result in results.items():
        if isinstance(result, str):
            unread[name] = result
        elif result.exit_code != 0:
            unread[name] = f"cannot read the anchor file (exit {result.exit_code}): {result.stderr.strip()[:200]}"
        else:
            texts[name] = result.stdout
    return texts, unread


def summaries(text: str) -> tuple[list[dict[str, str | None]], int, bool]:
    """The records of a host's file with their summary (the keys of :data:`SUMMARY_KEYS` a record has:
    an old one has none), how many lines were not anchor records, and whether the file was trimmed."""
    out: list[dict[str, str | None]] = []
    bad = 0
    trimmed = False
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.strip() == TRIMMED:
            trimmed = True
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ANCHOR_KEYS):
            found: dict[str, str | None] = {k: value[k] for k in ANCHOR_KEYS}
            found.update({k: _text(value[k]) for k in SUMMARY_KEYS if k in value})
            out.append(found)
        else:
            bad += 1
    return out, bad, trimmed


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def parse(text: str) -> tuple[list[dict[str, str]], int]:
    """The anchor records of a host's file (the keys of :data:`ANCHOR_KEYS`), and how many lines were not
    anchor records. In a trimmed file the oldest record also carries ``trimmed: "yes"`` (see :func:`compare`)."""
    found, bad, trimmed = summaries(text)
    out = [{k: str(a[k]) for k in ANCHOR_KEYS} | ({"log": str(a["log"])} if a.get("log") else {}) for a in found]
    if trimmed and out:
        out[0]["trimmed"] = "yes"
    return out, bad


@dataclass
class Comparison:
    """What the anchors on the hosts say about a log."""

    matched: list[tuple[str, str]] = field(default_factory=list)  # (host, run id)
    rewritten: list[tuple[str, str, str]] = field(default_factory=list)  # (host, run id, why)
    missing_from_log: list[tuple[str, str]] = field(default_factory=list)  # runs a host knows, the log does not
    missing_on_host: list[tuple[str, str]] = field(default_factory=list)  # anchored per the log, absent on host
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (host, why): not counted as a match
    other_logs: list[tuple[str, str]] = field(default_factory=list)  # runs another audit log anchored there
    foreign_lines: dict[str, int] = field(default_factory=dict)  # host -> lines that are not anchor records

    @property
    def intact(self) -> bool:
        return not (self.rewritten or self.missing_from_log or self.missing_on_host or self.unreachable)


def hosts_to_check(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The hosts a log says were anchored, in order of first appearance."""
    return list(
        dict.fromkeys(str(e["host"]) for e in events if e.get("event") == Event.ANCHOR_WRITTEN and e.get("host"))
    )


def compare(
    events: Sequence[Mapping[str, Any]], anchors: Mapping[str, list[dict[str, str]]], unreachable: Mapping[str, str]
) -> Comparison:
    """Match the heads found on each host with the lines of the log; every disagreement is named."""
    result = Comparison(unreachable=sorted(unreachable.items()))
    hashes_of: dict[str, set[str]] = {}
    for e in events:
        hashes_of.setdefault(str(e.get("run_id")), set()).add(str(e.get("hash")))
    # This log's ids: its first record's hash, and the id any of its own runs was anchored with (a log
    # rewritten from its first line keeps its old id on the hosts). A run a host knows under another id
    # came from another operator's log (`remediate history` shows it); one under a known id that the log
    # lacks was removed from it.
    ours = {str(events[0].get("hash"))} if events else set()
    ours |= {a["log"] for found in anchors.values() for a in found if a.get("log") and a["run_id"] in hashes_of}
    written = [e for e in events if e.get("event") == Event.ANCHOR_WRITTEN]
    claimed = {(str(e["host"]), str(e["run_id"])) for e in written}
    anchored_at = {(str(e["host"]), str(e["run_id"])): e.get("ts") for e in written}
    for host, found in anchors.items():
        seen: set[str] = set()
        for a in found:
            run = a["run_id"]
            seen.add(run)
            if run not in hashes_of and a.get("log") and a["log"] not in ours:
                result.other_logs.append((host, run))
            elif run not in hashes_of:
                result.missing_from_log.append((host, run))
            elif a["head"] not in hashes_of[run]:
                result.rewritten.append((host, run, f"head {a['head'][:12]} is not a line of run {run} in the log"))
            else:
                result.matched.append((host, run))
        dropped = _dropped_before(found)
        result.missing_on_host += sorted(
            (h, r)
            for h, r in claimed
            if h == host and r not in seen and not (dropped and _before(anchored_at.get((h, r)), dropped))
        )
    return result


def _dropped_before(found: list[dict[str, str]]) -> datetime | None:
    """When a host's file was trimmed: the time of its oldest record kept (runs before it were dropped)."""
    if not found or found[0].get("trimmed") != "yes":
        return None
    return _time(found[0]["ts"])


def _before(ts: Any, oldest: datetime) -> bool:
    """Whether an ``anchor.written`` at ``ts`` came before the oldest record kept (stamped to the second)."""
    when = _time(ts)
    return when is not None and when < oldest + timedelta(seconds=1)


def _time(ts: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
