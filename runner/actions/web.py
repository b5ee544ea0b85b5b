"""Web module probes, read as Adobe documents the answers: ``/r/test``, ``/nl/jsp/logon.jsp`` and the
opt-in ``xtk:session#Logon`` on ``/nl/jsp/soaprouter.jsp``.

Owns: the ``r_test``, ``logon_page`` and ``soap_logon`` actions (commands, judges, argument specs).
- ``/r/test`` answers ``<redir status='OK' .../>`` (production/using/monitoring-processes.md), read with
  :func:`runner.campaign_formats.parse_r_test`; another shape is undetermined, never a default.
- ``logon.jsp``: "a blank page" means the web module is not started; "a Tomcat Java error" means the Java
  integration (customer.sh) is broken (production/using/failure-to-connect.md). Two different findings:
  only the first is a module problem. What a Tomcat error page looks like is not shown by Adobe
  (inferred: Tomcat's error report, a Java exception name, or an HTTP 5xx with a body).
- The Logon probe runs only where the inventory names a monitoring operator (``soap_probe_login``, never
  admin: Adobe's netreport uses a dedicated monitoring operator, monitoring-processes.md); its password
  comes from the operator's environment variable named by ``soap_probe_password_env``, whose name must
  make it a secret the redactor hides (``runner.redact``). A refused login is an authentication finding.
Pure except for one read of the operator's environment (the probe's password); no other I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from runner import campaign_formats, redact
from runner.actions.base import ArgSpec, Context, Effect, Skip, action, render, xml_text
from runner.actions.network import curl_command, split_http
from runner.campaign_formats import ParseError
from runner.outcomes import Reading, Verdict

R_TEST_URL = "http://{address}:{web_port}/r/test"
LOGON_URL = "http://{address}:{web_port}/nl/jsp/logon.jsp"
SOAP_URL = "http://{address}:{web_port}/nl/jsp/soaprouter.jsp"
T = TypeVar("T")
TIMEOUT = ArgSpec("timeout", "int", "curl's time limit in seconds", default=5, minimum=1)

# Inferred (Adobe shows no Tomcat error page): Tomcat's error report, or a Java exception class name.
JAVA_ERROR = re.compile(
    r"Apache Tomcat[^<]*Error report|HTTP Status 5\d\d|\b(?:java|javax|org\.apache)\.[\w.$]*(?:Exception|Error)\b"
)


def _url(args: Mapping[str, Any], ctx: Context, default: str) -> str:
    return render(str(args.get("url") or default), ctx, quote=False)


def _no_answer(url: str, err: str, rc: int) -> str:
    return f"{url} does not answer: {err.strip()[:200] or f'curl exit {rc}'}"


def _read(
    url: str, shape: str, parse: Callable[[str], T], result: tuple[str, str, int], data: dict[str, Any]
) -> tuple[str, T] | Verdict:
    """The answer's body and ``parse(body)``; a failed verdict when nothing answers, undetermined when the
    answer is not ``shape``. Records the HTTP status in ``data``."""
    out, err, rc = result
    body, status = split_http(out)
    data["http_status"] = status
    if rc != 0 or status == 0:
        return Verdict(Reading.FAILED, _no_answer(url, err, rc), data)
    try:
        return body, parse(body)
    except ParseError as exc:
        return Verdict(Reading.UNDETERMINED, f"{url} answered HTTP {status}, not {shape}: {exc}", data)


# --- /r/test --------------------------------------------------------------------------------------


def _r_test_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return curl_command(_url(args, ctx, R_TEST_URL), int(args.get("timeout", 5)))


def _judge_r_test(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = _url(args, ctx, R_TEST_URL)
    data: dict[str, Any] = {"url": url}
    read = _read(url, "Adobe's <redir> element", campaign_formats.parse_r_test, (out, err, rc), data)
    if isinstance(read, Verdict):
        return read
    answer = read[1]
    data.update(status=answer.status, build=answer.build, local_host=answer.local_host)
    if not answer.ok:
        return Verdict(Reading.FAILED, f"{url} answered status={answer.status!r} (expected 'OK')", data)
    return Verdict(Reading.PASSED, f"{url} answered status='OK' (build {answer.build}, {answer.local_host})", data)


action(
    "r_test",
    "GET /r/test answers Adobe's <redir status='OK' .../> (another shape is undetermined)",
    Effect.READ,
    build=_r_test_cmd,
    judge=_judge_r_test,
    read_only=True,
    args=[ArgSpec("url", "template", f"the /r/test URL (default {R_TEST_URL})"), TIMEOUT],
)


# --- /nl/jsp/logon.jsp ----------------------------------------------------------------------------

FINDINGS = ("blank", "java_error")


def logon_answer(body: str, status: int) -> str:
    """What logon.jsp showed: ``no_answer``, ``blank``, ``java_error`` or ``page``."""
    if status == 0:
        return "no_answer"
    if not body.strip():
        return "blank"
    if JAVA_ERROR.search(body) or status >= 500:
        return "java_error"
    return "page"


def _logon_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return curl_command(_url(args, ctx, LOGON_URL), int(args.get("timeout", 5)))


def _judge_logon(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = _url(args, ctx, LOGON_URL)
    body, status = split_http(out)
    if rc != 0:
        status = 0
    seen = logon_answer(body, status)
    data = {"url": url, "http_status": status, "answer": seen, "body": body.strip()[:300]}
    if str(args["finding"]) == "blank":
        if seen == "no_answer":
            return Verdict(Reading.FAILED, f"{_no_answer(url, err, rc)} (the web module is not serving)", data)
        if seen == "blank":
            return Verdict(Reading.FAILED, f"{url} answered a blank page (HTTP {status}): the web module is down", data)
        return Verdict(Reading.PASSED, f"{url} answered a page (HTTP {status})", data)
    if seen == "no_answer":
        return Verdict(Reading.UNDETERMINED, f"{url} does not answer: the Java integration cannot be judged", data)
    if seen == "java_error":
        return Verdict(
            Reading.FAILED,
            f"{url} answered a Tomcat/Java error (HTTP {status}): check the Java integration in "
            f"nl6/customer.sh; restarting web does not fix it: {body.strip()[:160]!r}",
            data,
        )
    return Verdict(Reading.PASSED, f"{url} answered without a Tomcat/Java error (HTTP {status})", data)


action(
    "logon_page",
    "GET /nl/jsp/logon.jsp: finding blank fails on no answer or a blank page (web module down), finding "
    "java_error fails on a Tomcat/Java error page (broken Java integration)",
    Effect.READ,
    build=_logon_cmd,
    judge=_judge_logon,
    read_only=True,
    args=[
        ArgSpec("finding", "enum", "what this check looks for", required=True, choices=FINDINGS),
        ArgSpec("url", "template", f"the logon page URL (default {LOGON_URL})"),
        TIMEOUT,
    ],
)


# --- xtk:session#Logon (opt-in) -------------------------------------------------------------------

# Adobe's request (configuration/using/web-service-calls.md, "Call examples"), login and password filled.
LOGON_BODY = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:xtk:session">'
    "<soapenv:Header/><soapenv:Body><urn:Logon><urn:sessiontoken></urn:sessiontoken>"
    "<urn:strLogin>{login}</urn:strLogin><urn:strPassword>{password}</urn:strPassword>"
    "<urn:elemParameters></urn:elemParameters></urn:Logon></soapenv:Body></soapenv:Envelope>"
)
LOGON_HEADERS = ("Content-Type: text/xml; charset=utf-8", "SOAPAction: xtk:session#Logon")
TOKEN = re.compile(r"<(?:\w+:)?pstrSessionToken\b[^>]*>\s*[^<\s][^<]*</")


def probe_login(ctx: Context) -> str:
    """The monitoring operator the inventory names; Skip when none (the probe is opt-in)."""
    login = ctx.host.var("soap_probe_login")
    if login is None or not str(login).strip():
        raise Skip(f"host {ctx.host.name} sets no soap_probe_login: the SOAP Logon probe is opt-in, not sent")
    if str(login).strip().lower() == "admin":
        raise ValueError("soap_probe_login must be a monitoring operator, never admin")
    return str(login).strip()


def probe_password(ctx: Context) -> str:
    """The operator's password from the environment variable the inventory names, if the redactor hides it."""
    name = str(ctx.var("soap_probe_password_env"))
    password = os.environ.get(name)
    if not password:
        raise Skip(f"{name} is not set in the operator's environment: the SOAP Logon probe is not sent")
    if password not in redact.env_secrets() or len(password) < redact.MIN_SECRET:
        raise ValueError(
            f"{name} would not be redacted: its name must contain PASSWORD, SECRET or TOKEN and its value "
            f"be at least {redact.MIN_SECRET} characters"
        )
    return password


def _soap_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    login = probe_login(ctx)
    body = LOGON_BODY.format(login=xml_text(login), password=xml_text(probe_password(ctx)))
    return curl_command(_url(args, ctx, SOAP_URL), int(args.get("timeout", 10)), LOGON_HEADERS, body)


def _judge_soap(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = _url(args, ctx, SOAP_URL)
    login = probe_login(ctx)
    data: dict[str, Any] = {"url": url, "login": login}
    read = _read(url, "a SOAP envelope", campaign_formats.parse_soap_fault, (out, err, rc), data)
    if isinstance(read, Verdict):
        return read
    body, fault = read
    if fault is None:
        if TOKEN.search(body):
            return Verdict(
                Reading.PASSED, f"operator {login} logged on (xtk:session#Logon returned a session token)", data
            )
        return Verdict(
            Reading.UNDETERMINED, f"xtk:session#Logon for {login} returned neither a fault nor a session token", data
        )
    data.update(fault=fault.kind, faultstring=fault.string[:200], detail=fault.detail[:200])
    if fault.auth_refused:
        data["finding"] = "authentication"
        return Verdict(
            Reading.FAILED,
            f"the server refused operator {login}'s logon ({fault.detail[:120]}): an authentication finding "
            "(check the operator, its password and its security zone); restarting web does not fix it",
            data,
        )
    return Verdict(
        Reading.FAILED, f"xtk:session#Logon for {login} faulted ({fault.kind}): {fault.string} {fault.detail}", data
    )


action(
    "soap_logon",
    "opt-in: xtk:session#Logon of the inventory's monitoring operator (soap_probe_login; password from the "
    "operator's environment, never the inventory) returns a session token; skipped without soap_probe_login",
    Effect.READ,
    build=_soap_cmd,
    judge=_judge_soap,
    read_only=True,
    args=[
        ArgSpec("url", "template", f"the SOAP router URL (default {SOAP_URL})"),
        ArgSpec("timeout", "int", "curl's time limit in seconds", default=10, minimum=1),
    ],
)
