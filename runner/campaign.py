"""Facts about Campaign v7 and parsers for what ``nlserver`` prints.

Owns: the module catalogue (which modules are multi-instance, mono-instance, utilities), the process
name of a module on a host (``web@default``, ``wfserver@prod``, ``watchdog``), and strict parsers for
``nlserver pdump``, ``pdump -who``, ``monitor -missing`` and the ``start``/``stop`` console lines, each
in the layout Adobe's pages show (samples in ``tests/fixtures/adobe/``). A line the parser does not
recognise is a :class:`ParseError`, never silently ignored. Pure: no I/O. The formats Campaign writes
elsewhere (``/r/test``, SOAP faults, tracking lines, states, config files, log lines) live in
:mod:`runner.campaign_formats`, which is imported for them directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner.campaign_formats import ParseError, _excerpt

MULTI_INSTANCE = frozenset({"web", "syslogd", "trackinglogd"})
MONO_INSTANCE = frozenset({"wfserver", "mta", "stat", "inMail", "sms", "interactiond", "pipelined"})
UTILITIES = frozenset({"export", "import", "tracking", "javascript", "sql", "cleanup", "config", "runwf"})
DAEMONS = MULTI_INSTANCE | MONO_INSTANCE | {"watchdog"}

PROCESS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9][A-Za-z0-9_-]*)?$")
_CONSOLE = re.compile(r"^\d{2}:\d{2}:\d{2} >\s*")
_PDUMP = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9_]*(?:@[A-Za-z0-9][A-Za-z0-9_-]*)?) \((?P<pid>\d+)\) - "
    r"(?P<mem>\d+(?:[.,]\d+)?) ?(?:MB|Mb|Mo)\s*$"
)
_NO_TASKS = re.compile(r"^no tasks?\.?$", re.IGNORECASE)
_BANNER = re.compile(r"Application server for Adobe Campaign", re.IGNORECASE)
# build-upgrade.md prints the banner and "No tasks" on one line
_BANNER_NO_TASKS = re.compile(r"\bno tasks?\.?$", re.IGNORECASE)


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
            result.no_tasks = result.no_tasks or bool(_BANNER_NO_TASKS.search(line))
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


# ---- pdump -who (production/using/usual-commands.md, "Monitoring commands") ------------------------

_WHO_CONNECTIONS = re.compile(r"^Connections\s*-+$")
_WHO_CONN_HEADER = re.compile(r"^Last Access\s+IP\s+Instance\s+Login$")
_WHO_CONN_ROW = re.compile(
    r"^(?P<access>\d{1,4}[/-]\d{1,2}[/-]\d{1,4} \d{1,2}:\d{2}:\d{2})"
    r"\s+(?P<ip>\S+)\s+(?P<instance>\S+)\s+(?P<login>\S+)$"
)
_WHO_POOL = re.compile(r"^Connection pool\s*-+$")
_WHO_POOL_HEADER = re.compile(r"^Datasource\s+Server\s+Provider\s+Login$")


@dataclass(frozen=True)
class Connection:
    """One row under ``Last Access IP Instance Login``: a console or web session a web restart cuts."""

    last_access: str  # as printed (Adobe shows DD/MM/YYYY HH:MM:SS)
    ip: str
    instance: str
    login: str  # as printed, e.g. ``internal|monitoring``


@dataclass(frozen=True)
class PoolEntry:
    """One row under ``Datasource Server Provider Login``. Adobe's sample row has one more column than
    its header, so only the first (data source) and last (login) columns are named."""

    datasource: str
    columns: tuple[str, ...]  # the columns between them, as printed
    login: str


@dataclass
class Who:
    pdump: Pdump
    connections: list[Connection] = field(default_factory=list)
    pool: list[PoolEntry] = field(default_factory=list)


def parse_who(text: str) -> Who:
    """Parse ``nlserver pdump -who``: processes, then the ``Connections`` and ``Connection pool`` sections.

    Any other layout is a ParseError: a session count is never guessed, and never 0 by default.
    """
    dump = parse_pdump(text, who=True)
    result = Who(dump)
    if not dump.extra:
        if dump.no_tasks:
            return result  # nothing runs: no web module, so no session
        raise ParseError("pdump -who printed no 'Connections' section")
    steps = iter(dump.extra)
    expected = [(_WHO_CONNECTIONS, "a 'Connections ---' line"), (_WHO_CONN_HEADER, "'Last Access IP Instance Login'")]
    for pattern, what in expected:
        line = next(steps, "")
        if not pattern.match(line):
            raise ParseError(f"pdump -who: expected {what}, got {_excerpt(line)!r}")
    section = "connections"
    for line in steps:
        if section == "connections" and (row := _WHO_CONN_ROW.match(line)):
            result.connections.append(Connection(row["access"], row["ip"], row["instance"], row["login"]))
        elif section == "connections" and _WHO_POOL.match(line):
            section = "pool header"
        elif section == "pool header" and _WHO_POOL_HEADER.match(line):
            section = "pool"
        elif section == "pool" and len(cols := line.split()) >= 4:
            result.pool.append(PoolEntry(cols[0], tuple(cols[1:-1]), cols[-1]))
        else:
            raise ParseError(f"pdump -who line not understood in {section}: {_excerpt(line)!r}")
    if section != "pool":
        raise ParseError("pdump -who: the 'Connection pool' section is missing or incomplete")
    return result


# ---- start / stop console lines (installation/using/installing-packages-with-linux.md) --------------

_CONSOLE_LINE = re.compile(r"^\d{2}:\d{2}:\d{2} >\s+(?P<body>.*?)\s*$")
_TASK_STARTED = re.compile(
    r"^(?:Running task '(?P<a>[^']+)' \(.*\) in a new process"
    r"|Start of the '(?P<b>[^']+)' \(.*\) task in a new process)$"
)
_STOP_REQUESTED_FOR = re.compile(r"^Stop requested for '(?P<task>[^']+)' \((?P<detail>.*)\)\.*$")
_STOP_REQUESTED_PID = re.compile(r"^Stop requested \(pid=(?P<pid>\d+)\)$")


@dataclass
class Console:
    """What ``nlserver start``/``stop``/``restart`` (or a module in the foreground) printed."""

    started: list[str] = field(default_factory=list)  # tasks run "in a new process"
    stop_requested: list[str] = field(default_factory=list)  # tasks named by "Stop requested for"
    stopped_pids: list[int] = field(default_factory=list)  # "Stop requested (pid=N)"
    server_started: bool = False
    messages: list[str] = field(default_factory=list)  # every console line, without its time
    other: list[str] = field(default_factory=list)  # lines without the ``HH:MM:SS >`` prefix


def parse_console(text: str) -> Console:
    """Parse console output; it must hold at least one ``HH:MM:SS >`` line."""
    if "\x00" in text:
        raise ParseError("console output contains binary data")
    result = Console()
    for raw in text.splitlines():
        match = _CONSOLE_LINE.match(raw.strip())
        if match is None:
            if raw.strip():
                result.other.append(raw.strip())
            continue
        body = match["body"]
        result.messages.append(body)
        if started := _TASK_STARTED.match(body):
            result.started.append(started["a"] or started["b"])
        elif stop := _STOP_REQUESTED_FOR.match(body):
            result.stop_requested.append(stop["task"])
        elif pid := _STOP_REQUESTED_PID.match(body):
            result.stopped_pids.append(int(pid["pid"]))
        elif body == "Server started":
            result.server_started = True
    if not result.messages:
        raise ParseError("no console line ('HH:MM:SS > ...') in the output")
    return result
