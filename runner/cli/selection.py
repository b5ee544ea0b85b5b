"""What a command acts on: the playbooks on the search path, and the hosts its flags name.

Owns: the playbook search path (``--playbooks``, ``$REMEDIATE_PLAYBOOKS``, the shipped playbooks) and the
module names on it; the hosts of a command from ``--host``/``--group``/``-i``/``--instance``, narrowed by
``--limit`` (an Ansible host pattern) and ``--rerun-failed`` (the hosts a run left unhealthy, from the
audit log), from the inventory or, with no inventory at all, from the OpenSSH config and discovery on
the host. Must not: catch the RemediateError it raises (each command turns it into an exit code through
:mod:`runner.cli.exits`), or print, except the one line naming a host that discovery could not reach and
the one line saying a ``--rerun-failed`` run left nothing to rerun (exit 0).
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


def module_help(module: str) -> str:
    """The help of ``remediate MODULE`` (one command per playbook)."""
    return f"Run the {module} playbook (see: remediate show {module})."


def load_all_playbooks() -> list[Playbook]:
    from runner import playbook

    return [playbook.load(playbook.path_for(name, playbook_path())) for name in module_names()]


# --- hosts ----------------------------------------------------------------------------------------


def load_inventory(path: Path | None) -> Inventory:
    """The inventory at ``path`` (``-i``), else at the default place."""
    from runner import inventory

    return inventory.load(path or inventory.default_path())


def hosts_from_inventory(
    inv: Inventory,
    names: tuple[str, ...],
    groups: tuple[str, ...],
    limit: str | None = None,
    only: list[str] | None = None,
) -> list[Host]:
    """The inventory's hosts named by ``--host`` and ``--group`` (all of them when only ``--limit`` or
    ``--rerun-failed`` is given, as ``ansible-playbook --limit`` narrows ``all``), narrowed by the
    ``limit`` pattern and to the ``only`` hosts; InputError when nothing selects or nothing is left."""
    from runner.errors import InputError

    if not names and not groups and limit is None and only is None:
        raise InputError(
            "no host selected",
            where="--host/--group/--limit",
            hint="e.g. --host prod1, --group all or --limit 'emea:!prod3' (remediate hosts lists them)",
        )
    chosen = inv.hosts_named(names, groups) if names or groups else list(inv.hosts.values())
    if only is not None:
        gone = [name for name in only if name not in inv.hosts]
        if gone:
            raise InputError(
                f"host {gone[0]!r} of that run is no longer in the inventory",
                where="--rerun-failed",
                hint="the inventory changed since: name the hosts with --host or --limit instead",
            )
        chosen = [host for host in chosen if host.name in only]
    named = [host.name for host in chosen]
    return [inv.hosts[name] for name in narrowed(named, limit, inv, bool(names or groups), only is not None)]


def narrowed(named: list[str], limit: str | None, inv: Inventory, selected: bool, rerun: bool) -> list[str]:
    """``named`` narrowed by the ``--limit`` pattern (matched over the whole inventory, as Ansible's)."""
    from runner.errors import InputError

    chosen = named
    if limit is not None:
        keep = {host.name for host in inv.matching(limit)}
        chosen = [name for name in named if name in keep]
    if not chosen and limit is None:
        raise InputError("none of the hosts of --host/--group is among those to rerun", where="--rerun-failed")
    if not chosen:
        before = " and ".join(
            what for what, given in (("--host/--group", selected), ("--rerun-failed", rerun)) if given
        )
        what = f"{limit!r} leaves none of the hosts of {before}" if before else f"{limit!r} selects no host"
        raise InputError(what, where="--limit", hint="remediate hosts --limit PATTERN shows what a pattern selects")
    return chosen


def rerun_hosts(run_id: str, audit_log: Path | None) -> list[str]:
    """The hosts that did not end healthy in run ``run_id`` of the audit log (``--rerun-failed``).

    Every host ended healthy: says so and exits 0 (there is nothing to rerun, as Ansible with no
    host left). An id the log does not hold is an InputError naming it and the log.
    """
    from runner import audit, auditview
    from runner.errors import InputError

    path = audit_log or audit.default_path()
    try:
        events = auditview.load(path)
    except InputError as exc:
        raise InputError(
            f"no run {run_id!r}: {path}: {exc.what}", where="--rerun-failed", hint="pass the --audit-log of that run"
        ) from None
    hosts = auditview.hosts_to_rerun(events, run_id, str(path))
    if not hosts:
        out(f"remediate: every host of run {run_id} ended healthy: nothing to rerun", err=True)
        sys.exit(ExitCode.OK)
    return hosts


def hosts_from_flags(flags: dict[str, Any]) -> list[Host]:
    """The hosts of a command: from the inventory, or — with no inventory at all — from the OpenSSH config.

    ``flags`` holds the command's ``inventory``, ``hosts``, ``groups``, ``ssh_config`` and (optional)
    ``instance``, ``limit``, ``rerun_failed`` and ``audit_log``. ``--instance`` chooses the Campaign
    instance where a host runs several (it overrides the inventory's).
    """
    from dataclasses import replace

    from runner import inventory

    given = flags["inventory"]
    path = given or inventory.default_path()
    limit = flags.get("limit")
    only = rerun_hosts(flags["rerun_failed"], flags.get("audit_log")) if flags.get("rerun_failed") else None
    if given is None and not path.exists() and (flags["hosts"] or only) and not flags["groups"]:
        names = [n for n in flags["hosts"] if only is None or n in only] if flags["hosts"] else list(only or [])
        bare = inventory.Inventory(hosts={n: inventory.Host(n, (), {}, "") for n in names}, groups={"all": names})
        chosen = narrowed(names, limit, bare, bool(flags["hosts"]), only is not None)
        return hosts_from_ssh_config(tuple(chosen), flags["ssh_config"], flags.get("instance"), searched=path)
    hosts = hosts_from_inventory(load_inventory(given), flags["hosts"], flags["groups"], limit, only)
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
