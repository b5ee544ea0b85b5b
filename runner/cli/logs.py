"""``remediate logs MODULE --host H``: a module's log on some hosts, read-only, with Adobe's message codes named.

Owns: the command's flags (the hosts as ``--host``/``--group``/``--limit``, ``--since``, ``--grep``,
``--errors``, ``--lines``, ``--output``), checking them before any host is touched (a bad ``--since`` or
``--grep``: exit 2), and its output: each line in Adobe's layout (production/using/log-files.md; parsed
by :func:`runner.campaign_formats.parse_log_line`), each message code with Adobe's meaning
(:mod:`runner.errorcodes`; unknown codes shown as unknown), colours only on a terminal without
``NO_COLOR``. Hosts are read in parallel (:func:`runner.execute.read_each`): first the host's own settings
when the inventory sets no ``var_dir`` (``XTK_VAR_DIR`` moves the logs, :mod:`runner.hostfacts`), then
the last lines of ``<module>_2.log`` and ``<module>.log`` (:func:`runner.actions.logs.read_command`:
rotation aware, each line and the whole bounded), in the Campaign account. Exit 0 when every host was
read, 3 when one could not be (named on stderr), 2 for bad input. Must not: write to a host, or keep an
audit record (it only looks).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from runner.cli.completion import complete_group, complete_host
from runner.cli.exits import fail
from runner.cli.output import output_option
from runner.console import Color, color_for, out
from runner.outcomes import ExitCode

WIDTH = 4000  # bytes kept of each log line
MOST = 8 * 1024 * 1024  # bytes kept of a host's lines (the last ones; a line cut at the start is unreadable)
LEVEL_COLOR = {"error": "red", "warning": "yellow"}


@dataclass
class HostLog:
    """What one host's log said, filtered: its lines (parsed, or raw when not in Adobe's layout)."""

    host: str
    path: str
    clock: int  # the host's clock when it was read (seconds since the epoch)
    lines: list[dict[str, Any]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    read: int = 0
    unreadable: int = 0


def _module(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A Campaign module that logs (``inMail``, any case); exit 2 naming them otherwise."""
    from runner import campaign

    names = sorted(campaign.DAEMONS, key=str.lower)
    found = next((name for name in names if name.lower() == value.lower()), None)
    if found is None:
        raise click.BadParameter(f"{value!r} is not a Campaign module; one of: {', '.join(names)}")
    return found


@click.command("logs")
@click.argument("module", metavar="MODULE", callback=_module)
@click.option("--host", "hosts", multiple=True, metavar="NAME", shell_complete=complete_host, help="Inventory host.")
@click.option(
    "--group", "groups", multiple=True, metavar="NAME", shell_complete=complete_group, help="Inventory group."
)
@click.option("-l", "--limit", default=None, metavar="PATTERN", help="Narrow the hosts to an Ansible host pattern.")
@click.option(
    "--since", default=None, help="Only lines since: 1h, 30m, 7d, 90s back from the host's clock, or an ISO time."
)
@click.option("--grep", "pattern", default=None, metavar="REGEX", help="Only lines matching this Python regex.")
@click.option("--errors", is_flag=True, help="Only error lines.")
@click.option(
    "--lines",
    "count",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="Last lines read on each host (of the log and its rotated file together).",
)
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None, help="Inventory file or directory.")
@click.option("--ssh-config", type=click.Path(path_type=Path), default=None, help="OpenSSH client config.")
@click.option("--forks", type=click.IntRange(1, 256), default=10, show_default=True, help="Hosts read in parallel.")
@output_option(["text", "json"])
def logs_cmd(**flags: Any) -> None:
    """A module's log on the hosts, read-only: lines in Adobe's layout, each message code named with Adobe's
    meaning (unknown codes as unknown) and whether a module restart can help."""
    from runner import auditview
    from runner.errors import InputError, RemediateError

    module = str(flags["module"])
    try:
        if flags["since"]:
            auditview.since_cutoff(flags["since"])  # checked here, applied on each host's clock
        grep = _compile(flags["pattern"])
        if not (flags["hosts"] or flags["groups"] or flags["limit"]):
            raise InputError("name the hosts to read", where="--host/--group/--limit", hint="nothing was read")
        targets = _targets(module, flags)
    except RemediateError as exc:
        fail(exc)
    logs, unread = _read(module, targets, flags)
    for log in logs.values():
        _filter(log, since=flags["since"], grep=grep, errors=flags["errors"])
    if flags["output"] == "json":
        doc = {
            "module": module,
            "hosts": [_host_json(log) for log in logs.values()],
            "unread": [{"host": h, "why": w} for h, w in sorted(unread.items())],
        }
        out(json.dumps(doc, indent=2))
    else:
        paint = color_for(sys.stdout)
        several = len(targets) > 1
        for log in logs.values():
            for line in log.lines:
                for text in _line_text(log.host if several else "", line, paint):
                    out(text)
        for log in logs.values():
            out(_summary(log), err=True)
    for host, why in sorted(unread.items()):
        out(f"remediate: {host}: not read: {why}", err=True)
    sys.exit(ExitCode.UNREACHABLE if unread else ExitCode.OK)


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    from runner.errors import InputError

    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(f"not a regular expression: {exc} in {pattern!r}", where="--grep") from None


@dataclass
class _Target:
    host: Any  # runner.inventory.Host
    ctx: Any  # runner.actions.Context
    become: Any  # runner.wire.Become


def _targets(module: str, flags: dict[str, Any]) -> list[_Target]:
    """Each selected host with how its session reaches the Campaign account; every refusal (a host, an
    OpenSSH config, an account) before any host is touched."""
    from runner import sshconfig
    from runner.actions import Context, Skip, become_for
    from runner.cli.selection import hosts_from_inventory, load_inventory
    from runner.errors import InputError
    from runner.wire import Account

    inv = load_inventory(flags["inventory"])
    hosts = hosts_from_inventory(inv, flags["hosts"], flags["groups"], flags["limit"])
    sshconfig.check(hosts, flags["ssh_config"])
    targets = []
    for host in hosts:
        ctx = Context(host)
        ctx.ssh_user = sshconfig.resolve(host, sshconfig.config_path(host, flags["ssh_config"])).user
        try:
            ctx.process(module)  # a per-instance module on a host with no instance var: refused
            become = become_for(Account.CAMPAIGN, ctx)  # AccountRefused says what to set
        except Skip as exc:
            raise InputError(str(exc), where=host.name) from None
        targets.append(_Target(host, ctx, become))
    return targets


def _log_path(module: str, ctx: Any) -> str:
    """``<var>/<instance>/log/<module>.log``; ``var/default/log/`` for the multi-instance modules and the
    watchdog (production/using/log-files.md); ``<var>``: the ``var_dir`` var (the inventory's, else the
    host's XTK_VAR_DIR, else ``<nl6_root>/var``)."""
    _module, _sep, instance = ctx.process(module).partition("@")
    return f"{ctx.var('var_dir')}/{instance or 'default'}/log/{module}.log"


def _read(module: str, targets: list[_Target], flags: dict[str, Any]) -> tuple[dict[str, HostLog], dict[str, str]]:
    """Read the log on each host (its settings first where the inventory does not say where var/ is)."""
    from runner import hostfacts
    from runner.actions.logs import read_command
    from runner.execute import RunConfig, read_each
    from runner.wire import as_sent, run_as

    config = RunConfig(ssh_config=flags["ssh_config"], forks=flags["forks"])
    by_name = {t.host.name: t for t in targets}
    unread: dict[str, str] = {}
    ask = [t.host for t in targets if t.host.var("var_dir") is None]

    def settings_script(host: Any) -> str:
        script = hostfacts.script(str(by_name[host.name].ctx.var("nl6_root")), host.instance)
        return as_sent(script, host, by_name[host.name].become)

    for name, result in read_each(ask, settings_script, config).items():
        if isinstance(result, str):
            unread[name] = result
            continue
        ctx = by_name[name].ctx
        found = hostfacts.parse(result.stdout, nl6_root=str(ctx.var("nl6_root")), instance=ctx.host.instance)
        moved = [p for p in found.problems if "XTK_VAR_DIR" in p]
        if f"{hostfacts.MARK} env" not in result.stdout or moved:
            why = "; ".join(moved) or (result.stderr.strip() or f"exit {result.exit_code}")[-200:]
            unread[name] = f"the host's settings could not be read ({why}): where its logs are is not known"
        ctx.facts = found.values
    ready = [t for t in targets if t.host.name not in unread]
    paths = {t.host.name: _log_path(module, t.ctx) for t in ready}

    def command(host: Any) -> str:
        return run_as(read_command(paths[host.name], flags["count"], width=WIDTH, most=MOST), by_name[host.name].become)

    logs: dict[str, HostLog] = {}
    for name, result in read_each([t.host for t in ready], command, config).items():
        if isinstance(result, str):
            unread[name] = result
        elif result.exit_code != 0:
            unread[name] = (result.stderr.strip() or f"exit {result.exit_code}")[-300:]
        else:
            log = _parse(name, paths[name], result.stdout)
            if log is None:
                unread[name] = f"cannot read the host's clock before {paths[name]}"
            else:
                logs[name] = log
    return {t.host.name: logs[t.host.name] for t in targets if t.host.name in logs}, unread


def _parse(host: str, path: str, stdout: str) -> HostLog | None:
    """Every line read, parsed where it has Adobe's layout; ``None`` when the clock cannot be read."""
    from runner import errorcodes
    from runner.actions.logs import split_read
    from runner.campaign_formats import ParseError

    clock, _between, text = split_read(stdout)
    if clock is None:
        return None
    log = HostLog(host, path, clock)
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            entry, codes = errorcodes.in_log_line(raw)
        except ParseError:
            log.lines.append({"raw": raw, "codes": [(c, errorcodes.lookup(c)) for c in errorcodes.find_codes(raw)]})
            continue
        log.lines.append(
            {
                "timestamp": entry.timestamp,
                "pid": entry.pid,
                "thread": entry.thread,
                "level": entry.level,
                "category": entry.category,
                "message": entry.message,
                "codes": codes,
            }
        )
    return log


def _filter(log: HostLog, *, since: str | None, grep: re.Pattern[str] | None, errors: bool) -> None:
    """Keep the lines since the cutoff (on the host's clock), matching ``grep``, errors only; count the
    kept lines' codes. A line not in Adobe's layout has no time and no level: only an unfiltered read or
    ``--grep`` alone keeps it."""
    from runner import auditview
    from runner.actions.logs import epoch

    now = datetime.fromtimestamp(log.clock, UTC)
    cutoff = auditview.since_cutoff(since, now).timestamp() if since else None
    kept = []
    for line in log.lines:
        if "raw" in line:
            log.unreadable += 1
            if cutoff is not None or errors or (grep is not None and not grep.search(line["raw"])):
                continue
        else:
            if errors and line["level"] != "error":
                continue
            if cutoff is not None and epoch(line["timestamp"]) < cutoff:
                continue
            if grep is not None and not grep.search(line["message"]):
                continue
        kept.append(line)
        for code, _row in line["codes"]:
            log.codes[code] = log.codes.get(code, 0) + 1
    log.read = len(log.lines)
    log.lines = kept


def _code_json(code: str, row: Any) -> dict[str, Any]:
    from runner import errorcodes

    return {
        "code": code,
        "known": row is not None,
        "meaning": row.meaning if row is not None else None,
        "page": f"help/{row.page}" if row is not None else None,
        "restart_helps": errorcodes.restart_helps(code),
    }


def _host_json(log: HostLog) -> dict[str, Any]:
    from runner import errorcodes

    lines = [{**line, "codes": [_code_json(c, r) for c, r in line["codes"]]} for line in log.lines]
    codes = {code: {**_code_json(code, errorcodes.lookup(code)), "count": n} for code, n in log.codes.items()}
    return {
        "host": log.host,
        "file": log.path,
        "lines_read": log.read,
        "lines_unreadable": log.unreadable,
        "lines": lines,
        "codes": codes,
    }


def _line_text(host: str, line: dict[str, Any], paint: Color) -> list[str]:
    """One log line in columns (time, level, message), then each of its codes with Adobe's meaning."""
    from runner import errorcodes

    lead = f"{host}  " if host else ""
    if "raw" in line:
        text = line["raw"]
    else:
        level = paint(f"{line['level']:<7}", fg=LEVEL_COLOR.get(line["level"]))
        text = f"{line['timestamp']}  {level}  {line['message']}"
    for code, _row in line["codes"]:
        text = text.replace(code, paint(code, fg="magenta", bold=True))
    shown = [lead + text]
    for code, row in line["codes"]:
        helps = errorcodes.restart_helps(code)
        note = "" if helps == "unknown" else f"; restart helps: {helps}"
        meaning = row.meaning if row is not None else errorcodes.UNKNOWN
        shown.append(f"{lead}{'':<26}{paint('^', fg='magenta')} {code}: {meaning}{note}")
    return shown


def _summary(log: HostLog) -> str:
    from runner.actions.logs import codes_note

    shown = f"{len(log.lines)} of {log.read} line(s) shown"
    odd = f", {log.unreadable} not in Adobe's layout" if log.unreadable else ""
    return f"{log.host}: {log.path} (and its rotated _2.log): {shown}{odd}{codes_note(log.codes, 'shown')}"
