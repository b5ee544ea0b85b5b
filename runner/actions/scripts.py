"""Script actions: server-side JavaScript through ``nlserver javascript``, the re-launch of workflows a
check listed (``xtk.workflow.Start/Restart``), and a plain shell command as the exception.

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, action, exit_ok, render


def _javascript_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    script = render(str(args["script"]), ctx, quote=False)
    instance = ctx.var("instance")
    return (
        f"f=$(mktemp) && printf '%s\\n' {shlex.quote(script)} > \"$f\" && "
        f'{ctx.nlserver} javascript -instance:{shlex.quote(str(instance))} -file "$f"; '
        'rc=$?; rm -f "$f"; exit $rc'
    )


action(
    "javascript",
    "server-side JavaScript through nlserver javascript -instance:<I> -file",
    Effect.CHANGE,
    build=_javascript_cmd,
    judge=exit_ok,
    args=[ArgSpec("script", "template", "the JavaScript to run", required=True)],
    pages=("configuration/using/soap-methods-in-javascript.md",),
)


def _relaunch_names(args: Mapping[str, Any], ctx: Context) -> list[str]:
    """The workflows to re-launch: the first column of a query check's rows, or the one a host var names."""
    var = args.get("workflow_var")
    if var is not None:
        value = ctx.host.var(str(var))
        if value is None:
            why = f" ({args['why']})" if args.get("why") else ""
            raise Skip(f"the inventory names no {var} for host {ctx.host.name}: nothing started{why}")
        name = str(value).strip()
        if not IDENT.match(name):
            raise ValueError(f"{var} {name!r} is not a workflow internal name")
        return [name]
    source = str(args["from"])
    verdict = ctx.earlier.get(source)
    if verdict is None:
        raise Skip(f"check {source!r} has no result to take workflows from")
    names: list[str] = []
    for row in verdict.data.get("rows", []):
        name = str(row[0]).strip() if row else ""
        if not IDENT.match(name):
            raise Skip(f"refusing to re-launch {name!r}: not a workflow internal name")
        if name not in names:
            names.append(name)
    if not names:
        raise Skip(f"check {source!r} lists no workflow to re-launch")
    return names


def _relaunch_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    verb = str(args["verb"])
    if verb not in ("Start", "Restart"):
        raise ValueError(f"verb must be Start or Restart, got {verb!r}")
    names = _relaunch_names(args, ctx)
    script = " ".join(f'logInfo("re-launch {n} ({verb})"); xtk.workflow.{verb}("{n}");' for n in names)
    return _javascript_cmd({"script": script}, ctx)


def _relaunch_valid(args: Mapping[str, Any]) -> str | None:
    if ("from" in args) == ("workflow_var" in args):
        return "workflow_relaunch takes exactly one of from: (a query check) and workflow_var: (a host var)"
    return None


action(
    "workflow_relaunch",
    "xtk.workflow.Start/Restart, through nlserver javascript, of each workflow a query check listed (first "
    "column), or of the one workflow a host var names (Start starts or resumes and clears the workflow's "
    "instance variables, Restart stops then starts and keeps them: workflow/using/starting-a-workflow.md)",
    Effect.CHANGE,
    build=_relaunch_cmd,
    judge=exit_ok,
    validate=_relaunch_valid,
    args=[
        ArgSpec("from", "check", "the query check whose rows name the workflows (first column)"),
        ArgSpec(
            "workflow_var",
            "str",
            "a host var naming one workflow, e.g. export_full_workflow",
            pattern=r"[a-z][a-z0-9_]{0,62}",
        ),
        ArgSpec("why", "str", "what to say when workflow_var is not set (the step is then skipped)"),
        ArgSpec("verb", "enum", "xtk.workflow.Start or Restart", required=True, choices=("Start", "Restart")),
    ],
    pages=("workflow/using/starting-a-workflow.md",),
)


def _shell_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return render(str(args["command"]), ctx, quote=True)


action(
    "shell",
    "a plain shell command (the exception: prefer a Campaign-aware action)",
    Effect.READ,
    build=_shell_cmd,
    judge=exit_ok,
    args=[ArgSpec("command", "template", "the command; {var} values are shell-quoted", required=True)],
    pages=("production/using/usual-commands.md",),
)
