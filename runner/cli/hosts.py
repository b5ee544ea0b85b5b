"""``remediate hosts``: the inventory as resolved, or what is discovered on hosts the OpenSSH config knows.

Owns: its flags and output; the warning about vars that nothing reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.cli.common import fail, load_all, load_inventory, selected
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
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
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
            chosen = selected(
                {"inventory": inventory, "ssh_config": ssh_config, "hosts": hosts, "groups": (), "instance": instance}
            )
        else:
            chosen = list(load_inventory(inventory).hosts.values())
        used = template_vars(load_all())
        rows = []
        for h in chosen:
            ep = sshconfig.resolve(h, sshconfig.config_path(h, ssh_config))
            secrets = h.secrets()
            shown = {k: ("***" if str(v) in secrets else v) for k, v in h.vars.items() if not k.startswith("ansible_")}
            unused = hostvars.unused(list(h.vars), used)
            rows.append(
                {"host": h.name, **ep.describe(), "groups": list(h.groups), "vars": shown, "unused_vars": unused}
            )
    except RemediateError as exc:
        fail(exc)
    if output == "json":
        out(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        where = f"{r['user']}@{r['address']}:{r['port']}"
        out(f"{r['host']}: {where}  {r['path']}  groups: {', '.join(r['groups']) or '-'}")
        for k, v in sorted(r["vars"].items()):
            out(f"    {k}: {v}")
        for k in r["unused_vars"]:
            out(f"remediate: warning: {r['host']}: var {k!r} is not read by the runner or any playbook", err=True)
