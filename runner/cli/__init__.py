"""The command line: ``remediate MODULE --host NAME`` and the built-in commands.

Owns: the click group, one command per playbook on the search path, ``--version`` and ``--playbooks``,
and the registration of the subcommands. Commands: :mod:`runner.cli.run` (a playbook run),
:mod:`runner.cli.check` (the sweep), :mod:`runner.cli.info` (list, show, validate, triage),
:mod:`runner.cli.hosts`, :mod:`runner.cli.audit`, :mod:`runner.cli.logs` (a module's log),
:mod:`runner.cli.hold` (hold, release). What they share, one concern per module:
:mod:`runner.cli.selection` (playbooks and hosts), :mod:`runner.cli.frame` (the run options and frame),
:mod:`runner.cli.output` (``--output`` and where a rendered run goes), :mod:`runner.cli.auditlog`,
:mod:`runner.cli.completion`, :mod:`runner.cli.exits`. The CLI is the only layer that prints (through
:mod:`runner.console`), prompts and picks exit codes. Heavy imports (fabric, paramiko) happen only when
a command needs a connection, so ``--help`` and ``list`` stay fast.
Must not: hold a command's body (each lives in its own module).
"""

from __future__ import annotations

from pathlib import Path

import click

from runner.cli.exits import fail
from runner.cli.selection import module_help, module_names, module_names_quietly, playbook_path
from runner.console import out

# Each built-in command and where it lives: imported only when it is the one invoked (or for --help and
# the man page), so ``remediate wfserver`` does not load the other commands' modules.
LAZY: dict[str, tuple[str, str]] = {
    "list": ("info", "list_cmd"),
    "show": ("info", "show_cmd"),
    "validate": ("info", "validate_cmd"),
    "hosts": ("hosts", "hosts_cmd"),
    "audit": ("audit", "audit_group"),
    "check": ("check", "check_cmd"),
    "triage": ("info", "triage_cmd"),
    "hold": ("hold", "hold_cmd"),
    "release": ("hold", "release_cmd"),
    "history": ("history", "history_cmd"),
    "collect": ("collect", "collect_cmd"),
    "logs": ("logs", "logs_cmd"),
}
BUILTINS = tuple(LAZY)


def _version_text() -> str:
    """``--version``: the version, the playbook directories in search order, and the default inventory."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    from runner import __version__, inventory

    try:
        number = version("remediate")
    except PackageNotFoundError:
        number = __version__
    lines = [f"remediate, version {number}", "playbooks, searched in this order:"]
    for place in playbook_path().places:
        lines.append(f"  {place.path}  ({place.origin}){'' if place.path.is_dir() else '  [missing]'}")
    inv = inventory.default_path()
    origin = "$REMEDIATE_INVENTORY" if os.environ.get("REMEDIATE_INVENTORY") else "./inventory/"
    lines.append(f"inventory: {inv}  ({origin}; -i PATH overrides){'' if inv.exists() else '  [missing]'}")
    return "\n".join(lines)


def _want_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # printed once every option is parsed (RemediateGroup.parse_args), so --playbooks counts in any order
    if value and not ctx.resilient_parsing:
        ctx.meta["remediate.version"] = True


class RemediateGroup(click.Group):
    """Built-in commands plus one command per playbook: ``remediate wfserver --host prod1``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*BUILTINS, *(name for name in module_names_quietly() if name not in BUILTINS)]

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in LAZY:
            import importlib

            module, attr = LAZY[cmd_name]
            command: click.Command = getattr(importlib.import_module(f"runner.cli.{module}"), attr)
            self.commands[cmd_name] = command
            return command
        if cmd_name in module_names_quietly():
            from runner.cli.run import module_command

            return module_command(cmd_name)
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The Commands section of ``--help``, as click writes it, without building a command per module
        (their help is :func:`module_help` of the name) or listing the playbook directories per module."""
        builtins = self.builtin_commands()
        names = [*builtins, *(name for name in module_names_quietly() if name not in builtins)]
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, builtins[name].get_short_help_str(limit))
            if name in builtins
            else (name, click.Command(name, help=module_help(name)).get_short_help_str(limit))
            for name in names
            if name not in builtins or not builtins[name].hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def builtin_commands(self) -> dict[str, click.Command]:
        """Every built-in command, each module imported (for the man page and the tests)."""
        found = {name: self.get_command(None, name) for name in LAZY}
        return {name: command for name, command in found.items() if command is not None}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if ctx.meta.get("remediate.version"):
            out(_version_text())
            ctx.exit(0)
        return rest

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        from runner.errors import RemediateError, did_you_mean

        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in LAZY and name not in self.commands:
            try:
                names = module_names()  # a refused search path or no playbook at all: exit 2, naming the places
            except RemediateError as exc:
                fail(exc)
            if name not in names:
                hint = did_you_mean(name, [*names, *LAZY], f"modules: {', '.join(names)}")
                raise click.UsageError(f"unknown module or command {name!r} ({hint})")
        return super().resolve_command(ctx, args)


@click.group(cls=RemediateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_want_version,
    help="Show the version, where playbooks and the inventory are read from, and exit.",
)
@click.option(
    "--playbooks",
    "playbooks",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Site playbook directory, searched before $REMEDIATE_PLAYBOOKS and the shipped ones (repeatable).",
)
def main(playbooks: tuple[Path, ...]) -> None:
    """Diagnose and fix Adobe Campaign Classic v7 modules over SSH.

    \b
    remediate MODULE --host NAME   run MODULE's playbook: checks, then (if a check
                                   fails) remediation, then verification
    remediate check all --host N   read-only sweep of every module
    remediate list                 modules, what each runs, the symptom
    """
