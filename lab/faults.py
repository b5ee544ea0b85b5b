"""Fault injection and healing for lab hosts.

Owns: FAULTS (name -> one-line description, breaker) and `heal()`, which puts a host back on its
healthy baseline whatever was broken. Must not: signal any process that is not recorded by the lab.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .core import INSTANCE, SSH_PORT, SYSLOG_PORT, LabError, kill_verified, read_pidfile, write_pidfile

if TYPE_CHECKING:
    from .core import Lab

I = INSTANCE  # noqa: E741 - the instance, as in the operations doc


def _flag(lab: Lab, host: str, name: str) -> None:
    d = lab.hdir(host) / "run" / "faults"
    d.mkdir(exist_ok=True)
    lab.chown(d)
    lab.write(d / name, "")


def _stop(*mods: str) -> Callable[[Lab, str], None]:
    def f(lab: Lab, host: str) -> None:
        for m in mods:
            lab.nlserver(host, "stop", m)
    return f


def _pending_deliveries(lab: Lab, host: str) -> None:
    lab.psql("INSERT INTO NmsDelivery (iDeliveryId, sInternalName, sLabel, iState, iToDeliver) SELECT "
             "coalesce(max(iDeliveryId),0)+1, 'DM'||(coalesce(max(iDeliveryId),0)+1), 'Flash sale', 45, 150 "
             "FROM NmsDelivery", db=f"campaign_{host}")


def wfserver_hung(lab: Lab, host: str) -> None:
    pid = read_pidfile(lab.hdir(host) / "run" / "procs" / f"wfserver@{I}.pid")
    if not pid:
        raise LabError(f"{host}: wfserver@{I} is not running, cannot hang it")
    os.kill(pid, signal.SIGSTOP)
    lab.psql("INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) SELECT iWorkflowId, 'start' FROM XtkWorkflow "
             "WHERE sInternalName='exportRecipients'", db=f"campaign_{host}")


def syslogd_port_taken(lab: Lab, host: str) -> None:
    lab.nlserver(host, "stop", "syslogd@default")
    run = lab.hdir(host) / "run"
    p = lab.popen_as([lab.python, "-I", "-S", str(lab.dir / "sim" / "nlsim.py"), "_squat", "udp", lab.addr(host),
                      str(SYSLOG_PORT)], run / "squatter.log")
    write_pidfile(run / "foreign" / "squatter.pid", p.pid)


def stopped_and(extra: Callable[[Lab, str], None], *mods: str) -> Callable[[Lab, str], None]:
    def f(lab: Lab, host: str) -> None:
        _stop(*mods)(lab, host)
        extra(lab, host)
    return f


def inmail_bounces(lab: Lab, host: str) -> None:
    box = lab.hdir(host) / "nl6" / f"var/{I}/inmail/mailbox"
    for k in range(12):
        lab.write(box / f"bounce-{int(time.time())}-{k}.eml",
                  f"From: MAILER-DAEMON@mx.example.net\nTo: bounce@lab\nSubject: Undelivered Mail Returned to Sender\n"
                  f"\n550 5.1.1 <user{k + 1}@example.com>: Recipient address rejected: User unknown\n")


def tracking_failed(lab: Lab, host: str) -> None:
    lab.psql("UPDATE XtkWorkflow SET iFailed=1, sErrorMessage='WDB-200001 SQL statement ''INSERT INTO "
             "NmsTrackingLogRcp'' could not be executed. (iRc=-2006)', tsLastRun=now() - interval '40 minutes' "
             "WHERE sInternalName='tracking'", db=f"campaign_{host}")


def tracking_stale(lab: Lab, host: str) -> None:
    lab.psql("UPDATE XtkWorkflow SET iState=13, tsLastRun=now() - interval '6 hours', "
             "tsLastSuccess=now() - interval '6 hours' WHERE sInternalName='tracking'", db=f"campaign_{host}")


def redir_corrupt(lab: Lab, host: str) -> None:
    d = lab.hdir(host) / "nl6" / f"var/{I}/redir/log"
    ts = time.strftime("%Y/%m/%d %H:%M:%S")
    name = d / ("0x%016X.log" % int(time.time() * 1e6 - 5e6))
    lab.write(name, f"50x000000000FD7EC86\t{ts}\t1\t12\t1\topen\n"
                    f"50x000000000FD7EC87\t{ts}\t1\t\x00\x00\x1a#\xff garbled\n"
                    f"50x000000000FD7EC88\t{ts}\t2\t14\t2\tclick\n")


def web_xtk_errors(lab: Lab, host: str) -> None:
    p = lab.hdir(host) / "nl6" / "conf" / f"config-{I}.xml"
    lab.write(p, p.read_text().replace('port="5432"', 'port="5439"'))


def import_duplicates(lab: Lab, host: str) -> None:
    # 12 re-imported into the same folder, 8 into the other folder; the originals keep the lowest ids
    lab.psql("INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId, sFirstName, sLastName, sCompany) "
             "SELECT nextval('NmsRecipient_seq'), CASE WHEN iRecipientId % 3 = 0 THEN upper(sEmail) ELSE sEmail END, "
             "CASE WHEN iRecipientId <= 12 THEN iFolderId ELSE 3 - iFolderId END, sFirstName, sLastName, sCompany "
             "FROM NmsRecipient WHERE iRecipientId IN (1,2,3,4,5,6,7,8,9,10,11,12,130,131,132,133,134,135,136,137) "
             "ORDER BY iRecipientId", db=f"campaign_{host}")


def export_failed(lab: Lab, host: str) -> None:
    lab.psql("UPDATE XtkWorkflow SET iState=13, iFailed=1, tsLastRun=now(), sErrorMessage='XTK-170041 Unable to "
             "write the export file ''exportRecipients.csv'': disk quota exceeded (iRc=-54)' "
             "WHERE sInternalName='exportRecipients'", db=f"campaign_{host}")
    for p in (lab.hdir(host) / "nl6" / f"var/{I}/export").glob("*.csv"):
        p.unlink()


def sshd_drops(lab: Lab, host: str) -> None:
    lab._sshd_stop(host, SSH_PORT)
    lab._sshd_start(host, SSH_PORT + 1)
    run = lab.hdir(host) / "run"
    p = lab.popen_as([lab.python, "-I", "-S", str(lab.dir / "sim" / "nlsim.py"), "_proxy", lab.addr(host),
                      str(SSH_PORT), str(SSH_PORT + 1), "2"], run / "proxy.log")
    write_pidfile(run / "foreign" / "proxy.pid", p.pid)
    deadline = time.time() + 5
    from .status import sockets  # probing by connecting would use up one of the dropped connections
    while f"tcp/{SSH_PORT}" not in sockets(lab.addr(host)) and time.time() < deadline:
        time.sleep(0.05)


def hostkey_changed(lab: Lab, host: str) -> None:
    lab._sshd_stop(host, SSH_PORT)
    lab.write(lab.hdir(host) / "run" / "hostkey", "ssh_host_ed25519_key.changed\n")
    lab._sshd_start(host, SSH_PORT, "ssh_host_ed25519_key.changed")


FAULTS: dict[str, tuple[str, Callable[[Lab, str], None]]] = {
    "wfserver_down": ("wfserver@prod stopped; the watchdog does not restart it", _stop(f"wfserver@{I}")),
    "wfserver_hung": ("wfserver@prod alive but frozen (SIGSTOP): requested workflow starts pile up", wfserver_hung),
    "watchdog_down": ("every process stopped (nlserver shutdown): pdump prints No tasks",
                      lambda lab, h: lab.nlserver(h, "shutdown") and None),
    "modules_missing": ("mta@prod and trackinglogd@default stopped: monitor -missing lists them",
                        _stop(f"mta@{I}", "trackinglogd@default")),
    "syslogd_down": ("syslogd@default stopped: module log lines are lost", _stop("syslogd@default")),
    "syslogd_port_taken": ("syslogd down and a foreign process holds udp 6666 on the host address", syslogd_port_taken),
    "mta_down": ("mta@prod stopped: a new delivery stays Pending", stopped_and(_pending_deliveries, f"mta@{I}")),
    "stat_down": ("stat@prod stopped: mta gets no answer on udp 7777, a new delivery stays Pending",
                  stopped_and(_pending_deliveries, f"stat@{I}")),
    "inmail_stopped": ("inMail@prod stopped and 12 bounce mails pile up in the mailbox",
                       stopped_and(inmail_bounces, f"inMail@{I}")),
    "trackinglogd_down": ("trackinglogd@default stopped: no new redir log lines/files", _stop("trackinglogd@default")),
    "tracking_failed": ("Tracking workflow in error (iFailed=1 with an error message)", tracking_failed),
    "tracking_stale": ("Tracking workflow paused and not run for 6 hours", tracking_stale),
    "redir_corrupt": ("a redir/log file holds a corrupted line: the tracking utility fails on it", redir_corrupt),
    "web_down": ("web@default stopped: /r/test and the SOAP router do not answer", _stop("web@default")),
    "web_xtk_errors": ("web's data source points to a wrong DB port: SOAP Logon answers an xtk:session fault",
                       web_xtk_errors),
    "import_duplicates": ("an import re-run duplicated 20 recipients (12 in the same folder, 8 across folders)",
                          import_duplicates),
    "export_failed": ("the export workflow failed (iFailed=1) and its export file is missing", export_failed),
    "slow_restart": ("after a start/restart, modules take ~4 s before they appear in pdump",
                     lambda lab, h: _flag(lab, h, "slow_restart")),
    "sshd_drops": ("a proxy in front of sshd drops the first 2 connections; later ones work", sshd_drops),
    "command_hangs": ("`nlserver pdump` and `nlserver monitor` hang forever",
                      lambda lab, h: _flag(lab, h, "command_hangs")),
    "hostkey_changed": ("sshd serves a new host key that is not in known_hosts", hostkey_changed),
}


def _faults_file(lab: Lab, host: str) -> Path:
    return lab.hdir(host) / "run" / "faults.json"


def active(lab: Lab, host: str) -> list[str]:
    try:
        return list(json.loads(_faults_file(lab, host).read_text()))
    except (OSError, ValueError):
        return []


def apply(lab: Lab, host: str, fault: str) -> None:
    if fault not in FAULTS:
        raise LabError(f"{fault}: unknown fault (see `python -m lab faults`)")
    FAULTS[fault][1](lab, host)
    names = active(lab, host)
    if fault not in names:
        names.append(fault)
    _faults_file(lab, host).write_text(json.dumps(names) + "\n")


def heal(lab: Lab, host: str) -> None:
    h = lab.hdir(host)
    run = h / "run"
    for f in (run / "faults").glob("*") if (run / "faults").exists() else []:
        f.unlink()
    kill_verified(sorted((run / "hung").glob("*.pid")) + sorted((run / "foreign").glob("*.pid")))
    wf = read_pidfile(run / "procs" / f"wfserver@{I}.pid")
    if wf:
        os.kill(wf, signal.SIGCONT)
    # sshd back on its baseline key and port
    hk = run / "hostkey"
    if hk.exists() or read_pidfile(run / f"sshd.{SSH_PORT + 1}.pid"):
        lab._sshd_stop(host, SSH_PORT)
        lab._sshd_stop(host, SSH_PORT + 1)
        if hk.exists():
            hk.unlink()
    lab._sshd_start(host, SSH_PORT)
    lab._configs(host)
    # files
    import re
    rx = re.compile(r"^\d0x[0-9A-F]{16}\t\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\t\d+\t\d+\t\d+\t[a-z]+$")
    for p in (h / "nl6" / f"var/{I}/redir/log").glob("0x*.log"):
        lines = p.read_text(errors="replace").splitlines()
        good = [ln for ln in lines if rx.match(ln)]
        if len(good) != len(lines):
            lab.write(p, "".join(ln + "\n" for ln in good))
    # database baseline
    lab.psql("DELETE FROM NmsRecipient WHERE iRecipientId > 200;"
             "DELETE FROM XtkWorkflowJob WHERE iStatus=0;"
             "DELETE FROM NmsDelivery WHERE iDeliveryId > 3;"
             "UPDATE XtkWorkflow SET iState=11, iFailed=0, sErrorMessage=NULL, tsLastRun=now(), tsLastSuccess=now() "
             "WHERE sInternalName='tracking';"
             "UPDATE XtkWorkflow SET iState=20, iFailed=0, sErrorMessage=NULL WHERE sInternalName='importRecipients';",
             db=f"campaign_{host}")
    export_ok = any((h / "nl6" / f"var/{I}/export").glob("*.csv"))
    if not export_ok or lab.psql("SELECT iState||','||iFailed FROM XtkWorkflow WHERE sInternalName='exportRecipients'",
                                 db=f"campaign_{host}") != "20,0":
        lab.psql("INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) SELECT iWorkflowId, 'restart' FROM XtkWorkflow "
                 "WHERE sInternalName='exportRecipients'", db=f"campaign_{host}")
    # processes: a running watchdog restarts whatever is no longer marked stopped
    if read_pidfile(run / "procs" / "watchdog.pid"):
        for m in (run / "stopped").glob("*") if (run / "stopped").exists() else []:
            m.unlink()
    else:
        lab.nlserver(host, "watchdog", "-svc", "-noconsole")
    for v in (run / "verbose").glob("*") if (run / "verbose").exists() else []:
        v.unlink()
    _faults_file(lab, host).write_text("[]\n")
    lab._wait_ready([host], timeout=20)
    deadline = time.time() + 15
    while time.time() < deadline:
        if lab.psql("SELECT count(*) FROM XtkWorkflowJob WHERE iStatus=0", db=f"campaign_{host}") == "0":
            break
        time.sleep(0.2)
