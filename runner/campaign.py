"""Facts about Campaign v7 and parsers for what ``nlserver`` prints.

Owns: the module catalogue (which modules are multi-instance, mono-instance, utilities), the process
name of a module on a host (``web@default``, ``wfserver@prod``, ``watchdog``), and strict parsers for
``nlserver pdump``, ``pdump -who`` and ``monitor -missing``. A line the parser does not recognise is
a :class:`ParseError`, never silently ignored. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MULTI_INSTANCE = frozenset({"web", "syslogd", "trackinglogd"})
MONO_INSTANCE = frozenset({"wfserver", "mta", "stat", "inMail", "sms", "interactiond", "pipelined"})
UTILITIES = frozenset({"export", "import", "tracking", "javascript", "sql", "cleanup", "config", "runwf"})
DAEMONS = MULTI_INSTANCE | MONO_INSTANCE | {"watchdog"}
MODULES = (
    "export",
    "import",
    "inMail",
    "mta",
    "stat",
    "syslogd",
    "tracking",
    "trackinglogd",
    "watchdog",
    "web",
    "wfserver",
)

PROCESS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9][A-Za-z0-9_-]*)?$")
_CONSOLE = re.compile(r"^\d{2}:\d{2}:\d{2} >\s*")
_PDUMP = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9_]*(?:@[A-Za-z0-9][A-Za-z0-9_-]*)?) \((?P<pid>\d+)\) - "
    r"(?P<mem>\d+(?:[.,]\d+)?) ?(?:MB|Mb|Mo)\s*$"
)
_NO_TASKS = re.compile(r"^no tasks?\.?$", re.IGNORECASE)
_BANNER = re.compile(r"Application server for Adobe Campaign", re.IGNORECASE)


class ParseError(ValueError):
    """Host output that does not have the documented shape."""


def process_name(module: str, instance: str | None) -> str:
    """``web@default``, ``wfserver@prod`` or ``watchdog`` for a daemon module."""
    if module == "watchdog":
        return "watchdog"
    if module in MULTI_INSTANCE:
        return f"{module}@default"
    if instance is None:
        raise ValueError(f"{module} is per instance: the host needs an 'instance' var")
    return f"{module}@{instance}"


@dataclass
class Process:
    name: str
    pid: int
    memory_mb: float


@dataclass
class Pdump:
    processes: list[Process] = field(default_factory=list)
    no_tasks: bool = False
    extra: list[str] = field(default_factory=list)  # lines of ``-who`` after the process list

    def find(self, name: str) -> Process | None:
        return next((p for p in self.processes if p.name == name), None)


def _strip_console(line: str) -> str:
    return _CONSOLE.sub("", line, count=1).strip()


def _excerpt(line: str) -> str:
    text = line.strip().encode("ascii", "backslashreplace").decode("ascii")
    return text[:80] + ("..." if len(text) > 80 else "")


def parse_pdump(text: str, *, who: bool = False) -> Pdump:
    """Parse ``nlserver pdump`` (``who``: also keep the session/pool lines that follow)."""
    if "\x00" in text:
        raise ParseError("pdump output contains binary data")
    result = Pdump()
    seen_banner = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if _BANNER.search(line):
            seen_banner = True
            continue
        body = _strip_console(line)
        if _NO_TASKS.match(body):
            result.no_tasks = True
            continue
        match = _PDUMP.match(body)
        if match:
            result.processes.append(Process(match["name"], int(match["pid"]), float(match["mem"].replace(",", "."))))
            continue
        if who and (result.processes or seen_banner):
            result.extra.append(body)
            continue
        raise ParseError(f"pdump line {number} not understood: {_excerpt(raw)!r}")
    if not seen_banner and not result.processes and not result.no_tasks:
        raise ParseError("pdump printed neither a banner, processes nor 'No tasks'")
    if result.no_tasks and result.processes:
        raise ParseError("pdump printed both 'No tasks' and processes")
    return result


def parse_missing(text: str) -> list[str]:
    """Parse ``nlserver monitor -missing``: one ``module@instance`` per line after the banner."""
    if "\x00" in text:
        raise ParseError("monitor output contains binary data")
    missing: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or _BANNER.search(line):
            continue
        body = _strip_console(line)
        if not PROCESS_NAME.match(body):
            raise ParseError(f"monitor -missing line {number} not understood: {_excerpt(raw)!r}")
        missing.append(body)
    return missing
