"""Fault injection and healing for lab hosts.

Owns: FAULTS (name -> one-line description, breaker), the host's list of active faults
(run/faults.json) and `heal()`, which puts a host back on its healthy baseline whatever was broken.
Must not: signal any process that is not recorded by the lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from . import front, mailbox
from .base import (
    FRONT_PORT,
    INSTANCE,
    MOVED_VAR_DIR,
    NO_TRACKING_SERVER,
    REDIR_GLOB,
    SSH_PORT,
    SYSLOG_PORT,
    LabError,
    customer_setting,
    is_redir_line,
    kill_verified,
    read_pidfile,
    redir_line,
    redir_log_name,
    write_pidfile,
)
from .context import LabContext
from .hostfiles import customer_sh, write_configs
from .sshd import HOST_KEY, sshd_start, sshd_stop
from .status import sockets, wait_ready, wait_settled
from .templates import BROKEN_JAVA

Breaker = Callable[[LabContext, str], None]


def _db(host: str) -> str:
    return f"campaign_{host}"  # the main instance's database (LabContext.db_name)


def _flag(lab: LabContext, host: str, name: str, text: str = "") -> None:
    d = lab.hdir(host) / "run" / "faults"
    d.mkdir(exist_ok=True)
    lab.chown(d)
    lab.write(d / name, text)


def _flagged(name: str) -> Breaker:
    def f(lab: LabContext, host: str) -> None:
        _flag(lab, host, name)

    return f


def _stop(*mods: str) -> Breaker:
    def f(lab: LabContext, host: str) -> None:
        for m in mods:
            lab.nlserver(host, "stop", m)

    return f


def _stopped_and(extra: Breaker, *mods: str) -> Breaker:
    def f(lab: LabContext, host: str) -> None:
        _stop(*mods)(lab, host)
        extra(lab, host)

    return f


def _pending_deliveries(lab: LabContext, host: str) -> None:
    lab.psql(
        "INSERT INTO NmsDelivery (iDeliveryId, sInternalName, sLabel, iState, iToDeliver) SELECT "
        "coalesce(max(iDeliveryId),0)+1, 'DM'||(coalesce(max(iDeliveryId),0)+1), 'Flash sale', 51, 150 "
        "FROM NmsDelivery;"
        "INSERT INTO NmsBroadLogRcp (iDeliveryId, iRecipientId, iStatus) SELECT d, i, 6 FROM "
        "(SELECT max(iDeliveryId) AS d FROM NmsDelivery) m, generate_series(1, 150) AS i",
        db=_db(host),
    )


def watchdog_down(lab: LabContext, host: str) -> None:
    lab.nlserver(host, "shutdown")


def wfserver_hung(lab: LabContext, host: str) -> None:
    pid = read_pidfile(lab.hdir(host) / "run" / "procs" / f"wfserver@{INSTANCE}.pid")
    if not pid:
        raise LabError(f"{host}: wfserver@{INSTANCE} is not running, cannot hang it")
    os.kill(pid, signal.SIGSTOP)
    lab.psql(
        "INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) SELECT iWorkflowId, 'start' FROM XtkWorkflow "
        "WHERE sInternalName='exportRecipients'",
        db=_db(host),
    )


def syslogd_port_taken(lab: LabContext, host: str) -> None:
    lab.nlserver(host, "stop", "syslogd@default")
    run = lab.hdir(host) / "run"
    p = lab.popen_as(lab.sim_argv("_squat", "udp", lab.addr(host), str(SYSLOG_PORT)), run / "squatter.log")
    write_pidfile(run / "foreign" / "squatter.pid", p.pid)
    _wait_bound(lab, host, f"udp/{SYSLOG_PORT}")


def _wait_bound(lab: LabContext, host: str, key: str, timeout: float = 5.0) -> None:
    """Wait until a socket `key` ("udp/6666") is bound on the host's address (read from `ss`, no probe)."""
    deadline = time.time() + timeout
    while key not in sockets(lab.addr(host)) and time.time() < deadline:
        time.sleep(0.05)


def inmail_bounces(lab: LabContext, host: str) -> None:
    mailbox.bounces(lab, host, 12)


def pop3_down(lab: LabContext, host: str) -> None:
    """The lab's POP3 server stops; this host's inMail polls every 5 s (set through popMailPeriodSec) and logs
    each failed connection."""
    mailbox.stop(lab)
    write_configs(lab, host, pop_period=5)
    lab.nlserver(host, "restart", f"inMail@{INSTANCE}")


def _set_workflow(lab: LabContext, host: str, internal_name: str, assignments: str) -> None:
    """Put one workflow of the host's database in a state (``assignments``: the SET list, in SQL)."""
    lab.psql(f"UPDATE XtkWorkflow SET {assignments} WHERE sInternalName='{internal_name}'", db=_db(host))


def tracking_failed(lab: LabContext, host: str) -> None:
    _set_workflow(
        lab,
        host,
        "tracking",
        "iFailed=1, sErrorMessage='WDB-200001 SQL statement ''INSERT INTO NmsTrackingLogRcp'' could not be "
        "executed. (iRc=-2006)', tsLastRun=now() - interval '40 minutes'",
    )


def _set_option(lab: LabContext, host: str, name: str, assignments: str) -> None:
    """Set an option of the host's main instance (``assignments``: the SET list of XtkOption, in SQL)."""
    lab.psql(f"UPDATE XtkOption SET {assignments} WHERE sName='{name}'", db=_db(host))


def tracking_stale(lab: LabContext, host: str) -> None:
    six_hours_ago = "now() - interval '6 hours'"
    _set_workflow(lab, host, "tracking", f"iState=13, tsLastRun={six_hours_ago}, tsLastSuccess={six_hours_ago}")
    _set_option(lab, host, "NmsTracking_LastConsolidation", f"tsTimeStampValue={six_hours_ago}")


def tracking_stopped(lab: LabContext, host: str) -> None:
    """An operator stopped the Tracking workflow (xtk.workflow.Stop: @state 20, not in error)."""
    _set_workflow(lab, host, "tracking", "iState=20, iFailed=0, sErrorMessage=NULL")


def tracking_server_down(lab: LabContext, host: str) -> None:
    """NmsTracking_ServerUrlList names a second tracking server, on an address where nothing answers."""
    net = lab.addr(host).rsplit(".", 1)[0]
    urls = f"{front.url(lab, host)},http://{net}.{NO_TRACKING_SERVER}:{FRONT_PORT}"
    _set_option(lab, host, "NmsTracking_ServerUrlList", f"sStringValue='{urls}'")


def front_web_down(lab: LabContext, host: str) -> None:
    front.stop(lab, host)


def redir_corrupt(lab: LabContext, host: str) -> None:
    """A redir log file whose line 2 was cut short by a crash and holds binary garbage, among good lines."""
    d = lab.var_dir(host) / INSTANCE / "redir" / "log"
    if not d.is_dir():
        raise LabError(f"{host}: not a redirection server (no {d})")
    t = time.time() - 5
    good = [
        redir_line(int(t * 1000) << 12 | k, t, 1, 12 + k, 1, "h", "https://www.example.com/", "Mozilla/5.0", "10.0.0.8")
        for k in range(3)
    ]
    corrupted = good[1][:30].encode() + b"\x00\x00\x1a#\xff"
    data = good[0].encode() + b"\n" + corrupted + b"\n" + good[2].encode() + b"\n"
    path = d / redir_log_name(t)
    path.write_bytes(data)
    lab.chown(path)


def web_xtk_errors(lab: LabContext, host: str) -> None:
    p = lab.hdir(host) / "nl6" / "conf" / f"config-{INSTANCE}.xml"
    lab.write(p, p.read_text().replace('port="5432"', 'port="5439"'))


def _web_process_fault(name: str) -> Breaker:
    """A fault of the running web process only (run/faults/<name> holds its pid): a restart clears it."""

    def f(lab: LabContext, host: str) -> None:
        pid = read_pidfile(lab.hdir(host) / "run" / "procs" / "web@default.pid")
        if not pid:
            raise LabError(f"{host}: web@default is not running")
        _flag(lab, host, name, f"{pid}\n")

    return f


def web_java_error(lab: LabContext, host: str) -> None:
    """customer.sh points JAVA_HOME at a JVM that is not installed; web restarted so that Tomcat reads it."""
    text = customer_sh(lab, host) + BROKEN_JAVA.format(jvm="java-8-openjdk-amd64")
    lab.write(lab.hdir(host) / "nl6" / "customer.sh", text)
    lab.nlserver(host, "restart", "web@default")
    wait_ready(lab, [host], timeout=20)


def import_duplicates(lab: LabContext, host: str) -> None:
    # a partial import an hour ago created the originals; its re-run now: 12 re-imported into the same
    # folder, 8 into the other folder; the originals keep the lowest ids
    lab.psql(
        "UPDATE NmsRecipient SET tsCreated = now() - interval '1 hour' "
        "WHERE iRecipientId IN (1,2,3,4,5,6,7,8,9,10,11,12,130,131,132,133,134,135,136,137);"
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId, sFirstName, sLastName, sCompany) "
        "SELECT nextval('NmsRecipient_seq'), CASE WHEN iRecipientId % 3 = 0 THEN upper(sEmail) ELSE sEmail END, "
        "CASE WHEN iRecipientId <= 12 THEN iFolderId ELSE 3 - iFolderId END, sFirstName, sLastName, sCompany "
        "FROM NmsRecipient WHERE iRecipientId IN (1,2,3,4,5,6,7,8,9,10,11,12,130,131,132,133,134,135,136,137) "
        "ORDER BY iRecipientId;"
        # some copies are already pointed at: a subscription, a delivery log, a tracking log
        "INSERT INTO NmsSubscription (iRecipientId, iServiceId) SELECT iRecipientId, 1 FROM NmsRecipient "
        "WHERE iRecipientId > 200 ORDER BY iRecipientId LIMIT 4;"
        "INSERT INTO NmsBroadLogRcp (iDeliveryId, iRecipientId, iStatus) SELECT 2, iRecipientId, 1 FROM NmsRecipient "
        "WHERE iRecipientId > 200 ORDER BY iRecipientId LIMIT 3 OFFSET 4;"
        "INSERT INTO NmsTrackingLogRcp (iTrackingLogId, iDeliveryId, iRecipientId, iUrlId, tsLog, sSourceId) "
        "SELECT 9000000 + iRecipientId, 2, iRecipientId, 1, now(), 'import_duplicates' FROM NmsRecipient "
        "WHERE iRecipientId > 200 ORDER BY iRecipientId LIMIT 2 OFFSET 7;"
        # and a group membership and a subscription history row (data-model-description.md)
        "INSERT INTO NmsRcpGrpRel (iRecipientId, iGroupId) SELECT iRecipientId, 1 FROM NmsRecipient "
        "WHERE iRecipientId > 200 ORDER BY iRecipientId LIMIT 1 OFFSET 9;"
        "INSERT INTO NmsSubHisto (iRecipientId, iServiceId, iAction) SELECT iRecipientId, 1, 1 FROM NmsRecipient "
        "WHERE iRecipientId > 200 ORDER BY iRecipientId LIMIT 1 OFFSET 10",
        db=_db(host),
    )


def export_failed(lab: LabContext, host: str) -> None:
    _set_workflow(
        lab,
        host,
        "exportRecipients",
        "iState=13, iFailed=1, tsLastRun=now(), sErrorMessage='XTK-170041 Unable to write the export file "
        "''exportRecipients.csv'': disk quota exceeded (iRc=-54)'",
    )
    for p in (lab.var_dir(host) / INSTANCE / "export").glob("*.csv"):
        p.unlink()


def export_paused(lab: LabContext, host: str) -> None:
    _set_workflow(lab, host, "exportRecipients", "iState=13, iFailed=0, sErrorMessage=NULL")


def sshd_drops(lab: LabContext, host: str) -> None:
    sshd_stop(lab, host, SSH_PORT)
    sshd_start(lab, host, SSH_PORT + 1)
    run = lab.hdir(host) / "run"
    argv = lab.sim_argv("_proxy", lab.addr(host), str(SSH_PORT), str(SSH_PORT + 1), "2")
    p = lab.popen_as(argv, run / "proxy.log")
    write_pidfile(run / "foreign" / "proxy.pid", p.pid)
    # probing by connecting would use up one of the dropped connections
    _wait_bound(lab, host, f"tcp/{SSH_PORT}")


def hostkey_changed(lab: LabContext, host: str) -> None:
    sshd_stop(lab, host, SSH_PORT)
    lab.write(lab.hdir(host) / "run" / "hostkey", f"{HOST_KEY}.changed\n")
    sshd_start(lab, host, SSH_PORT, f"{HOST_KEY}.changed")


# Site settings (customer.sh), not faults: the host stays healthy. A site edits customer.sh and restarts the
# Campaign service ("You must restart the Adobe Campaign service in order for the changes to be taken into
# account", installation/using/installing-packages-with-linux.md); the lab does the same.
def _restart_campaign(lab: LabContext, host: str) -> None:
    lab.nlserver(host, "shutdown")
    lab.nlserver(host, "watchdog", "-svc", "-noconsole")
    wait_ready(lab, [host], timeout=30)


def syslogd_moved(lab: LabContext, host: str) -> None:
    """TRACE_ADDR moves syslogd to udp 6667 on the host's address (production/using/configuration.md)."""
    lab.write(lab.hdir(host) / "nl6" / "customer.sh", customer_sh(lab, host, f"{lab.addr(host)}:{SYSLOG_PORT + 1}"))
    _restart_campaign(lab, host)


def syslogd_loopback(lab: LabContext, host: str) -> None:
    """TRACE_ADDR=localhost:<port>, Adobe's own form: syslogd binds 127.0.0.1, not the host's address (the port
    is this lab host's own, as every lab host shares the machine's loopback)."""
    trace = f"localhost:{lab.loopback_port(host)}"
    lab.write(lab.hdir(host) / "nl6" / "customer.sh", customer_sh(lab, host, trace))
    _restart_campaign(lab, host)


def var_dir_moved(lab: LabContext, host: str) -> None:
    """XTK_VAR_DIR moves the whole var/ tree (logs, redirections, exports) out of nl6/: nothing is left there."""
    var, moved = lab.hdir(host) / "nl6" / "var", lab.hdir(host) / MOVED_VAR_DIR
    lab.nlserver(host, "shutdown")
    moved.parent.mkdir(parents=True, exist_ok=True)
    for d in (moved.parent.parent, moved.parent):
        lab.chown(d)
    var.rename(moved)
    lab.write(lab.hdir(host) / "nl6" / "customer.sh", customer_sh(lab, host, var_dir=moved))
    lab.nlserver(host, "watchdog", "-svc", "-noconsole")
    wait_ready(lab, [host], timeout=30)


def _memory_thresholds(lab: LabContext, host: str) -> tuple[float, float]:
    """web's maxProcessMemoryWarningMb / maxProcessMemoryAlertMb on the host: config-default.xml, else
    serverConf.xml, else Adobe's 1600 / 1800 (installation/using/the-server-configuration-file.md)."""
    import xml.etree.ElementTree as ET

    found: dict[str, float] = {}
    for name in ("config-default.xml", "serverConf.xml"):
        try:
            web = ET.parse(lab.hdir(host) / "nl6" / "conf" / name).getroot().find("web")
        except (OSError, ET.ParseError):
            continue
        for attr in ("maxProcessMemoryWarningMb", "maxProcessMemoryAlertMb"):
            value = web.get(attr) if web is not None else None
            if attr not in found and value and value.strip().isdigit():
                found[attr] = float(value)
    return found.get("maxProcessMemoryWarningMb", 1600.0), found.get("maxProcessMemoryAlertMb", 1800.0)


def _memory(level: str) -> Breaker:
    """web@default's process shows more memory in pdump: between the host's warning and alert thresholds
    (warning), or above the alert (alert). Held by run/faults/memory for that pid: a restart ends it."""

    def f(lab: LabContext, host: str) -> None:
        pid = read_pidfile(lab.hdir(host) / "run" / "procs" / "web@default.pid")
        if not pid:
            raise LabError(f"{host}: web@default is not running")
        warning, alert = _memory_thresholds(lab, host)
        mb = (warning + alert) / 2 if level == "warning" else alert + 100
        _flag(lab, host, "memory", f"web@default {pid} {mb:.1f}\n")

    return f


def _merge_into(src: Path, dst: Path) -> None:
    """Move what `src` holds that `dst` lacks into `dst` (a directory written while var/ was elsewhere, such as
    remediate's lock directory), then remove `src`."""
    for item in src.iterdir():
        target = dst / item.name
        if not target.exists():
            shutil.move(str(item), str(target))
        elif item.is_dir() and target.is_dir():
            _merge_into(item, target)
    shutil.rmtree(src, ignore_errors=True)


def _heal_settings(lab: LabContext, host: str) -> None:
    """customer.sh back on the host's own TRACE_ADDR and no XTK_VAR_DIR, var/ back in nl6/, Campaign restarted
    (only when a setting or the var/ tree moved)."""
    customer, baseline = lab.hdir(host) / "nl6" / "customer.sh", customer_sh(lab, host)
    var, moved = lab.hdir(host) / "nl6" / "var", lab.hdir(host) / MOVED_VAR_DIR
    settings = ("TRACE_ADDR", "XTK_VAR_DIR")
    if all(lab.setting(host, n) == customer_setting(baseline, n) for n in settings) and not moved.exists():
        return
    lab.nlserver(host, "shutdown")
    if moved.exists():
        if var.exists():
            _merge_into(var, moved)
        moved.rename(var)
        shutil.rmtree(lab.hdir(host) / MOVED_VAR_DIR.parts[0], ignore_errors=True)
    lab.write(customer, baseline)
    lab.nlserver(host, "watchdog", "-svc", "-noconsole")


FAULTS: dict[str, tuple[str, Breaker]] = {
    "wfserver_down": ("wfserver@prod stopped; the watchdog does not restart it", _stop(f"wfserver@{INSTANCE}")),
    "wfserver_hung": ("wfserver@prod alive but frozen (SIGSTOP): requested workflow starts pile up", wfserver_hung),
    "watchdog_down": ("every process stopped (nlserver shutdown): pdump prints No tasks", watchdog_down),
    "modules_missing": (
        "mta@prod and trackinglogd@default stopped: monitor -missing lists them",
        _stop(f"mta@{INSTANCE}", "trackinglogd@default"),
    ),
    "syslogd_down": ("syslogd@default stopped: module log lines are lost", _stop("syslogd@default")),
    "syslogd_port_taken": ("syslogd down and a foreign process holds udp 6666 on the host address", syslogd_port_taken),
    "mta_down": (
        "mta@prod stopped: a new delivery stays Pending",
        _stopped_and(_pending_deliveries, f"mta@{INSTANCE}"),
    ),
    "stat_down": (
        "stat@prod stopped: mta gets no answer on udp 7777, a new delivery stays Pending",
        _stopped_and(_pending_deliveries, f"stat@{INSTANCE}"),
    ),
    "inmail_stopped": (
        "inMail@prod stopped and 12 bounce mails pile up in the mailbox",
        _stopped_and(inmail_bounces, f"inMail@{INSTANCE}"),
    ),
    "pop3_down": (
        "the POP3 server of the bounce mailboxes stops; inMail@prod (polling every 5 s) logs connection errors",
        pop3_down,
    ),
    "trackinglogd_down": ("trackinglogd@default stopped: no new redir log lines/files", _stop("trackinglogd@default")),
    "tracking_failed": ("Tracking workflow in error (iFailed=1 with an error message)", tracking_failed),
    "tracking_stale": ("Tracking workflow paused and not run for 6 hours", tracking_stale),
    "tracking_stopped": ("Tracking workflow stopped by an operator (@state 20, not in error)", tracking_stopped),
    "tracking_server_down": (
        "NmsTracking_ServerUrlList names a second tracking server that does not answer /r/test",
        tracking_server_down,
    ),
    "redir_corrupt": ("a redir/log file holds a corrupted line: the tracking utility fails on it", redir_corrupt),
    "web_down": ("web@default stopped: /r/test and the SOAP router do not answer", _stop("web@default")),
    "web_xtk_errors": (
        "web's data source points to a wrong DB port: SOAP Logon answers an xtk:session fault",
        web_xtk_errors,
    ),
    "web_r_test_failing": (
        "web@default runs (pdump) but /r/test answers <redir status='ERROR' .../>; a restart of web fixes it",
        _web_process_fault("web_r_test_failing"),
    ),
    "web_logon_blank": (
        "web@default runs but /nl/jsp/logon.jsp answers a blank page (web module down behind Tomcat); a restart "
        "fixes it",
        _web_process_fault("web_logon_blank"),
    ),
    "web_logon_redirect": (
        "/nl/jsp/logon.jsp answers HTTP 302 with an empty body (a redirect, not a blank page); a restart does not "
        "change it",
        _flagged("web_logon_redirect"),
    ),
    "front_web_down": (
        "the front web server (Apache in Adobe's pages) is stopped: /r/test through it fails, Tomcat's answers",
        front_web_down,
    ),
    "web_java_error": (
        "logon.jsp answers Tomcat's HTTP 500 error report (java.lang.UnsatisfiedLinkError): customer.sh's "
        "JAVA_HOME is wrong, a restart does not fix it",
        web_java_error,
    ),
    "memory_warning": (
        "pdump shows web@default between maxProcessMemoryWarningMb and maxProcessMemoryAlertMb (1600 / 1800 by "
        "default): a warning; a restart of web ends it",
        _memory("warning"),
    ),
    "memory_alert": (
        "pdump shows web@default above maxProcessMemoryAlertMb (1800 by default): an alert; a restart of web ends it",
        _memory("alert"),
    ),
    "import_duplicates": (
        "an import re-run duplicated 20 recipients (12 in the same folder, 8 across folders)",
        import_duplicates,
    ),
    "export_failed": ("the export workflow failed (iFailed=1) and its export file is missing", export_failed),
    "export_paused": ("the export workflow is paused (@state 13, not in error): it does not run", export_paused),
    "slow_restart": ("after a start/restart, modules take ~4 s before they appear in pdump", _flagged("slow_restart")),
    "sshd_drops": ("a proxy in front of sshd drops the first 2 connections; later ones work", sshd_drops),
    "command_hangs": ("`nlserver pdump` and `nlserver monitor` hang forever", _flagged("command_hangs")),
    "hostkey_changed": ("sshd serves a new host key that is not in known_hosts", hostkey_changed),
    "syslogd_moved": (
        "site setting, healthy: customer.sh's TRACE_ADDR moves syslogd to udp 6667 (Campaign restarted)",
        syslogd_moved,
    ),
    "syslogd_loopback": (
        "site setting, healthy: TRACE_ADDR=localhost:<port>, syslogd bound on 127.0.0.1 (Campaign restarted)",
        syslogd_loopback,
    ),
    "var_dir_moved": (
        "site setting, healthy: customer.sh's XTK_VAR_DIR moves the var/ tree (logs, redir, exports) out of nl6/",
        var_dir_moved,
    ),
}


def _faults_file(lab: LabContext, host: str) -> Path:
    return lab.hdir(host) / "run" / "faults.json"


def active(lab: LabContext, host: str) -> list[str]:
    try:
        return [str(f) for f in json.loads(_faults_file(lab, host).read_text())]
    except (OSError, ValueError, TypeError):
        return []


def apply(lab: LabContext, host: str, fault: str) -> None:
    if fault not in FAULTS:
        raise LabError(f"{fault}: unknown fault (see `python -m lab faults`)")
    FAULTS[fault][1](lab, host)
    names = active(lab, host)
    if fault not in names:
        names.append(fault)
    _faults_file(lab, host).write_text(json.dumps(names) + "\n")


def _clear(d: Path) -> None:
    for f in d.glob("*") if d.exists() else []:
        f.unlink()


def _heal_processes_and_sshd(lab: LabContext, host: str) -> None:
    run = lab.hdir(host) / "run"
    _clear(run / "faults")
    kill_verified(sorted((run / "hung").glob("*.pid")) + sorted((run / "foreign").glob("*.pid")))
    wf = read_pidfile(run / "procs" / f"wfserver@{INSTANCE}.pid")
    if wf:
        os.kill(wf, signal.SIGCONT)
    # sshd back on its baseline key and port
    hk = run / "hostkey"
    if hk.exists() or read_pidfile(run / f"sshd.{SSH_PORT + 1}.pid"):
        sshd_stop(lab, host, SSH_PORT)
        sshd_stop(lab, host, SSH_PORT + 1)
        if hk.exists():
            hk.unlink()
    sshd_start(lab, host, SSH_PORT)


def _rotate_log(lab: LabContext, host: str, module: str) -> None:
    """Rotate var/<I>/log/<module>.log to <module>_2.log (as syslogd does at maxFileSizeMb): the errors logged
    while broken leave the current file; syslogd opens a new one at its next line."""
    for instance in lab.instances(host):
        current = lab.var_dir(host) / instance / "log" / f"{module}.log"
        if current.exists():
            current.replace(current.with_name(f"{module}_2.log"))


def _heal_files(lab: LabContext, host: str, was: list[str]) -> None:
    write_configs(lab, host)
    customer = lab.hdir(host) / "nl6" / "customer.sh"
    if customer.read_text() != customer_sh(lab, host):
        lab.write(customer, customer_sh(lab, host))
        if read_pidfile(lab.hdir(host) / "run" / "procs" / "web@default.pid"):
            lab.nlserver(host, "restart", "web@default")
    if "pop3_down" in was:
        _rotate_log(lab, host, "inMail")
        # back to the polling period of config-<instance>.xml (300 s): inMail reads it when it starts
        if read_pidfile(lab.hdir(host) / "run" / "procs" / f"inMail@{INSTANCE}.pid"):
            lab.nlserver(host, "restart", f"inMail@{INSTANCE}")
    for p in (lab.var_dir(host) / INSTANCE / "redir" / "log").glob(REDIR_GLOB):
        lines = [ln for ln in p.read_bytes().split(b"\n") if ln]
        good = [ln for ln in lines if is_redir_line(ln)]
        if len(good) != len(lines):
            p.write_bytes(b"".join(ln + b"\n" for ln in good))


def _heal_database(lab: LabContext, host: str) -> None:
    lab.psql(
        "DELETE FROM NmsRecipient WHERE iRecipientId > 200;"
        "DELETE FROM XtkWorkflowJob WHERE iStatus=0;"
        "DELETE FROM NmsDelivery WHERE iDeliveryId > 3;"
        "DELETE FROM NmsBroadLogRcp WHERE iDeliveryId > 3 OR iRecipientId > 200;"
        "DELETE FROM NmsSubscription WHERE iRecipientId > 200;"
        "DELETE FROM NmsTrackingLogRcp WHERE iRecipientId > 200;"
        "DELETE FROM NmsRcpGrpRel WHERE iRecipientId > 200;"
        "DELETE FROM NmsSubHisto WHERE iRecipientId > 200;"
        "UPDATE NmsRecipient SET tsCreated = now() - (iRecipientId || ' days')::interval "
        "WHERE tsCreated > now() - (iRecipientId || ' days')::interval;"
        "UPDATE XtkWorkflow SET iState=11, iFailed=0, sErrorMessage=NULL, tsLastRun=now(), tsLastSuccess=now() "
        "WHERE sInternalName='tracking';"
        "UPDATE XtkWorkflow SET iState=20, iFailed=0, sErrorMessage=NULL "
        "WHERE sInternalName IN ('importRecipients', 'exportRecipientsFull');"
        "UPDATE XtkOption SET tsTimeStampValue=now() WHERE sName='NmsTracking_LastConsolidation';"
        f"UPDATE XtkOption SET sStringValue='{front.url(lab, host)}' WHERE sName='NmsTracking_ServerUrlList';",
        db=_db(host),
    )
    export_ok = any((lab.var_dir(host) / INSTANCE / "export").glob("*.csv"))
    state = lab.psql(
        "SELECT iState||','||iFailed FROM XtkWorkflow WHERE sInternalName='exportRecipients'", db=_db(host)
    )
    if not export_ok or state != "11,0":
        lab.psql(
            "INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) SELECT iWorkflowId, 'restart' FROM XtkWorkflow "
            "WHERE sInternalName='exportRecipients'",
            db=_db(host),
        )


def heal(lab: LabContext, host: str) -> None:
    """Remove every fault and wait until the host is healthy again (pending workflow starts taken)."""
    run = lab.hdir(host) / "run"
    was = active(lab, host)
    _heal_processes_and_sshd(lab, host)
    _heal_settings(lab, host)
    mailbox.start(lab)
    front.start(lab, host)
    _heal_files(lab, host, was)
    _heal_database(lab, host)
    # processes: a running watchdog restarts whatever is no longer marked stopped
    if read_pidfile(run / "procs" / "watchdog.pid"):
        _clear(run / "stopped")
    else:
        lab.nlserver(host, "watchdog", "-svc", "-noconsole")
    _clear(run / "verbose")
    _faults_file(lab, host).write_text("[]\n")
    wait_ready(lab, [host], timeout=20)
    wait_settled(lab, [host], timeout=15)
