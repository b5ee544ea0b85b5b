"""Module log actions: error lines a module wrote recently, read in Adobe's log line layout.

Owns: the ``log_errors`` action — its command (the host's clock, the instance config when the window comes
from it, and the log's last lines), its judge and its argument spec — and ``log_errors_since_start``, the
same counted only since the module's process started. Log lines are tab-separated: UTC timestamp with
``Z``, pid, thread, ``1``, level, category, message (production/using/log-files.md; parsed by
:func:`runner.campaign_formats.parse_log_line`). Pure: no I/O.
"""

from __future__ import annotations

import calendar
import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner import campaign_formats, errorcodes
from runner.actions.base import ArgSpec, Context, Effect, action, render
from runner.actions.modules import MODULE, PDUMP, PDUMP_FAILED, pid_in_pdump
from runner.campaign_formats import ParseError
from runner.outcomes import Reading, Verdict

WINDOWS = ("fixed", "popMailPeriodSec")
ERRORS = ("module", "database", "unfixable", "all")
# A database error in a module's log: a restart of the module cannot fix it. Its code is a database row of
# Adobe's code table (runner.errorcodes: PGS-220000 "PostgreSQL error", ODB-240000 "ODBC error", and their
# families), or Adobe's wording without a code: a log line "PostgreSQL error: ERROR: ... (iRc=-2006)"
# followed by "SQL order '...' was not executed. (iRc=-2006)" (migration/using/configuring-your-platform.md),
# and SOAP details "ODBC error: ..." (configuration/using/about-web-services.md). Only error-level lines
# count (ODB-240007 is logged as info).
DATABASE_WORDING = re.compile(r"\b(?:PostgreSQL|ODBC) error:|^SQL order '.*' was not executed", re.IGNORECASE)


def is_database_error(message: str) -> bool:
    """Whether a log line's message is a database error (a database code of the table, or Adobe's wording)."""
    text = message.strip()
    return any(map(errorcodes.is_database_code, errorcodes.find_codes(text))) or bool(DATABASE_WORDING.search(text))


def fixed_elsewhere(message: str) -> bool:
    """Whether a log line's message carries a code of Adobe's table whose page gives another fix than a
    restart (``restart_helps`` no). An unknown code is no such line: nothing is guessed about it."""
    return any(
        errorcodes.lookup(code) is not None and errorcodes.restart_helps(code) == "no"
        for code in errorcodes.find_codes(message)
    )


def codes_note(counts: Mapping[str, int], since: str) -> str:
    """``; codes since inMail started: PGS-220000 x2 (PostgreSQL error; a module restart cannot help)``, each
    code named with Adobe's meaning, or as unknown (``remediate triage CODE`` says why); empty without one."""
    if not counts:
        return ""
    named = []
    for code, count in counts.items():
        row = errorcodes.lookup(code)
        text = f"{code} x{count} ({row.meaning if row is not None else errorcodes.UNKNOWN}"
        if errorcodes.restart_helps(code) == "no":
            text += "; a module restart cannot help" if row is not None else "; a database error"
        named.append(text + ")")
    return f"; codes {since}: " + ", ".join(named)


WINDOW_ARGS = (
    ArgSpec("window", "int", "seconds back from now (window_from: fixed)", default=3600, template=True, minimum=1),
    ArgSpec(
        "window_from",
        "enum",
        "fixed: the window arg; popMailPeriodSec: periods x inMail/@popMailPeriodSec of config-<instance>.xml "
        "(300 s when absent)",
        default="fixed",
        choices=WINDOWS,
    ),
    ArgSpec(
        "periods", "int", "how many periods the window spans (window_from: popMailPeriodSec)", default=1, minimum=1
    ),
    ArgSpec("lines", "int", "how many last lines of the log to read", default=2000, minimum=1),
    ArgSpec(
        "errors",
        "enum",
        "module: error lines a restart of the module may answer (database errors, and lines with a code whose "
        "documented fix is not a restart, are left out and named); database: only database error lines (PGS-, "
        "ODB-: a problem no module restart fixes); unfixable: the lines a restart cannot fix (database errors and "
        "those codes); all: every one",
        default="module",
        choices=ERRORS,
    ),
)


def rotated(path: str) -> str | None:
    """Where Adobe's rotation moves a log (``<module>.log`` -> ``<module>_2.log``, log-files.md)."""
    return path[: -len(".log")] + "_2.log" if path.endswith(".log") else None


def read_command(
    path: str, lines: int, between: tuple[str, ...] = (), width: int | None = None, most: int | None = None
) -> str:
    """The host's clock (``date -u +%s``), the ``between`` parts, ``@@log``, then the last ``lines`` lines of
    the log — the rotated file's first, so a window that spans a rotation still sees every line in it; each
    line cut to ``width`` bytes and the whole to its last ``most`` bytes when given. Exit 2 naming the path
    when neither file can be read."""
    older = rotated(path)
    files = [f for f in (older, path) if f]
    unreadable = shlex.quote(f"cannot read {path}")  # the path is a host var: never raw in the command
    readable = " || ".join(f"[ -r {shlex.quote(f)} ]" for f in files)
    parts = [f"{{ {readable}; }} || {{ echo {unreadable} >&2; exit 2; }}", "date -u +%s", *between]
    tails = "; ".join(f"tail -n {lines} {shlex.quote(f)} 2>/dev/null" for f in files)
    cut = (f" | cut -b 1-{width}" if width else "") + (f" | tail -c {most}" if most else "")
    parts += ["echo @@log", f"{{ {tails}; }} | tail -n {lines}{cut}"]
    return "; ".join(parts)


def split_read(out: str) -> tuple[int | None, str, str]:
    """What :func:`read_command` printed: the host's clock (``None`` when it is not a number), the text
    between the clock and ``@@log``, and the log's lines."""
    head, _mark, log = out.partition("@@log\n")
    clock, _c, between = head.partition("\n")
    return (int(clock.strip()) if clock.strip().isdigit() else None), between, log


def _log_errors_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    """The host's clock, the config when the window comes from it, then the last lines of the log."""
    path = render(str(args["file"]), ctx, quote=False)
    between: tuple[str, ...] = ()
    if str(args.get("window_from", "fixed")) != "fixed":
        config = f"{ctx.var('nl6_root')}/conf/config-{ctx.var('instance')}.xml"
        between = ("echo @@config", f"cat {shlex.quote(config)} 2>/dev/null")
    return read_command(path, int(args.get("lines", 2000)), between)


_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")


def epoch(timestamp: str) -> float:
    """Seconds since the epoch of a log line's UTC timestamp (the host's clock is read on the host)."""
    match = _STAMP.match(timestamp)
    if match is None:
        raise ParseError(f"not a log timestamp: {timestamp!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float(f"0.{match.group(7)}") if match.group(7) else 0.0
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + fraction


def _judge_log_errors(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    path = render(str(args["file"]), ctx, quote=False)
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"cannot read {path}: {err.strip()[:200] or f'exit {rc}'}")
    head, _mark, log = out.partition("@@log\n")
    clock, _c, config = head.partition("@@config\n")
    if not clock.strip().isdigit():
        return Verdict(Reading.UNDETERMINED, f"cannot read the host's clock: {clock.strip()[:80]!r}")
    now = int(clock.strip())
    window = float(render(str(args.get("window", 3600)), ctx, quote=False))
    source = f"{window:g}s"
    if str(args.get("window_from", "fixed")) == "popMailPeriodSec":
        period = campaign_formats.POP_MAIL_PERIOD_DEFAULT
        if config.strip():
            try:
                period = campaign_formats.parse_instance_config(config).pop_mail_period
            except ParseError as exc:
                return Verdict(Reading.UNDETERMINED, f"cannot read the instance config for the polling period: {exc}")
        window = period * float(args.get("periods", 1))
        source = f"{window:g}s ({args.get('periods', 1)} x popMailPeriodSec {period}s)"
    since = now - window
    started_at = args.get("_since")  # set by log_errors_since_start: when the module's process started
    if started_at is not None and float(started_at) > since:
        since = float(started_at)
        source = f"{now - since:.0f}s (since {args.get('_since_of', 'the module')} started; the window is {source})"
    module_errors: list[str] = []
    database_errors: list[str] = []
    coded_errors: list[str] = []  # a code of Adobe's table whose page gives another fix than a restart
    codes: dict[str, int] = {}
    read = unreadable = 0
    for line in log.splitlines():
        if not line.strip():
            continue
        try:
            entry = campaign_formats.parse_log_line(line)
        except ParseError:
            unreadable += 1
            continue
        read += 1
        if entry.level == "error" and epoch(entry.timestamp) >= since:
            if is_database_error(entry.message):
                found = database_errors
            else:
                found = coded_errors if fixed_elsewhere(entry.message) else module_errors
            found.append(f"{entry.timestamp} {entry.message}"[:200])
            for code in errorcodes.find_codes(entry.message):
                codes[code] = codes.get(code, 0) + 1
    kind = str(args.get("errors", "module"))
    unfixable = database_errors + coded_errors
    errors = {"module": module_errors, "database": database_errors, "unfixable": unfixable}.get(
        kind, module_errors + unfixable
    )
    note = codes_note(codes, f"since {args['_since_of']} started" if started_at is not None else "in the window")
    data = {
        "errors": errors[-20:],
        "database_errors": database_errors[-20:],
        "unfixable_errors": unfixable[-20:],
        "codes": {code: _code_data(code, count) for code, count in codes.items()},
        "window": window,
        "lines_read": read,
        "lines_unreadable": unreadable,
    }
    if unreadable and not read:
        return Verdict(
            Reading.UNDETERMINED, f"{path}: no line in the documented log layout ({unreadable} unreadable)", data
        )
    if kind == "unfixable" and coded_errors:
        return Verdict(
            Reading.FAILED,
            f"{len(unfixable)} error line(s) in {path} in the last {source} that a module restart cannot fix "
            f"({len(database_errors)} database error(s); {len(coded_errors)} with a code whose documented fix is "
            f"not a restart: remediate triage CODE says what the page does), last: {unfixable[-1]}{note}",
            data,
        )
    if kind in ("database", "unfixable"):
        if database_errors:
            return Verdict(
                Reading.FAILED,
                f"database problem: {len(database_errors)} database error line(s) in {path} in the last {source} "
                f"(a module restart cannot fix them: check the database and the instance's data source), "
                f"last: {database_errors[-1]}{note}",
                data,
            )
        none = "database error" if kind == "database" else "error a module restart cannot fix (database or coded)"
        return Verdict(Reading.PASSED, f"no {none} in {path} in the last {source}{note}", data)
    aside = ""
    if kind == "module" and coded_errors:
        aside = (
            f" ({len(unfixable)} error line(s) left out: a restart cannot fix them; {len(database_errors)} database,"
            f" {len(coded_errors)} with a code whose documented fix is not a restart)"
        )
    elif kind == "module" and database_errors:
        aside = f" ({len(database_errors)} database error line(s) left out: a restart cannot fix them)"
    if errors:
        return Verdict(
            Reading.FAILED,
            f"{len(errors)} error line(s) in {path} in the last {source}{aside}, last: {errors[-1]}{note}",
            data,
        )
    what = "no error a restart could answer" if aside else "no error"
    return Verdict(Reading.PASSED, f"{what} in {path} in the last {source}{aside}{note}", data)


def _code_data(code: str, count: int) -> dict[str, Any]:
    row = errorcodes.lookup(code)
    return {
        "count": count,
        "meaning": row.meaning if row is not None else None,
        "page": row.page if row is not None else None,
        "restart_helps": errorcodes.restart_helps(code),
    }


action(
    "log_errors",
    "no error line in a module's log within a window (fixed, or periods of the instance's popMailPeriodSec); "
    "database errors (PGS-, ODB-) and lines with a code whose documented fix is not a restart are counted apart: "
    "a restart cannot fix them",
    Effect.READ,
    build=_log_errors_cmd,
    judge=_judge_log_errors,
    read_only=True,
    args=[
        ArgSpec("file", "template", "the log file, e.g. {nl6_root}/var/{instance}/log/inMail.log", required=True),
        *WINDOW_ARGS,
    ],
    pages=("production/using/log-files.md",),
)


# --- the same, counted only since the module's process started ------------------------------------

UPTIME = "@@uptime"


def _log_args(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k != "module"}


def _since_start_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    """The log_errors command, then when the module's process started, to the millisecond (from /proc:
    its start in clock ticks after boot, plus the boot time), so the window starts exactly there."""
    process = ctx.process(str(args["module"]))
    started = (
        "b=$(awk '/^btime/{print $2}' /proc/stat); t=$(getconf CLK_TCK); "
        'sed \'s/^.*) //\' "/proc/$p/stat" | awk -v b="$b" -v t="$t" \'{printf "%.3f\\n", b + $20 / t}\''
    )
    return (
        f"{_log_errors_cmd(_log_args(args), ctx)}; echo {UPTIME}; "
        f'd=$({ctx.snapshot(PDUMP)}) || {{ echo "{PDUMP_FAILED} $?"; exit 0; }}; '
        f"p=$(printf '%s\\n' \"$d\" | {pid_in_pdump(process)}); "
        f'[ -n "$p" ] && {{ {started}; }}; exit 0'
    )


def _judge_since_start(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    log_out, mark, started = out.rpartition(f"{UPTIME}\n")
    if not mark:
        return _judge_log_errors(_log_args(args), ctx, out, err, rc or 2)
    if started.startswith(PDUMP_FAILED):  # whether and since when the module runs is not known
        code = started[len(PDUMP_FAILED) :].strip()
        return Verdict(Reading.UNDETERMINED, f"nlserver pdump failed (exit {code}): when the module started is unknown")
    try:
        since = float(started.strip())
    except ValueError:  # the module is not running: every error in the window counts
        return _judge_log_errors(_log_args(args), ctx, log_out, err, rc)
    bounded = {**_log_args(args), "_since": since, "_since_of": ctx.process(str(args["module"]))}
    return _judge_log_errors(bounded, ctx, log_out, err, rc)


action(
    "log_errors_since_start",
    "log_errors, counting only error lines written since the module's process started (an error that a "
    "restart already answered is not a reason to restart again)",
    Effect.READ,
    build=_since_start_cmd,
    judge=_judge_since_start,
    read_only=True,
    reads=(PDUMP,),
    args=[
        ArgSpec("module", "enum", "the module whose start bounds the window", required=True, choices=MODULE.choices),
        ArgSpec("file", "template", "the log file, e.g. {nl6_root}/var/default/log/trackinglogd.log", required=True),
        *WINDOW_ARGS,
    ],
    pages=("production/using/log-files.md",),
)
