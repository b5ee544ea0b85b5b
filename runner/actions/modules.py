"""Actions on Campaign module processes: is it running (``nlserver pdump``, ``monitor -missing``,
``pdump -who``), and start / stop / restart / reload it (``nlserver start|stop|restart``, ``watchdog``).

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from runner import campaign
from runner.actions.base import ArgSpec, Context, Effect, Skip, Verdict, action, exit_ok
from runner.campaign import ParseError

FLAGS = ("-verbose", "-noconsole", "-immediate")
MODULE = ArgSpec(
    "module",
    "enum",
    "the Campaign module (its process is <module>@<instance>, web@default, or watchdog)",
    required=True,
    choices=tuple(sorted(campaign.DAEMONS, key=str.lower)),
)
FLAG_ARG = ArgSpec("flags", "list[str]", "extra nlserver flags", default=[], choices=FLAGS)
FROM_MISSING = ArgSpec(
    "from", "check", "the monitor_missing check whose list of missing modules to start", required=True
)


# --- module state -------------------------------------------------------------------------------


def _pdump_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    if args.get("module") and args["module"] != "watchdog":
        ctx.process(str(args["module"]))  # skip early when the instance is unknown
    return f"{ctx.nlserver} pdump"


def _pdump_failed(rc: int, err: str) -> Verdict:
    return Verdict(False, f"nlserver pdump failed (exit {rc}): {err.strip()[:200]}")


def _judge_module_running(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    name = ctx.process(str(args["module"]))
    if rc != 0:
        return _pdump_failed(rc, err)
    try:
        dump = campaign.parse_pdump(out)
    except ParseError as exc:
        return Verdict.unsure(f"cannot parse pdump output: {exc}")
    proc = dump.find(name)
    if proc is None:
        state = "pdump says No tasks" if dump.no_tasks else f"{name} is not in pdump"
        return Verdict(False, state, {"no_tasks": dump.no_tasks, "processes": [p.name for p in dump.processes]})
    return Verdict(
        True,
        f"{name} running (pid {proc.pid}, {proc.memory_mb:g} MB)",
        {"pid": proc.pid, "processes": [p.name for p in dump.processes]},
    )


action(
    "module_running",
    "the module's process is listed by nlserver pdump",
    Effect.READ,
    build=_pdump_cmd,
    judge=_judge_module_running,
    args=[MODULE],
    read_only=True,
)


def _judge_has_tasks(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return _pdump_failed(rc, err)
    try:
        dump = campaign.parse_pdump(out)
    except ParseError as exc:
        return Verdict.unsure(f"cannot parse pdump output: {exc}")
    if dump.no_tasks or not dump.processes:
        return Verdict(False, "pdump says No tasks: no Campaign process is running", {"no_tasks": True})
    names = [p.name for p in dump.processes]
    return Verdict(True, f"{len(names)} processes running", {"no_tasks": False, "processes": names})


action(
    "processes_running",
    "nlserver pdump lists processes (not 'No tasks')",
    Effect.READ,
    build=_pdump_cmd,
    judge=_judge_has_tasks,
    read_only=True,
)


def _missing_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} monitor -missing"


def _judge_missing(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"nlserver monitor -missing failed (exit {rc}): {err.strip()[:200]}")
    try:
        missing = campaign.parse_missing(out)
    except ParseError as exc:
        return Verdict.unsure(f"cannot parse monitor output: {exc}", {"missing": []})
    if missing:
        return Verdict(False, f"enabled but not running: {', '.join(missing)}", {"missing": missing})
    return Verdict(True, "every enabled module is running", {"missing": []})


action(
    "monitor_missing",
    "nlserver monitor -missing lists no enabled module",
    Effect.READ,
    build=_missing_cmd,
    judge=_judge_missing,
    read_only=True,
)


def _who_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} pdump -who"


def _judge_who(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"nlserver pdump -who failed (exit {rc}): {err.strip()[:200]}")
    try:
        dump = campaign.parse_pdump(out, who=True)
    except ParseError as exc:
        return Verdict.unsure(f"cannot parse pdump -who output: {exc}")
    sessions: list[str] = []
    in_sessions = False
    for line in dump.extra:
        if line.lower().startswith("sessions"):
            in_sessions = True
            continue
        if in_sessions and line.lower().startswith("datasource"):
            in_sessions = False
        if in_sessions and line.strip() and line.strip().lower() != "none":
            sessions.append(line.strip())
    pool = [line for line in dump.extra if line.lower().startswith("datasource")]
    data = {"sessions": sessions, "pool": pool}
    desc = "; ".join(sessions) if sessions else "no open session"
    return Verdict(
        True, f"{len(sessions)} session(s) a web restart would cut: {desc}" + (f" | {pool[0]}" if pool else ""), data
    )


action(
    "web_sessions",
    "nlserver pdump -who: the sessions and DB pool a web restart would cut",
    Effect.READ,
    build=_who_cmd,
    judge=_judge_who,
    read_only=True,
)


# --- module control -----------------------------------------------------------------------------


def _flags(args: Mapping[str, Any]) -> str:
    flags = args.get("flags") or []
    return "".join(f" {shlex.quote(str(f))}" for f in flags)


def _control(verb: str) -> Callable[[Mapping[str, Any], Context], str]:
    """``nlserver start|stop|restart <module>@<instance> [flags]``."""

    def build(args: Mapping[str, Any], ctx: Context) -> str:
        return f"{ctx.nlserver} {verb} {shlex.quote(ctx.process(str(args['module'])))}{_flags(args)}"

    return build


for _verb, _effect in (("start", Effect.CHANGE), ("stop", Effect.DISRUPT), ("restart", Effect.DISRUPT)):
    action(
        f"{_verb}_module",
        f"nlserver {_verb} <module>@<instance>",
        _effect,
        build=_control(_verb),
        judge=exit_ok,
        args=[MODULE, FLAG_ARG],
    )


def _start_listed_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    source = str(args["from"])
    verdict = ctx.earlier.get(source)
    if verdict is None:
        raise Skip(f"check {source!r} has no result to start modules from")
    names = [str(n) for n in verdict.data.get("missing", [])]
    for name in names:
        if not campaign.PROCESS_NAME.match(name):
            raise Skip(f"refusing to start {name!r}: not a module@instance name")
    if not names:
        raise Skip(f"check {source!r} lists no missing module")
    return " && ".join(f"{ctx.nlserver} start {shlex.quote(n)}" for n in names)


action(
    "start_listed",
    "nlserver start each module a monitor_missing check listed",
    Effect.CHANGE,
    build=_start_listed_cmd,
    judge=exit_ok,
    args=[FROM_MISSING],
)


def _watchdog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} watchdog -svc -noconsole"


action(
    "watchdog_start",
    "nlserver watchdog -svc -noconsole (starts every enabled module)",
    Effect.CHANGE,
    build=_watchdog_cmd,
    judge=exit_ok,
)


def _reload_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    what = str(args["module"])
    if what == "stat":
        return f"{ctx.nlserver} stat -reload"
    return f"{ctx.nlserver} config -reload"


action(
    "reload",
    "nlserver stat -reload / config -reload",
    Effect.CHANGE,
    build=_reload_cmd,
    judge=exit_ok,
    args=[
        ArgSpec(
            "module",
            "enum",
            "stat: nlserver stat -reload; any other: config -reload",
            required=True,
            choices=MODULE.choices,
        )
    ],
)
