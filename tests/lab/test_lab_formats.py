"""The simulator prints what Adobe's pages show: its real output goes through the runner's parsers."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

from labtools import nl, poll

from lab import Lab
from lab.base import MONITORING_LOGIN
from lab.status import SOAP_LOGON, logon_body
from runner import hostfacts
from runner.actions.web import LOGON_BODY
from runner.campaign import parse_console, parse_missing, parse_pdump, parse_who
from runner.campaign_formats import is_redir_line, parse_log_line, parse_r_test, parse_soap_fault


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
    code, body = _post(f"{base}/nl/jsp/soaprouter.jsp", logon_body(MONITORING_LOGIN, lab.monitoring_password()))
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


def test_only_the_monitoring_operator_logs_on(lab: Lab) -> None:
    path = lab.dir / "monitoring.password"
    password = lab.monitoring_password()
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().strip() == password and len(password) >= 16
    url = f"http://{lab.addr('lab2')}:8080/nl/jsp/soaprouter.jsp"
    # the runner's request (urn: prefixed parameters) with the operator's password: a session token
    code, body = _post(url, LOGON_BODY.format(login=MONITORING_LOGIN, password=password))
    assert code == 200 and parse_soap_fault(body) is None and "pstrSessionToken" in body
    refused = [
        SOAP_LOGON,  # admin, no password
        logon_body("admin", password),
        logon_body(MONITORING_LOGIN, ""),
        logon_body(MONITORING_LOGIN, password + "x"),
        LOGON_BODY.format(login="", password=""),
    ]
    for request in refused:
        code, body = _post(url, request)
        fault = parse_soap_fault(body)
        assert code == 500 and fault is not None and fault.auth_refused and fault.kind == "Client", body
        assert fault.detail == "Invalid login or password. Connection denied."
        assert fault.string == "Error while reading parameters of method 'Logon' of service 'xtk:session'."
    # the second instance's database knows the operator too
    code, _ = _post(url, logon_body(MONITORING_LOGIN, password))
    assert code == 200 and lab.psql("SELECT sName FROM XtkOperator", db="campaign_lab2_prod2") == MONITORING_LOGIN


def _lines(lab: Lab, host: str) -> list[bytes]:
    d = lab.hdir(host) / "nl6/var/prod/redir/log"
    return [ln for p in sorted(d.glob("0x*.log")) for ln in p.read_bytes().split(b"\n") if ln]


def test_opens_and_clicks_write_adobe_tracking_lines(lab: Lab) -> None:
    before = _lines(lab, "lab1")
    time.sleep(3)
    assert _lines(lab, "lab1") == before  # a quiet host writes nothing
    assert lab.click("lab1", 2, 0x1A, 3, "h") == 302
    assert lab.click("lab1", 2, 0x1A, 1, "o") == 200
    new = poll(lambda: (n := _lines(lab, "lab1")[len(before) :]) and len(n) == 2 and n, timeout=5)
    assert all(is_redir_line(ln) for ln in new)
    fields = new[0].split(b"\t")
    assert fields[2:5] == [b"2", b"1a", b"3"] and fields[7] == b"h" and new[1].split(b"\t")[7] == b"o"
    r = nl(lab, "lab1", "tracking", "-instance:prod", "-download", "-update")
    assert r.returncode == 0, r.stderr
    rows = lab.psql(
        "SELECT count(*) FROM NmsTrackingLogRcp WHERE iRecipientId=26 AND iDeliveryId=2", db="campaign_lab1"
    )
    assert rows == "2"


def test_redir_corrupt_line_is_corrupted_by_adobes_expression(lab: Lab) -> None:
    lab.break_("lab2", "redir_corrupt")
    try:
        bad = [ln for ln in _lines(lab, "lab2") if not is_redir_line(ln)]
        assert len(bad) == 1 and b"\x00" in bad[0]
    finally:
        lab.heal("lab2")
    assert all(is_redir_line(ln) for ln in _lines(lab, "lab2"))


def test_inmail_polls_the_pop3_mailbox_and_logs_in_adobes_layout(lab: Lab) -> None:
    log = lab.hdir("lab1") / "nl6/var/prod/log/inMail.log"
    lines = [parse_log_line(ln) for ln in log.read_text().splitlines()]
    assert any("POP3 session opened on 'lab1-prod@" in ln.message for ln in lines)
    assert all(ln.pid and ln.timestamp.endswith("Z") for ln in lines)
    assert not (lab.hdir("lab1") / "nl6/var/prod/inmail").exists()  # no local mailbox: POP3 only


BANNER = re.compile(
    r"^\d\d:\d\d:\d\d >   Application server for Adobe Campaign Classic \(7\.\d[^)]*\) of \d\d/\d\d/\d{4}$"
)


def test_every_nlserver_command_starts_with_adobes_banner(lab: Lab, tmp_path: Path) -> None:
    """pdump, monitor, start and stop print Adobe's banner first on Adobe's pages (usual-commands.md,
    installing-packages-with-linux.md); the lab prints it first on every command, as the one binary does."""
    script = lab.hdir("lab1") / "run" / "banner-test.js"
    lab.write(script, 'logInfo("hello")\n')
    commands = [
        ["pdump"],
        ["pdump", "-who"],
        ["monitor", "-missing"],
        ["start", "syslogd@default"],  # already running: a warning, after the banner
        ["config", "-reload"],
        ["stat", "-reload"],
        ["javascript", "-instance:prod", "-file", str(script)],
        ["tracking", "-instance:prod", "-download", "-update"],
        ["nosuchcommand"],
    ]
    for args in commands:
        res = nl(lab, "lab1", *args)
        first = res.stdout.splitlines()[0] if res.stdout else ""
        assert BANNER.match(first), (args, res.stdout[:200], res.stderr[:200])
        assert parse_console(res.stdout) is not None


def test_the_runner_reads_a_lab_hosts_own_settings(lab: Lab) -> None:
    """runner.hostfacts' read, run on a lab host as the runner sends it: the lab's customer.sh (TRACE_ADDR)
    and serverconf files (web and stat ports, lab2-prod2's exportDirectory) are what Adobe's pages show."""
    for host, instance in (("lab1", "prod"), ("lab2", "prod2")):
        root = str(lab.hdir(host) / "nl6")
        res = lab.run_as(["sh", "-c", f". {root}/env.sh && {hostfacts.script(root, instance)}"], check=False)
        found = hostfacts.parse(res.stdout, nl6_root=root, instance=instance)
        assert found.problems == [], found.problems
        values = {k: v for k, v in found.values.items() if k != "service_manager"}
        expect = {"syslogd_address": lab.addr(host), "syslogd_port": 6666, "web_port": 8080, "web_control_port": 8005}
        expect["stat_port"] = 7777
        if instance == "prod2":
            expect["export_dir"] = f"{root}/var/prod2/export"
        assert values == expect
        assert found.facts["syslogd_port"].source in (
            f"TRACE_ADDR in {root}/customer.sh",
            "TRACE_ADDR in the Campaign environment",
        )
