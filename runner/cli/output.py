"""The ``--output`` flag of every command, and where a rendered run goes.

Owns: :func:`output_option` (``--output`` with its choices, each old name of it kept as a hidden,
deprecated alias that still works), the ``--help`` of a run's ``--output`` (from
:data:`runner.render.FORMATS`), and :func:`deliver`: a run rendered in the format asked, to stdout or,
with ``--output-file``, to a file written atomically (a temp file in the same directory, then a rename,
so a reader such as node_exporter's textfile collector never sees half a file), redacted either way;
colours only on a terminal. Must not: render (each format is a renderer of
:mod:`runner.render`) or pick the exit code (the renderer returns it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from runner import console, render
from runner.cli.exits import fail

F = TypeVar("F", bound=Callable[..., Any])


def output_option(
    choices: Sequence[str], *, dest: str = "output", help_text: str | None = None, old_names: Sequence[str] = ()
) -> Callable[[F], F]:
    """``--output CHOICE`` (default: the first choice), stored as ``dest``.

    Each of ``old_names`` (e.g. ``--format``) still sets it, hidden from ``--help`` and with a warning on
    stderr; an explicit ``--output`` wins over it.
    """
    alias_key = f"remediate.output_alias.{dest}"

    def take_alias(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None and not ctx.resilient_parsing:
            console.out(f"remediate: warning: {param.opts[0]} is deprecated; use --output", err=True)
            ctx.meta[alias_key] = value

    def prefer_alias(ctx: click.Context, param: click.Parameter, value: str) -> str:
        # options given on the command line are processed first, so an alias has been seen by now
        if ctx.get_parameter_source(param.name or dest) is ParameterSource.DEFAULT and alias_key in ctx.meta:
            return str(ctx.meta[alias_key])
        return value

    def decorate(command: F) -> F:
        for old_name in old_names:
            command = click.option(
                old_name,
                type=click.Choice(list(choices)),
                default=None,
                hidden=True,
                expose_value=False,
                callback=take_alias,
            )(command)
        return click.option(
            "--output",
            dest,
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help=help_text,
            callback=prefer_alias,
        )(command)

    return decorate


def run_output_help(*, sweep: bool, see: str) -> str:
    """``--help`` of a run's ``--output``: each format of :data:`runner.render.FORMATS` it offers."""
    names = render.format_names(sweep=sweep)
    return "; ".join(f"{name}: {render.FORMATS[name].summary}" for name in names) + f" ({see})."


def deliver(output: str, doc: render.RunDocument, output_file: Path | None = None) -> int:
    """Render ``doc`` as ``output`` to stdout or ``output_file``; the exit code the command ends with."""
    if output_file is None:
        rendered = render.render(output, doc, console.color_for(sys.stdout))
        console.out(rendered.text, nl=False)
        return rendered.exit_code
    rendered = render.render(output, doc, render.plain)
    try:
        write_atomically(output_file, console.redact(rendered.text))
    except OSError as exc:
        from runner.errors import InputError

        fail(InputError(f"cannot write: {exc.strerror}", where=str(output_file)))
    return rendered.exit_code


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by a temp file in the same directory and a rename (readers see old or new)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # the collector runs as its own user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
