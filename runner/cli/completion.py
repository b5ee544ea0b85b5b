"""Shell completion for module, host and group names.

Owns: the ``shell_complete`` callbacks of the commands' arguments and options. Must not: fail or print:
a completion that cannot read the search path or the inventory offers nothing.
"""

from __future__ import annotations

import click

from runner.cli.selection import module_names_quietly


def complete_module(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return [name for name in module_names_quietly() if name.startswith(incomplete)]


def _inventory_names(ctx: click.Context, incomplete: str, groups: bool) -> list[str]:
    """Host (or group) names for shell completion, from ``-i`` if typed, else the default inventory; quiet."""
    try:
        from runner import inventory

        inv = inventory.load(ctx.params.get("inventory") or inventory.default_path())
        names = inv.groups if groups else inv.hosts
        return sorted(name for name in names if name.startswith(incomplete))
    except Exception:  # completion must never print an error into the shell
        return []


def complete_host(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=False)


def complete_group(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=True)
