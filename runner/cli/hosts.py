"""``remediate hosts``: the inventory as resolved, or what is discovered on hosts the OpenSSH config knows.

Owns: its flags and output; the warning about vars that nothing reads. Must not: change a host
(discovery only reads).
"""

from __future__ import annotations

import json
from pathlib import Path

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
@click.option("--instance", default=None, metavar="NAME", help="The instance, where a host runs several.")
@output_option(["text", "json"])
def hosts_cmd(
    inventory: Path | None, ssh_config: Path | None, hosts: tuple[str, ...], instance: str | None, output: str
) -> None:
    """The inventory as resolved: address, port, user, the path to each host (direct, via bastions), vars.

    Vars that nothing in the runner or the playbooks reads (a misspelled syslog_port) are warned about.
    """
    from runner import hostvars, sshconfig
    from runner.errors import RemediateError
    from runner.playbook import template_vars

    try:
        if hosts:
            chosen = hosts_from_flags(
                {"inventory": inventory, "ssh_config": ssh_config, "hosts": hosts, "groups": (), "instance": instance}
            )
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
    except RemediateError as exc:
        fail(exc)
    if output == "json":
        out(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        where = f"{row['user']}@{row['address']}:{row['port']}"
        out(f"{row['host']}: {where}  {row['path']}  groups: {', '.join(row['groups']) or '-'}")
        for name, value in sorted(row["vars"].items()):
            out(f"    {name}: {value}")
        for name in row["unused_vars"]:
            out(f"remediate: warning: {row['host']}: var {name!r} is not read by the runner or any playbook", err=True)
