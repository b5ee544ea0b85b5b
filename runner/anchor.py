"""Chain heads kept on the hosts a run changed: the audit log's proof beyond the operator's machine.

The hash chain of the audit log catches accidental edits and truncation, but anyone who can write the
file can rewrite it and recompute every hash. So at the end of every run that held a host's lock, the
run's chain head (run id, time, operator, module, outcome, and the hash of the last audit line the run
had written) is appended to a file on that host, through the connection the run already has. A rewritten
or truncated log no longer matches the heads on the hosts — unless every host it touched was rewritten too.

Owns: the anchor record, the commands that append and read it (host var ``anchor_file``, default
``<lock_dir>/audit-anchors.jsonl``), and the comparison of a log with the anchors read from its hosts.
Pure: no I/O.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner import hostvars
from runner.events import Event

ANCHOR_KEYS = ("run_id", "ts", "operator", "module", "outcome", "head")


def anchor_file(host: hostvars.HasVars) -> str:
    explicit = host.var("anchor_file")
    return str(explicit) if explicit else f"{hostvars.lock_dir(host)}/audit-anchors.jsonl"


def record(run_id: str, ts: str, operator: str, module: str, outcome: str, head: str) -> str:
    values = dict(zip(ANCHOR_KEYS, (run_id, ts, operator, module, outcome, head), strict=True))
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def append_command(path: str, line: str) -> str:
    """Append one anchor line (the directory is the lock's, which the run already created)."""
    folder = path.rsplit("/", 1)[0] or "/"
    return f"mkdir -p {shlex.quote(folder)} && printf '%s\\n' {shlex.quote(line)} >> {shlex.quote(path)}"


def read_command(path: str) -> str:
    """Read-only: the anchors a host holds (nothing when the file does not exist yet)."""
    return f"if [ -e {shlex.quote(path)} ]; then cat {shlex.quote(path)}; fi"


def parse(text: str) -> tuple[list[dict[str, str]], int]:
    """The anchor records of a host's file, and how many lines were not anchor records."""
    out: list[dict[str, str]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ANCHOR_KEYS):
            out.append({k: value[k] for k in ANCHOR_KEYS})
        else:
            bad += 1
    return out, bad


@dataclass
class Comparison:
    """What the anchors on the hosts say about a log."""

    matched: list[tuple[str, str]] = field(default_factory=list)  # (host, run id)
    rewritten: list[tuple[str, str, str]] = field(default_factory=list)  # (host, run id, why)
    missing_from_log: list[tuple[str, str]] = field(default_factory=list)  # runs a host knows, the log does not
    missing_on_host: list[tuple[str, str]] = field(default_factory=list)  # anchored per the log, absent on host
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (host, why): not counted as a match
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
    claimed = {(str(e["host"]), str(e["run_id"])) for e in events if e.get("event") == Event.ANCHOR_WRITTEN}
    for host, found in anchors.items():
        seen: set[str] = set()
        for a in found:
            run = a["run_id"]
            seen.add(run)
            if run not in hashes_of:
                result.missing_from_log.append((host, run))
            elif a["head"] not in hashes_of[run]:
                result.rewritten.append((host, run, f"head {a['head'][:12]} is not a line of run {run} in the log"))
            else:
                result.matched.append((host, run))
        result.missing_on_host += sorted((h, r) for h, r in claimed if h == host and r not in seen)
    return result
