"""What every command shares: the playbook search path, host selection (inventory, or the OpenSSH config
and discovery on the host), shell completion, the audit log's opening, and failing with an exit code.

Owns: turning flags into hosts and playbooks, and every RemediateError raised doing so into
``remediate: where: what (hint)`` and exit 2. Printing goes through :mod:`runner.console`.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from runner import console
from runner.console import out
from runner.outcomes import ExitCode

if TYPE_CHECKING:
    from runner.inventory import Host
    from runner.paths import SearchPath
    from runner.playbook import Playbook


def playbook_path() -> SearchPath:
    """The playbook search path: ``--playbooks`` (an option of ``main``), ``$REMEDIATE_PLAYBOOKS``, shipped."""
    from runner.paths import SearchPath

    ctx = click.get_current_context(silent=True)
    site = (ctx.find_root().params.get("playbooks") or ()) if ctx is not None else ()
    return SearchPath.build(site)


def modules() -> list[str]:
    """Module names on the search path; InputError (exit 2) if a place is refused or none holds a playbook."""
    where = playbook_path()
    names = sorted(where.modules())
    if not names:
        raise where.nothing_found()
    return names


def modules_quietly() -> list[str]:
    """Module names for help and shell completion, which must not fail: none when the search path is refused."""
    from runner.errors import RemediateError

    try:
        return modules()
    except RemediateError:
        return []


def load_all() -> list[Playbook]:
    from runner import playbook

    return [playbook.load(playbook.path_for(m, playbook_path())) for m in modules()]


def complete_module(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return [m for m in modules_quietly() if m.startswith(incomplete)]


def _inventory_names(ctx: click.Context, incomplete: str, groups: bool) -> list[str]:
    """Host (or group) names for shell completion, from ``-i`` if typed, else the default inventory; quiet."""
    try:
        from runner import inventory

        inv = inventory.load(ctx.params.get("inventory") or inventory.default_path())
        names = inv.groups if groups else inv.hosts
        return sorted(n for n in names if n.startswith(incomplete))
    except Exception:  # completion must never print an error into the shell
        return []


def complete_host(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=False)


def complete_group(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=True)


def fail(exc: Exception, code: int = ExitCode.INPUT) -> NoReturn:
    out(f"remediate: {exc}", err=True)
    sys.exit(code)


def load_inventory(path: Path | None) -> Any:
    from runner import inventory

    return inventory.load(path or inventory.default_path())


def select(inv: Any, hosts: tuple[str, ...], groups: tuple[str, ...]) -> list[Host]:
    from runner.errors import InputError

    if not hosts and not groups:
        raise InputError("no host selected", where="--host/--group", hint="e.g. --host lab1 or --group all")
    return inv.select(hosts, groups)  # type: ignore[no-any-return]


def selected(kw: dict[str, Any]) -> list[Host]:
    """The hosts of a run: from the inventory, or — with no inventory at all — from the OpenSSH config.

    ``--instance`` chooses the Campaign instance where a host runs several (it overrides the inventory's).
    """
    from dataclasses import replace

    from runner import inventory

    given = kw["inventory"]
    path = given or inventory.default_path()
    if given is None and not path.exists() and kw["hosts"] and not kw["groups"]:
        return discovered(kw["hosts"], kw["ssh_config"], kw.get("instance"), searched=path)
    hosts = select(load_inventory(given), kw["hosts"], kw["groups"])
    if kw.get("instance"):
        hosts = [replace(h, vars={**h.vars, "instance": kw["instance"]}) for h in hosts]
    return hosts


def discovered(names: tuple[str, ...], ssh_config: Path | None, instance: str | None, searched: Path) -> list[Host]:
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
    answers = read_each(bare, lambda _h: discover.COMMAND, RunConfig(ssh_config=ssh_config))
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


def open_audit(path: Path | None, hosts: list[Host], syslog: str | None = None) -> Any:
    from runner import audit
    from runner.redact import env_secrets

    secrets: set[str] = set(env_secrets())
    for h in hosts:
        secrets |= h.secrets()
    console.add_secrets(secrets)
    log = audit.AuditLog(path or audit.default_path(), secrets=secrets)
    if syslog:
        log.listeners.append(audit.syslog_listener(syslog))
    return log


def install_sigterm() -> None:
    def handler(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
