"""Formats the simulator and the lab both read: the redir tracking log and the modules' autoStart flags.

Owns: the tracking-log line pattern, the redir log file name, which modules are multi-instance
(config-default.xml) or per instance (config-<instance>.xml), and reading their autoStart flags.
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

MULTI = ("syslogd", "web", "trackinglogd")  # instance "default", configured in config-default.xml
MONO = ("wfserver", "mta", "stat", "inMail")  # one per instance, configured in config-<instance>.xml

# <d>0x<16 hex> TAB YYYY/MM/DD HH:MM:SS TAB deliveryId TAB recipientId TAB urlId TAB open|click
TRACK_RE = re.compile(r"^\d0x[0-9A-F]{16}\t\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\t\d+\t\d+\t\d+\t[a-z]+$")
REDIR_GLOB = "0x*.log"


def redir_log_name(t: float) -> str:
    """The name of a redir log file opened at time `t` (microseconds since the epoch, 16 hex digits)."""
    return f"0x{int(t * 1e6):016X}.log"


def autostart_modules(conf_dir: str | os.PathLike[str], instance: str) -> list[str]:
    """`module@instance` of every module whose config element says autoStart="true" (unreadable file: none)."""
    out = []
    for fname, kinds, suffix in (("config-default.xml", MULTI, "default"), (f"config-{instance}.xml", MONO, instance)):
        try:
            root = ET.parse(os.path.join(conf_dir, fname)).getroot()
        except (OSError, ET.ParseError):
            continue
        for k in kinds:
            el = root.find(k)
            if el is not None and el.get("autoStart") == "true":
                out.append(f"{k}@{suffix}")
    return out
