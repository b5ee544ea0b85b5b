"""The simulator prints what Adobe's pages show: its real output goes through the runner's parsers."""

from __future__ import annotations

import urllib.request

from labtools import nl, poll

from lab import Lab
from lab.status import SOAP_LOGON
from runner.campaign import parse_console, parse_missing, parse_pdump, parse_who
from runner.campaign_formats import parse_r_test, parse_soap_fault


def _post(url: str, body: str, action: str = "xtk:session#Logon") -> tuple[int, str]:
    req = urllib.request.Request(url, data=body.encode(), headers={"SOAPAction": action})
    try:
        with urllib.request.urlopen(req, timeout=6) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_pdump_and_missing_parse(lab: Lab) -> None:
    dump = parse_pdump(nl(lab, "lab1", "pdump").stdout)
    assert not dump.no_tasks and {p.name for p in dump.processes} >= {"watchdog", "web@default", "wfserver@prod"}
    assert all(p.memory_mb > 0 for p in dump.processes)
    assert parse_missing(nl(lab, "lab1", "monitor", "-missing").stdout) == []


def test_pdump_who_lists_the_sessions_web_saw(lab: Lab) -> None:
    base = f"http://{lab.addr('lab1')}:8080"
    code, body = _post(f"{base}/nl/jsp/soaprouter.jsp", SOAP_LOGON.replace("admin", "monitoring"))
    assert code == 200 and parse_soap_fault(body) is None
    who = parse_who(nl(lab, "lab1", "pdump", "-who").stdout)
    assert {p.name for p in who.pdump.processes} >= {"watchdog", "web@default"}
    rows = [c for c in who.connections if c.login == "monitoring"]
    assert rows and rows[-1].ip.startswith("127.") and rows[-1].instance == "prod"
    assert [(p.datasource, p.login) for p in who.pool] == [("default", "lab1")]
    # a web restart cuts the sessions: none listed after it
    assert nl(lab, "lab1", "restart", "web@default").returncode == 0
    poll(lambda: "web@default" in nl(lab, "lab1", "pdump").stdout, timeout=10)
    assert parse_who(nl(lab, "lab1", "pdump", "-who").stdout).connections == []


def test_start_stop_console_lines_parse(lab: Lab) -> None:
    stop = parse_console(nl(lab, "lab1", "stop", "stat@prod").stdout)
    assert stop.stop_requested == ["stat@prod"] and len(stop.stopped_pids) == 1
    assert parse_missing(nl(lab, "lab1", "monitor", "-missing").stdout) == ["stat@prod"]
    start = parse_console(nl(lab, "lab1", "start", "stat@prod").stdout)
    assert start.started == ["stat@prod"] and start.server_started
    poll(lambda: "stat@prod" in nl(lab, "lab1", "pdump").stdout, timeout=10)


def test_r_test_and_soap_fault_parse(lab: Lab) -> None:
    with urllib.request.urlopen(f"http://{lab.addr('lab1')}:8080/r/test", timeout=5) as r:
        answer = parse_r_test(r.read().decode())
    assert answer.ok and answer.build == "9362" and answer.local_host == "lab1"
    code, body = _post(f"http://{lab.addr('lab1')}:8080/nl/jsp/soaprouter.jsp", "<x/>", "xtk:session#Nothing")
    fault = parse_soap_fault(body)
    assert code == 500 and fault is not None and fault.kind == "Client" and "xtk:session" in fault.string
