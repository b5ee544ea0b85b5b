"""What a command acts on: the playbooks on the search path, and the hosts its flags name.

Owns: the playbook search path (``--playbooks``, ``$REMEDIATE_PLAYBOOKS``, the shipped playbooks) and the
module names on it; the hosts of a command from ``--host``/``--group``/``-i``/``--instance``, from the
inventory or, with no inventory at all, from the OpenSSH config and discovery on the host.
Must not: catch the RemediateError it raises (each command turns it into an exit code through
:mod:`runner.cli.exits`), or print, except the one line naming a host that discovery could not reach.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.console import out
from runner.outcomes import ExitCode

if TYPE_CHECKING:
    from runner.inventory import Host, Inventory
    from runner.paths import SearchPath
    from runner.playbook import Playbook


# --- playbooks ------------------------------------------------------------------------------------


def playbook_path() -> SearchPath:
    """The playbook search path: ``--playbooks`` (an option of ``main``), ``$REMEDIATE_PLAYBOOKS``, shipped."""
    from runner.paths import SearchPath

    ctx = click.get_current_context(silent=True)
    site = (ctx.find_root().params.get("playbooks") or ()) if ctx is not None else ()
    return SearchPath.build(site)


def module_names() -> list[str]:
    """Module names on the search path; InputError (exit 2) if a place is refused or none holds a playbook."""
    where = playbook_path()
    names = sorted(where.modules())
    if not names:
        raise where.nothing_found()
    return names


def module_names_quietly() -> list[str]:
    """Module names for help and shell completion, which must not fail: none when the search path is refused."""
    from runner.errors import RemediateError

    try:
        return module_names()
    except RemediateError:
        return []


def load_all_playbooks() -> list[Playbook]:
    from runner import playbook

    return [playbook.load(playbook.path_for(name, playbook_path())) for name in module_names()]


# --- hosts ----------------------------------------------------------------------------------------


def load_inventory(path: Path | None) -> Inventory:
    """The inventory at ``path`` (``-i``), else at the default place."""
    from runner import inventory

    return inventory.load(path or inventory.default_path())


def hosts_from_inventory(inv: Inventory, names: tuple[str, ...], groups: tuple[str, ...]) -> list[Host]:
    """The inventory's hosts named by ``--host`` and ``--group``; InputError when neither names any."""
    from runner.errors import InputError

    if not names and not groups:
        raise InputError(
            "no host selected",
            where="--host/--group",
            hint="e.g. --host prod1 or --group all (remediate hosts lists them)",
        )
    return inv.hosts_named(names, groups)


def hosts_from_flags(flags: dict[str, Any]) -> list[Host]:
    """The hosts of a command: from the inventory, or — with no inventory at all — from the OpenSSH config.

    ``flags`` holds the command's ``inventory``, ``hosts``, ``groups``, ``ssh_config`` and (optional)
    ``instance``. ``--instance`` chooses the Campaign instance where a host runs several (it overrides
    the inventory's).
    """
    from dataclasses import replace

    from runner import inventory

    given = flags["inventory"]
    path = given or inventory.default_path()
    if given is None and not path.exists() and flags["hosts"] and not flags["groups"]:
        return hosts_from_ssh_config(flags["hosts"], flags["ssh_config"], flags.get("instance"), searched=path)
    hosts = hosts_from_inventory(load_inventory(given), flags["hosts"], flags["groups"])
    if flags.get("instance"):
        hosts = [replace(host, vars={**host.vars, "instance": flags["instance"]}) for host in hosts]
    return hosts


def hosts_from_ssh_config(
    names: tuple[str, ...], ssh_config: Path | None, instance: str | None, searched: Path
) -> list[Host]:
    """Hosts the OpenSSH config knows, with their Campaign install found on the host (runner.discover)."""
    from runner import discover, sshconfig
    from runner.errors import InputError
    from runner.execute import RunConfig, read_each
    from runner.inventory import Host as HostType

    config = (ssh_config or Path("~/.ssh/config")).expanduser()
    bare = []
    for name in names:
        known = sshconfig.lookup(name, config) if config.exists() else {}
        if "hostname" not in known:
            raise InputError(
                f"unknown host {name!r}: there is no inventory ({searched}) and {config} has no Host entry "
                "with a HostName for it",
                where="--host",
                hint="write an inventory (-i), or add the host to your OpenSSH config",
            )
        bare.append(HostType(name, ("ssh_config",), {"ssh_config": str(config)}, f"{config} (no inventory)"))
    sshconfig.check(bare, ssh_config)
    answers = read_each(bare, lambda _host: discover.COMMAND, RunConfig(ssh_config=ssh_config))
    hosts = []
    for host in bare:
        answer = answers[host.name]
        if isinstance(answer, str):
            out(f"remediate: {host.name}: {answer}", err=True)
            sys.exit(ExitCode.UNREACHABLE)
        found = discover.parse(answer.stdout, host.name)
        hosts.append(
            HostType(host.name, host.groups, {**host.vars, **found.host_vars(instance, host.name)}, host.source)
        )
    return hosts
