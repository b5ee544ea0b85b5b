"""The truth about one lab host, read from /proc, sockets, files, HTTP and the database.

Owns: `host_status()` and the per-module `healthy` verdicts. Must not change anything on the host.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import INSTANCE, MODULES, SSH_PORT, STAT_PORT, SYSLOG_PORT, WEB_PORT, read_pidfile

if TYPE_CHECKING:
    from .core import Lab

TRACK_RE = re.compile(r"^\d0x[0-9A-F]{16}\t\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\t\d+\t\d+\t\d+\t[a-z]+$")
SOAP_LOGON = ("<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' "
              "xmlns:ns='urn:xtk:session'><SOAP-ENV:Body><ns:Logon><sessiontoken/><strLogin>admin</strLogin>"
              "<strPassword></strPassword><elemParameters/></ns:Logon></SOAP-ENV:Body></SOAP-ENV:Envelope>")


def proc_state(pid: int) -> str | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
        return data[data.rindex(")") + 2:].split()[0]
    except (OSError, ValueError):
        return None


def processes(lab: Lab, host: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in ["watchdog", *MODULES]:
        pf = lab.hdir(host) / "run" / "procs" / f"{name}.pid"
        pid = read_pidfile(pf)
        ready = False
        if pid:
            ready = len(pf.read_text().split()) < 3
        state = proc_state(pid) if pid else None
        out[name] = {"pid": pid, "alive": bool(pid and ready), "starting": bool(pid and not ready),
                     "stopped_by_signal": state == "T"}
    return out


def enabled(lab: Lab, host: str) -> list[str]:
    import xml.etree.ElementTree as ET
    res = []
    conf = lab.hdir(host) / "nl6" / "conf"
    for fname, kinds, suffix in (("config-default.xml", ("syslogd", "web", "trackinglogd"), "default"),
                                 (f"config-{INSTANCE}.xml", ("wfserver", "mta", "stat", "inMail"), INSTANCE)):
        try:
            root = ET.parse(conf / fname).getroot()
        except (OSError, ET.ParseError):
            continue
        for k in kinds:
            el = root.find(k)
            if el is not None and el.get("autoStart") == "true":
                res.append(f"{k}@{suffix}")
    return res


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


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int | None, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=6) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as e:
        return None, str(e)


def db_facts(lab: Lab, host: str) -> dict[str, Any]:
    sql = ("SELECT json_build_object("
           "'recipients', (SELECT count(*) FROM NmsRecipient),"
           "'duplicate_email_groups', (SELECT count(*) FROM (SELECT 1 FROM NmsRecipient WHERE sEmail IS NOT NULL AND "
           "sEmail <> '' GROUP BY lower(trim(sEmail)) HAVING count(*) > 1) d),"
           "'pending_deliveries', (SELECT count(*) FROM NmsDelivery WHERE iState=45),"
           "'pending_workflow_starts', (SELECT count(*) FROM XtkWorkflowJob WHERE iStatus=0),"
           "'tracking_log_rows', (SELECT count(*) FROM NmsTrackingLogRcp),"
           "'workflows', (SELECT json_object_agg(sInternalName, json_build_object('id', iWorkflowId, 'state', iState,"
           " 'failed', iFailed, 'error', sErrorMessage, 'last_run', tsLastRun,"
           " 'hours_since_last_run', round((extract(epoch FROM now() - tsLastRun) / 3600)::numeric, 2))) "
           "FROM XtkWorkflow))")
    try:
        out = lab.psql(sql, db=f"campaign_{host}")
        facts = json.loads(out)
        facts["reachable"] = True
        return facts
    except Exception as e:
        return {"reachable": False, "error": str(e)[-300:]}


def files(lab: Lab, host: str) -> dict[str, Any]:
    nl6 = lab.hdir(host) / "nl6"
    redir = sorted((nl6 / f"var/{INSTANCE}/redir/log").glob("0x*.log"))
    corrupted = []
    for p in redir:
        try:
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
                if line and not TRACK_RE.match(line):
                    corrupted.append(f"{p}:{n}")
        except OSError:
            pass
    newest = max((p.stat().st_mtime for p in redir), default=None)
    return {
        "redir_log_count": len(redir),
        "newest_redir_log_age_s": round(time.time() - newest, 1) if newest else None,
        "corrupted_lines": corrupted,
        "bounce_mailbox": len(list((nl6 / f"var/{INSTANCE}/inmail/mailbox").glob("*.eml"))),
        "export_files": sorted(str(p) for p in (nl6 / f"var/{INSTANCE}/export").glob("*.csv")),
    }


def _lt(value: float | None, limit: float) -> bool:
    return value is not None and float(value) < limit


def host_status(lab: Lab, host: str) -> dict[str, Any]:
    addr = lab.addr(host)
    procs = processes(lab, host)
    en = enabled(lab, host)
    missing = [m for m in en if not procs.get(m, {}).get("alive")]
    socks = sockets(addr)
    expected = {f"udp/{SYSLOG_PORT}": "syslogd@default", f"tcp/{WEB_PORT}": "web@default",
                f"udp/{STAT_PORT}": f"stat@{INSTANCE}", "tcp/8005": "web@default"}
    sshd_pid = read_pidfile(lab.hdir(host) / "run" / f"sshd.{SSH_PORT}.pid")
    ports: dict[str, Any] = {}
    for key, mod in expected.items():
        pids = sorted(set(socks.get(key, [])))
        own = procs.get(mod, {}).get("pid")
        ports[key] = {"pids": pids, "expected": mod, "owner_ok": bool(pids) and pids == [own],
                      "foreign": [p for p in pids if p != own]}
    ssh_pids = sorted(set(socks.get(f"tcp/{SSH_PORT}", [])))
    ports[f"tcp/{SSH_PORT}"] = {"pids": ssh_pids, "expected": "sshd", "owner_ok": bool(ssh_pids) and
                                ssh_pids == [sshd_pid], "foreign": [p for p in ssh_pids if p != sshd_pid]}
    code, body = http(f"http://{addr}:{WEB_PORT}/r/test")
    r_test = {"http_status": code, "ok": code == 200 and "status='OK'" in body, "body": body[:300]}
    code, body = http(f"http://{addr}:{WEB_PORT}/nl/jsp/soaprouter.jsp", SOAP_LOGON.encode(),
                      {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "xtk:session#Logon"})
    soap = {"http_status": code, "ok": code == 200 and "pstrSessionToken" in body,
            "fault": "SOAP-ENV:Fault" in body, "body": body[:400]}
    db = db_facts(lab, host)
    fl = files(lab, host)
    try:
        faults = json.loads((lab.hdir(host) / "run" / "faults.json").read_text())
    except (OSError, ValueError):
        faults = []
    kh = (lab.dir / "known_hosts").read_text() if (lab.dir / "known_hosts").exists() else ""
    served = (lab.hdir(host) / "run" / "hostkey").read_text().strip() if (lab.hdir(host) / "run" / "hostkey").exists() \
        else "ssh_host_ed25519_key"
    served_pub = (lab.hdir(host) / "ssh" / f"{served}.pub").read_text().split()[1]
    wf = db.get("workflows") or {}
    trk, exp = wf.get("tracking", {}), wf.get("exportRecipients", {})

    def alive(m: str) -> bool:
        return bool(procs.get(m, {}).get("alive")) and not procs[m]["stopped_by_signal"]

    healthy = {
        "watchdog": alive("watchdog") and not missing,
        "syslogd": alive("syslogd@default") and ports[f"udp/{SYSLOG_PORT}"]["owner_ok"],
        "web": alive("web@default") and r_test["ok"] and soap["ok"],
        "wfserver": alive(f"wfserver@{INSTANCE}") and db.get("pending_workflow_starts", 1) == 0,
        "mta": alive(f"mta@{INSTANCE}") and db.get("pending_deliveries", 1) == 0,
        "stat": alive(f"stat@{INSTANCE}") and ports[f"udp/{STAT_PORT}"]["owner_ok"],
        "inMail": alive(f"inMail@{INSTANCE}") and fl["bounce_mailbox"] == 0,
        "trackinglogd": alive("trackinglogd@default") and _lt(fl["newest_redir_log_age_s"], 20),
        "tracking": bool(trk) and not trk.get("failed") and trk.get("state") == 11
        and _lt(trk.get("hours_since_last_run"), 1) and not fl["corrupted_lines"],
        "export": bool(exp) and not exp.get("failed") and exp.get("state") == 20 and bool(fl["export_files"]),
        "import": db.get("reachable", False) and db.get("duplicate_email_groups", 1) == 0,
        "sshd": bool(sshd_pid) and ports[f"tcp/{SSH_PORT}"]["owner_ok"] and served_pub in kh,
    }
    return {"host": host, "address": addr, "processes": procs, "enabled": en, "missing": missing, "ports": ports,
            "r_test": r_test, "soap_logon": soap, "db": db, "files": fl, "sshd": {"pid": sshd_pid,
            "host_key_in_known_hosts": served_pub in kh}, "faults": faults, "healthy": healthy}
