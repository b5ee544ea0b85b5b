"""``remediate hold MODULE --host ... --reason TEXT [--until TIME]`` and ``remediate release MODULE``.

Owns: the two commands of an operator's hold (a module left alone on purpose: no run starts, restarts or
stops it, ``--force --yes`` included, until it is released or its ``--until`` passes), their options,
and their exit codes: 0 when every host holds (or released), else the run's code. The hold itself is
written on each host by :class:`runner.execute.Holds`; its format is :mod:`runner.hold`'s.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from runner import console, render
from runner.cli.auditlog import open_audit_log
from runner.cli.exits import fail
from runner.cli.frame import run_in_frame, run_options
from runner.cli.output import deliver, output_option
from runner.cli.selection import hosts_from_flags, module_names
from runner.outcomes import ExitCode, HostStatus


def _module(name: str) -> str:
    from runner.errors import InputError, did_you_mean

    known = module_names()
    if name not in known:
        raise InputError(
            f"unknown module {name!r}", where="MODULE", hint=did_you_mean(name, known, f"modules: {', '.join(known)}")
        )
    return name


def _run(module: str, flags: dict[str, Any], done: HostStatus, action: str) -> None:
    from runner import hold as holds
    from runner import sshconfig
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, Holds, RunConfig

    until = None
    try:
        _module(module)
        if action == "hold":
            if not (flags["reason"] or "").strip():
                raise InputError("a hold needs a reason", where="--reason", hint="e.g. --reason 'INC-7: bad send'")
            if flags["until"]:
                try:
                    until = holds.parse_until(flags["until"], datetime.now(UTC))
                except ValueError as exc:
                    raise InputError(
                        str(exc), where="--until", hint="30m, 2h, 1d, or an ISO 8601 time such as 2026-12-03T08:00"
                    ) from None
        hosts = hosts_from_flags(flags)
        sshconfig.check(hosts, flags["ssh_config"])
        log = open_audit_log(flags["audit_log"], hosts, flags["syslog"])
    except RemediateError as exc:
        fail(exc)
    log.listeners.append(console.Progress(render.FORMATS[flags["output"]].progress))
    config = RunConfig(forks=flags["forks"], reason=flags["reason"], ssh_config=flags["ssh_config"])
    started = {"action": action, "reason": flags["reason"], "until": until.isoformat() if until else None}

    def body() -> list[Any]:
        work = Holds(Engine(hosts, log, config))
        return work.place(module, flags["reason"], until) if action == "hold" else work.release(module, flags["reason"])

    outcomes, code = run_in_frame(log, module, hosts, False, started, body)
    if outcomes and all(o.status is done for o in outcomes):
        code = ExitCode.OK
    doc = render.RunDocument(log.run_id, module, False, outcomes, code)
    deliver(flags["output"], doc)
    sys.exit(code)


@click.command("hold")
@click.argument("module")
@run_options
@output_option(["text", "json"])
@click.option("--until", default=None, metavar="TIME", help="When the hold ends by itself: 30m, 2h, 1d or ISO 8601.")
def hold_cmd(module: str, **flags: Any) -> None:
    """Leave MODULE alone on the hosts: no run starts, restarts or stops it until released."""
    _run(module, flags, HostStatus.HELD, "hold")


@click.command("release")
@click.argument("module")
@run_options
@output_option(["text", "json"])
def release_cmd(module: str, **flags: Any) -> None:
    """Release an operator's hold on MODULE: runs may act on it again."""
    _run(module, flags, HostStatus.RELEASED, "release")
