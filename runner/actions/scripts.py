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
)


def _relaunch_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    source = str(args["from"])
    verb = str(args["verb"])
    if verb not in ("Start", "Restart"):
        raise ValueError(f"verb must be Start or Restart, got {verb!r}")
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
    script = " ".join(f'logInfo("re-launch {n} ({verb})"); xtk.workflow.{verb}("{n}");' for n in names)
    return _javascript_cmd({"script": script}, ctx)


action(
    "workflow_relaunch",
    "xtk.workflow.Start/Restart, through nlserver javascript, of each workflow a sql check listed (first column)",
    Effect.CHANGE,
    build=_relaunch_cmd,
    judge=exit_ok,
    args=[
        ArgSpec("from", "check", "the sql check whose rows name the workflows", required=True),
        ArgSpec("verb", "enum", "xtk.workflow.Start or Restart", required=True, choices=("Start", "Restart")),
    ],
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
)
