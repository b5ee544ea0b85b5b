"""Actions on Campaign module processes: is it running (``nlserver pdump``, ``monitor -missing``,
``pdump -who``), and start / stop / restart / reload it (``nlserver start|stop|restart``, ``-reload``).
The watchdog and the service manager are in :mod:`runner.actions.service`.

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner import campaign
from runner.actions.base import ArgSpec, Context, Effect, Skip, action, exit_ok, snapshot
from runner.campaign_formats import ParseError
from runner.outcomes import Reading, Verdict

FLAGS = ("-verbose", "-noconsole", "-immediate")
MODULE = ArgSpec(
    "module",
    "enum",
    "the Campaign module (its process is <module>@<instance>, web@default, or watchdog)",
    required=True,
    choices=tuple(sorted(campaign.DAEMONS, key=str.lower)),
)
FLAG_ARG = ArgSpec("flags", "list[str]", "extra nlserver flags", default=[], choices=FLAGS)


# --- module state -------------------------------------------------------------------------------

# What a batch reads once for every step that reads it (runner.actions.base.Snapshot): each nlserver
# start loads the Campaign runtime on the host. ``pdump -who`` prints pdump's banner and process lines,
# then its Connections and Connection pool sections (production/using/usual-commands.md): a batch that
# reads it gives pdump's readers those lines, cut before "Connections".
PDUMP = "pdump"
MISSING = "missing"
PDUMP_WHO = "pdump_who"
CUT_WHO = "sed '/^[[:space:]]*Connections -/,$d'"
PDUMP_FAILED = "@@pdumpexit"  # a reader that goes on after pdump prints this and pdump's exit code when not 0
snapshot(PDUMP, lambda _parts, ctx: f"{ctx.nlserver} pdump")
snapshot(MISSING, lambda _parts, ctx: f"{ctx.nlserver} monitor -missing")
snapshot(PDUMP_WHO, lambda _parts, ctx: f"{ctx.nlserver} pdump -who", serves={PDUMP: CUT_WHO})


def _pdump_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    if args.get("module") and args["module"] != "watchdog":
        ctx.process(str(args["module"]))  # skip early when the instance is unknown
    return ctx.snapshot(PDUMP)


def read_pdump(text: str, rc: int, err: str) -> campaign.Pdump | Verdict:
    """pdump's answer parsed, or the undetermined verdict saying why it cannot be read."""
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"nlserver pdump failed (exit {rc}): {err.strip()[:200]}")
    try:
        return campaign.parse_pdump(text)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"cannot parse pdump output: {exc}")


def pid_in_pdump(process: str) -> str:
    """A shell filter: pdump's output on stdin, the pid of ``process`` (e.g. ``inMail@prod``) on stdout."""
    expression = rf"s/^{re.escape(process)} (\([0-9]*\)).*/\1/p"
    return f"sed -n {shlex.quote(expression)} | head -n 1"


MISSING_MARK = "@@missing"


def _running_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    """pdump, then monitor -missing: what runs, and what the configuration says should run and does not."""
    if args["module"] == "watchdog":
        return _pdump_cmd(args, ctx)
    ctx.process(str(args["module"]))
    return f"{ctx.snapshot(PDUMP)}; echo {MISSING_MARK} $?; {ctx.snapshot(MISSING)}"


def _judge_module_running(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """Running; enabled and not running (listed by monitor -missing); or not enabled on this host.

    A module that neither pdump shows nor monitor -missing lists is not enabled here (autoStart off, e.g.
    inMail and mta on a mid-sourced instance): reported, never started (monitoring-processes.md).
    """
    name = ctx.process(str(args["module"]))
    pdump_text, mark, missing_text = out.partition(f"{MISSING_MARK} ")
    pdump_rc = rc
    if mark:
        code, _nl, missing_text = missing_text.partition("\n")
        pdump_rc = int(code) if code.strip().isdigit() else -1
    dump = read_pdump(pdump_text, pdump_rc, err)
    if isinstance(dump, Verdict):
        return dump
    processes = [p.name for p in dump.processes]
    proc = dump.find(name)
    if proc is not None:
        return Verdict(
            Reading.PASSED,
            f"{name} running (pid {proc.pid}, {proc.memory_mb:g} MB)",
            {"pid": proc.pid, "processes": processes},
        )
    state = "pdump says No tasks" if dump.no_tasks else f"{name} is not in pdump"
    data = {"no_tasks": dump.no_tasks, "processes": processes}
    if not mark:  # watchdog: always expected where Campaign is installed
        return Verdict(Reading.FAILED, state, data)
    if rc != 0:
        return Verdict(
            Reading.UNDETERMINED,
            f"{state}, and nlserver monitor -missing failed (exit {rc}): {err.strip()[:200]}",
            data,
        )
    try:
        missing = campaign.parse_missing(missing_text)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"{state}, and monitor -missing cannot be read: {exc}", data)
    if name in missing:
        return Verdict(
            Reading.FAILED, f"{state}; monitor -missing lists it: enabled but not running", {**data, "missing": missing}
        )
    return Verdict(
        Reading.NOT_APPLICABLE,
        f"{name} is not enabled on this host: neither pdump nor monitor -missing lists it (not started)",
        {**data, "missing": missing},
    )


action(
    "module_running",
    "the module's process is listed by nlserver pdump; a module that monitor -missing does not list either is "
    "not enabled on this host (not applicable)",
    Effect.READ,
    build=_running_cmd,
    judge=_judge_module_running,
    args=[MODULE],
    read_only=True,
    settles=True,  # a module just started may not show in pdump yet
    reads=(PDUMP, MISSING),
    pages=("production/using/usual-commands.md", "production/using/monitoring-processes.md"),
)


def _judge_has_tasks(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    dump = read_pdump(out, rc, err)
    if isinstance(dump, Verdict):
        return dump
    if dump.no_tasks or not dump.processes:
        return Verdict(Reading.FAILED, "pdump says No tasks: no Campaign process is running", {"no_tasks": True})
    names = [p.name for p in dump.processes]
    return Verdict(Reading.PASSED, f"{len(names)} processes running", {"no_tasks": False, "processes": names})


action(
    "processes_running",
    "nlserver pdump lists processes (not 'No tasks')",
    Effect.READ,
    build=_pdump_cmd,
    judge=_judge_has_tasks,
    read_only=True,
    reads=(PDUMP,),
    pages=("production/using/usual-commands.md",),
)


def _missing_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return ctx.snapshot(MISSING)


def _judge_missing(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"nlserver monitor -missing failed (exit {rc}): {err.strip()[:200]}")
    try:
        missing = campaign.parse_missing(out)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"cannot parse monitor output: {exc}", {"missing": []})
    if missing:
        return Verdict(Reading.FAILED, f"enabled but not running: {', '.join(missing)}", {"missing": missing})
    return Verdict(Reading.PASSED, "every enabled module is running", {"missing": []})


action(
    "monitor_missing",
    "nlserver monitor -missing lists no enabled module",
    Effect.READ,
    build=_missing_cmd,
    judge=_judge_missing,
    read_only=True,
    reads=(MISSING,),
    pages=("production/using/usual-commands.md", "production/using/monitoring-processes.md"),
)


def _who_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return ctx.snapshot(PDUMP_WHO)


def _judge_who(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """The connections and DB pool a web restart cuts, read in Adobe's layout (usual-commands.md).

    A layout this parser does not know is undetermined, never "0 sessions".
    """
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"nlserver pdump -who failed (exit {rc}): {err.strip()[:200]}")
    try:
        who = campaign.parse_who(out)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"cannot read pdump -who (not Adobe's layout): {exc}")
    sessions = [f"{c.login} from {c.ip} ({c.instance}, last access {c.last_access})" for c in who.connections]
    pool = [f"{p.datasource} as {p.login}" for p in who.pool]
    data = {"sessions": sessions, "pool": pool}
    desc = "; ".join(sessions) if sessions else "no connection in progress"
    tail = f" | DB pool: {', '.join(pool)}" if pool else ""
    return Verdict(Reading.PASSED, f"{len(sessions)} connection(s) a web restart would cut: {desc}{tail}", data)


action(
    "web_sessions",
    "nlserver pdump -who: the sessions and DB pool a web restart would cut",
    Effect.READ,
    build=_who_cmd,
    judge=_judge_who,
    read_only=True,
    reads=(PDUMP_WHO,),
    pages=("production/using/usual-commands.md",),
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


def _controlled(args: Mapping[str, Any], ctx: Context) -> tuple[str, ...]:
    return (ctx.process(str(args["module"])),)


EVIDENCE_LINES = 5


def stop_evidence(processes: Sequence[str], ctx: Context) -> str:
    """What the host says about how these modules came to stop: each one's last log lines (with their
    time: Campaign's log lines start with it) and whether the watchdog runs. Read-only.

    Logs: ``<var>/<instance>/log/<module>.log``, ``var/default/log/`` for the multi-instance modules
    (production/using/log-files.md); ``<var>`` is the ``var_dir`` host var where the inventory or the
    host sets one, else ``<nl6_root>/var``.
    """
    var = _var_dir(ctx)
    lines = []
    for process in processes:
        module, _sep, instance = process.partition("@")
        log = shlex.quote(f"{var}/{instance or 'default'}/log/{module}.log")
        lines.append(
            f"if [ -r {log} ]; then echo {shlex.quote(f'{process}: last lines of')} {log};"
            f" tail -n {EVIDENCE_LINES} {log}; else echo {shlex.quote(f'{process}: no log at')} {log}; fi"
        )
    lines.append(
        f"{ctx.nlserver} pdump 2>/dev/null | grep -E '^watchdog ' | sed 's/^/watchdog running: /'"
        " || echo 'watchdog: not in pdump'"
    )
    return "\n".join(lines)


def _var_dir(ctx: Context) -> str:
    try:
        return str(ctx.var("var_dir"))
    except Skip:
        return f"{ctx.var('nl6_root')}/var"


for _verb, _effect in (("start", Effect.CHANGE), ("stop", Effect.DISRUPT), ("restart", Effect.DISRUPT)):
    action(
        f"{_verb}_module",
        f"nlserver {_verb} <module>@<instance>",
        _effect,
        build=_control(_verb),
        judge=exit_ok,
        args=[MODULE, FLAG_ARG],
        touches=_controlled,
        evidence=(lambda args, ctx: stop_evidence(_controlled(args, ctx), ctx)) if _verb == "start" else None,
        pages=("production/using/usual-commands.md",),
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
    pages=("production/using/administration.md", "installation/using/email-deliverability.md"),
)
