"""Formats the simulator and the lab both read: the redir tracking log, the modules' autoStart flags and
customer.sh's settings.

Owns: the tracking-log line (Adobe's expression and the lab's writer), the redir log file name, which
modules are multi-instance (config-default.xml) or per instance (config-<instance>.xml), their autoStart flags,
and the reading of a customer.sh line (`export TRACE_ADDR=localhost:<port>`, `export XTK_VAR_DIR=...`).
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import os
import re
import time
import uuid
import xml.etree.ElementTree as ET

MULTI = ("syslogd", "web", "trackinglogd")  # instance "default", configured in config-default.xml
MONO = ("wfserver", "mta", "stat", "inMail")  # one per instance, configured in config-<instance>.xml

# Adobe's expression for a well-formed tracking line (delivery/using/about-message-tracking.md, "The
# tracking workflow is failing"), verbatim in the one file the runner reads too (runner/redir_line.ere,
# linked here and copied beside the simulator by `up`), read in the C locale: [[:alnum:]] and [[:print:]]
# are ASCII, a backslash in a bracket is itself.
EXPRESSION_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "redir_line.ere")
with open(EXPRESSION_FILE, encoding="ascii") as _f:
    EXPRESSION = _f.read().strip("\n")
_C_LOCALE = {"[:alnum:]": "0-9A-Za-z", "[:print:]": "\\x20-\\x7e"}


def _posix_bracket(m: re.Match[str]) -> str:
    inner = re.sub(r"\[:[a-z]+:\]", lambda c: _C_LOCALE[c[0]], m[1].replace("\\", "\\\\"))
    return "[" + (inner[:-1] + "\\-" if inner.endswith("-") else inner) + "]"


TRACK_RE = re.compile(re.sub(r"\[((?:\[:[a-z]+:\]|[^\]])+)\]", _posix_bracket, EXPRESSION))
EVENTS = {"h": "click", "o": "open"}  # the event letter of a line (the page's example has h), as the lab uses it


def is_redir_line(line: str | bytes) -> bool:
    """Whether `line` (without its newline) is well formed by Adobe's expression (bytes read as latin-1)."""
    text = line.decode("latin-1") if isinstance(line, bytes) else line
    return TRACK_RE.fullmatch(text) is not None


def redir_line(
    log_id: int, t: float, delivery: int, recipient: int, url: int, event: str, target: str, agent: str, ip: str
) -> str:
    """One tracking line in the layout of Adobe's example: id, time, delivery/recipient/url ids in hex, 0, a
    uuid, the event letter, the target URL, the user agent and the client address (11 tab-separated fields)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 100):02d}"
    clean = [re.sub(r"[^\x20-\x7e]", "?", v)[:300] for v in (target, agent)]
    fields = [f"50x{log_id:016X}", stamp, f"{delivery:x}", f"{recipient:x}", f"{url:x}", "0", str(uuid.uuid4())]
    return "\t".join([*fields, event, *clean, ip])


REDIR_GLOB = "0x*.log"


def redir_log_name(t: float) -> str:
    """The name of a redir log file opened at time `t` (microseconds since the epoch, 16 hex digits)."""
    return f"0x{int(t * 1e6):016X}.log"


def customer_setting(text: str, name: str) -> str | None:
    """The value customer.sh's text gives `name` (`export NAME=value` or `NAME=value`, the last one wins,
    quotes removed); None when it gives none. Only the plain forms the lab writes and Adobe's pages show
    (production/using/configuration.md, installation/using/configuring-campaign-server.md)."""
    found = None
    for line in text.splitlines():
        match = re.match(rf"^\s*(?:export\s+)?{re.escape(name)}=(\S*)", line)
        if match:
            found = match[1].strip("'\"") or None
    return found


def trace_addr(value: str | None, default_host: str, default_port: int = 6666) -> tuple[str, int]:
    """(host, port) of a TRACE_ADDR value (`localhost:<port>`); the defaults where it is unset or says none."""
    if not value:
        return default_host, default_port
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    return (host.strip("[]") or default_host), (int(port) if port.isdigit() else default_port)


def autostart_modules(conf_dir: str | os.PathLike[str], *instances: str) -> list[str]:
    """`module@instance` of every module whose config element says autoStart="true" (unreadable file: none),
    for config-default.xml and the config-<instance>.xml of each instance."""
    out = []
    files = [("config-default.xml", MULTI, "default")] + [(f"config-{i}.xml", MONO, i) for i in instances]
    for fname, kinds, suffix in files:
        try:
            root = ET.parse(os.path.join(conf_dir, fname)).getroot()
        except (OSError, ET.ParseError):
            continue
        for k in kinds:
            el = root.find(k)
            if el is not None and el.get("autoStart") == "true":
                out.append(f"{k}@{suffix}")
    return out
