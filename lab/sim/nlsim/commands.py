"""The nlserver commands: what one `nlserver ...` invocation does before it exits.

Owns: pdump (with the memory_warning / memory_alert faults), monitor (XML), monitor -missing,
start/stop/restart, shutdown, watchdog, config -reload, stat -reload,
javascript (workflow Start/Restart, logInfo), tracking, and the foreground trace mode, with their
console lines and exit codes (0 ok, 1 error, 2 tracking stopped on a corrupted line).
Must not: import anything outside the standard library; signal a process not recorded in a pid file.
"""

from __future__ import annotations

import os
import random
import socket
import time
from typing import NoReturn

from .common import (
    RUN,
    SESSIONS,
    address,
    banner,
    conf_attr,
    console,
    enabled_modules,
    error,
    flag,
    full_name,
    inst,
    instances,
    known,
    log,
    pidfile,
    rm,
    running,
    touch,
)
from .pids import kill_verified, read_pidfile, rss_mb, write_pidfile

# The database client, the JS engine, the module bodies and the watchdog are imported by the commands
# that use them: `pdump` and `monitor -missing` run on every check and should start as fast as they can.


def kill_module(name: str, immediate: bool = False, timeout: float = 8.0) -> int | None:
    """Stop the recorded process `name`; its pid, or None when it was not running."""
    pids = kill_verified([pidfile(name)], timeout, immediate)
    return pids[0] if pids else None


def hang() -> NoReturn:
    """The command_hangs fault: record this process (so the lab can stop it) and never return."""
    write_pidfile(os.path.join(RUN, "hung", f"{os.getpid()}.pid"), os.getpid())
    while True:
        time.sleep(3600)


def cmd_stop(name: str, immediate: bool = False) -> int:
    name = full_name(name)
    if not known(name):
        error(f"XSV-350003 Unknown module '{name}'")
        return 1
    touch(os.path.join(RUN, "stopped", name))
    pid = kill_module(name, immediate)
    if pid is None:
        console(f"WARNING: process '{name}' is not running")
    else:
        console(f"Stop requested for '{name}' ('{module_cmdline(name)}', pid={pid}, tid=-{pid})...")
        console(f"Stop requested (pid={pid})")
    return 0


def module_cmdline(name: str) -> str:
    base, _, i = name.partition("@")
    extra = " -tomcat -autorepair" if base == "web" else ""
    return f"nlserver {base} -tracefile:{name} -instance:{i} -detach{extra}"


def cmd_start(name: str) -> int:
    name = full_name(name)
    if not known(name):
        error(f"XSV-350003 Unknown module '{name}'")
        return 1
    rm(os.path.join(RUN, "stopped", name))
    if read_pidfile(pidfile(name)):
        console(f"WARNING: '{name}' is already started")
        return 0
    console(f"Running task '{name}' ('{module_cmdline(name)}') in a new process")
    if not read_pidfile(pidfile("watchdog")):
        from .watchdog import spawn

        spawn(["_module", name])
    console("Server started")
    return 0


def cmd_restart_trace(name: str, opts: list[str]) -> None:
    """`restart -verbose` turns the module's verbose trace on, `-noconsole` off (run/verbose/<name>)."""
    path = os.path.join(RUN, "verbose", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if "-verbose" in opts:
        touch(path)
    elif "-noconsole" in opts:
        rm(path)


def cmd_pdump(who: bool = False) -> int:
    if flag("command_hangs"):
        hang()
    banner()
    procs = running()
    shown = [(n, p) for n, (p, ok) in procs.items() if ok]
    if not shown:
        print("No tasks")
    random.shuffle(shown)
    grown = memory_fault()
    for n, p in shown:
        print(f"{n} ({p}) - {grown.get((n, p), rss_mb(p)):.1f} MB")
    if who and shown:
        print_who("web@default" in procs)
    return 0


def memory_fault() -> dict[tuple[str, int], float]:
    """The memory_warning / memory_alert faults: run/faults/memory holds `<process> <pid> <MB>` lines, the memory
    pdump shows for that very process (a restart, a new pid, ends it, as a restart frees a grown process)."""
    out: dict[tuple[str, int], float] = {}
    try:
        with open(os.path.join(RUN, "faults", "memory")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[1].isdigit():
                    out[(parts[0], int(parts[1]))] = float(parts[2])
    except (OSError, ValueError):
        pass
    return out


def cmd_monitor() -> int:
    """`nlserver monitor`: the monitoring XML (production/using/monitoring-processes.md, "Command line"). Adobe
    documents its <indicator> elements (the cust_indicators.sh sample of "Customize indicators"), not the
    document around them: the lab's root <monitoring> is its own. Indicators: Core Files (core files in nl6/,
    warning and alert at 1, max 1 as Adobe describes them), and what nl6/cust_indicators.sh prints ("This
    file is called by Adobe Campaign")."""
    if flag("command_hangs"):
        hang()
    import glob
    import subprocess

    cores = len(glob.glob(os.path.join(os.path.dirname(RUN), "nl6", "core*")))
    print("<monitoring>")
    print(
        f"<indicator name='Core Files'><current label='Current Value' value='{cores}' display=''/>"
        "<warning value='1'/><alert value='1'/><max label='Max Value' value='1'/></indicator>"
    )
    script = os.path.join(os.path.dirname(RUN), "nl6", "cust_indicators.sh")
    if os.path.isfile(script):
        done = subprocess.run(["/bin/sh", script], capture_output=True, text=True, timeout=30, check=False)
        print(done.stdout.strip())
    print("</monitoring>")
    return 0


def print_who(web_running: bool, window: float = 1800.0) -> None:
    """The two sections `pdump -who` adds, in Adobe's layout (production/using/usual-commands.md)."""
    print("")
    print("Connections " + "-" * 54)
    print("Last Access IP Instance Login ")
    latest: dict[tuple[str, str, str], int] = {}
    try:
        with open(SESSIONS) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4 and parts[0].isdigit() and time.time() - int(parts[0]) < window:
                    latest[(parts[1], parts[2], parts[3])] = int(parts[0])
    except OSError:
        pass
    for (ip, instance, login), when in sorted(latest.items(), key=lambda kv: kv[1]) if web_running else []:
        print(f"{time.strftime('%d/%m/%Y %H:%M:%S', time.localtime(when))} {ip} {instance} {login}")
    print("")
    print("Connection pool " + "-" * 50)
    print("Datasource Server Provider Login ")
    from .db import DBError, dbcnx

    for instance in instances():
        try:
            server, _, db_name, login, _ = dbcnx(instance)
            print(f"default {db_name} {server} PostgreSQL {login}")
        except DBError:
            pass


def cmd_monitor_missing() -> int:
    if flag("command_hangs"):
        hang()
    banner()
    live = running()
    for n in enabled_modules():
        if not (n in live and live[n][1]):
            print(n)
    return 0


def cmd_shutdown() -> int:
    procs = running()
    if not procs:
        console("No task to stop")
        return 0
    w = procs.get("watchdog")
    if w:
        console(f"Stop requested for 'watchdog' ('nlserver watchdog -svc -noconsole', pid={w[0]}, tid=-{w[0]})...")
        kill_module("watchdog", timeout=10)
        console(f"Stop requested (pid={w[0]})")
    for n, (p, _) in running().items():
        console(f"Stop requested for '{n}' ('{module_cmdline(n)}', pid={p}, tid=-{p})...")
        if kill_module(n):
            console(f"Stop requested (pid={p})")
    console("Shutdown complete")
    return 0


def cmd_watchdog() -> int:
    if read_pidfile(pidfile("watchdog")):
        console("WARNING: watchdog is already running")
        return 0
    console("Running task 'watchdog' ('nlserver watchdog -svc -noconsole') in a new process")
    from .watchdog import spawn

    spawn(["_watchdog"])
    deadline = time.time() + 5
    while time.time() < deadline and not read_pidfile(pidfile("watchdog")):
        time.sleep(0.05)
    if not read_pidfile(pidfile("watchdog")):
        error("watchdog did not start")
        return 1
    console("Server started")
    return 0


def cmd_config_reload() -> int:
    if read_pidfile(pidfile("web@default")):
        log("info", "Configuration reloaded")
        console("Configuration reloaded in 'web@default'")
        return 0
    error("'web@default' is not running")
    return 1


def cmd_stat_reload() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(b"RELOAD", (address(), int(conf_attr("stat", "port", "7777"))))
        s.recvfrom(100)
        console(f"MX rules reloaded by 'stat@{inst()}'")
        return 0
    except OSError:
        error(f"statistics server 'stat@{inst()}' is not answering")
        return 1
    finally:
        s.close()


def cmd_javascript(path: str) -> int:
    from .javascript import run_file

    return run_file(path)


def cmd_tracking() -> int:
    from .db import PG, DBError
    from .tracking import TrackingError, redir_dir, tracking_run

    try:
        db = PG()
    except (DBError, OSError) as e:
        error(str(e))
        return 1
    try:
        nfiles, inserted = tracking_run(db)
    except TrackingError as e:
        error(str(e))
        return 2
    except DBError as e:
        error(str(e))
        return 1
    console(f"Tracking: {inserted} new log line(s) consolidated from {nfiles} file(s) of {redir_dir()}")
    return 0


def cmd_foreground(name: str) -> int:
    name = full_name(name)
    if read_pidfile(pidfile(name)):
        error(f"'{name}' is already running; stop it first")
        return 1
    from .modules import module_process

    module_process(name, foreground=True)
