"""The module processes: their main loops and the body every module process runs.

Owns: syslogd (udp 6666 -> log files), trackinglogd (redir log lines), inMail (bounce mailbox),
stat (udp 7777), mta (pending deliveries, only while stat answers), the table of module main loops
(with web and wfserver from their own modules), and `module_process()`: pid file, signals, the
slow_restart fault, exit. Must not: import anything outside the standard library.
"""

from __future__ import annotations

import contextlib
import os
import poplib
import random
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import IO, NoReturn

from .common import (
    PROC,
    RUN,
    TRACKING_SOCK,
    address,
    conf_attr,
    flag,
    inst,
    log,
    pidfile,
    ready,
    rm,
    set_comm,
    syslog_address,
    var_root,
)
from .db import DBError, DBHolder
from .formats import EVENTS, MULTI, redir_line, redir_log_name
from .pids import read_pidfile, write_pidfile
from .web import mod_web
from .workflows import mod_wfserver


def _log_dir(base: str, instance: str) -> str | None:
    """Where syslogd writes the records of `base@instance` (None: a name it refuses)."""
    if base in MULTI or base in ("watchdog", "webmdl") or not instance or instance == "default":
        return os.path.join(var_root(), "default", "log")
    if not re.match(r"^[A-Za-z0-9_]+$", instance):
        return None
    return os.path.join(var_root(), instance, "log")


def mod_syslogd() -> None:
    """Bind where TRACE_ADDR says (the lab writes each host's own; `localhost:<port>` binds loopback, as
    Adobe's "6666/udp (local)") and write each record to its module's log file under the var/ tree."""
    where = syslog_address()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(where)
    except OSError as e:
        sys.stderr.write(f"syslogd: cannot bind udp {where[0]}:{where[1]}: {e}\n")
        sys.exit(3)
    ready()
    files: dict[str, IO[str]] = {}
    size = conf_attr("syslogd", "maxFileSizeMb", "10")
    max_bytes = int(size) * 1024 * 1024 if size.isdigit() and int(size) > 0 else 10 * 1024 * 1024
    s.settimeout(1.0)
    while not PROC.stop.is_set():
        try:
            data, _ = s.recvfrom(65535)
        except TimeoutError:
            for f in files.values():
                f.flush()
            continue
        parts = data.decode(errors="replace").rstrip("\n").split("\t")
        if len(parts) == 3:
            mod, level, msg = parts
            pid = "0"
        elif len(parts) >= 4:
            mod, pid, level, msg = parts[0], parts[1], parts[2], "\t".join(parts[3:])
        else:
            continue
        base, _, instance = mod.partition("@")
        if not re.match(r"^[A-Za-z_]+$", base or "-"):
            continue
        d = _log_dir(base, instance)
        if d is None:
            continue
        path = os.path.join(d, base + ".log")
        out = files.get(path)
        if out is not None and _replaced(path, out):
            out.close()
            out = None
        if out is None:
            os.makedirs(d, exist_ok=True)
            out = files[path] = open(path, "a")  # noqa: SIM115 - kept open for the life of the process
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1000):03d}Z"
        out.write(f"{ts}\t{pid}\t00000000\t1\t{level}\t{base}\t{msg}\n")
        out.flush()
        if out.tell() >= max_bytes:  # Adobe: two files per module, <module>.log and <module>_2.log
            out.close()
            del files[path]
            os.replace(path, path[: -len(".log")] + "_2.log")


def _replaced(path: str, out: IO[str]) -> bool:
    """Whether the log file was rotated or removed behind the open handle (then it is opened again)."""
    try:
        return os.stat(path).st_ino != os.fstat(out.fileno()).st_ino
    except OSError:
        return True


def mod_trackinglogd() -> None:
    """Write one tracking line per open/click web@default hands over (run/trackinglogd.sock); nothing else.

    A quiet host writes nothing. A new file every 60 s of activity and at each start, per instance.
    """
    rm(TRACKING_SOCK)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(TRACKING_SOCK)
    s.settimeout(1.0)
    ready()
    log("info", "trackinglogd started, writing tracking logs under var/<instance>/redir/log")
    current: dict[str, tuple[str, float]] = {}
    while not PROC.stop.is_set():
        try:
            data = s.recv(65535)
        except TimeoutError:
            continue
        parts = data.decode("latin-1").split("\t")
        if len(parts) != 8 or not re.fullmatch(r"[A-Za-z0-9_]+", parts[0]) or parts[1] not in EVENTS:
            continue
        instance, event, ids, target, agent, ip = parts[0], parts[1], parts[2:5], parts[5], parts[6], parts[7]
        d = os.path.join(var_root(), instance, "redir", "log")
        if not os.path.isdir(d):
            continue  # not a redirection server for that instance
        now = time.time()
        path, opened = current.get(instance, ("", 0.0))
        if not path or now - opened > 60:
            path, opened = os.path.join(d, redir_log_name(now)), now
            current[instance] = (path, opened)
        log_id = (int(now * 1000) << 12) | random.getrandbits(12)
        delivery, recipient, url = (int(x) for x in ids)
        line = redir_line(log_id, now, delivery, recipient, url, event, target, agent, ip)
        with open(path, "a") as f:
            f.write(line + "\n")
        if PROC.verbose:
            log("info", f"1 tracking log line written to {os.path.basename(path)}")


def _pop_period() -> float:
    """inMail/@popMailPeriodSec of the instance (Adobe's default 300), read before each wait."""
    value = conf_attr("inMail", "popMailPeriodSec", "300")
    return float(value) if value.isdigit() and int(value) > 0 else 300.0


def _pop_session(db: DBHolder) -> None:
    """One POP3 session on the instance's bounce mailbox (external account 'defaultPopAccount')."""
    rows = db.query(
        "SELECT sServer, iPort, sAccount, sPassword FROM NmsExtAccount WHERE sName='defaultPopAccount' AND iDisabled=0"
    )
    if not rows:
        log("error", "INM-090001 No external account 'defaultPopAccount' for bounce mails (iRc=-1)")
        return
    server, port, account, password = (str(v or "") for v in rows[0])
    try:
        pop = poplib.POP3(server, int(port or 110), timeout=10)
    except OSError as e:
        code = e.errno or 1
        why = e.strerror or str(e)
        log("error", f"INM-090024 Unable to connect to POP3 server '{server}:{port}': {why} (iRc=-{code})")
        return
    try:
        pop.user(account)
        pop.pass_(password)
        count = len(pop.list()[1])
        log("info", f"POP3 session opened on '{account}@{server}:{port}' ({count} message(s))")
        for k in range(1, count + 1):
            text = b"\n".join(pop.retr(k)[1]).decode("latin-1")
            subject = next((ln[8:].strip() for ln in text.splitlines() if ln.lower().startswith("subject:")), "")
            found = re.search(r"<([^<>@\s]+@[^<>\s]+)>", text.split("\n\n", 1)[-1])
            target = found.group(1) if found else "unknown address"
            log("info", f"Bounce mail {k} qualified for '{target}' ({subject})")
            pop.dele(k)
        pop.quit()
        log("info", "POP3 session closed")
    except (OSError, poplib.error_proto) as e:
        log("error", f"INM-090025 POP3 error on '{account}@{server}:{port}': {e} (iRc=-1)")
        with contextlib.suppress(OSError, poplib.error_proto):
            pop.close()


def mod_inmail() -> None:
    """Poll the bounce mailbox at start, then every popMailPeriodSec seconds."""
    db = DBHolder()
    ready()
    while not PROC.stop.is_set():
        try:
            _pop_session(db)
        except (DBError, OSError) as e:
            log("error", f"{e} (iRc=-2006)")
        PROC.stop.wait(_pop_period())


def mod_stat() -> None:
    port = int(conf_attr("stat", "port", "7777"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address(), port))
    s.settimeout(1.0)
    ready()
    log("info", f"Statistics server listening on udp {address()}:{port}")
    asked = 0
    while not PROC.stop.is_set():
        try:
            data, peer = s.recvfrom(4096)
        except TimeoutError:
            continue
        asked += 1
        if data.startswith(b"RELOAD"):
            log("info", "MX rules reloaded")
            s.sendto(b"RELOADED", peer)
        else:
            s.sendto(f"OK stat@{inst()} requests={asked}".encode(), peer)


def ask_stat(timeout: float = 1.0) -> bool:
    """Whether the host's stat module answers an mta request within `timeout`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        # mta/@statServerAddress "<dns or ip>[:<port>]", port 7777 when absent (email-deliverability.md)
        host, _, port = conf_attr("mta", "statServerAddress", "").partition(":")
        s.sendto((f"ASK mta@{inst()}").encode(), (host or address(), int(port or 7777)))
        data, _ = s.recvfrom(4096)
        return data.startswith(b"OK")
    except OSError:
        return False
    finally:
        s.close()


def mod_mta() -> None:
    db = DBHolder()
    ready()
    while not PROC.stop.is_set():
        try:
            pending = db.query("SELECT iDeliveryId, sLabel FROM NmsDelivery WHERE iState=51 ORDER BY 1")
            if pending and ask_stat():
                for did, label in pending:
                    # 51 Start pending -> 55 In progress -> logs 6 Pending -> 1 Sent -> 95 Finished
                    db.query(
                        f"UPDATE NmsDelivery SET iState=55, tsLastModified=now() WHERE iDeliveryId={int(did or 0)}"
                    )
                    db.query(
                        "UPDATE NmsBroadLogRcp SET iStatus=1, tsLastModified=now() "
                        f"WHERE iDeliveryId={int(did or 0)} AND iStatus=6"
                    )
                    db.query(
                        "UPDATE NmsDelivery SET iState=95, iSent=(SELECT count(*) FROM NmsBroadLogRcp b WHERE "
                        f"b.iDeliveryId={int(did or 0)} AND b.iStatus=1), tsLastModified=now() "
                        f"WHERE iDeliveryId={int(did or 0)}"
                    )
                    log("info", f"Delivery '{label}' ({did}): messages sent, delivery finished")
            elif pending:
                log(
                    "warning",
                    f"MTA-000016 Unable to contact the statistics server (stat@{inst()}); {len(pending)} "
                    "delivery(ies) waiting",
                )
        except (DBError, OSError) as e:
            log("error", f"{e} (iRc=-2006)")
        PROC.stop.wait(1.5)


MODULE_MAIN: dict[str, Callable[[], None]] = {
    "syslogd": mod_syslogd,
    "web": mod_web,
    "trackinglogd": mod_trackinglogd,
    "inMail": mod_inmail,
    "stat": mod_stat,
    "mta": mod_mta,
    "wfserver": mod_wfserver,
}


def exit_module(name: str) -> NoReturn:
    """Remove this process's pid file (if it is still ours) and exit at once."""
    if read_pidfile(pidfile(name)) == os.getpid():
        rm(pidfile(name))
    os._exit(0)


def module_process(name: str, foreground: bool = False) -> NoReturn:
    """Body of a module process (forked by the watchdog, spawned by `start`, or run in the foreground)."""
    PROC.name = name
    base, _, instance = name.partition("@")
    if base not in MULTI:
        PROC.instance = instance
    set_comm(name)
    PROC.verbose = foreground or os.path.exists(os.path.join(RUN, "verbose", name))
    PROC.echo = foreground

    def on_signal(signum: int, frame: FrameType | None) -> None:
        PROC.stop.set()
        exit_module(name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    write_pidfile(pidfile(name), os.getpid(), "starting")
    if flag("slow_restart"):
        time.sleep(4.0)
    try:
        MODULE_MAIN[base]()
    finally:
        exit_module(name)
