"""Starting Campaign the way the site does: through its service manager, in the right account.

Adobe (production/using/usual-commands.md, "Restart services"; administration.md): with root access,
``/etc/init.d/nlserver6 start``, or from 20.1 ``systemctl start nlserver``; otherwise, in the Adobe
Campaign account, ``nlserver watchdog -svc -noconsole``. ``/etc/init.d/nlserver6 status`` (run as the
Campaign account) exits 0 when every process runs, 1 when one is missing, 2 when none runs, another value
on an error. Host var: ``service_manager`` (systemd | init | nlserver): the inventory's, else ``systemd`` where
the host's systemd has a unit ``nlserver`` (:mod:`runner.hostfacts`), else ``nlserver``.

Which account runs what: a service manager command (systemctl, the init script's start) is root's
(:attr:`runner.wire.Account.ROOT`); an ``nlserver`` command or the init script's status runs in the
Campaign account. Each action says which through its ``account``; the planner reaches that account
as :func:`runner.actions.base.become_for` says (``become``, ``campaign_user``) and sources the host's
``nlserver_env`` inside it.

Owns: ``watchdog_start``, ``start_listed`` and ``service_status``. Pure: no I/O.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from runner import campaign
from runner.actions.base import AccountRefused, ArgSpec, Context, Effect, Skip, action, become_for, exit_ok
from runner.actions.modules import stop_evidence
from runner.hold import EVERY
from runner.outcomes import Reading, Verdict
from runner.wire import Account

INIT_SCRIPT = "/etc/init.d/nlserver6"
SERVICE_START = {"systemd": "systemctl start nlserver", "init": f"{INIT_SCRIPT} start"}
FROM_MISSING = ArgSpec(
    "from", "check", "the monitor_missing check whose list of missing modules to start", required=True
)
STATUS_MARK = "@@initstatus"


def _watchdog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    manager = str(ctx.var("service_manager"))
    if manager == "nlserver":
        return f"{ctx.nlserver} watchdog -svc -noconsole"
    if manager not in SERVICE_START:
        raise Skip(f"service_manager {manager!r} is not one of systemd, init, nlserver")
    if ctx.host.var("service_manager") is None and ctx.facts.get("service_manager") == manager:
        try:  # the host's own unit chose systemctl: say so where root cannot be reached
            become_for(Account.ROOT, ctx)
        except AccountRefused as exc:
            raise AccountRefused(
                f"this host's systemd has a unit nlserver, so Campaign is started with {SERVICE_START[manager]} "
                f"(Adobe's advice from 20.1), which needs root: {exc}; or set service_manager: nlserver to start "
                "the watchdog in the Campaign account (the unit then stays inactive)"
            ) from None
    return SERVICE_START[manager]


def _watchdog_account(args: Mapping[str, Any], ctx: Context) -> Account:
    """The service as a whole is root's; ``nlserver watchdog`` runs in the Campaign account."""
    return Account.CAMPAIGN if str(ctx.var("service_manager")) == "nlserver" else Account.ROOT


action(
    "watchdog_start",
    "start the watchdog, which starts every enabled module, through the host's service_manager: "
    "systemctl start nlserver, /etc/init.d/nlserver6 start, or nlserver watchdog -svc -noconsole (become applies)",
    Effect.CHANGE,
    build=_watchdog_cmd,
    judge=exit_ok,
    account=_watchdog_account,
    touches=lambda args, ctx: (EVERY, *_named(args, ctx)),  # every enabled module; by name where a check listed them
    evidence=lambda _args, ctx: stop_evidence((), ctx),
    args=[
        ArgSpec(
            "from",
            "check",
            "a monitor_missing check whose list names the modules the watchdog would start (shown before asking)",
        )
    ],
    pages=("production/using/usual-commands.md", "production/using/administration.md"),
)


def _named(args: Mapping[str, Any], ctx: Context) -> list[str]:
    """The modules a ``from`` check listed as missing, to name what the watchdog would start; none when
    no check is named or it gave no list (the start still touches every enabled module)."""
    if "from" not in args:
        return []
    try:
        return _listed(args, ctx)
    except Skip:
        return []


def _listed(args: Mapping[str, Any], ctx: Context) -> list[str]:
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
    return names


def _start_listed_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return " && ".join(f"{ctx.nlserver} start {shlex.quote(n)}" for n in _listed(args, ctx))


action(
    "start_listed",
    "nlserver start each module a monitor_missing check listed (in the Campaign account, as become says)",
    Effect.CHANGE,
    build=_start_listed_cmd,
    judge=exit_ok,
    touches=lambda args, ctx: tuple(_listed(args, ctx)),
    evidence=lambda args, ctx: stop_evidence(_listed(args, ctx), ctx),
    args=[FROM_MISSING],
    pages=("production/using/usual-commands.md",),
)


def _status_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    found = f'{INIT_SCRIPT} status >/dev/null; echo "{STATUS_MARK} $?"'
    return f'if [ -x {INIT_SCRIPT} ]; then {found}; else echo "{STATUS_MARK} absent"; fi'


STATUS_MEANING = {0: "every process is running", 1: "a process is missing", 2: "no process is running"}


def _judge_status(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """Adobe's exit codes of ``/etc/init.d/nlserver6 status`` (administration.md)."""
    lines = [line for line in out.splitlines() if line.startswith(f"{STATUS_MARK} ")]
    if rc != 0 or len(lines) != 1:
        return Verdict(Reading.UNDETERMINED, f"{INIT_SCRIPT} status could not be read (exit {rc}): {err.strip()[:200]}")
    value = lines[0].split(" ", 1)[1].strip()
    if value == "absent":
        return Verdict(Reading.NOT_APPLICABLE, f"no {INIT_SCRIPT} on this host: its status is not a check here")
    code = int(value) if value.isdigit() else -1
    data = {"status_exit": code}
    if code == 0:
        return Verdict(Reading.PASSED, f"{INIT_SCRIPT} status: exit 0, {STATUS_MEANING[0]}", data)
    if code in STATUS_MEANING:
        return Verdict(Reading.FAILED, f"{INIT_SCRIPT} status: exit {code}, {STATUS_MEANING[code]}", data)
    return Verdict(Reading.UNDETERMINED, f"{INIT_SCRIPT} status: exit {value}, an error (administration.md)", data)


action(
    "service_status",
    "/etc/init.d/nlserver6 status, where the init script exists: exit 0 every process running, 1 one missing, "
    "2 none running (not applicable without the script)",
    Effect.READ,
    build=_status_cmd,
    judge=_judge_status,
    read_only=True,
    pages=("production/using/administration.md",),
)
