"""Every fault really breaks what it says (status AND user-visible symptom), and heal restores it."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable

import pytest
from labtools import log_path, nl, poll, ssh

from lab import Lab
from lab.base import MONITORING_LOGIN
from lab.status import logon_body
from runner.actions.web import logon_answer
from runner.campaign_formats import LogLine, parse_instance_config, parse_log_line, parse_r_test


def curl(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def soap(lab: Lab, host: str) -> str:
    """The monitoring operator's SOAP Logon (the one login the lab's web accepts)."""
    req = urllib.request.Request(
        f"http://{lab.addr(host)}:8080/nl/jsp/soaprouter.jsp",
        data=logon_body(MONITORING_LOGIN, lab.monitoring_password()).encode(),
        headers={"SOAPAction": "xtk:session#Logon", "Content-Type": "text/xml"},
    )
    try:
        with urllib.request.urlopen(req, timeout=6) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()


def pdump_names(lab: Lab, host: str) -> list[str]:
    """The process names pdump lists, and "No tasks" when it says so."""
    return [ln.split(" (")[0] if " (" in ln else ln.strip() for ln in nl(lab, host, "pdump").stdout.splitlines()[1:]]


def syslog_probe(lab: Lab, host: str, where: tuple[str, int] | None = None) -> str:
    """A record for mta@prod sent to `where` (default: the host's address, 6666); its marker."""
    marker = uuid.uuid4().hex
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(f"mta@prod\tinfo\tprobe {marker}".encode(), where or (lab.addr(host), 6666))
    return marker


def mta_log_has(lab: Lab, host: str, marker: str) -> bool:
    p = log_path(lab, host, "prod/log/mta.log")
    return p.exists() and marker in p.read_text()


def stays(fn: Callable[[], bool], seconds: float) -> bool:
    """fn() holds during the whole period (checked every 0.3 s)."""
    end = time.time() + seconds
    while time.time() < end:
        if not fn():
            return False
        time.sleep(0.3)
    return True


def check_wfserver_down(lab: Lab, h: str) -> None:
    assert "wfserver@prod" not in pdump_names(lab, h)
    assert "wfserver@prod" in nl(lab, h, "monitor", "-missing").stdout
    js = lab.hdir(h) / "run" / "t.js"
    lab.write(js, "xtk.workflow.Start('exportRecipients')\n")
    assert nl(lab, h, "javascript", "-instance:prod", "-file", str(js)).returncode == 0
    assert stays(lambda: lab.status(h)["db"]["pending_workflow_starts"] >= 1, 2.5)
    assert not lab.status(h)["healthy"]["wfserver"]


def check_wfserver_hung(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert st["processes"]["wfserver@prod"]["alive"] and st["processes"]["wfserver@prod"]["stopped_by_signal"]
    assert "wfserver@prod" in pdump_names(lab, h)
    assert stays(lambda: lab.status(h)["db"]["pending_workflow_starts"] >= 1, 2.5)
    assert not lab.status(h)["healthy"]["wfserver"]


def check_watchdog_down(lab: Lab, h: str) -> None:
    assert "No tasks" in pdump_names(lab, h)
    assert not lab.status(h)["processes"]["watchdog"]["alive"]


def check_modules_missing(lab: Lab, h: str) -> None:
    lines = nl(lab, h, "monitor", "-missing").stdout.splitlines()[1:]
    assert sorted(lines) == ["mta@prod", "trackinglogd@default"]
    assert sorted(lab.status(h)["missing"]) == ["mta@prod", "trackinglogd@default"]


def check_syslogd_down(lab: Lab, h: str) -> None:
    m = syslog_probe(lab, h)
    assert stays(lambda: not mta_log_has(lab, h, m), 1.5)
    st = lab.status(h)
    assert not st["healthy"]["syslogd"] and st["ports"]["udp/6666"]["pids"] == []


def check_syslogd_port_taken(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert not st["processes"]["syslogd@default"]["alive"]
    assert st["ports"]["udp/6666"]["foreign"] and not st["ports"]["udp/6666"]["owner_ok"]
    m = syslog_probe(lab, h)
    assert stays(lambda: not mta_log_has(lab, h, m), 1.5)


def check_mail_stuck(lab: Lab, h: str) -> None:
    assert stays(lambda: lab.status(h)["db"]["pending_deliveries"] >= 1, 4)
    assert not lab.status(h)["healthy"]["mta"]


def check_inmail(lab: Lab, h: str) -> None:
    assert stays(lambda: lab.status(h)["files"]["bounce_mailbox"] == 12, 3)
    assert not lab.status(h)["healthy"]["inMail"]


def inmail_errors(lab: Lab, h: str, name: str = "inMail.log") -> list[LogLine]:
    """The error lines (with a code and a negative iRc) of the host's var/prod/log/<name>."""
    path = log_path(lab, h, f"prod/log/{name}")
    lines = path.read_text().splitlines() if path.exists() else []
    return [p for p in map(parse_log_line, lines) if p.level == "error" and p.code and (p.irc or 0) < 0]


def check_pop3_down(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert not st["pop3"]["reachable"] and not st["healthy"]["inMail"]
    period = parse_instance_config((lab.hdir(h) / "nl6/conf/config-prod.xml").read_text()).pop_mail_period
    assert period == 5
    before = len(inmail_errors(lab, h))
    poll(lambda: len(inmail_errors(lab, h)) > before, timeout=12)
    assert inmail_errors(lab, h)[-1].code == "INM-090024" and "1110" in inmail_errors(lab, h)[-1].message


def check_trackinglogd_down(lab: Lab, h: str) -> None:
    assert "trackinglogd@default" not in pdump_names(lab, h)
    before = redir_lines(lab, h)
    assert lab.click(h, 2, 40) == 302  # web still redirects, the event is lost
    assert stays(lambda: redir_lines(lab, h) == before, 1.5)


def redir_lines(lab: Lab, h: str) -> int:
    d = lab.hdir(h) / "nl6/var/prod/redir/log"
    return sum(len(p.read_bytes().splitlines()) for p in d.glob("0x*.log"))


def check_tracking_failed(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert st["db"]["workflows"]["tracking"]["failed"] == 1 and not st["healthy"]["tracking"]


def check_tracking_stale(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert st["db"]["workflows"]["tracking"]["hours_since_last_run"] >= 5 and not st["healthy"]["tracking"]


def check_tracking_stopped(lab: Lab, h: str) -> None:
    wf = lab.status(h)["db"]["workflows"]["tracking"]
    assert (wf["state"], wf["failed"]) == (20, 0)
    assert stays(lambda: lab.status(h)["db"]["workflows"]["tracking"]["state"] == 20, 2)  # wfserver leaves it
    assert not lab.status(h)["healthy"]["tracking"]


def check_tracking_server_down(lab: Lab, h: str) -> None:
    st = lab.status(h)
    servers = st["tracking_servers"]
    assert len(servers) == 2 and servers[f"http://{lab.addr(h)}:8081"]["ok"], servers
    assert [url for url, s in servers.items() if not s["ok"]] == [f"http://{lab.addr(h).rsplit('.', 1)[0]}.248:8081"]
    assert not st["healthy"]["tracking"]


def check_redir_corrupt(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert len(st["files"]["corrupted_lines"]) == 1 and st["files"]["corrupted_lines"][0].endswith(".log:2")
    r = nl(lab, h, "tracking", "-instance:prod", "-download", "-update")
    assert r.returncode != 0 and ".log:2" in r.stderr
    assert lab.status(h)["db"]["workflows"]["tracking"]["failed"] == 1


def check_web_down(lab: Lab, h: str) -> None:
    assert curl(f"http://{lab.addr(h)}:8080/r/test")[0] is None
    st = lab.status(h)
    assert not st["r_test"]["ok"] and not st["healthy"]["web"]


def check_web_xtk_errors(lab: Lab, h: str) -> None:
    code, body = curl(f"http://{lab.addr(h)}:8080/r/test")
    assert code == 200 and "status='OK'" in body
    body = soap(lab, h)
    assert "SOAP-ENV:Fault" in body and "xtk:session" in body
    st = lab.status(h)
    assert st["soap_logon"]["fault"] and not st["healthy"]["web"]


def check_web_r_test_failing(lab: Lab, h: str) -> None:
    assert "web@default" in pdump_names(lab, h)
    code, body = curl(f"http://{lab.addr(h)}:8080/r/test")
    answer = parse_r_test(body)
    assert code == 200 and answer.status == "ERROR" and not answer.ok
    st = lab.status(h)
    assert not st["r_test"]["ok"] and st["logon_page"]["ok"] and not st["healthy"]["web"]


def logon_page(lab: Lab, h: str) -> tuple[str, int | None, str]:
    """What logon.jsp showed, as the runner's web playbook reads it: (answer, HTTP status, body)."""
    code, body = curl(f"http://{lab.addr(h)}:8080/nl/jsp/logon.jsp")
    return logon_answer(body, code or 0), code, body


def check_web_logon_blank(lab: Lab, h: str) -> None:
    assert "web@default" in pdump_names(lab, h)
    assert logon_page(lab, h)[:3] == ("blank", 200, "")
    st = lab.status(h)
    assert st["r_test"]["ok"] and st["logon_page"]["answer"] == "blank" and not st["healthy"]["web"]


def check_web_logon_redirect(lab: Lab, h: str) -> None:
    assert "web@default" in pdump_names(lab, h)
    req = urllib.request.Request(f"http://{lab.addr(h)}:8080/nl/jsp/logon.jsp")
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=3)
        raise AssertionError("logon.jsp did not redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 302 and e.read() == b"" and e.headers["Location"].startswith("https://")
    assert logon_answer("", 302) == "empty"  # the runner's reading: not a blank page
    st = lab.status(h)
    assert st["logon_page"]["answer"] == "empty" and st["r_test"]["ok"] and not st["healthy"]["web"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kw: object) -> None:
        return None


def check_front_web_down(lab: Lab, h: str) -> None:
    assert curl(f"http://{lab.addr(h)}:8081/r/test")[0] is None
    code, body = curl(f"http://{lab.addr(h)}:8080/r/test")
    assert code == 200 and parse_r_test(body).ok
    st = lab.status(h)
    assert not st["front_web"]["alive"] and not st["healthy"]["front_web"] and st["healthy"]["web"]


def check_web_java_error(lab: Lab, h: str) -> None:
    answer, code, body = logon_page(lab, h)
    assert (
        (answer, code) == ("java_error", 500) and "Apache Tomcat" in body and "java.lang.UnsatisfiedLinkError" in body
    )
    st = lab.status(h)
    assert st["r_test"]["ok"] and st["logon_page"]["answer"] == "java_error" and not st["healthy"]["web"]
    # a restart does not fix it: the Java integration (customer.sh) is broken
    old = st["processes"]["web@default"]["pid"]
    assert nl(lab, h, "restart", "web@default").returncode == 0
    poll(lambda: (p := lab.status(h)["processes"]["web@default"])["alive"] and p["pid"] != old, timeout=15)
    assert logon_page(lab, h)[0] == "java_error"


def check_import_duplicates(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert st["db"]["duplicate_email_groups"] == 20 and st["db"]["recipients"] == 220
    same = lab.psql(
        "SELECT count(*) FROM (SELECT 1 FROM NmsRecipient GROUP BY lower(trim(sEmail)), iFolderId "
        "HAVING count(*) > 1) x",
        db=f"campaign_{h}",
    )
    assert same == "12"
    pointed = lab.psql(
        "SELECT (SELECT count(*) FROM NmsSubscription WHERE iRecipientId > 200) || ',' || (SELECT count(*) FROM "
        "NmsBroadLogRcp WHERE iRecipientId > 200) || ',' || (SELECT count(*) FROM NmsTrackingLogRcp WHERE "
        "iRecipientId > 200)",
        db=f"campaign_{h}",
    )
    assert pointed == "4,3,2"


def check_export_failed(lab: Lab, h: str) -> None:
    st = lab.status(h)
    assert st["db"]["workflows"]["exportRecipients"]["failed"] == 1 and st["files"]["export_files"] == []
    assert not st["healthy"]["export"]


def check_export_paused(lab: Lab, h: str) -> None:
    st = lab.status(h)
    wf = st["db"]["workflows"]["exportRecipients"]
    assert (wf["state"], wf["failed"]) == (13, 0) and st["files"]["export_files"] and not st["healthy"]["export"]


def check_slow_restart(lab: Lab, h: str) -> None:
    assert nl(lab, h, "restart", "stat@prod").returncode == 0
    t0 = time.time()
    assert stays(lambda: "stat@prod" not in pdump_names(lab, h), 2.0)
    poll(lambda: "stat@prod" in pdump_names(lab, h), timeout=10)
    assert time.time() - t0 >= 3


def _all_healthy(lab: Lab, h: str) -> dict[str, object]:
    st = lab.status(h)
    assert all(st["healthy"].values()), {k: v for k, v in st["healthy"].items() if not v}
    return st


def check_syslogd_moved(lab: Lab, h: str) -> None:
    """A site setting: TRACE_ADDR moves syslogd to udp 6667; the host stays healthy, records sent there land."""
    st = _all_healthy(lab, h)
    assert st["settings"]["syslogd"] == f"{lab.addr(h)}:6667" and st["ports"]["udp/6667"]["owner_ok"]
    assert "udp/6666" not in st["ports"]
    marker = syslog_probe(lab, h, (lab.addr(h), 6667))
    poll(lambda: mta_log_has(lab, h, marker), timeout=5)
    lost = syslog_probe(lab, h)  # 6666: nobody listens there any more
    assert stays(lambda: not mta_log_has(lab, h, lost), 1)
    # every module sends to the new port: stat's own record of the reload reaches its log
    before = log_path(lab, h, "prod/log/stat.log").read_text().count("MX rules reloaded")
    assert nl(lab, h, "stat", "-reload").returncode == 0
    poll(lambda: log_path(lab, h, "prod/log/stat.log").read_text().count("MX rules reloaded") > before, timeout=5)


def check_syslogd_loopback(lab: Lab, h: str) -> None:
    """TRACE_ADDR=localhost:<port>: syslogd bound on 127.0.0.1, not on the host's address; healthy."""
    port = lab.loopback_port(h)
    st = _all_healthy(lab, h)
    assert st["settings"]["syslogd"] == f"127.0.0.1:{port}" and st["ports"][f"udp/{port}"]["owner_ok"]
    ss = subprocess.run(["ss", "-Hlunp"], capture_output=True, text=True, check=True).stdout
    pid = st["processes"]["syslogd@default"]["pid"]
    bound = [line.split()[3] for line in ss.splitlines() if f"pid={pid}," in line]
    assert bound == [f"127.0.0.1:{port}"], bound
    marker = syslog_probe(lab, h, ("127.0.0.1", port))
    poll(lambda: mta_log_has(lab, h, marker), timeout=5)


def check_var_dir_moved(lab: Lab, h: str) -> None:
    """XTK_VAR_DIR: the whole var/ tree lives elsewhere, nothing is left in nl6/var; logs land there."""
    moved = lab.hdir(h) / "app/log/AdobeCampaign"
    st = _all_healthy(lab, h)
    assert st["settings"]["var_dir"] == str(moved) and not (lab.hdir(h) / "nl6/var").exists()
    assert all(f.startswith(str(moved)) for f in st["files"]["export_files"]) and st["files"]["export_files"]
    marker = syslog_probe(lab, h)
    log = moved / "prod/log/mta.log"  # written by syslogd at its first record: wait for it to exist too
    poll(lambda: log.exists() and marker in log.read_text(), timeout=5)


def check_sshd_drops(lab: Lab, h: str) -> None:
    results = [ssh(lab, h, "true").returncode for _ in range(3)]
    assert results[0] != 0 and results[1] != 0 and results[2] == 0, results


def _web_memory_mb(lab: Lab, h: str) -> float:
    """The memory pdump shows for web@default (Adobe's `web@default (<pid>) - <n> MB` line)."""
    line = next(ln for ln in nl(lab, h, "pdump").stdout.splitlines() if ln.startswith("web@default ("))
    return float(line.rsplit(" - ", 1)[1].split()[0])


def check_memory_warning(lab: Lab, h: str) -> None:
    assert 1600 < _web_memory_mb(lab, h) < 1800  # between Adobe's default warning and alert thresholds


def check_memory_alert(lab: Lab, h: str) -> None:
    pid = lab.status(h)["processes"]["web@default"]["pid"]
    assert _web_memory_mb(lab, h) > 1800  # above Adobe's default alert threshold
    assert nl(lab, h, "restart", "web@default").returncode == 0  # a restart ends it: a new process
    poll(lambda: lab.status(h)["processes"]["web@default"]["pid"] not in (None, pid), timeout=20)
    poll(lambda: _web_memory_mb(lab, h) < 1600, timeout=10)


def check_command_hangs(lab: Lab, h: str) -> None:
    r = lab.run_as(["timeout", "3", str(lab.hdir(h) / "nl6/bin/nlserver"), "pdump"], check=False)
    assert r.returncode == 124
    r = lab.run_as(["timeout", "2", str(lab.hdir(h) / "nl6/bin/nlserver"), "monitor", "-missing"], check=False)
    assert r.returncode == 124


def check_hostkey_changed(lab: Lab, h: str) -> None:
    r = ssh(lab, h, "true")
    assert r.returncode != 0 and ("IDENTIFICATION HAS CHANGED" in r.stderr or "verification failed" in r.stderr)
    assert not lab.status(h)["healthy"]["sshd"]


CASES = {
    "wfserver_down": check_wfserver_down,
    "wfserver_hung": check_wfserver_hung,
    "watchdog_down": check_watchdog_down,
    "modules_missing": check_modules_missing,
    "syslogd_down": check_syslogd_down,
    "syslogd_port_taken": check_syslogd_port_taken,
    "mta_down": check_mail_stuck,
    "stat_down": check_mail_stuck,
    "inmail_stopped": check_inmail,
    "pop3_down": check_pop3_down,
    "trackinglogd_down": check_trackinglogd_down,
    "tracking_failed": check_tracking_failed,
    "tracking_stale": check_tracking_stale,
    "tracking_stopped": check_tracking_stopped,
    "tracking_server_down": check_tracking_server_down,
    "redir_corrupt": check_redir_corrupt,
    "web_down": check_web_down,
    "web_xtk_errors": check_web_xtk_errors,
    "web_r_test_failing": check_web_r_test_failing,
    "web_logon_blank": check_web_logon_blank,
    "web_logon_redirect": check_web_logon_redirect,
    "front_web_down": check_front_web_down,
    "web_java_error": check_web_java_error,
    "import_duplicates": check_import_duplicates,
    "export_failed": check_export_failed,
    "export_paused": check_export_paused,
    "slow_restart": check_slow_restart,
    "sshd_drops": check_sshd_drops,
    "command_hangs": check_command_hangs,
    "hostkey_changed": check_hostkey_changed,
    "syslogd_moved": check_syslogd_moved,
    "syslogd_loopback": check_syslogd_loopback,
    "var_dir_moved": check_var_dir_moved,
    # last, so that the faults above keep the hosts test_fault_breaks_and_heal_restores gives them by index
    "memory_warning": check_memory_warning,
    "memory_alert": check_memory_alert,
}
SITE_SETTINGS = {"syslogd_moved", "syslogd_loopback", "var_dir_moved"}  # healthy by design: nothing breaks


NEEDS_MAIL_OR_REDIRECTION = {
    "modules_missing",
    "mta_down",
    "stat_down",
    "inmail_stopped",
    "pop3_down",
    "trackinglogd_down",
    "redir_corrupt",
    "slow_restart",
}


def test_every_fault_has_a_check(lab: Lab) -> None:
    assert set(CASES) == set(lab.faults())


@pytest.mark.parametrize("fault", list(CASES))
def test_fault_breaks_and_heal_restores(lab: Lab, fault: str) -> None:
    # lab4, the last host, is mid-sourced and not a redirection server: no mta, stat, inMail, trackinglogd
    index = list(CASES).index(fault)
    host = ["lab2", "lab3"][index % 2] if fault in NEEDS_MAIL_OR_REDIRECTION else ["lab2", "lab3", "lab4"][index % 3]
    lab.break_(host, fault)
    try:
        assert fault in lab.status(host)["faults"]
        CASES[fault](lab, host)
    finally:
        lab.heal(host)
    st = poll(lambda: (s := lab.status(host)) and all(s["healthy"].values()) and s, timeout=20)
    assert st["faults"] == [] and st["missing"] == []
    assert ssh(lab, host, "true").returncode == 0
    if fault in ("syslogd_down", "syslogd_port_taken") or fault in SITE_SETTINGS:
        assert st["settings"] == {"syslogd": f"{lab.addr(host)}:6666", "var_dir": str(lab.hdir(host) / "nl6/var")}
        assert not (lab.hdir(host) / "app").exists()
        m = syslog_probe(lab, host)
        poll(lambda: mta_log_has(lab, host, m), timeout=5)
    if fault in ("inmail_stopped", "pop3_down"):
        assert parse_instance_config((lab.hdir(host) / "nl6/conf/config-prod.xml").read_text()).pop_mail_period == 300
    if fault == "pop3_down":  # the errors logged while it was down left inMail.log (rotated to inMail_2.log)
        assert stays(lambda: not inmail_errors(lab, host, "inMail.log"), 2)
        assert inmail_errors(lab, host, "inMail_2.log")
    if fault.startswith("web_"):
        assert logon_page(lab, host)[0] == "page" and lab.status(host)["r_test"]["ok"]
    if fault == "front_web_down":
        assert parse_r_test(curl(f"http://{lab.addr(host)}:8081/r/test")[1]).ok
    if fault in ("mta_down", "stat_down", "web_down", "web_xtk_errors"):
        assert "pstrSessionToken" in soap(lab, host)


@pytest.mark.parametrize("fault", ["web_r_test_failing", "web_logon_blank"])
def test_web_restart_fixes_a_web_process_fault(lab: Lab, fault: str) -> None:
    """The web process itself is broken (still in pdump): the restarted module comes back healthy."""
    host = "lab3"
    lab.break_(host, fault)
    try:
        old = lab.status(host)["processes"]["web@default"]["pid"]
        assert not lab.status(host)["healthy"]["web"]
        assert nl(lab, host, "restart", "web@default").returncode == 0
        st = poll(lambda: (s := lab.status(host)) and s["healthy"]["web"] and s, timeout=15)
        assert st["processes"]["web@default"]["pid"] != old and logon_page(lab, host)[0] == "page"
        assert parse_r_test(curl(f"http://{lab.addr(host)}:8080/r/test")[1]).ok
    finally:
        lab.heal(host)
