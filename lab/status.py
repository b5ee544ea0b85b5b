"""The truth about one lab host, read from /proc, sockets, files, HTTP and the database.

Owns: `host_status()` and the per-module `healthy` verdicts, `processes()` (pid files verified
against /proc) and `wait_ready()`. Must not change anything on the host, or report a fact it could
not read as if it were an empty one: a database that cannot be read gives `db_error` and a `db`
view that is never equal to another (`DBUnavailable`).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from . import front, mailbox
from .base import (
    INSTANCE,
    MONITORING_LOGIN,
    POP3_PORT,
    REDIR_GLOB,
    SSH_PORT,
    STAT_PORT,
    WEB_PORT,
    LabError,
    autostart_modules,
    is_redir_line,
    proc_state,
    read_pidfile,
    read_pidfile_entry,
)
from .context import LabContext

SOAP_LOGON = (
    "<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' "
    "xmlns:ns='urn:xtk:session'><SOAP-ENV:Body><ns:Logon><sessiontoken/><strLogin>admin</strLogin>"
    "<strPassword></strPassword><elemParameters/></ns:Logon></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)  # admin without a password: refused ("Invalid login or password. Connection denied.")


def logon_body(login: str, password: str) -> str:
    """A SOAP xtk:session#Logon request for `login` / `password` (the lab's probe uses the monitoring operator)."""
    return SOAP_LOGON.replace("<strLogin>admin</strLogin>", f"<strLogin>{html.escape(login)}</strLogin>").replace(
        "<strPassword></strPassword>", f"<strPassword>{html.escape(password)}</strPassword>"
    )


DB_FACTS_SQL = (
    "SELECT json_build_object("
    "'recipients', (SELECT count(*) FROM NmsRecipient),"
    # the import playbook's condition (no_duplicate_emails): Length(Ltrim(Rtrim(@email))) > 0, grouped by
    # Lower(Ltrim(Rtrim(@email))), more than one recipient; over every recipient (the lab knows no folder
    # or window of an inventory)
    "'duplicate_email_groups', (SELECT count(*) FROM (SELECT 1 FROM NmsRecipient WHERE "
    "length(ltrim(rtrim(sEmail))) > 0 GROUP BY lower(ltrim(rtrim(sEmail))) HAVING count(*) > 1) d),"
    "'pending_deliveries', (SELECT count(*) FROM NmsDelivery WHERE iState=51),"
    "'pending_delivery_logs', (SELECT count(*) FROM NmsBroadLogRcp WHERE iStatus=6),"
    "'subscriptions', (SELECT count(*) FROM NmsSubscription),"
    "'pending_workflow_starts', (SELECT count(*) FROM XtkWorkflowJob WHERE iStatus=0),"
    "'tracking_log_rows', (SELECT count(*) FROM NmsTrackingLogRcp),"
    "'workflows', (SELECT json_object_agg(sInternalName, json_build_object('id', iWorkflowId, 'state', iState,"
    " 'failed', iFailed, 'error', sErrorMessage, 'last_run', tsLastRun,"
    " 'hours_since_last_run', round((extract(epoch FROM now() - tsLastRun) / 3600)::numeric, 2))) "
    "FROM XtkWorkflow),"
    "'tracking_servers', (SELECT sStringValue FROM XtkOption WHERE sName='NmsTracking_ServerUrlList'),"
    "'hours_since_last_consolidation', (SELECT round((extract(epoch FROM now() - tsTimeStampValue) / 3600)::numeric, 2)"
    " FROM XtkOption WHERE sName='NmsTracking_LastConsolidation'))"
)


class DBUnavailable(dict[str, Any]):
    """The `db` view of a host whose database could not be read: `{"reachable": False, "error": ...}`.

    A fact read from it raises LabError (naming the database error) instead of KeyError, and it is
    equal to nothing, not even another unavailable view: "unknown" never matches "unknown".
    """

    def __init__(self, error: str) -> None:
        super().__init__(reachable=False, error=error)

    def __missing__(self, key: str) -> Any:
        raise LabError(f"db.{key}: not known, the database could not be read ({self['error']})")

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True


def processes(lab: LabContext, host: str) -> dict[str, dict[str, Any]]:
    """The watchdog and every module the host's configs enable (autoStart), each read from its pid file."""
    out: dict[str, dict[str, Any]] = {}
    for name in ["watchdog", *enabled(lab, host)]:
        entry = read_pidfile_entry(lab.hdir(host) / "run" / "procs" / f"{name}.pid")
        pid, ready = entry if entry else (None, False)
        state = proc_state(pid) if pid else None
        out[name] = {
            "pid": pid,
            "alive": bool(pid and ready),
            "starting": bool(pid and not ready),
            "stopped_by_signal": state == "T",
        }
    return out


def wait_ready(lab: LabContext, names: list[str], timeout: float) -> None:
    """Wait until the watchdog and every module of each host in `names` is alive (LabError after `timeout`)."""
    deadline = time.time() + timeout
    pending = set(names)
    while pending and time.time() < deadline:
        for h in list(pending):
            if all(p["alive"] for p in processes(lab, h).values()):
                pending.discard(h)
        if pending:
            time.sleep(0.2)
    if pending:
        raise LabError(f"hosts not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")


# the start-up work of a healthy baseline: workflow start requests wfserver takes, deliveries the mta sends
_STARTS_PENDING = "(SELECT count(*) FROM XtkWorkflowJob WHERE iStatus=0)"
_DELIVERIES_PENDING = "(SELECT count(*) FROM NmsDelivery WHERE iState=51)"


def wait_settled(lab: LabContext, names: list[str], timeout: float) -> None:
    """Wait until each host in `names` has done its start-up work: no workflow start request left (wfserver)
    and, where the mta runs, no delivery left in Start pending (51). A host still busy after `timeout` is left
    as it is (its status says what is pending); only the processes are a hard condition (`wait_ready`)."""
    deadline = time.time() + timeout
    pending = set(names)
    while pending and time.time() < deadline:
        for h in list(pending):
            counts = [_STARTS_PENDING] + ([_DELIVERIES_PENDING] if f"mta@{INSTANCE}" in enabled(lab, h) else [])
            if lab.psql(f"SELECT {' + '.join(counts)}", db=lab.db_name(h), check=False).strip() == "0":
                pending.discard(h)
        if pending:
            time.sleep(0.2)


def enabled(lab: LabContext, host: str) -> list[str]:
    """What the configs say should run (autoStart="true"): the one source the simulator's watchdog reads too."""
    return autostart_modules(lab.hdir(host) / "nl6" / "conf", *lab.instances(host))


def sockets(addr: str) -> dict[str, list[int]]:
    """{"udp/6666": [pids], "tcp/8080": [...]} for sockets bound on `addr` (from `ss`)."""
    out: dict[str, list[int]] = {}
    for proto, flag in (("udp", "-Hlunp"), ("tcp", "-Hltnp")):
        r = subprocess.run(["ss", flag], capture_output=True, text=True, timeout=10)
        for line in r.stdout.splitlines():
            parts = line.split()
            local = next((p for p in parts if p.startswith(addr + ":")), None)
            if not local:
                continue
            port = local.rsplit(":", 1)[1]
            pids = [int(x) for x in re.findall(r"pid=(\d+)", line)]
            out.setdefault(f"{proto}/{port}", []).extend(pids)
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kw: Any) -> None:
        return None  # a redirect is an answer in itself (logon.jsp's 302), never followed


_OPENER = urllib.request.build_opener(_NoRedirect)


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int | None, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=6) as r:
            return int(r.status), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as e:
        return None, str(e)


def db_facts(lab: LabContext, host: str) -> dict[str, Any]:
    """The host's database facts (counts, workflows); LabError when the database cannot be read."""
    try:
        facts = json.loads(lab.psql(DB_FACTS_SQL, db=f"campaign_{host}"))
    except (LabError, OSError, subprocess.SubprocessError, ValueError) as e:
        raise LabError(f"{host}: database campaign_{host}: {str(e)[-300:]}") from e
    if not isinstance(facts, dict):
        raise LabError(f"{host}: database campaign_{host}: unexpected answer {facts!r:.100}")
    facts["reachable"] = True
    return facts


def files(lab: LabContext, host: str) -> dict[str, Any]:
    var = lab.var_dir(host)  # XTK_VAR_DIR, else nl6/var
    redir = sorted((var / INSTANCE / "redir" / "log").glob(REDIR_GLOB))
    corrupted = []
    for p in redir:
        try:
            for n, line in enumerate(p.read_bytes().split(b"\n"), 1):
                if line and not is_redir_line(line):
                    corrupted.append(f"{p}:{n}")
        except OSError:
            pass
    newest = max((p.stat().st_mtime for p in redir), default=None)
    return {
        "redir_log_count": len(redir),
        "newest_redir_log_age_s": round(time.time() - newest, 1) if newest else None,
        "corrupted_lines": corrupted,
        "bounce_mailbox": mailbox.waiting(lab, host),
        "export_files": sorted(str(p) for p in (var / INSTANCE / "export").glob("*.csv")),
    }


def _lt(value: float | None, limit: float) -> bool:
    return value is not None and float(value) < limit


def ports(lab: LabContext, host: str, procs: dict[str, dict[str, Any]], sshd_pid: int | None) -> dict[str, Any]:
    """Per expected listening socket: its pids, the module expected, whether that module alone holds it.
    syslogd's is where the host's TRACE_ADDR says (udp/6666 on the host's address unless moved)."""
    socks = sockets(lab.addr(host))
    trace_ip, trace_port = lab.trace_addr(host)
    syslog_key = f"udp/{trace_port}"
    if trace_ip != lab.addr(host):
        socks[syslog_key] = sockets(trace_ip).get(syslog_key, [])
    expected = {
        syslog_key: ("syslogd@default", procs.get("syslogd@default", {}).get("pid")),
        f"tcp/{WEB_PORT}": ("web@default", procs.get("web@default", {}).get("pid")),
        f"udp/{STAT_PORT}": (f"stat@{INSTANCE}", procs.get(f"stat@{INSTANCE}", {}).get("pid")),
        "tcp/8005": ("web@default", procs.get("web@default", {}).get("pid")),
        f"tcp/{SSH_PORT}": ("sshd", sshd_pid),
    }
    if f"stat@{INSTANCE}" not in procs:
        del expected[f"udp/{STAT_PORT}"]  # no stat on this host (mid-sourced)
    out: dict[str, Any] = {}
    for key, (mod, own) in expected.items():
        pids = sorted(set(socks.get(key, [])))
        out[key] = {
            "pids": pids,
            "expected": mod,
            "owner_ok": bool(pids) and pids == [own],
            "foreign": [p for p in pids if p != own],
        }
    return out


def logon_answer(code: int | None, body: str) -> str:
    """What /nl/jsp/logon.jsp showed: no_answer, blank (HTTP 200 and empty: web module down), empty (another
    status and no body: a redirect), java_error (Tomcat error) or page."""
    if code is None:
        return "no_answer"
    if not body.strip():
        return "blank" if code == 200 else "empty"
    if code >= 500 or "Apache Tomcat" in body:
        return "java_error"
    return "page"


def web(lab: LabContext, host: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(r_test, soap_logon, logon_page): what /r/test, the monitoring operator's SOAP xtk:session#Logon and
    /nl/jsp/logon.jsp answer."""
    base = f"http://{lab.addr(host)}:{WEB_PORT}"
    code, body = http(f"{base}/r/test")
    r_test = _r_test(code, body)
    code, body = http(f"{base}/nl/jsp/logon.jsp")
    answer = logon_answer(code, body)
    logon_page = {"http_status": code, "answer": answer, "ok": answer == "page", "body": body[:300]}
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "xtk:session#Logon"}
    request = logon_body(MONITORING_LOGIN, lab.monitoring_password())
    code, body = http(f"{base}/nl/jsp/soaprouter.jsp", request.encode(), headers)
    soap = {
        "http_status": code,
        "ok": code == 200 and "pstrSessionToken" in body,
        "fault": "SOAP-ENV:Fault" in body,
        "body": body[:400],
    }
    return r_test, soap, logon_page


def front_status(lab: LabContext, host: str) -> dict[str, Any]:
    """The front web server: its recorded pid, and what /r/test answers through it."""
    pid = read_pidfile(front.pidfile(lab, host))
    code, body = http(f"{front.url(lab, host)}/r/test")
    return {"pid": pid, "alive": pid is not None, "r_test": _r_test(code, body)}


def _r_test(code: int | None, body: str) -> dict[str, Any]:
    return {"http_status": code, "ok": code == 200 and "status='OK'" in body, "body": body[:300]}


def tracking_servers(db: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """/r/test through each URL of the main instance's NmsTracking_ServerUrlList (comma separated)."""
    listed = db.get("tracking_servers") if db.get("reachable") else None
    out = {}
    for url in re.split(r"[,;\s]+", str(listed or "")):
        if url:
            code, body = http(f"{url.rstrip('/')}/r/test")
            out[url] = _r_test(code, body)
    return out


def served_key_known(lab: LabContext, host: str) -> bool:
    """Whether the host key sshd serves is the one in the lab's known_hosts."""
    kh = (lab.dir / "known_hosts").read_text() if (lab.dir / "known_hosts").exists() else ""
    marker = lab.hdir(host) / "run" / "hostkey"
    served = marker.read_text().strip() if marker.exists() else "ssh_host_ed25519_key"
    served_pub = (lab.hdir(host) / "ssh" / f"{served}.pub").read_text().split()[1]
    return served_pub in kh


def healthy(
    procs: dict[str, dict[str, Any]],
    missing: list[str],
    ports: dict[str, Any],
    web: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    db: dict[str, Any],
    fl: dict[str, Any],
    sshd_ok: bool,
    pop3: dict[str, Any],
    front_web: dict[str, Any],
    servers: dict[str, dict[str, Any]],
) -> dict[str, bool]:
    """The verdict per module; a fact that could not be read counts as unhealthy."""
    wf = db.get("workflows") or {}
    trk, exp = wf.get("tracking", {}), wf.get("exportRecipients", {})

    def alive(m: str) -> bool:
        return bool(procs.get(m, {}).get("alive")) and not procs[m]["stopped_by_signal"]

    def off(m: str) -> bool:
        """Not enabled on this host (mid-sourced, not a redirection server): nothing is expected of it."""
        return m not in procs

    return {
        "watchdog": alive("watchdog") and not missing,
        "syslogd": alive("syslogd@default")
        and any(p["owner_ok"] for p in ports.values() if p["expected"] == "syslogd@default"),
        "web": alive("web@default") and web[0]["ok"] and web[1]["ok"] and web[2]["ok"],
        "wfserver": alive(f"wfserver@{INSTANCE}") and db.get("pending_workflow_starts", 1) == 0,
        "mta": off(f"mta@{INSTANCE}") or (alive(f"mta@{INSTANCE}") and db.get("pending_deliveries", 1) == 0),
        "stat": off(f"stat@{INSTANCE}") or (alive(f"stat@{INSTANCE}") and ports[f"udp/{STAT_PORT}"]["owner_ok"]),
        "inMail": off(f"inMail@{INSTANCE}")
        or (alive(f"inMail@{INSTANCE}") and fl["bounce_mailbox"] == 0 and pop3["reachable"]),
        "trackinglogd": off("trackinglogd@default") or alive("trackinglogd@default"),
        "tracking": bool(trk)
        and not trk.get("failed")
        and trk.get("state") == 11
        and _lt(trk.get("hours_since_last_run"), 1)
        and not fl["corrupted_lines"]
        and bool(servers)
        and all(s["ok"] for s in servers.values()),
        # a recurring export stays started (11) between its runs
        "export": bool(exp) and not exp.get("failed") and exp.get("state") == 11 and bool(fl["export_files"]),
        "import": bool(db.get("reachable", False)) and db.get("duplicate_email_groups", 1) == 0,
        "sshd": sshd_ok,
        "front_web": bool(front_web["alive"]) and front_web["r_test"]["ok"],
    }


def host_status(lab: LabContext, host: str) -> dict[str, Any]:
    procs = processes(lab, host)
    en = enabled(lab, host)
    missing = [m for m in en if not procs.get(m, {}).get("alive")]
    sshd_pid = read_pidfile(lab.hdir(host) / "run" / f"sshd.{SSH_PORT}.pid")
    pts = ports(lab, host, procs, sshd_pid)
    r_test, soap, logon_page = web(lab, host)
    db_error = None
    try:
        db = db_facts(lab, host)
    except LabError as e:
        db_error = str(e)
        db = DBUnavailable(db_error)
    fl = files(lab, host)
    try:
        faults = json.loads((lab.hdir(host) / "run" / "faults.json").read_text())
    except (OSError, ValueError):
        faults = []
    key_known = served_key_known(lab, host)
    sshd_ok = bool(sshd_pid) and pts[f"tcp/{SSH_PORT}"]["owner_ok"] and key_known
    info = lab.info(host)
    pop3 = {"server": f"{lab.pop3_addr}:{POP3_PORT}", "reachable": mailbox.reachable(lab)}
    front_web = front_status(lab, host)
    servers = tracking_servers(db)
    return {
        "host": host,
        "address": lab.addr(host),
        "settings": {  # the host's customer.sh: where syslogd listens, where its var/ tree is
            "syslogd": "{}:{}".format(*lab.trace_addr(host)),
            "var_dir": str(lab.var_dir(host)),
        },
        "role": info.get("role", "standalone"),
        "instances": lab.instances(host),
        "redirection_server": bool(info.get("redirection", True)),
        "processes": procs,
        "enabled": en,
        "missing": missing,
        "ports": pts,
        "r_test": r_test,
        "soap_logon": soap,
        "logon_page": logon_page,
        "db": db,
        "db_error": db_error,
        "files": fl,
        "sshd": {"pid": sshd_pid, "host_key_in_known_hosts": key_known},
        "faults": faults,
        "pop3": pop3,
        "front_web": front_web,
        "tracking_servers": servers,
        "healthy": healthy(procs, missing, pts, (r_test, soap, logon_page), db, fl, sshd_ok, pop3, front_web, servers),
    }
