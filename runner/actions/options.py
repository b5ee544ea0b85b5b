"""Actions that read the instance's options (installation/using/configuring-campaign-options.md, "Tracking")
with ``getOption`` through ``nlserver javascript``: the tracking servers the instance contacts, probed with
``/r/test`` from its host, and the last consolidation of the tracking logs.

Adobe documents the options (NmsTracking_ServerUrlList "List of the URLs used to contact the tracking
servers", NmsTracking_ServerUrl, NmsTracking_LastConsolidation "Last time the tracking information has been
consolidated"), ``getOption`` (technotes/using/inbound-sms-wf.md) and ``formatDate`` with its codes
(delivery/using/formatting.md); how a list of URLs is separated is not shown (inferred: commas, semicolons or
white space, :func:`runner.campaign_formats.parse_tracking_servers`). Both actions only report: a tracking
server that does not answer is never a reason to restart anything.

Owns: the ``tracking_servers`` and ``tracking_consolidated`` actions (commands, judges, argument specs).
Pure: no I/O; the age is the difference of two dates the same server formats (its own clock and zone).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from typing import Any

from runner import campaign_formats
from runner.actions import querydef
from runner.actions.base import ArgSpec, Context, Effect, action, render
from runner.outcomes import Reading, Verdict

# Options Adobe documents (installation/using/configuring-campaign-options.md, "Tracking"), read with
# getOption (technotes/using/inbound-sms-wf.md). "Internal URL(s)" of the deployment wizard are the URLs the
# application server contacts the tracking servers by; "If you do not specify a URL, the tracking URL will be
# used by default" (installation/using/deploying-an-instance.md): NmsTracking_ServerUrl then.
SERVER_OPTIONS = ("NmsTracking_ServerUrlList", "NmsTracking_ServerUrl")
LAST_CONSOLIDATION = "NmsTracking_LastConsolidation"
OPTION = "@@opt"
MAX_SERVERS = 20
_CONSOLE = re.compile(r"^\d{2}:\d{2}:\d{2} >\s{1,3}")


def _option_script(names: tuple[str, ...]) -> str:
    """JavaScript printing each option between ``@@opt <name> begin`` and ``@@opt <name> end`` lines."""
    return " ".join(
        f'logInfo("{OPTION} {n} begin"); logInfo(getOption("{n}")); logInfo("{OPTION} {n} end");' for n in names
    )


def option_values(out: str) -> dict[str, str]:
    """The options a script of :func:`_option_script` printed (console prefixes removed), by name."""
    values: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for raw in out.splitlines():
        line = _CONSOLE.sub("", raw, count=1)
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == OPTION and parts[2] in ("begin", "end"):
            if parts[2] == "begin":
                current, lines = parts[1], []
            elif current == parts[1]:
                text = "\n".join(lines).strip()
                values[current] = "" if text in ("undefined", "null") else text
                current = None
            continue
        if current is not None:
            lines.append(line)
    return values


def _servers_part(args: Mapping[str, Any], ctx: Context) -> str:
    return _option_script(SERVER_OPTIONS)


def _servers_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    timeout = int(args.get("timeout", 5))
    read = ctx.snapshot(querydef.JAVASCRIPT, _servers_part(args, ctx))
    strip = "sed 's/^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] >  *//'"
    # The list (else the single URL), split on , ; and white space; each entry that is a plain URL gets
    # GET <url>/r/test, framed by @@server/@@done (the judge re-reads the option and checks every entry).
    block = "sed -n '/@@opt {0} begin$/,/@@opt {0} end$/p' | sed '1d;$d' | " + strip
    return (
        f"o=$( {read} ); rc=$?; printf '%s\\n' \"$o\"; [ $rc -eq 0 ] || exit 3; "
        f"v=$(printf '%s\\n' \"$o\" | {block.format(SERVER_OPTIONS[0])}); "
        f'[ -n "$(printf %s "$v" | tr -d " \\t\\n")" ] || '
        f"v=$(printf '%s\\n' \"$o\" | {block.format(SERVER_OPTIONS[1])}); "
        "set -f; n=0; for u in $(printf '%s\\n' \"$v\" | tr ',;' '  '); do "
        "printf '%s\\n' \"$u\" | grep -Eq '^https?://[][A-Za-z0-9.:-]+(/[A-Za-z0-9._~/-]*)?$' || continue; "
        f'n=$((n + 1)); [ "$n" -gt {MAX_SERVERS} ] && break; u=${{u%/}}; echo "@@server $u"; '
        f"curl -sS -m {timeout} -o - -w '\\n@@http %{{http_code}}\\n' \"$u/r/test\" 2>&1; "
        'echo "@@done $u"; done; exit 0'
    )


def _sections(out: str) -> dict[str, tuple[str, int]]:
    """Per probed server: (body, HTTP status; 0 when nothing answered) of its /r/test."""
    found: dict[str, tuple[str, int]] = {}
    current: str | None = None
    lines: list[str] = []
    for line in out.splitlines():
        if line.startswith("@@server "):
            current, lines = line[len("@@server ") :].strip(), []
        elif current is not None and line == f"@@done {current}":
            status = 0
            body = "\n".join(ln for ln in lines if not ln.startswith("@@http "))
            codes = [ln.split(" ", 1)[1].strip() for ln in lines if ln.startswith("@@http ")]
            if codes and codes[-1].isdigit():
                status = int(codes[-1])
            found[current], current = (body, status), None
        elif current is not None:
            lines.append(line)
    return found


def _server_reading(url: str, body: str, status: int) -> tuple[bool | None, str]:
    """(True answered OK / False did not / None cannot tell, what it answered)."""
    if status == 0:
        why = body.strip().splitlines()[-1][:160] if body.strip() else "no answer"
        return False, f"does not answer ({why})"
    try:
        answer = campaign_formats.parse_r_test(body)
    except campaign_formats.ParseError:
        if status >= 400:
            return False, f"answered HTTP {status}, not Adobe's <redir .../>"
        return None, f"answered HTTP {status} in another shape than Adobe's <redir .../>"
    if not answer.ok:
        return False, f"answered status={answer.status!r}"
    return True, f"answered status='OK' ({answer.local_host})"


def _judge_servers(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    values = option_values(out)
    if rc != 0 or any(name not in values for name in SERVER_OPTIONS):
        tail = (err.strip() or out.strip()).splitlines()[-2:]
        return Verdict(
            Reading.UNDETERMINED,
            f"cannot read the option {SERVER_OPTIONS[0]} through nlserver javascript: exit {rc}: "
            f"{' / '.join(tail)[:200]}",
        )
    name = SERVER_OPTIONS[0] if values[SERVER_OPTIONS[0]].strip() else SERVER_OPTIONS[1]
    try:
        urls = campaign_formats.parse_tracking_servers(values[name])
    except campaign_formats.ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"{exc}: the tracking servers cannot be told", {"option": name})
    if not urls:
        return Verdict(
            Reading.NOT_APPLICABLE,
            f"the instance names no tracking server ({SERVER_OPTIONS[0]} and {SERVER_OPTIONS[1]} are empty)",
        )
    sections = _sections(out)
    servers: dict[str, dict[str, Any]] = {}
    for url in urls[:MAX_SERVERS]:
        body, status = sections.get(url, ("", -1))
        ok, said = (None, "was not probed") if status == -1 else _server_reading(url, body, status)
        servers[url] = {"ok": ok, "http_status": max(status, 0), "answer": said}
    data = {"option": name, "servers": servers}
    down = [f"{u} {s['answer']}" for u, s in servers.items() if s["ok"] is False]
    unsure = [f"{u} {s['answer']}" for u, s in servers.items() if s["ok"] is None]
    good = [u for u, s in servers.items() if s["ok"]]
    if down:
        answering = f" (answering: {', '.join(good)})" if good else ""
        return Verdict(
            Reading.FAILED,
            f"tracking server(s) of {name} not answering /r/test from this host: {'; '.join(down)}{answering}. "
            "A change may have cut the connection to the servers behind the tracking alias "
            "(tracking-logs-issues.md): reported, nothing is restarted",
            data,
        )
    if unsure:
        return Verdict(Reading.UNDETERMINED, f"tracking server(s) of {name}: {'; '.join(unsure)}", data)
    return Verdict(Reading.PASSED, f"every tracking server of {name} answers /r/test: {', '.join(good)}", data)


action(
    "tracking_servers",
    "from the instance's host, GET /r/test through each URL of the option NmsTracking_ServerUrlList (else "
    "NmsTracking_ServerUrl), read with getOption through nlserver javascript; reported per server, never a "
    "reason to restart",
    Effect.READ,
    build=_servers_cmd,
    judge=_judge_servers,
    read_only=True,
    reads=(querydef.JAVASCRIPT,),
    part=_servers_part,
    args=[ArgSpec("timeout", "int", "curl's time limit per server, in seconds", default=5, minimum=1)],
    pages=("installation/using/configuring-campaign-options.md",),
)


def _consolidated_part(args: Mapping[str, Any], ctx: Context) -> str:
    fmt = campaign_formats.DATE_FORMAT
    return (
        _option_script((LAST_CONSOLIDATION,))
        + f' logInfo("{OPTION} dates begin"); logInfo(formatDate(getOption("{LAST_CONSOLIDATION}"), "{fmt}") + '
        f'"\\t" + formatDate(new Date(), "{fmt}")); logInfo("{OPTION} dates end");'
    )


def _consolidated_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return ctx.snapshot(querydef.JAVASCRIPT, _consolidated_part(args, ctx))


def _seconds(fields: tuple[int, int, int, int, int, int]) -> int:
    return calendar.timegm((*fields, 0, 0, 0))


def _judge_consolidated(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    max_age = int(render(str(args.get("max_age", "{tracking_max_age}")), ctx, quote=False))
    values = option_values(out)
    if rc != 0 or LAST_CONSOLIDATION not in values or "dates" not in values:
        tail = (err.strip() or out.strip()).splitlines()[-2:]
        return Verdict(
            Reading.UNDETERMINED,
            f"cannot read the option {LAST_CONSOLIDATION} through nlserver javascript: exit {rc}: "
            f"{' / '.join(tail)[:200]}",
        )
    if not values[LAST_CONSOLIDATION].strip():
        return Verdict(
            Reading.FAILED, f"{LAST_CONSOLIDATION} is empty: the tracking logs have never been consolidated", {}
        )
    last, _tab, now = values["dates"].partition("\t")
    try:
        age = _seconds(campaign_formats.parse_date_display(now)) - _seconds(campaign_formats.parse_date_display(last))
    except campaign_formats.ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"{LAST_CONSOLIDATION} {values[LAST_CONSOLIDATION]!r}: {exc}")
    age = max(age, 0)
    data = {"last_consolidation": last, "now": now, "age": age, "max_age": max_age}
    if age > max_age:
        return Verdict(
            Reading.FAILED,
            f"{LAST_CONSOLIDATION} is {last} ({age / 3600:.1f} h ago, more than tracking_max_age {max_age}s): "
            "the tracking logs have not been consolidated recently",
            data,
        )
    return Verdict(Reading.PASSED, f"{LAST_CONSOLIDATION} is {last} ({age // 60} min ago)", data)


action(
    "tracking_consolidated",
    "the option NmsTracking_LastConsolidation (read with getOption and formatDate through nlserver javascript, "
    "against the same server's formatDate(new Date())) is at most max_age seconds old",
    Effect.READ,
    build=_consolidated_cmd,
    judge=_judge_consolidated,
    read_only=True,
    reads=(querydef.JAVASCRIPT,),
    part=_consolidated_part,
    args=[
        ArgSpec(
            "max_age",
            "int",
            'seconds since the last consolidation, e.g. "{tracking_max_age}"',
            default="{tracking_max_age}",
            template=True,
            minimum=1,
        )
    ],
    pages=("installation/using/configuring-campaign-options.md", "workflow/using/about-technical-workflows.md"),
)
