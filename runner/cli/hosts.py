"""``remediate hosts``: the inventory as resolved, or what is discovered on hosts the OpenSSH config knows;
with ``--host``, also what each host says itself: its own settings and its operators' holds.

Owns: its flags and output; the warning about vars that nothing reads; the settings table (each var a host
may set, its value and where it comes from: the inventory, the host, or the default) and the mismatches.
Must not: change a host (discovery and the settings read only read).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runner.cli.exits import fail
from runner.cli.output import output_option
from runner.cli.selection import hosts_from_flags, load_all_playbooks, load_inventory
from runner.console import out


@click.command("hosts")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
@click.option("--ssh-config", type=click.Path(path_type=Path), default=None)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="NAME",
    help="Only these hosts (without an inventory: what is discovered on them through the OpenSSH config).",
)
@click.option(
    "-l", "--limit", default=None, metavar="PATTERN", help="Only the hosts of an Ansible host pattern: 'emea:!web3'."
)
@click.option("--instance", default=None, metavar="NAME", help="The instance, where a host runs several.")
@output_option(["text", "json"])
def hosts_cmd(
    inventory: Path | None,
    ssh_config: Path | None,
    hosts: tuple[str, ...],
    limit: str | None,
    instance: str | None,
    output: str,
) -> None:
    """The inventory as resolved: address, port, user, the path to each host (direct, via bastions), vars.

    Vars that nothing in the runner or the playbooks reads (a misspelled syslog_port) are warned about.
    """
    from runner import hostvars, sshconfig
    from runner.errors import RemediateError
    from runner.playbook import template_vars

    try:
        if hosts or limit:
            flags = {"inventory": inventory, "ssh_config": ssh_config, "hosts": hosts, "groups": ()}
            chosen = hosts_from_flags({**flags, "instance": instance, "limit": limit})
        else:
            chosen = list(load_inventory(inventory).hosts.values())
        used = template_vars(load_all_playbooks())
        rows = []
        for host in chosen:
            endpoint = sshconfig.resolve(host, sshconfig.config_path(host, ssh_config))
            secrets = host.secrets()
            shown = {
                name: ("***" if str(value) in secrets else value)
                for name, value in host.vars.items()
                if not name.startswith("ansible_")
            }
            unused = hostvars.unused(list(host.vars), used)
            rows.append(
                {
                    "host": host.name,
                    **endpoint.describe(),
                    "groups": list(host.groups),
                    "vars": shown,
                    "unused_vars": unused,
                }
            )
        code = _read_hosts(chosen, rows, ssh_config) if hosts else 0
    except RemediateError as exc:
        fail(exc)
    if output == "json":
        out(json.dumps(rows, indent=2, default=str))
        sys.exit(code)
    for row in rows:
        where = f"{row['user']}@{row['address']}:{row['port']}"
        out(f"{row['host']}: {where}  {row['path']}  groups: {', '.join(row['groups']) or '-'}")
        for name, value in sorted(row["vars"].items()):
            out(f"    {name}: {value}")
        for item in row.get("ignored", []):  # OpenSSH directives set for the host that the runner ignores
            out(f"    ignored: {item['directive']} {item['value']} ({item['why']})")
        for item in row.get("not_offered", []):  # algorithms the config adds that the SSH library lacks
            out(f"    not offered: {item['directive']} {item['note']}")
        _show_settings(row)
        for name in row["unused_vars"]:
            out(f"remediate: warning: {row['host']}: var {name!r} is not read by the runner or any playbook", err=True)
    sys.exit(code)


def _read_hosts(chosen: list[Any], rows: list[dict[str, Any]], ssh_config: Path | None) -> int:
    """Connect to each host and add to its row what it says: its settings (with where each value comes
    from), the inventory vars it contradicts, and its holds. 3 when a host could not be read, else 0."""
    from datetime import UTC, datetime

    from runner import hostfacts
    from runner.actions import Skip
    from runner.cli.auditlog import open_audit_log
    from runner.execute import Engine, RunConfig, read_settings
    from runner.outcomes import HostStatus

    log = open_audit_log(None, chosen)
    try:
        runs = read_settings(Engine(chosen, log, RunConfig(ssh_config=ssh_config)))
    finally:
        log.close()
    code, now = 0, datetime.now(UTC)
    for row, run in zip(rows, runs, strict=True):
        if run.facts is None:
            row["reached"] = False
            row["error"] = run.outcome.message
            code = 3 if run.outcome.status is HostStatus.UNREACHABLE else max(code, 1)
            continue
        facts = run.facts
        settings: dict[str, dict[str, Any]] = {}
        for name in hostfacts.VARS:
            try:
                value = run.ctx.var(name)
            except Skip:
                value = None
            origin = hostfacts.origin(name, run.host.vars, facts)
            source = facts.facts[name].source if origin == "host" else origin
            settings[name] = {"value": value, "from": origin, "source": source}
        row["reached"] = True
        row["settings"] = settings
        wrong = hostfacts.mismatches(run.host.vars, facts)
        row["mismatches"] = [mismatch.as_dict() | {"message": mismatch.describe()} for mismatch in wrong]
        row["settings_not_read"] = facts.problems
        row["holds"] = [{**h.as_dict(), "message": h.describe()} for h in run.holds if not h.expired(now)]
    return code


def _show_settings(row: dict[str, Any]) -> None:
    if "reached" not in row:
        return
    if not row["reached"]:
        out(f"    settings: not read: {row['error']}")
        return
    out("    settings (the inventory's value, else the host's own, else the default):")
    for name, setting in row["settings"].items():
        shown = setting["value"] if setting["value"] is not None else "-"
        where = setting["source"] if setting["from"] == "host" else setting["from"]
        out(f"      {name}: {shown}  ({where})")
    for mismatch in row["mismatches"]:
        out(f"    mismatch: {mismatch['message']}")
    for problem in row["settings_not_read"]:
        out(f"    not read: {problem}")
    for held in row["holds"]:
        out(f"    held: {held['message']}")
    if not row["holds"]:
        out("    holds: none")
