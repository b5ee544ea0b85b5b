"""The memory of a Campaign module's process against Adobe's thresholds, and ``nlserver monitor``'s indicators.

Adobe sets two thresholds on each module element of ``serverConf.xml`` (and the module's own config file):
``maxProcessMemoryWarningMb`` ("warning concerning the amount of RAM consumed (in Mb) by a given process",
default 1600) and ``maxProcessMemoryAlertMb`` (the alert, default 1800), installation/using/the-server-
configuration-file.md. ``nlserver pdump`` shows each process's memory (``web@default (28671) - 40.5 MB``,
the layout of Adobe's samples, ``runner.campaign.parse_pdump``). The host's own values come from the
settings read (:mod:`runner.hostfacts`, fact ``memory_thresholds``), Adobe's defaults otherwise.

Verdict: below the warning value passed; from the warning value up to the alert value passed with a
warning (:func:`runner.report.warning`: shown by ``remediate check`` and the monitoring outputs, never a
reason to act); from the alert value up failed. A check only: Adobe documents no remedy for memory, and
no playbook restarts a module for it. Each message carries the measured value for the outputs
(:func:`runner.report.measure`).

``nlserver monitor`` "lets you list a set of indicators on the Adobe Campaign modules and the system ... in an
easily processed XML format" (production/using/monitoring-processes.md): its ``<indicator>`` elements, read
as Adobe's cust_indicators.sh sample shows them (:func:`runner.campaign_formats.parse_monitor`), inform.

``/nl/jsp/ping.jsp`` "tests a complete query going through apache/tomcat/web module/database ... it returns an
"OK"" (monitoring-processes.md; its screenshot shows ``Ok`` and the time), called with the session token of a
monitoring operator (``ping_session_token``, default ``monitoring``). Adobe shows no other answer: any other
first line, or an HTTP error, fails; nothing is restarted for it.

Owns: the ``module_memory``, ``monitor_indicators`` and ``ping_jsp`` actions (Adobe's monitoring points).
Pure: no I/O.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from runner import campaign_formats
from runner.actions.base import ArgSpec, Context, Effect, action, render
from runner.actions.modules import MODULE, PDUMP, _pdump_cmd, read_pdump
from runner.actions.web import TIMEOUT, _no_answer, _redirect, probe_command, split_answer
from runner.campaign_formats import MEMORY_ALERT_MB, MEMORY_WARNING_MB, ParseError, memory_level, parse_monitor
from runner.outcomes import Reading, Verdict
from runner.report import measure, warning

METRIC = "process_memory_mb"


def thresholds(module: str, ctx: Context) -> tuple[int, int, str]:
    """(warning Mb, alert Mb, where they come from) for ``module`` on this host."""
    found = ctx.facts.get("memory_thresholds") or {}
    own = found.get(module) or {}
    warn, alert = own.get("warning"), own.get("alert")
    source = str(own.get("source") or "")
    if warn is None and alert is None:
        where = "Adobe's defaults"
    elif warn is None or alert is None:
        where = f"{source}; Adobe's default for the other"
    else:
        where = source
    return (
        int(warn) if warn is not None else MEMORY_WARNING_MB,
        int(alert) if alert is not None else MEMORY_ALERT_MB,
        where,
    )


def _judge(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    module = str(args["module"])
    name = ctx.process(module)
    dump = read_pdump(out, rc, err)
    if isinstance(dump, Verdict):
        return dump
    proc = dump.find(name)
    if proc is None:
        return Verdict(Reading.NOT_APPLICABLE, f"{name} is not in pdump: no memory to read", {"process": name})
    warn, alert, where = thresholds(module, ctx)
    level = memory_level(proc.memory_mb, warn, alert)
    value = measure(METRIC, name, proc.memory_mb, warning=warn, alert=alert)
    data = {"process": name, "memory_mb": proc.memory_mb, "warning_mb": warn, "alert_mb": alert, "level": level}
    if level == "alert":
        return Verdict(
            Reading.FAILED,
            f"{name} uses {proc.memory_mb:g} MB, at or above maxProcessMemoryAlertMb {alert} ({where}): an "
            f"alert; nothing is restarted for memory {value}",
            data,
        )
    if level == "warning":
        return Verdict(
            Reading.PASSED,
            warning(
                f"{name} uses {proc.memory_mb:g} MB, at or above maxProcessMemoryWarningMb {warn}, below "
                f"maxProcessMemoryAlertMb {alert} ({where}) {value}"
            ),
            data,
        )
    return Verdict(
        Reading.PASSED,
        f"{name} uses {proc.memory_mb:g} MB, below maxProcessMemoryWarningMb {warn} ({where}) {value}",
        data,
    )


action(
    "module_memory",
    "the memory nlserver pdump shows for the module's process against maxProcessMemoryWarningMb / "
    "maxProcessMemoryAlertMb (the host's serverConf.xml, else Adobe's 1600 / 1800): below the warning passed, "
    "from the warning a warning, from the alert failed; not running: not applicable",
    Effect.READ,
    build=_pdump_cmd,
    judge=_judge,
    args=[MODULE],
    read_only=True,
    reads=(PDUMP,),  # the batch's one pdump (runner.actions.base.Snapshot)
    pages=("installation/using/the-server-configuration-file.md", "production/using/usual-commands.md"),
)


# --- nlserver monitor's indicators ----------------------------------------------------------------------


def _monitor_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} monitor"


def _judge_monitor(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """The ``<indicator>`` elements of ``nlserver monitor``'s XML, each with its level (Adobe: the warning and
    alert "indicator is displayed when" the value reaches them). It informs: the values go to the outputs
    (Prometheus gauges); an indicator at its alert is named, and is no reason to act."""
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"nlserver monitor failed (exit {rc}): {err.strip()[:200]}")
    try:
        indicators = parse_monitor(out)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"cannot read nlserver monitor's XML: {exc}")
    parts = []
    for ind in indicators:
        if ind.current is None:
            parts.append(f"{ind.name}: {ind.display or 'no value'}")
            continue
        level = "" if ind.level == "ok" else f" ({ind.level.upper()})"
        value = measure(INDICATOR, ind.name, ind.current, warning=ind.warning, alert=ind.alert, max=ind.maximum)
        parts.append(f"{ind.name}: {ind.current:g}{level} {value}")
    levels = {ind.name: ind.level for ind in indicators}
    return Verdict(Reading.PASSED, f"{len(indicators)} indicator(s): " + "; ".join(parts), {"levels": levels})


INDICATOR = "monitor_indicator"

action(
    "monitor_indicators",
    "nlserver monitor's XML: each <indicator> (current, warning, alert, max values, as Adobe's cust_indicators.sh "
    "sample shows them) and its level, for the outputs; informs only",
    Effect.READ,
    build=_monitor_cmd,
    judge=_judge_monitor,
    read_only=True,
    pages=("production/using/monitoring-processes.md",),
)


# --- /nl/jsp/ping.jsp -----------------------------------------------------------------------------

PING_URLS = {
    "tomcat": "http://{address}:{web_port}/nl/jsp/ping.jsp",
    "front": "http://{address}:{front_web_port}/nl/jsp/ping.jsp",
}


def _ping_url(args: Mapping[str, Any], ctx: Context) -> str:
    """ping.jsp's URL with ``__sessiontoken=<ping_session_token>`` (Adobe's example: the monitoring operator)."""
    base = render(str(args.get("url") or PING_URLS[str(args.get("via", "tomcat"))]), ctx, quote=False)
    token = urllib.parse.quote(str(ctx.var("ping_session_token")), safe="")
    return f"{base}{'&' if '?' in base else '?'}__sessiontoken={token}"


def _ping_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return probe_command(_ping_url(args, ctx), int(args.get("timeout", 5)))


def _judge_ping(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """ping.jsp "tests a complete query going through apache/tomcat/web module/database ... If everything is
    working properly, it returns an "OK"" (production/using/monitoring-processes.md). Anything else is a
    finding about that chain (the database first: a database error is not fixed by restarting web)."""
    url = _ping_url(args, ctx)
    body, status, location = split_answer(out)
    data: dict[str, Any] = {"url": url, "http_status": status}
    if rc != 0 or status == 0:
        return Verdict(Reading.FAILED, f"ping.jsp: {_no_answer(url, err, rc)}", data)
    try:
        answer = campaign_formats.parse_ping(body)
    except ParseError as exc:
        if 300 <= status < 400:
            data["location"] = location
            return Verdict(Reading.UNDETERMINED, f"ping.jsp: {url} answered {_redirect(status, location)}", data)
        if status >= 400:
            return Verdict(Reading.FAILED, f"ping.jsp: {url} answered HTTP {status}, not OK: {exc}", data)
        return Verdict(
            Reading.UNDETERMINED, f"ping.jsp: {url} answered HTTP {status}, not its status line: {exc}", data
        )
    data.update(status=answer.status, detail=answer.detail[:200])
    if answer.ok and status == 200:
        return Verdict(
            Reading.PASSED,
            f"ping.jsp answered {answer.status} ({answer.detail[:60]}) through web and the database",
            data,
        )
    return Verdict(
        Reading.FAILED,
        f"ping.jsp answered {answer.status[:80]!r} (HTTP {status}){f': {answer.detail[:160]}' if answer.detail else ''}"
        ", not OK: the request through Tomcat, the web module and the database failed (look at the database "
        "first: restarting web does not fix a database error)",
        data,
    )


action(
    "ping_jsp",
    "GET /nl/jsp/ping.jsp?__sessiontoken=<ping_session_token> answers OK (a request through Tomcat, the web module "
    "and the database, production/using/monitoring-processes.md): no answer, an HTTP error or another first "
    "line fails, a redirect is undetermined",
    Effect.READ,
    build=_ping_cmd,
    judge=_judge_ping,
    read_only=True,
    args=[
        ArgSpec(
            "via",
            "enum",
            f"tomcat: the web module's Tomcat ({PING_URLS['tomcat']}); front: the front web server "
            f"({PING_URLS['front']})",
            default="tomcat",
            choices=tuple(PING_URLS),
        ),
        ArgSpec("url", "template", "the ping.jsp URL, when not the one via names (the session token is added)"),
        TIMEOUT,
    ],
    pages=("production/using/monitoring-processes.md",),
)
