"""Formats Campaign v7 writes outside the ``nlserver`` console, parsed as Adobe documents them.

Owns: the ``/r/test`` answer, SOAP faults, the well-formed tracking (redir/log) line of Adobe's
``sed -nE`` expression, the workflow and delivery states Adobe names, the module settings of a
``config-<instance>.xml`` file, the tab-separated module log line, the tracking servers of the option
``NmsTracking_ServerUrlList``, a date as ``formatDate`` writes it, the ``/nl/jsp/ping.jsp`` answer, the
``<indicator>`` elements of ``nlserver monitor``'s XML and the process memory thresholds. Every format
has a sample taken from Adobe's pages in ``tests/fixtures/adobe/`` and a row in ``docs/fidelity.md``. Input that does
not have the documented shape is a :class:`ParseError` ("undetermined"), never a default. Pure: no I/O.
Must not: import other ``runner`` modules (``runner.campaign`` re-exports everything here).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # the only XML parser used here: see _xml() for why it is safe enough
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path


class ParseError(ValueError):
    """Host output that does not have the documented shape."""


def _excerpt(line: str) -> str:
    text = line.strip().encode("ascii", "backslashreplace").decode("ascii")
    return text[:80] + ("..." if len(text) > 80 else "")


def _xml(text: str, what: str) -> ET.Element:
    """Parse XML the operator's own Campaign server produced (its config file, its HTTP answers).

    ElementTree resolves no external entity and the bundled expat (>= 2.4) refuses entity expansion
    bombs, so a hostile document fails to parse instead of reaching the network or exhausting memory.
    """
    body = text.strip()
    if not body or "\x00" in body:
        raise ParseError(f"{what}: empty or binary answer")
    try:
        return ET.fromstring(body)  # noqa: S314 - the operator's own host's config/answer; see docstring
    except ET.ParseError as exc:
        raise ParseError(f"{what}: not well-formed XML ({exc})") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ---- /r/test (production/using/monitoring-processes.md, "/r/test") ---------------------------------


@dataclass(frozen=True)
class RTest:
    """``<redir status='OK' date=... build=... host=... localHost=.../>``; other attributes in ``extra``."""

    status: str
    date: str
    build: str
    host: str
    local_host: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def parse_r_test(text: str) -> RTest:
    """Parse the ``/r/test`` answer; anything but one ``<redir status=...>`` element is a ParseError."""
    root = _xml(text, "/r/test")
    if root.tag != "redir" or "status" not in root.attrib:
        raise ParseError(f"/r/test: expected <redir status=...>, got <{_excerpt(root.tag)}>")
    attrs = dict(root.attrib)
    known = ("status", "date", "build", "host", "localHost")
    status, date, build, host, local_host = (attrs.pop(name, "") for name in known)
    return RTest(status, date, build, host, local_host, attrs)


# ---- SOAP faults (configuration/using/about-web-services.md, "Error management") -------------------

# The detail Adobe shows when "the query does not contain a login or the specified operator doesn't
# have the required rights" (message-center/using/event-description.md).
AUTH_REFUSED = re.compile(r"Invalid login or password|Connection denied", re.IGNORECASE)


@dataclass(frozen=True)
class SoapFault:
    code: str  # as written, e.g. ``SOAP-ENV:Client``
    string: str
    detail: str

    @property
    def kind(self) -> str:
        """``VersionMismatch``, ``MustUnderstand``, ``Client`` or ``Server`` (the code without prefix)."""
        return self.code.rsplit(":", 1)[-1]

    @property
    def auth_refused(self) -> bool:
        """The server refused the login or password: an authentication finding, not a server fault."""
        return self.kind == "Client" and bool(AUTH_REFUSED.search(f"{self.string} {self.detail}"))


def parse_soap_fault(text: str) -> SoapFault | None:
    """The ``<SOAP-ENV:Fault>`` of a SOAP answer, ``None`` if the envelope holds no fault."""
    root = _xml(text, "SOAP answer")
    if _local(root.tag) != "Envelope":
        raise ParseError(f"SOAP answer: expected an Envelope, got <{_excerpt(root.tag)}>")
    fault = next((el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    parts = {_local(child.tag): "".join(child.itertext()).strip() for child in fault}
    if "faultcode" not in parts:
        raise ParseError("SOAP answer: Fault without faultcode")
    return SoapFault(parts["faultcode"], parts.get("faultstring", ""), parts.get("detail", ""))


# ---- Tracking logs (delivery/using/about-message-tracking.md, "The tracking workflow is failing") ----

# Adobe's expression, verbatim, in the one file the runner and the lab both read (runner/redir_line.ere,
# shipped with the runner; the lab's simulator reads the same file): ``\t`` stands for a tab (GNU sed reads
# it so). For grep -E use REDIR_LINE_GREP, where each ``\t`` is a real tab. Inside a POSIX bracket ``\.``
# is a backslash and a dot: both are allowed there, as in Adobe's sed.
REDIR_LINE_ERE = (Path(__file__).parent / "redir_line.ere").read_text(encoding="ascii").strip("\n")
REDIR_LINE_GREP = REDIR_LINE_ERE.replace("\\t", "\t")

_CLASSES = {"[:alnum:]": "0-9A-Za-z", "[:print:]": "\\x20-\\x7e"}  # in the C locale


def _bracket(match: re.Match[str]) -> str:
    """A POSIX bracket expression as Python's: a backslash is itself, a class is its C-locale range."""
    body = re.sub(r"\[:[a-z]+:\]", lambda c: _CLASSES[c[0]], match[1].replace("\\", "\\\\"))
    return "[" + (body[:-1] + "\\-" if body.endswith("-") else body) + "]"


REDIR_LINE_RE = re.compile(re.sub(r"\[((?:\[:[a-z]+:\]|[^\]])+)\]", _bracket, REDIR_LINE_ERE))


def is_redir_line(line: str | bytes) -> bool:
    """True when ``line`` (without its newline) matches Adobe's well-formed tracking line, as ``grep -E`` in C."""
    text = line.decode("latin-1") if isinstance(line, bytes) else line
    return REDIR_LINE_RE.fullmatch(text) is not None


# ---- States Adobe documents --------------------------------------------------------------------------


class WorkflowState(IntEnum):
    """``xtk:workflow`` ``@state`` values Adobe names (workflow/using/supervising-workflows.md)."""

    PAUSED = 13
    STOPPED = 20  # "Status 20 = stop"; a workflow that ran to its end is stopped too

    @property
    def label(self) -> str:
        return {13: "Paused", 20: "Stopped"}[self.value]


class DeliveryState(IntEnum):
    """``NmsDelivery.iState`` values Adobe names (production/using/database-cleanup-workflow.md)."""

    START_PENDING = 51
    IN_PROGRESS = 55
    RECOVERY_PENDING = 61
    RECOVERY_IN_PROGRESS = 62
    PAUSE_REQUESTED = 71
    PAUSE_IN_PROGRESS = 72
    PAUSED = 75
    STOPPED = 85
    FINISHED = 95

    @property
    def label(self) -> str:
        return _DELIVERY_LABELS[self.value]


_DELIVERY_LABELS = {
    51: "Start pending",
    55: "In progress",
    61: "Recovery pending",
    62: "Recovery in progress",
    71: "Pause requested",
    72: "Pause in progress",
    75: "Paused",
    85: "Stopped",
    95: "Finished",
}
# The states the cleanup workflow stops before deleting a delivery: "active" in Adobe's words.
ACTIVE_DELIVERY_STATES = frozenset(s for s in DeliveryState if 51 <= s.value <= 75)


# ---- config-<instance>.xml (installation/using/the-server-configuration-file.md) ---------------------

POP_MAIL_PERIOD_DEFAULT = 300  # inMail/@popMailPeriodSec
STAT_SERVER_PORT_DEFAULT = 7777  # mta/@statServerAddress without a port
EXPORT_DIRECTORY_DEFAULT = "$(XTK_INSTALL_DIR)/var/$(INSTANCE_NAME)/export/"  # dataStore/@exportDirectory


@dataclass(frozen=True)
class InstanceConfig:
    """What one ``serverconf`` file says about the modules; ``None`` where the file is silent."""

    auto_start: frozenset[str]  # modules with autoStart="true"
    disabled: frozenset[str]  # modules whose attribute is renamed _autoStart, or autoStart="false"
    stat_server_address: str | None
    pop_mail_period_sec: int | None
    export_directory: str | None

    @property
    def pop_mail_period(self) -> int:
        return POP_MAIL_PERIOD_DEFAULT if self.pop_mail_period_sec is None else self.pop_mail_period_sec

    @property
    def stat_server(self) -> tuple[str, int] | None:
        """(host, port) of ``mta/@statServerAddress``; ``None`` when empty (mta then refuses to start)."""
        if not self.stat_server_address:
            return None
        host, _, port = self.stat_server_address.partition(":")
        if port and not port.isdigit():
            raise ParseError(f"mta/@statServerAddress: bad port in {self.stat_server_address!r}")
        return host, int(port) if port else STAT_SERVER_PORT_DEFAULT

    def export_dir(self, install_dir: str, instance: str) -> str:
        """The export directory with Adobe's ``$(XTK_INSTALL_DIR)`` and ``$(INSTANCE_NAME)`` filled in."""
        raw = self.export_directory or EXPORT_DIRECTORY_DEFAULT
        return raw.replace("$(XTK_INSTALL_DIR)", install_dir).replace("$(INSTANCE_NAME)", instance)


def _bool(value: str, where: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ParseError(f"{where}: not a boolean: {value!r}")


def parse_instance_config(xml_text: str) -> InstanceConfig:
    """Read ``serverConf.xml``, ``config-default.xml`` or ``config-<instance>.xml`` (root ``serverconf``)."""
    root = _xml(xml_text, "config")
    if root.tag.lower() != "serverconf":
        raise ParseError(f"config: root element is <{_excerpt(root.tag)}>, expected <serverconf>")
    auto_start: set[str] = set()
    disabled: set[str] = set()
    for module in root:
        if not isinstance(module.tag, str) or module.tag == "shared":
            continue  # comments, and the shared (dataStore) node
        if "autoStart" in module.attrib:
            (auto_start if _bool(module.attrib["autoStart"], f"{module.tag}/@autoStart") else disabled).add(module.tag)
        elif "_autoStart" in module.attrib:
            disabled.add(module.tag)
    mta, in_mail = root.find("mta"), root.find("inMail")
    data_store = root.find("shared/dataStore")
    period = in_mail.get("popMailPeriodSec") if in_mail is not None else None
    if period is not None and not period.strip().isdigit():
        raise ParseError(f"inMail/@popMailPeriodSec: not a number of seconds: {period!r}")
    return InstanceConfig(
        frozenset(auto_start),
        frozenset(disabled),
        mta.get("statServerAddress") if mta is not None else None,
        int(period) if period is not None else None,
        data_store.get("exportDirectory") if data_store is not None else None,
    )


# ---- module log line (tab-separated; integrations/using/pipeline-troubleshooting.md) -----------------

_LOG_TS = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
_LOG_CODE = re.compile(r"^([A-Z]{3}-\d{6}) ")
_LOG_IRC = re.compile(r"\(iRc=(-?\d+)\)\s*$")
LOG_LEVELS = frozenset({"info", "warning", "error"})


@dataclass(frozen=True)
class LogLine:
    timestamp: str  # UTC, ends with Z
    pid: int | None  # absent from the older six-field lines
    thread: str
    level: str
    category: str
    message: str

    @property
    def code(self) -> str | None:
        """The message code (``BAS-010007``), when the message starts with one."""
        match = _LOG_CODE.match(self.message)
        return match[1] if match else None

    @property
    def irc(self) -> int | None:
        """The return code a message ends with, ``(iRc=-55)``."""
        match = _LOG_IRC.search(self.message)
        return int(match[1]) if match else None


def parse_log_line(line: str) -> LogLine:
    """``timestamp<TAB>pid<TAB>thread<TAB>1<TAB>level<TAB>category<TAB>message`` (pid absent in older logs)."""
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) >= 7 and fields[1].isdigit():
        ts, pid, thread, one, level, category = fields[:6]
        message, pid_value = "\t".join(fields[6:]), int(pid)
    elif len(fields) >= 6:
        ts, thread, one, level, category = fields[:5]
        message, pid_value = "\t".join(fields[5:]), None
    else:
        raise ParseError(f"log line has {len(fields)} tab-separated fields: {_excerpt(line)!r}")
    if not _LOG_TS.match(ts) or one != "1" or level not in LOG_LEVELS:
        raise ParseError(f"log line not in the documented layout: {_excerpt(line)!r}")
    return LogLine(ts, pid_value, thread, level, category, message)


# ---- options (installation/using/configuring-campaign-options.md, "Tracking") ------------------------

# One tracking server URL: http(s), a host name, IPv4 or [IPv6] address, an optional port and path.
_SERVER_URL = re.compile(
    r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?"
)
_URL_SEPARATORS = re.compile(r"[,;\s]+")


def parse_tracking_servers(text: str) -> list[str]:
    """The URLs of ``NmsTracking_ServerUrlList`` ("List of the URLs used to contact the tracking servers").

    Adobe shows no value: URLs separated by commas, semicolons or white space is inferred. An entry that
    is not an http(s) URL makes the whole list a ParseError (a list only half read is never judged).
    """
    urls: list[str] = []
    for entry in _URL_SEPARATORS.split(text.strip()):
        if not entry:
            continue
        if not _SERVER_URL.fullmatch(entry):
            raise ParseError(f"NmsTracking_ServerUrlList: {_excerpt(entry)!r} is not an http(s) URL")
        if entry.rstrip("/") not in urls:
            urls.append(entry.rstrip("/"))
    return urls


# ---- dates (delivery/using/formatting.md, "Date display") ---------------------------------------------

# formatDate(date, "%4Y/%2M/%2D %2H:%2N:%2S"): Adobe's internal XML format "YYYY/MM/DD HH:MM:SS".
DATE_FORMAT = "%4Y/%2M/%2D %2H:%2N:%2S"
_DATE = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def parse_date_display(text: str) -> tuple[int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second) of a date written ``YYYY/MM/DD HH:MM:SS``."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise ParseError(f"date: expected YYYY/MM/DD HH:MM:SS, got {_excerpt(text)!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ParseError(f"date: out of range: {_excerpt(text)!r}")
    return year, month, day, hour, minute, second


# ---- /nl/jsp/ping.jsp (production/using/monitoring-processes.md, "/nl/jsp/ping.jsp") -----------------

_PING_OK = re.compile(r"^ok$", re.IGNORECASE)


@dataclass(frozen=True)
class Ping:
    """What ``/nl/jsp/ping.jsp`` answered: its first line (Adobe's "OK", shown as ``Ok``), and what follows
    (Adobe's sample: the server's time, ``2017-02-09 12:28:56.591Z``)."""

    status: str
    detail: str

    @property
    def ok(self) -> bool:
        return _PING_OK.match(self.status) is not None


def parse_ping(text: str) -> Ping:
    """The answer of ping.jsp: ``OK`` (any case) then its time when everything works. Adobe shows no other
    answer: any other first line parses and is not ok; an empty, binary or HTML answer is a ParseError."""
    body = text.strip()
    if not body or "\x00" in body:
        raise ParseError("ping.jsp: empty or binary answer")
    if body.startswith("<"):
        raise ParseError(f"ping.jsp: a markup page, not a status line: {_excerpt(body)!r}")
    first, _nl, rest = body.partition("\n")
    return Ping(first.strip(), " ".join(rest.split()))


# ---- nlserver monitor (production/using/monitoring-processes.md, "Command line", "Customize indicators") --

_CONSOLE_PREFIX = re.compile(r"^\d{2}:\d{2}:\d{2} >")


@dataclass(frozen=True)
class Indicator:
    """One ``<indicator name=...>`` of the monitoring XML, in the shape of Adobe's cust_indicators.sh sample:
    ``<current label value display/>`` (one or more), ``<warning value/>``, ``<alert value/>``, ``<max label
    value/>``. A value Adobe leaves out is ``None``."""

    name: str
    current: float | None
    display: str  # the current elements' display texts, joined
    warning: float | None
    alert: float | None
    maximum: float | None

    @property
    def level(self) -> str:
        """``alert`` when the current value reaches the alert value, ``warning`` when it reaches the warning
        value, else ``ok`` (Adobe: "this indicator is displayed when ... reaches")."""
        if self.current is None:
            return "ok"
        if self.alert is not None and self.current >= self.alert:
            return "alert"
        if self.warning is not None and self.current >= self.warning:
            return "warning"
        return "ok"


def _number(element: ET.Element | None, where: str) -> float | None:
    value = element.get("value") if element is not None else None
    if value is None or not value.strip():
        return None
    try:
        return float(value.strip())
    except ValueError:
        raise ParseError(f"{where}: value {value!r} is not a number") from None


def parse_monitor(text: str) -> list[Indicator]:
    """The indicators of ``nlserver monitor``'s XML ("easily processed XML format"). Adobe documents the
    ``<indicator>`` element (cust_indicators.sh, whose output the monitoring shows) but not the document
    around it: console lines before the XML are skipped, any root element is accepted, and every
    ``indicator`` element in it is read. A document without one is a ParseError."""
    lines = [line for line in text.splitlines() if not _CONSOLE_PREFIX.match(line.strip())]
    root = _xml("\n".join(lines), "nlserver monitor")
    found = [el for el in root.iter() if isinstance(el.tag, str) and _local(el.tag) == "indicator"]
    if not found:
        raise ParseError(f"nlserver monitor: no <indicator> element under <{_excerpt(root.tag)}>")
    out = []
    for el in found:
        name = el.get("name", "").strip()
        if not name:
            raise ParseError("nlserver monitor: an <indicator> without a name")
        currents = [c for c in el if isinstance(c.tag, str) and _local(c.tag) == "current"]
        values = [v for c in currents if (v := _number(c, f"indicator {name!r} current")) is not None]
        display = "; ".join(
            f"{c.get('label', '').strip()}: {c.get('display', '').strip()}".strip(": ")
            for c in currents
            if c.get("display", "").strip()
        )
        out.append(
            Indicator(
                name,
                values[0] if values else None,
                display,
                _number(el.find("warning"), f"indicator {name!r} warning"),
                _number(el.find("alert"), f"indicator {name!r} alert"),
                _number(el.find("max"), f"indicator {name!r} max"),
            )
        )
    return out


# ---- process memory thresholds (installation/using/the-server-configuration-file.md) ------------------

MEMORY_WARNING_MB = 1600  # maxProcessMemoryWarningMb: "warning concerning the amount of RAM consumed (in Mb)"
MEMORY_ALERT_MB = 1800  # maxProcessMemoryAlertMb: "alert concerning the amount of RAM consumed (in Mb)"


def memory_level(memory_mb: float, warning_mb: float, alert_mb: float) -> str:
    """``alert`` from maxProcessMemoryAlertMb up, ``warning`` from maxProcessMemoryWarningMb up, else ``ok``
    (below the warning value)."""
    if memory_mb >= alert_mb:
        return "alert"
    if memory_mb >= warning_mb:
        return "warning"
    return "ok"
