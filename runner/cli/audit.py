"""``remediate audit ...``: verify the log (and its anchors on the hosts), list runs, tell one run's story.

Owns: the audit subcommands' flags, their output (through :mod:`runner.console`) and exit codes.
What each mode proves: ``verify`` alone proves the file is one unbroken chain, i.e. no line was edited,
removed or reordered by accident — not that nobody rewrote it (anyone who can write the file can
recompute every hash). ``verify --anchors`` also compares the log with the chain heads each changing run
left on the hosts it touched: a rewritten or truncated log is detected unless every host it names was
rewritten too. Hosts that cannot be read are reported, never counted as a match.
Must not: write to the log or to a host (``--anchors`` only reads the anchor files).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runner.cli.exits import fail
from runner.cli.output import output_option
from runner.console import out
from runner.outcomes import ExitCode

_LOG = click.option(
    "--audit-log",
    "log_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Audit log [default: $REMEDIATE_AUDIT_LOG or $XDG_STATE_HOME/remediate/audit.jsonl].",
)
_OUTPUT = output_option(["text", "json"])


def _path(path: Path | None) -> Path:
    from runner import audit

    return path or audit.default_path()


@click.group("audit")
def audit_group() -> None:
    """Audit log: verify it, list runs, show one run."""


@audit_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--anchors", is_flag=True, help="Also compare with the chain heads on the hosts (read-only SSH).")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
@click.option("--ssh-config", type=click.Path(path_type=Path), default=None)
@_OUTPUT
def audit_verify(path: Path, anchors: bool, inventory: Path | None, ssh_config: Path | None, output: str) -> None:
    """Check the hash chain (exit 0 intact, 1 not); with --anchors, also the heads kept on the hosts."""
    from runner import audit

    ok, _count, message = audit.verify(path)
    verdict: dict[str, Any] = {"chain_intact": ok, "chain": message, "anchored": anchors}
    if not anchors:
        if output == "json":
            out(json.dumps(verdict, indent=2))
        else:
            out(("chain intact (unanchored): " if ok else "BROKEN: ") + message, err=not ok)
        sys.exit(ExitCode.OK if ok else ExitCode.UNHEALTHY)
    from runner.errors import RemediateError

    try:
        found = _compare_anchors(path, inventory, ssh_config)
    except RemediateError as exc:
        fail(exc)
    verdict.update(
        matched=[{"host": h, "run_id": r} for h, r in found.matched],
        rewritten=[{"host": h, "run_id": r, "why": w} for h, r, w in found.rewritten],
        missing_from_log=[{"host": h, "run_id": r} for h, r in found.missing_from_log],
        missing_on_host=[{"host": h, "run_id": r} for h, r in found.missing_on_host],
        unreachable=[{"host": h, "why": w} for h, w in found.unreachable],
        other_logs=[{"host": h, "run_id": r} for h, r in found.other_logs],
    )
    good = ok and found.intact
    if output == "json":
        out(json.dumps(verdict, indent=2))
        sys.exit(ExitCode.OK if good else ExitCode.UNHEALTHY)
    out(("chain intact: " if ok else "BROKEN: ") + message, err=not ok)
    for host, run in found.matched:
        out(f"  anchored  {host}: run {run} matches the log")
    for host, run, why in found.rewritten:
        out(f"  REWRITTEN {host}: run {run}: {why}")
    for host, run in found.missing_from_log:
        out(f"  MISSING   {host}: run {run} is known to the host but missing from the log (removed or truncated)")
    for host, run in found.missing_on_host:
        out(f"  NO ANCHOR {host}: the log says run {run} anchored here, the host has no such head")
    for host, why in found.unreachable:
        out(f"  UNCHECKED {host}: {why} (not counted as a match)")
    for host in dict.fromkeys(h for h, _ in found.other_logs):
        count = sum(1 for h, _ in found.other_logs if h == host)
        out(f"  other     {host}: {count} run(s) anchored from other audit logs (remediate history --host {host})")
    out("anchors match the log" if found.intact else "anchors DO NOT match the log")
    sys.exit(ExitCode.OK if good else ExitCode.UNHEALTHY)


def _compare_anchors(path: Path, inventory: Path | None, ssh_config: Path | None) -> Any:
    from runner import anchor, auditview
    from runner import inventory as inv_mod
    from runner.errors import InputError
    from runner.execute import RunConfig, read_each

    events = auditview.load(path)
    names = anchor.hosts_to_check(events)
    inv = inv_mod.load(inventory or inv_mod.default_path())
    hosts = [inv.hosts[n] for n in names if n in inv.hosts]
    unreachable = {n: "not in the inventory" for n in names if n not in inv.hosts}
    results = read_each(
        hosts, lambda host: anchor.read_command(anchor.anchor_file(host)), RunConfig(ssh_config=ssh_config)
    )
    texts, unread = anchor.read_back(results)
    unreachable.update(unread)
    found = {name: anchor.parse(text)[0] for name, text in texts.items()}
    if not names:
        raise InputError("the log names no anchored run (no anchor.written event)", where=str(path))
    return anchor.compare(events, found, unreachable)


@audit_group.command("runs")
@_LOG
@click.option("--host", default=None, help="Only runs on this host.")
@click.option("--module", default=None, help="Only runs of this module (or check).")
@click.option("--operator", default=None, help="Only runs by this operator (login).")
@click.option("--since", default=None, help="Only runs started since: 24h, 30m, 7d or an ISO time.")
@_OUTPUT
def audit_runs(
    log_path: Path | None, host: str | None, module: str | None, operator: str | None, since: str | None, output: str
) -> None:
    """One line per run: when, who, module, hosts and their outcome, exit code, reason."""
    from runner import auditview
    from runner.errors import RemediateError

    try:
        events = auditview.load(_path(log_path))
        cutoff = auditview.since_cutoff(since) if since else None
    except RemediateError as exc:
        fail(exc)
    found = auditview.filter_runs(auditview.runs(events), host=host, module=module, operator=operator, since=cutoff)
    if output == "json":
        out(json.dumps([run.as_dict() for run in found], indent=2))
        return
    for run in found:
        out(auditview.run_line(run))
    if not found:
        out("no run matches", err=True)


@audit_group.command("show")
@click.argument("run_id")
@_LOG
@_OUTPUT
def audit_show(run_id: str, log_path: Path | None, output: str) -> None:
    """One run's story: checks, what failed, confirmations and by whom, the exact commands, the verification."""
    from runner import auditview
    from runner.errors import RemediateError

    try:
        told = auditview.story(auditview.load(_path(log_path)), run_id)
    except RemediateError as exc:
        fail(exc)
    if output == "json":
        out(json.dumps(told, indent=2, default=str))
        return
    for line in auditview.story_lines(told):
        out(line)


__all__ = ["audit_group"]
