"""What every simulator process shares: the host it belongs to, its own identity, console and syslog output.

Owns: host paths (NL6_ROOT, the host directory, its run/ directory, the var/ tree XTK_VAR_DIR moves),
host.json, customer.sh's settings (TRACE_ADDR, XTK_VAR_DIR), the process state (module name, verbose,
echo, stop event), the console line format, the syslog client (to TRACE_ADDR), the readers of the host's
config files and the list of running lab processes. Must not: import anything outside the standard library
or any other simulator module except `pids` and `formats`.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import json
import os
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any, TextIO

from .formats import MONO, MULTI, autostart_modules, customer_setting, trace_addr
from .pids import read_pidfile_entry, write_pidfile

BUILD = "7.3 23.10 build 9362@6e4ecd4b57ad1ee5c3d3ecb1b2f1d1f8cd0a7b22"
BUILD_DATE = "14/02/2024"
NL6 = os.environ.get("NL6_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))
HOST_DIR = os.path.dirname(NL6)
RUN = os.path.join(HOST_DIR, "run")
TRACKING_SOCK = os.path.join(RUN, "trackinglogd.sock")  # where web@default hands opens/clicks to trackinglogd
SESSIONS = os.path.join(RUN, "web", "sessions.tsv")  # sessions web@default opened: epoch, ip, instance, login
HOST: dict[str, Any] = {}


class Proc:
    """The state of this simulator process (one module, the watchdog, or a command)."""

    def __init__(self) -> None:
        self.name = "nlserver"
        self.verbose = False
        self.echo = False
        self.stop = threading.Event()
        self.log_sock: socket.socket | None = None
        self.instance = ""  # the instance this process works for (a module's, or a command's -instance:)


PROC = Proc()


# ---------------------------------------------------------------- host
def load_host() -> None:
    with open(os.path.join(HOST_DIR, "host.json")) as f:
        HOST.update(json.load(f))


def inst() -> str:
    """The instance of this process: a module's own, a command's -instance:, else the host's main one."""
    return PROC.instance or str(HOST.get("instance", "prod"))


def instances() -> list[str]:
    """Every instance of the host, the main one first."""
    found = HOST.get("instances")
    return [str(i) for i in found] if isinstance(found, list) and found else [inst()]


def set_instance(name: str) -> bool:
    """Work for instance `name` (from -instance:); False when the host has no such instance."""
    if name not in instances():
        return False
    PROC.instance = name
    return True


def address() -> str:
    return str(HOST["address"])


_SETTINGS: dict[str, str | None] = {}


def setting(name: str) -> str | None:
    """A setting of the Campaign environment (customer.sh, which env.sh sources): this process's environment,
    else customer.sh's text (the lab starts its processes without env.sh). Read once per process, so a
    module takes a changed setting when it starts again, as Adobe says ("You must restart the Adobe
    Campaign service in order for the changes to be taken into account", installing-packages-with-linux.md)."""
    if name not in _SETTINGS:
        value = os.environ.get(name) or None
        if value is None:
            try:
                with open(os.path.join(NL6, "customer.sh")) as f:
                    value = customer_setting(f.read(), name)
            except OSError:
                value = None
        _SETTINGS[name] = value
    return _SETTINGS[name]


def var_root() -> str:
    """The var/ tree: XTK_VAR_DIR (installation/using/configuring-campaign-server.md), else nl6/var."""
    return setting("XTK_VAR_DIR") or os.path.join(NL6, "var")


def var_dir(*parts: str) -> str:
    """A directory under <var>/<instance>/."""
    return os.path.join(var_root(), inst(), *parts)


def syslog_address() -> tuple[str, int]:
    """Where syslogd listens and every module sends its records: TRACE_ADDR (`localhost:<port>`,
    production/using/configuration.md), resolved; unset, the host's own address and 6666."""
    host, port = trace_addr(setting("TRACE_ADDR"), address())
    try:
        return socket.gethostbyname(host), port
    except OSError:
        return host, port


# ---------------------------------------------------------------- console
def console(msg: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write("{} >   {}\n".format(time.strftime("%H:%M:%S"), msg))


def error(msg: str) -> None:
    console("ERROR: " + msg, sys.stderr)


def banner() -> None:
    console(f"Application server for Adobe Campaign Classic ({BUILD}) of {BUILD_DATE}")


# ---------------------------------------------------------------- files and processes
def rm(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def touch(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()


def pidfile(name: str) -> str:
    return os.path.join(RUN, "procs", name + ".pid")


def flag(name: str) -> bool:
    """Whether the lab set the fault flag `name` (run/faults/<name>)."""
    return os.path.exists(os.path.join(RUN, "faults", name))


def set_comm(name: str) -> None:
    """Set the process name shown by ps/ss (prctl PR_SET_NAME)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)


def ready() -> None:
    """Mark this module process as ready: its pid file loses the 'starting' state."""
    write_pidfile(pidfile(PROC.name), os.getpid())


def running() -> dict[str, tuple[int, bool]]:
    """{name: (pid, ready)} of live lab processes of this host (watchdog and modules)."""
    out = {}
    for p in glob.glob(os.path.join(RUN, "procs", "*.pid")):
        r = read_pidfile_entry(p)
        if r:
            out[os.path.basename(p)[:-4]] = r
    return out


# ---------------------------------------------------------------- module names and config
def full_name(mod: str) -> str:
    base = mod.split("@")[0]
    if base == "watchdog":
        return "watchdog"
    if "@" in mod:
        return mod
    return "{}@{}".format(base, "default" if base in MULTI else inst())


def known(name: str) -> bool:
    base, _, instance = name.partition("@")
    return (base in MULTI and instance in ("", "default")) or (base in MONO and instance in instances())


def conf_path(name: str) -> str:
    return os.path.join(NL6, "conf", name)


def enabled_modules() -> list[str]:
    return autostart_modules(os.path.join(NL6, "conf"), *instances())


def conf_attr(module: str, attr: str, default: str, path: str = "") -> str:
    """An attribute of a module element (or of the element at `path`) in the config file that holds it."""
    fname = "config-default.xml" if module in MULTI else f"config-{inst()}.xml"
    try:
        el = ET.parse(conf_path(fname)).getroot().find(path or module)
        value = el.get(attr) if el is not None else None
        if value:
            return value
    except (OSError, ET.ParseError):
        pass
    return default


# ---------------------------------------------------------------- syslog client
def log(level: str, msg: str) -> None:
    """Send one record to the host's syslogd (and echo it on the console in foreground trace mode)."""
    if PROC.echo:
        console(msg)
    try:
        if PROC.log_sock is None:
            PROC.log_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            PROC.log_sock.bind((address(), 0))
        data = f"{PROC.name}\t{os.getpid()}\t{level}\t{msg}"
        PROC.log_sock.sendto(data.encode()[:8000], syslog_address())
    except OSError:
        pass


def reset_log() -> None:
    """Drop the syslog socket inherited from a parent process (after fork)."""
    if PROC.log_sock is not None:
        PROC.log_sock.close()
        PROC.log_sock = None
