"""``remediate history``: the changing runs on some hosts, from this audit log and the anchors the hosts keep.

Owns: the command's flags (the hosts as ``--host``/``--group``/``--limit``, ``--since``, ``--module``,
``--audit-log``, ``--output``), reading each host's anchor file read-only over SSH (hosts in parallel,
:func:`runner.execute.read_each`, as ``audit verify --anchors`` does), its output and exit code: 0 when
every host was read, 3 when one could not be (each named with the reason on stderr; its runs that only
it knows are missing from the history), 2 for bad input (nothing is read). The merge and the filters
are :mod:`runner.history`'s. Must not: write to the log or to a host.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runner.cli.completion import complete_group, complete_host
from runner.cli.exits import fail
from runner.cli.output import output_option
from runner.console import out
from runner.outcomes import ExitCode


@click.command("history")
@click.option("--host", "hosts", multiple=True, metavar="NAME", shell_complete=complete_host, help="Inventory host.")
@click.option(
    "--group", "groups", multiple=True, metavar="NAME", shell_complete=complete_group, help="Inventory group."
)
@click.option("-l", "--limit", default=None, metavar="PATTERN", help="Narrow the hosts to an Ansible host pattern.")
@click.option("--since", default=None, help="Only runs started since: 24h, 30m, 7d or an ISO time.")
@click.option("--module", default=None, help="Only runs of this module.")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None, help="Inventory file or directory.")
@click.option("--ssh-config", type=click.Path(path_type=Path), default=None, help="OpenSSH client config.")
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path),
    default=None,
    help="This operator's audit log [default: $REMEDIATE_AUDIT_LOG or $XDG_STATE_HOME/remediate/audit.jsonl].",
)
@click.option("--forks", type=click.IntRange(1, 256), default=10, show_default=True, help="Hosts read in parallel.")
@output_option(["text", "json"])
def history_cmd(**flags: Any) -> None:
    """Changing runs on the hosts (every host of the inventory without --host/--group/--limit): one line per
    run, from this audit log and from the anchors on the hosts (runs of other operators' logs included)."""
    from runner import anchor, audit, auditview, history, sshconfig
    from runner.cli.selection import hosts_from_inventory, load_inventory
    from runner.errors import InputError, RemediateError
    from runner.execute import RunConfig, read_each

    path: Path = flags["audit_log"] or audit.default_path()
    try:
        cutoff = auditview.since_cutoff(flags["since"]) if flags["since"] else None
        events = _local_events(path, explicit=flags["audit_log"] is not None)
        inv = load_inventory(flags["inventory"])
        if flags["hosts"] or flags["groups"] or flags["limit"]:
            hosts = hosts_from_inventory(inv, flags["hosts"], flags["groups"], flags["limit"])
        else:
            hosts = list(inv.hosts.values())
        if not hosts:
            raise InputError("the inventory has no host", where="-i/--inventory")
        sshconfig.check(hosts, flags["ssh_config"])
    except RemediateError as exc:
        fail(exc)
    log = anchor.log_id(path) if events else None
    config = RunConfig(ssh_config=flags["ssh_config"], forks=flags["forks"])
    results = read_each(hosts, lambda host: anchor.read_command(anchor.anchor_file(host)), config)
    texts, unread = anchor.read_back(results)
    found = {name: anchor.summaries(text)[0] for name, text in texts.items()}
    names = [host.name for host in hosts]
    merged = history.merge(history.local_runs(events, log), found, log)
    shown = history.filter_entries(merged, hosts=set(names), module=flags["module"], since=cutoff)
    code = ExitCode.UNREACHABLE if unread else ExitCode.OK
    if flags["output"] == "json":
        doc = {
            "audit_log": {"path": str(path), "id": log},
            "hosts": names,
            "runs": [e.as_dict() | {"origin": history.origin(e)} for e in shown],
            "unread": [{"host": h, "why": w} for h, w in sorted(unread.items())],
        }
        out(json.dumps(doc, indent=2))
    else:
        for entry in shown:
            out(history.line(entry))
        if not shown:
            out("no run matches", err=True)
    for host, why in sorted(unread.items()):
        out(f"remediate: {host}: not read: {why} (runs only it knows are not shown)", err=True)
    sys.exit(code)


def _local_events(path: Path, *, explicit: bool) -> list[dict[str, Any]]:
    """This operator's audit log; a default log that does not exist yet is none (the hosts still tell),
    one named with ``--audit-log`` must exist."""
    from runner import auditview

    if not explicit and not path.exists():
        out(f"remediate: no audit log at {path} yet: only the hosts' anchors are shown", err=True)
        return []
    return auditview.load(path)


__all__ = ["history_cmd"]
