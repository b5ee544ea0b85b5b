"""The host's own settings: read once per host and run, right after the connection, in one small script.

What Adobe lets each site set, and where (docs/fidelity.md has a row for each):

- ``TRACE_ADDR`` in ``customer.sh``: syslogd's address and port, ``export TRACE_ADDR=localhost:<listening
  port>`` (production/using/configuration.md); host vars ``syslogd_address`` and ``syslogd_port``;
- ``XTK_VAR_DIR`` in ``customer.sh``: the ``var`` tree, logs, downloads, redirections
  (installation/using/configuring-campaign-server.md); host var ``var_dir``;
- ``web/@httpPort`` and ``web/@controlPort`` (configure-tomcat.md, the-server-configuration-file.md),
  ``stat/@port`` (email-deliverability.md) and ``dataStore/@exportDirectory`` (the-server-configuration-
  file.md), in ``config-default.xml`` (web) or ``config-<instance>.xml`` (stat, dataStore), else
  ``serverConf.xml``; host vars ``web_port``, ``web_control_port``, ``stat_port``, ``export_dir``;
- the systemd unit ``nlserver`` (``systemctl start nlserver`` from 20.1, production/using/usual-
  commands.md): host var ``service_manager`` is then ``systemd``;
- ``maxProcessMemoryWarningMb`` and ``maxProcessMemoryAlertMb`` of each module element (the-server-
  configuration-file.md), in the module's config file, else ``serverConf.xml``: the fact
  ``memory_thresholds`` (module -> warning, alert, where each was read), no host var.

The script prints the Campaign environment as the run's commands see it (the env script sourced, so
what ``customer.sh`` exports), ``customer.sh`` and the three config files as text, and what systemd says
of the unit; nothing is executed from the site's files here. A setting the host does not make is no
fact (the var's default applies); one it makes that cannot be read is a problem, shown, never guessed.

Owns: :func:`script`, :func:`parse` (into :class:`HostFacts`: each value with where it came from) and
:func:`mismatches` (an inventory value that differs from the host's). Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET  # the operator's own config files; see runner.campaign_formats._xml
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MARK = "@@hostfact"
LIMIT = 1024 * 1024  # bytes read of each file: Adobe's serverConf.xml is tens of kilobytes
SECTIONS = ("env", "customer", "serverconf", "default", "instance", "systemd")
SETTINGS = ("TRACE_ADDR", "XTK_VAR_DIR")  # the customer.sh settings read
# the host vars a host may set, in the order they are shown
VARS = (
    "syslogd_address",
    "syslogd_port",
    "var_dir",
    "web_port",
    "web_control_port",
    "stat_port",
    "export_dir",
    "service_manager",
)
# the module elements Adobe documents maxProcessMemoryWarningMb / maxProcessMemoryAlertMb on
# (installation/using/the-server-configuration-file.md; defaults 1600 / 1800)
MEMORY_MODULES = (
    "inMail",
    "interactiond",
    "mta",
    "pipelined",
    "sms",
    "stat",
    "syslogd",
    "tracking",
    "trackinglogd",
    "web",
    "wfserver",
)
MEMORY_ATTRS = ("maxProcessMemoryWarningMb", "maxProcessMemoryAlertMb")
_ASSIGN = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})$")
_INSTALL_DIR, _INSTANCE_NAME = "$(XTK_INSTALL_DIR)", "$(INSTANCE_NAME)"


def script(nl6_root: str, instance: str | None) -> str:
    """The read script: one section per source, each ending with the exit code of what printed it."""
    conf = f"{nl6_root}/conf"

    def cat(section: str, path: str) -> str:
        return f"echo '{MARK} {section}'; head -c {LIMIT} {shlex.quote(path)} 2>&1; r=$?; echo; echo \"{MARK} rc $r\""

    env = "; ".join(f'[ -n "${{{name}+x}}" ] && printf \'%s=%s\\n\' {name} "${name}"' for name in SETTINGS)
    parts = [
        f"echo '{MARK} env'; {env}; echo '{MARK} rc 0'",
        cat("customer", f"{nl6_root}/customer.sh"),
        cat("serverconf", f"{conf}/serverConf.xml"),
        cat("default", f"{conf}/config-default.xml"),
    ]
    if instance:
        parts.append(cat("instance", f"{conf}/config-{instance}.xml"))
    parts.append(
        f"echo '{MARK} systemd'; if command -v systemctl >/dev/null 2>&1; then"
        f" systemctl show -p LoadState nlserver.service 2>&1; r=$?; else echo 'no systemctl'; r=127; fi;"
        f' echo "{MARK} rc $r"'
    )
    return "\n".join(parts)


@dataclass(frozen=True)
class Fact:
    """One host var's value as the host sets it, and where it was read (for people: ``hosts``, audit)."""

    value: Any
    source: str


@dataclass
class HostFacts:
    """What the host says: the vars it sets, and what could not be read (each problem in words)."""

    facts: dict[str, Fact] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, Any]:
        """Var name -> value, for :attr:`runner.actions.base.Context.facts`."""
        return {name: fact.value for name, fact in self.facts.items()}


@dataclass(frozen=True)
class Mismatch:
    """An inventory value that differs from the host's own setting: the inventory's is used, and said."""

    var: str
    inventory: Any
    host: Any
    source: str

    def describe(self) -> str:
        return (
            f"{self.var}: the inventory says {self.inventory!r}, the host says {self.host!r} ({self.source}); "
            "the inventory's value is used"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"var": self.var, "inventory_value": self.inventory, "host_value": self.host, "source": self.source}


def _sections(out: str) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    pattern = re.compile(rf"^{MARK} ({'|'.join(SECTIONS)})\n(.*?)^{MARK} rc (\d+)$", re.M | re.S)
    for match in pattern.finditer(out):
        found[match[1]] = (match[2], int(match[3]))
    return found


def _unquote(raw: str) -> str | None:
    """A shell word's value as ``sh`` would read it, when that needs no expansion; None when it does."""
    text = raw.strip()
    if text.startswith("'"):
        end = text.find("'", 1)
        return text[1:end] if end > 0 and not text[end + 1 :].strip(" \t;").split("#", 1)[0].strip() else None
    if text.startswith('"'):
        end = text.find('"', 1)
        inner = text[1:end] if end > 0 else ""
        if end <= 0 or "$" in inner or "`" in inner or "\\" in inner:
            return None
        return inner if not text[end + 1 :].strip(" \t;").split("#", 1)[0].strip() else None
    word = re.split(r"[\s;#]", text, maxsplit=1)[0]
    if any(c in word for c in "$`\\\"'(){}|&<>*?"):
        return None
    return word


def customer_settings(text: str) -> dict[str, str | None]:
    """``NAME=value`` / ``export NAME=value`` lines of ``customer.sh`` for :data:`SETTINGS` (the last one
    wins, as in ``sh``); None for a value that only the shell could work out (``$HOME/var``)."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        match = _ASSIGN.match(line)
        if match and match["name"] in SETTINGS:
            found[match["name"]] = _unquote(match["value"])
    return found


def parse_trace_addr(value: str) -> tuple[str | None, int]:
    """``localhost:<port>`` (Adobe's form) -> (host, port); a bare port -> (None, port); ValueError else."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"TRACE_ADDR={value!r}: not <host>:<port>")
    if host and not _HOST.match(host):
        raise ValueError(f"TRACE_ADDR={value!r}: {host!r} is not a host name or address")
    return (host.strip("[]") or None), int(port)


def _config(text: str, what: str) -> ET.Element:
    body = text.strip()
    if not body or "\x00" in body:
        raise ValueError(f"{what} is empty")
    try:
        root = ET.fromstring(body)  # noqa: S314 - the operator's own config file (see module docstring)
    except ET.ParseError as exc:
        raise ValueError(f"{what} is not well-formed XML ({exc})") from None
    if root.tag.lower() != "serverconf":
        raise ValueError(f"{what}: root element is <{root.tag[:40]}>, not <serverconf>")
    return root


def _port(value: str, where: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{where}={value!r} is not a port number")
    return int(value)


def parse(out: str, *, nl6_root: str, instance: str | None) -> HostFacts:
    """Read the script's output (:func:`script`); a section missing or unreadable is a problem, not a fact."""
    result = HostFacts()
    sections = _sections(out)
    missing = [s for s in SECTIONS if s not in sections and (s != "instance" or instance)]
    if missing:
        result.problems.append(f"the settings read was cut short (no {', '.join(missing)})")
    _environment(sections, nl6_root, result)
    _configs(sections, nl6_root, instance, result)
    text, rc = sections.get("systemd", ("", 1))
    if rc == 0 and re.search(r"^LoadState=loaded\s*$", text, re.M):
        result.facts["service_manager"] = Fact("systemd", "systemd unit nlserver.service (LoadState=loaded)")
    return result


def _environment(sections: Mapping[str, tuple[str, int]], nl6_root: str, result: HostFacts) -> None:
    """TRACE_ADDR and XTK_VAR_DIR: the Campaign environment (env script sourced), else customer.sh's text."""
    env_text, _rc = sections.get("env", ("", 0))
    env = {
        name: value
        for line in env_text.splitlines()
        if (name := line.partition("=")[0]) in SETTINGS and (value := line.partition("=")[2].strip())
    }
    customer_text, customer_rc = sections.get("customer", ("", 1))
    customer = customer_settings(customer_text) if customer_rc == 0 else {}
    path = f"{nl6_root}/customer.sh"
    for setting in SETTINGS:
        found: str | None = env.get(setting)
        source = f"{setting} in the Campaign environment"
        if found is None or customer.get(setting) == found:
            found, source = customer.get(setting), f"{setting} in {path}"
        if found is None:
            if setting in customer:
                result.problems.append(f"{setting} in {path} needs the shell to be read; set the var in the inventory")
            continue
        try:
            _setting(setting, found, source, result)
        except ValueError as exc:
            result.problems.append(f"{exc} ({source})")


def _setting(name: str, value: str, source: str, result: HostFacts) -> None:
    if name == "TRACE_ADDR":
        host, port = parse_trace_addr(value)
        result.facts["syslogd_port"] = Fact(port, source)
        if host:
            result.facts["syslogd_address"] = Fact(host, source)
        return
    if not value.startswith("/"):
        raise ValueError(f"XTK_VAR_DIR={value!r} is not an absolute path")
    result.facts["var_dir"] = Fact(value.rstrip("/") or "/", source)


def _configs(sections: Mapping[str, tuple[str, int]], nl6_root: str, instance: str | None, result: HostFacts) -> None:
    """Ports and the export directory: the module's own config file first, then serverConf.xml."""
    names = {"serverconf": "serverConf.xml", "default": "config-default.xml", "instance": f"config-{instance}.xml"}
    roots: dict[str, ET.Element] = {}
    for section, name in names.items():
        text, rc = sections.get(section, ("", 1))
        if section == "instance" and not instance:
            continue
        if rc != 0:
            if "No such file" not in text:  # a file that is not there sets nothing
                result.problems.append(f"{nl6_root}/conf/{name} cannot be read: {text.strip()[:160]}")
            continue
        try:
            roots[section] = _config(text, name)
        except ValueError as exc:
            result.problems.append(str(exc))

    def first(order: tuple[str, ...], path: str, attr: str) -> tuple[str, str] | None:
        for section in order:
            element = roots[section].find(path) if section in roots else None
            value = element.get(attr) if element is not None else None
            if value is not None and value.strip():
                return value.strip(), f"{names[section]} {path.rsplit('/', 1)[-1]}/@{attr}"
        return None

    wanted = (
        ("web_port", ("default", "serverconf"), "web", "httpPort"),
        ("web_control_port", ("default", "serverconf"), "web", "controlPort"),
        ("stat_port", ("instance", "serverconf"), "stat", "port"),
    )
    for var, order, path, attr in wanted:
        found = first(order, path, attr)
        if found is not None:
            try:
                result.facts[var] = Fact(_port(found[0], found[1]), found[1])
            except ValueError as exc:
                result.problems.append(str(exc))
    _memory_thresholds(roots, names, result)
    found = first(("instance", "serverconf"), "shared/dataStore", "exportDirectory")
    if found is not None:
        directory = found[0].replace(_INSTALL_DIR, nl6_root).replace(_INSTANCE_NAME, instance or "")
        if "$(" in directory or not directory.startswith("/"):
            result.problems.append(f"{found[1]}={found[0]!r}: not an absolute path this runner can read")
        else:
            result.facts["export_dir"] = Fact(directory.rstrip("/") or "/", found[1])


def _memory_thresholds(roots: Mapping[str, ET.Element], names: Mapping[str, str], result: HostFacts) -> None:
    """maxProcessMemoryWarningMb / maxProcessMemoryAlertMb of each module element that sets them: the module's
    own config file first (config-default.xml for web, syslogd, trackinglogd; config-<instance>.xml for the
    others), then serverConf.xml. Fact ``memory_thresholds``: module -> {warning, alert, source}, only for
    what the host sets (Adobe's defaults, 1600 and 1800, apply to the rest)."""
    found: dict[str, dict[str, Any]] = {}
    for module in MEMORY_MODULES:
        order = ("default" if module in ("web", "syslogd", "trackinglogd") else "instance", "serverconf")
        for key, attr in (("warning", MEMORY_ATTRS[0]), ("alert", MEMORY_ATTRS[1])):
            for section in order:
                element = roots[section].find(module) if section in roots else None
                value = element.get(attr) if element is not None else None
                if value is None or not value.strip():
                    continue
                where = f"{names[section]} {module}/@{attr}"
                if not value.strip().isdigit() or int(value) <= 0:
                    result.problems.append(f"{where}={value!r} is not a number of Mb")
                    break
                entry = found.setdefault(module, {"sources": []})
                entry[key] = int(value)
                entry["sources"].append(where)
                break
    if found:
        thresholds = {
            m: {"warning": e.get("warning"), "alert": e.get("alert"), "source": ", ".join(e["sources"])}
            for m, e in found.items()
        }
        source = "; ".join(str(t["source"]) for t in thresholds.values())
        result.facts["memory_thresholds"] = Fact(thresholds, source)


def same(inventory: Any, host: Any) -> bool:
    """Whether an inventory value and the host's say the same (6666 and "6666", a path with or without '/')."""
    if isinstance(host, int) and not isinstance(host, bool):
        return str(inventory).strip() == str(host)
    if isinstance(host, str) and isinstance(inventory, str) and host.startswith("/"):
        return inventory.rstrip("/") == host.rstrip("/")
    return str(inventory) == str(host)


def mismatches(inventory: Mapping[str, Any], facts: HostFacts) -> list[Mismatch]:
    """Each var the inventory sets to something else than the host does (the inventory's value is used)."""
    out = []
    for name in VARS:
        fact = facts.facts.get(name)
        given = inventory.get(name)
        if fact is not None and given is not None and not same(given, fact.value):
            out.append(Mismatch(name, given, fact.value, fact.source))
    return out


def origin(name: str, inventory: Mapping[str, Any], facts: HostFacts) -> str:
    """Where a var's value comes from on this host: ``inventory``, ``host`` or ``default``."""
    if inventory.get(name) is not None:
        return "inventory"
    return "host" if name in facts.facts else "default"
