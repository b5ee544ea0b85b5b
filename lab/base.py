"""The bottom layer of the lab: constants, the error type, and process identity.

Owns: the lab's built-in defaults (directory, net, instance, ports, module names, PostgreSQL binaries),
`LabError`, and the names under which the lab uses the simulator's pid helpers and file formats
(one definition, in `lab.sim.nlsim.pids` / `.formats`, because the simulator must run without `lab`).
Must not: import any other `lab` module except the stdlib-only `lab.sim.nlsim.pids` and `.formats`.
"""

from __future__ import annotations

from pathlib import Path

from .sim.nlsim.formats import (
    MULTI,
    REDIR_GLOB,
    TRACK_RE,
    autostart_modules,
    customer_setting,
    is_redir_line,
    redir_line,
    redir_log_name,
    trace_addr,
)
from .sim.nlsim.pids import kill_verified, proc_state, read_pidfile, read_pidfile_entry, starttime, write_pidfile

PKG = Path(__file__).resolve().parent
SIM_PKG = PKG / "sim" / "nlsim"
DEFAULT_DIR = "/tmp/remediate-lab"
DEFAULT_NET = "127.0.2"
INSTANCE = "prod"
SSH_PORT, SYSLOG_PORT, WEB_PORT, CTL_PORT, STAT_PORT, DB_PORT = 2222, 6666, 8080, 8005, 7777, 5432
FRONT_PORT = 8081  # the front web server (Apache/IIS in Adobe's pages; port 80 there): the inventory's front_web_port
NO_TRACKING_SERVER = 248  # <net>.248: where fault tracking_server_down names a tracking server nothing answers on
MODULES = [
    "syslogd@default",
    "web@default",
    "trackinglogd@default",
    f"wfserver@{INSTANCE}",
    f"mta@{INSTANCE}",
    f"stat@{INSTANCE}",
    f"inMail@{INSTANCE}",
]
POP3_PORT = 1110  # the lab's POP3 server (bounce mailboxes), on <net>.251
POP_MAIL_PERIOD = 300  # inMail/@popMailPeriodSec on a healthy host: Adobe's default
# where fault var_dir_moved puts a host's var/ tree (under the host directory; Adobe's example of XTK_VAR_DIR,
# installation/using/configuring-campaign-server.md) and the first udp port of syslogd_loopback's range
MOVED_VAR_DIR = Path("app/log/AdobeCampaign")
LOOPBACK_PORTS = (20000, 12000)  # 20000 + (the lab's net and host number) mod 12000: one port per lab host
MONITORING_LOGIN = "monitoring"  # the lab's monitoring operator (SOAP Logon); password in <lab>/monitoring.password
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARKER = ".remediate-lab"
# where `up` copies the simulator inside the lab directory, and the script the lab runs
SIM_DIR = Path("sim") / "nlsim"
SIM_ENTRY = SIM_DIR / "__main__.py"


class LabError(Exception):
    """A lab operation could not be completed (message says where and what)."""


__all__ = [
    "CTL_PORT",
    "DB_PORT",
    "DEFAULT_DIR",
    "DEFAULT_NET",
    "FRONT_PORT",
    "INSTANCE",
    "LOOPBACK_PORTS",
    "MARKER",
    "MODULES",
    "MONITORING_LOGIN",
    "MOVED_VAR_DIR",
    "MULTI",
    "NO_TRACKING_SERVER",
    "PG_BIN",
    "PKG",
    "POP3_PORT",
    "POP_MAIL_PERIOD",
    "REDIR_GLOB",
    "SIM_DIR",
    "SIM_ENTRY",
    "SIM_PKG",
    "SSH_PORT",
    "STAT_PORT",
    "SYSLOG_PORT",
    "TRACK_RE",
    "WEB_PORT",
    "LabError",
    "autostart_modules",
    "customer_setting",
    "is_redir_line",
    "kill_verified",
    "proc_state",
    "read_pidfile",
    "read_pidfile_entry",
    "redir_line",
    "redir_log_name",
    "starttime",
    "trace_addr",
    "write_pidfile",
]
