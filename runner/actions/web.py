"""Web module probes, read as Adobe documents the answers: ``/r/test``, ``/nl/jsp/logon.jsp`` and the
opt-in ``xtk:session#Logon`` on ``/nl/jsp/soaprouter.jsp``.

Owns: the ``r_test``, ``logon_page`` and ``soap_logon`` actions (commands, judges, argument specs);
``ping_jsp`` is in :mod:`runner.actions.memory`.
- ``/r/test`` answers ``<redir status='OK' .../>`` (production/using/monitoring-processes.md), read with
  :func:`runner.campaign_formats.parse_r_test`, on Tomcat (``web_port``) or through the front web server
  (``front_web_port``: Apache/IIS with Campaign's module, integration-into-a-web-server-for-linux.md), the
  two reported apart. Adobe's remedy for an answer that is not that element is "check in your Web server
  configuration that integration is taken into account" (failure-to-connect.md): a finding, never a
  restart. An error status (4xx/5xx) fails; a redirect or a 2xx in another shape is undetermined.
- ``logon.jsp``: "a blank page" means the web module is not started; "a Tomcat Java error" means the Java
  integration (customer.sh) is broken (production/using/failure-to-connect.md). Two different findings:
  only the first is a module problem. A blank page is an empty body with HTTP 200: an empty 302, 204 or
  401 is a redirect, no content or an authentication request, reported as what it is (undetermined).
  What a Tomcat error page looks like is not shown by Adobe (inferred: Tomcat's error report, a Java
  exception name, or an HTTP 5xx with a body).
- The Logon probe runs only where the inventory names a monitoring operator (``soap_probe_login``, never
  admin: Adobe's netreport uses a dedicated monitoring operator, monitoring-processes.md); its password
  comes from the operator's environment variable named by ``soap_probe_password_env``, whose name must
  make it a secret the redactor hides (``runner.redact``). A refused login is an authentication finding.
Pure except for one read of the operator's environment (the probe's password); no other I/O.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from runner import campaign_formats, redact
from runner.actions.base import ArgSpec, Context, Effect, Skip, action, render, xml_text
from runner.actions.network import curl_command, split_http
from runner.campaign_formats import ParseError
from runner.outcomes import Reading, Verdict

R_TEST_URL = "http://{address}:{web_port}/r/test"
R_TEST_URLS = {"tomcat": R_TEST_URL, "front": "http://{address}:{front_web_port}/r/test"}
# What each /r/test failure points at: Adobe's failure-to-connect.md for the front web server.
R_TEST_HINTS = {
    "tomcat": "the web module's Tomcat does not serve it (see the web playbook; nothing is restarted for /r/test)",
    "front": "check in the front web server's configuration that Campaign's integration is taken into account "
    "(failure-to-connect.md); it is not a Campaign module: nothing is restarted",
}
# curl's write-out: the status, and the target of a redirect (empty otherwise)
WRITE_OUT = r"\n@@http %{http_code} %{redirect_url}"
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


def probe_command(url: str, timeout: int) -> str:
    """``curl`` on the host: the body, then ``@@http <status> <redirect target>`` (:func:`split_answer`)."""
    if not re.match(r"^https?://[^\s'\"]+$", url):
        raise ValueError(f"invalid url {url!r}")
    return f"curl -sS -m {int(timeout)} -o - -w {shlex.quote(WRITE_OUT)} {shlex.quote(url)}"


def split_answer(out: str) -> tuple[str, int, str]:
    """(body, HTTP status, redirect target) from :func:`probe_command`'s output; status 0: no HTTP answer."""
    body, sep, tail = out.rpartition("\n@@http ")
    if not sep:
        return out, 0, ""
    code, _space, location = tail.strip().partition(" ")
    return body, int(code) if code.isdigit() else 0, location.strip()


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


def _r_test_url(args: Mapping[str, Any], ctx: Context) -> str:
    return _url(args, ctx, R_TEST_URLS[str(args.get("via", "tomcat"))])


def _r_test_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return probe_command(_r_test_url(args, ctx), int(args.get("timeout", 5)))


def _redirect(status: int, location: str) -> str:
    return f"a redirect (HTTP {status}{f' to {location}' if location else ''})"


def _judge_r_test(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    via = str(args.get("via", "tomcat"))
    url, hint = _r_test_url(args, ctx), R_TEST_HINTS[via]
    body, status, location = split_answer(out)
    data: dict[str, Any] = {"url": url, "via": via, "http_status": status}
    if rc != 0 or status == 0:
        return Verdict(Reading.FAILED, f"{_no_answer(url, err, rc)}: {hint}", data)
    try:
        answer = campaign_formats.parse_r_test(body)
    except ParseError as exc:
        if 300 <= status < 400:
            data["location"] = location
            return Verdict(
                Reading.UNDETERMINED,
                f"{url} answered {_redirect(status, location)}, not Adobe's <redir> element: not judged here",
                data,
            )
        if status >= 400:
            return Verdict(Reading.FAILED, f"{url} answered HTTP {status}, not Adobe's <redir .../>: {hint}", data)
        return Verdict(Reading.UNDETERMINED, f"{url} answered HTTP {status}, not Adobe's <redir> element: {exc}", data)
    data.update(status=answer.status, build=answer.build, local_host=answer.local_host)
    if not answer.ok:
        return Verdict(Reading.FAILED, f"{url} answered status={answer.status!r} (expected 'OK'): {hint}", data)
    return Verdict(Reading.PASSED, f"{url} answered status='OK' (build {answer.build}, {answer.local_host})", data)


action(
    "r_test",
    "GET /r/test answers Adobe's <redir status='OK' .../>, on Tomcat or through the front web server (reported "
    "apart, never a reason to restart): no answer, another status or an HTTP error fails, a redirect or another "
    "shape is undetermined",
    Effect.READ,
    build=_r_test_cmd,
    judge=_judge_r_test,
    read_only=True,
    args=[
        ArgSpec(
            "via",
            "enum",
            f"tomcat: the web module's Tomcat ({R_TEST_URLS['tomcat']}); front: the front web server "
            f"({R_TEST_URLS['front']})",
            default="tomcat",
            choices=tuple(R_TEST_URLS),
        ),
        ArgSpec("url", "template", "the /r/test URL, when not the one via names"),
        TIMEOUT,
    ],
    pages=("production/using/monitoring-processes.md", "production/using/failure-to-connect.md"),
)


# --- /nl/jsp/logon.jsp ----------------------------------------------------------------------------

FINDINGS = ("blank", "java_error")


def logon_answer(body: str, status: int) -> str:
    """What logon.jsp showed: ``no_answer``, ``blank`` (empty, HTTP 200: Adobe's blank page), ``empty``
    (empty with another status: a redirect, no content, an authentication request), ``java_error`` or
    ``page``."""
    if status == 0:
        return "no_answer"
    if not body.strip():
        return "blank" if status == 200 else "empty"
    if JAVA_ERROR.search(body) or status >= 500:
        return "java_error"
    return "page"


def _empty(status: int, location: str) -> str:
    """What an empty answer other than HTTP 200 is, in words."""
    if 300 <= status < 400:
        return f"{_redirect(status, location)}: the site's web server configuration"
    if status in (401, 403, 407):
        return "an authentication or access refusal of the web server"
    if status == 204:
        return "no content"
    return "an empty answer"


def _logon_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return probe_command(_url(args, ctx, LOGON_URL), int(args.get("timeout", 5)))


def _judge_logon(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = _url(args, ctx, LOGON_URL)
    body, status, location = split_answer(out)
    if rc != 0:
        status = 0
    seen = logon_answer(body, status)
    data = {"url": url, "http_status": status, "answer": seen, "body": body.strip()[:300]}
    if location:
        data["location"] = location
    if str(args["finding"]) == "blank":
        if seen == "no_answer":
            return Verdict(Reading.FAILED, f"{_no_answer(url, err, rc)} (the web module is not serving)", data)
        if seen == "blank":
            return Verdict(
                Reading.FAILED,
                f"{url} answered a blank page (HTTP 200, empty): Adobe's remedy is to start the web module when "
                "pdump does not list it (failure-to-connect.md)",
                data,
            )
        if seen == "empty":
            return Verdict(
                Reading.UNDETERMINED,
                f"{url} answered HTTP {status} with an empty body, {_empty(status, location)}: not Adobe's blank "
                "page (HTTP 200); nothing is done for it",
                data,
            )
        return Verdict(Reading.PASSED, f"{url} answered a page (HTTP {status})", data)
    if seen == "no_answer":
        return Verdict(Reading.UNDETERMINED, f"{url} does not answer: the Java integration cannot be judged", data)
    if seen == "empty" and status >= 500:
        return Verdict(
            Reading.UNDETERMINED, f"{url} answered HTTP {status} with an empty body: no error report to read", data
        )
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
    pages=("production/using/failure-to-connect.md",),
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
    pages=("configuration/using/web-service-calls.md",),
)
