"""Web probes without a host: r_test (on Tomcat and through the front web server), logon_page and soap_logon
on Adobe's samples (tests/fixtures/adobe), what an empty answer is (a blank page only with HTTP 200), the
opt-in SOAP Logon's secret handling, web_sessions on an unknown pdump -who layout, and the web and
trackinglogd playbooks: nothing is restarted for /r/test or a blank page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host
from runner.outcomes import Verdict
from runner.plan import build
from runner.playbook import load_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
HOST = Host("prod1", (), {"instance": "prod", "address": "10.0.0.5", "web_port": 8080}, "inv.yml:3")
FRONT = {"via": "front"}
CTX = Context(HOST)
OPERATOR = Host("prod1", (), {**HOST.vars, "soap_probe_login": "monitoring"}, "inv.yml:3")
SECRET = "s3cret-m0nitoring&<pw>"
# Inferred (Adobe shows none): what Tomcat prints when the Java integration is broken.
TOMCAT_ERROR = (
    "<html><head><title>Apache Tomcat/7.0.99 - Error report</title></head><body><h1>HTTP Status 500 - </h1>"
    "<pre>java.lang.UnsatisfiedLinkError: no nlsrvjni in java.library.path</pre></body></html>"
)


def samples(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["samples"])


def judge(name: str, args: dict[str, Any], out: str, rc: int = 0, err: str = "", ctx: Context = CTX) -> Verdict:
    return ACTIONS[name].judge(args, ctx, out, err, rc)


def http(body: str, status: int = 200, location: str = "") -> str:
    return f"{body}\n@@http {status} {location}".rstrip()


@pytest.mark.parametrize("sample", samples("r-test.yml"), ids=lambda s: s["note"][:40])
def test_r_test_reads_adobes_answers(sample: dict[str, Any]) -> None:
    verdict = judge("r_test", {}, http(sample["sample"]))
    if sample.get("valid") is False:
        assert verdict.undetermined, verdict  # not Adobe's shape: cannot decide, never a restart
    elif sample["expect"]["ok"]:
        assert verdict.passed, verdict
    else:
        assert verdict.failed and sample["expect"]["status"] in verdict.message


def test_r_test_command_and_no_answer() -> None:
    assert ACTIONS["r_test"].build({}, CTX) == (
        "curl -sS -m 5 -o - -w '\\n@@http %{http_code} %{redirect_url}' http://10.0.0.5:8080/r/test"
    )
    refused = judge("r_test", {}, "\n@@http 000 ", rc=7, err="curl: (7) Failed to connect to 10.0.0.5 port 8080")
    assert refused.failed and "does not answer" in refused.message


def test_r_test_through_the_front_web_server_is_its_own_check() -> None:
    """front_web_port (default 80: Apache/IIS with Campaign's module) and Tomcat's web_port, reported apart."""
    assert ACTIONS["r_test"].build(FRONT, CTX).endswith(" http://10.0.0.5:80/r/test")
    on_8081 = Context(Host("prod1", (), {**HOST.vars, "front_web_port": 8081}, "inv.yml:3"))
    assert ACTIONS["r_test"].build(FRONT, on_8081).endswith(" http://10.0.0.5:8081/r/test")
    ok = samples("r-test.yml")[0]["sample"]
    assert judge("r_test", FRONT, http(ok)).passed
    down = judge("r_test", FRONT, "\n@@http 000 ", rc=7, err="curl: (7) Failed to connect")
    assert down.failed and "front web server's configuration" in down.message and "nothing is restarted" in down.message
    assert down.data["via"] == "front"
    # Adobe: "If you do not obtain this result, check in your Web server configuration" - an error page fails
    bad_gateway = samples("r-test.yml")[6]["sample"]
    found = judge("r_test", FRONT, http(bad_gateway, 502))
    assert found.failed and "HTTP 502" in found.message and "failure-to-connect.md" in found.message
    assert judge("r_test", {}, http("<html>Not Found</html>", 404)).failed


def test_r_test_redirect_is_reported_as_a_redirect() -> None:
    moved = judge("r_test", FRONT, http("", 302, "https://10.0.0.5/r/test"))
    assert moved.undetermined and "redirect (HTTP 302 to https://10.0.0.5/r/test)" in moved.message
    assert judge("r_test", {}, http("<html>hello</html>", 200)).undetermined  # another shape: cannot decide


@pytest.mark.parametrize(
    ("status", "location", "said"),
    [
        (302, "https://10.0.0.5/nl/jsp/logon.jsp", "a redirect (HTTP 302 to https://10.0.0.5/nl/jsp/logon.jsp)"),
        (204, "", "no content"),
        (401, "", "an authentication or access refusal"),
    ],
)
def test_an_empty_answer_is_a_blank_page_only_with_http_200(status: int, location: str, said: str) -> None:
    """Adobe's blank page is the web module down behind Tomcat; an empty 302/204/401 is something else,
    reported as what it is (undetermined: never a reason to act)."""
    answer = judge("logon_page", {"finding": "blank"}, http("", status, location))
    assert answer.undetermined and said in answer.message and "not Adobe's blank page" in answer.message
    assert answer.data["answer"] == "empty" and answer.data["http_status"] == status
    assert judge("logon_page", {"finding": "java_error"}, http("", status, location)).passed
    blank = judge("logon_page", {"finding": "blank"}, http("", 200))
    assert blank.failed and "blank page (HTTP 200, empty)" in blank.message
    assert judge("logon_page", {"finding": "java_error"}, http("", 500)).undetermined


def test_logon_page_tells_a_blank_page_from_a_java_error() -> None:
    blank, java = {"finding": "blank"}, {"finding": "java_error"}
    page = http("<html><body><form action='/nl/jsp/logon.jsp'></form></body></html>")
    assert judge("logon_page", blank, page).passed and judge("logon_page", java, page).passed
    empty = http("", 200)
    assert judge("logon_page", blank, empty).failed and judge("logon_page", java, empty).passed
    error = http(TOMCAT_ERROR, 500)
    assert judge("logon_page", blank, error).passed
    found = judge("logon_page", java, error)
    assert found.failed and "Java integration" in found.message and found.data["answer"] == "java_error"
    down = ("\n@@http 000", 7, "curl: (7) Failed to connect")
    assert judge("logon_page", blank, *down).failed
    assert judge("logon_page", java, *down).undetermined  # nothing to judge the Java integration by
    # both findings send the very same command (one execution on the host)
    assert ACTIONS["logon_page"].build(blank, CTX) == ACTIONS["logon_page"].build(java, CTX)


def test_soap_logon_is_opt_in() -> None:
    with pytest.raises(Skip, match="soap_probe_login"):
        ACTIONS["soap_logon"].build({}, CTX)
    admin = Context(Host("prod1", (), {**HOST.vars, "soap_probe_login": "admin"}, "-"))
    with pytest.raises(ValueError, match="never admin"):
        ACTIONS["soap_logon"].build({}, admin)


def test_soap_logon_password_comes_from_a_redacted_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = Context(OPERATOR)
    monkeypatch.delenv("REMEDIATE_SOAP_PASSWORD", raising=False)
    with pytest.raises(Skip, match="REMEDIATE_SOAP_PASSWORD is not set"):
        ACTIONS["soap_logon"].build({}, ctx)
    monkeypatch.setenv("REMEDIATE_SOAP_PASSWORD", SECRET)
    command = ACTIONS["soap_logon"].build({}, ctx)
    # Adobe's request (soap-logon-request.yml), the values XML-escaped, sent on curl's stdin by printf
    assert "<urn:strLogin>monitoring</urn:strLogin>" in command
    assert "<urn:strPassword>s3cret-m0nitoring&amp;&lt;pw&gt;</urn:strPassword>" in command
    assert "'SOAPAction: xtk:session#Logon'" in command and "--data-binary @-" in command
    assert command.startswith("printf '%s' ") and command.endswith("http://10.0.0.5:8080/nl/jsp/soaprouter.jsp")
    # a variable the redactor would not hide is refused
    monkeypatch.setenv("MON_PW", "another-s3cret")
    other = Context(Host("prod1", (), {**OPERATOR.vars, "soap_probe_password_env": "MON_PW"}, "-"))
    with pytest.raises(ValueError, match="would not be redacted"):
        ACTIONS["soap_logon"].build({}, other)
    monkeypatch.setenv("REMEDIATE_SOAP_PASSWORD", "abc")  # shorter than the redactor's minimum
    with pytest.raises(ValueError, match="would not be redacted"):
        ACTIONS["soap_logon"].build({}, ctx)


def test_soap_logon_reads_adobes_faults_and_answers() -> None:
    ctx = Context(OPERATOR)
    for sample in samples("soap-fault.yml"):
        if sample.get("valid") is False:
            assert judge("soap_logon", {}, http(sample["sample"], 500), ctx=ctx).undetermined
            continue
        verdict = judge("soap_logon", {}, http(sample["sample"], 500), ctx=ctx)
        if "fault" in sample["expect"]:  # an answer without fault, and without a session token either
            assert verdict.undetermined, verdict
            continue
        assert verdict.failed, verdict
        refused = sample["expect"]["auth_refused"]
        assert (verdict.data.get("finding") == "authentication") is refused
        assert ("authentication finding" in verdict.message) is refused
    token = (
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' "
        "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'><SOAP-ENV:Body>"
        "<LogonResponse xmlns='urn:xtk:session'><pstrSessionToken xsi:type='xsd:string'>___ABC</pstrSessionToken>"
        "<pstrSecurityToken>@x</pstrSecurityToken></LogonResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    assert judge("soap_logon", {}, http(token), ctx=ctx).passed
    assert judge("soap_logon", {}, http(token.replace("___ABC", "")), ctx=ctx).undetermined
    assert judge("soap_logon", {}, "", rc=7, err="curl: (7) refused", ctx=ctx).failed


def test_web_sessions_never_reads_an_unknown_layout_as_no_session() -> None:
    old_layout = "12:00:00 >   Application server\nweb@default (28671) - 40.5 MB\nSessions: 0\n"
    assert judge("web_sessions", {}, old_layout).undetermined
    for sample in samples("pdump-who.yml"):
        verdict = judge("web_sessions", {}, sample["sample"])
        if sample.get("valid") is False:
            assert verdict.undetermined, sample["note"]
        else:
            assert verdict.passed and verdict.data["sessions"] is not None


def test_web_playbook_starts_web_when_down_and_restarts_only_on_request() -> None:
    """Adobe's remedy for a blank page is nlserver start web when web is not running (failure-to-connect.md);
    for /r/test, the web server's configuration. No check selects a restart: only --force does."""
    pb = load_module("web")
    steps = {s.id: s for s in pb.steps()}
    assert steps["web_running"].gate and steps["web_sessions"].inform
    assert steps["r_test_tomcat"].args == {"via": "tomcat"} and steps["r_test_front"].args == {"via": "front"}
    start = steps["start_web"].when
    assert start is not None and start.failed == ("web_running",)
    restart = steps["restart_web"].when
    assert restart is not None and restart.force and restart.failed == () and steps["restart_web"].interrupts
    assert restart.not_failed == ("java_integration",)
    every_when = [s.when for s in pb.remediation if s.when]
    findings = {"soap_logon", "r_test_tomcat", "r_test_front", "logon_page_served", "java_integration"}
    assert not any(findings & set(w.failed + w.passed) for w in every_when)
    text = (Path(pb.path)).read_text()
    assert "<strLogin>admin" not in text and "strPassword" not in text
    assert build(steps["soap_logon"], CTX).skip  # no logon probe without soap_probe_login


def test_inmail_playbook_restart_needs_a_reachable_pop3_server() -> None:
    pb = load_module("inMail")
    steps = {s.id: s for s in pb.steps()}
    assert steps["inmail_running"].gate
    assert steps["inmail_log_errors"].args["window_from"] == "popMailPeriodSec"
    restart = steps["restart_inmail"].when
    assert restart is not None and restart.not_failed == ("pop3_reachable",)
    assert "mailbox" not in " ".join(str(s.args) for s in pb.steps())


def test_trackinglogd_is_never_restarted_for_r_test() -> None:
    """/r/test is the web server's (failure-to-connect.md): trackinglogd restarts only for its own log errors."""
    pb = load_module("trackinglogd")
    steps = {s.id: s for s in pb.steps()}
    assert {"r_test_front", "r_test_tomcat"} <= set(steps)
    for step in pb.remediation:
        when = step.when
        assert when is not None
        assert not {"r_test_front", "r_test_tomcat", "web_running"} & set(when.failed + when.passed), step.id
    restart = steps["restart_trackinglogd"].when
    assert restart is not None and restart.failed == ("trackinglogd_log_errors",)
