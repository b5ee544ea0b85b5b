"""Ansible's INI inventory format, read as ``ansible-inventory`` reads it (ansible/plugins/inventory/ini.py).

Owns: sections (``[group]`` hosts, ``[group:children]`` child groups, ``[group:vars]`` one ``key=value``
a line), hosts before any section (group ``ungrouped``), inline host vars (``web1 ansible_host=10.0.0.5
instance=prod``), ``host:port``, host ranges (``web[01:10]``, ``db-[a:c]``, ``h[1:9:2]``, several in one
name), comments (``#`` and ``;`` lines, ``#`` after a host's vars), a group named in ``:children`` or
``:vars`` that is declared later, and values typed as Ansible types them: a Python literal is that value
(``8080`` a number, ``True`` a boolean, ``"'007'"`` a string, ``"['a', 'b']"`` a list), anything else is
the text as written (``true`` and ``yes`` too: Ansible's INI reader keeps them strings). Every defect
is an :class:`InputError` with ``file:line``. Must not: merge vars, validate the runner's vars or know
other formats (:mod:`runner.inventory` does).
"""

from __future__ import annotations

import ast
import re
import shlex
import string
import warnings
from dataclasses import dataclass, field
from typing import Any

from runner.errors import InputError

MAX_RANGE = 10_000  # hosts one range line may expand to: more is a typo ([1:100000]), not a fleet

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_LINE = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")

# host[:port] as ansible.parsing.utils.addresses parses it (IPv6 left out: no host name here holds ':')
_NUM_RANGE = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:[\w]|{_ALNUM_RANGE})(?:[\w_-]|{_ALNUM_RANGE})*(?<![_-])"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I)
_IPV4_PART = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{_NUM_RANGE})"
_IPV4 = re.compile(rf"^(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}$", re.I)
_HOSTPORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_BRACKETED_HOSTPORT = re.compile(r"^\[(.+)\]:([0-9]+)$")


@dataclass
class Group:
    """One group as the file declares it: its own hosts and children, in order, and its own vars."""

    name: str
    line: int
    hosts: dict[str, None] = field(default_factory=dict)  # an ordered set
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Host:
    name: str
    line: int  # where the host is first declared
    vars: dict[str, Any] = field(default_factory=dict)  # inline vars, later lines over earlier ones
    port: int | None = None  # host:PORT where the host is first declared (Ansible ignores later ones)


@dataclass
class Parsed:
    """What one INI file declares; ``all`` and ``ungrouped`` always exist, as in Ansible."""

    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)


def value(text: str) -> Any:
    """An INI value as Ansible types it: a Python literal when it is one, else the text itself."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            parsed: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _plain(parsed)


def _plain(parsed: Any) -> Any:
    """What Ansible keeps of a literal: tuples and sets as lists, bytes as text, complex and ... as text."""
    if isinstance(parsed, tuple | list | set | frozenset):
        return [_plain(item) for item in parsed]
    if isinstance(parsed, dict):
        return {key: _plain(item) for key, item in parsed.items()}
    if isinstance(parsed, bytes):
        return parsed.decode("utf-8", "surrogateescape")
    if parsed is Ellipsis:
        return "..."
    if isinstance(parsed, complex):
        return str(parsed)
    return parsed


def expand_range(pattern: str) -> list[str]:
    """``web[01:03]`` -> web01, web02, web03; ``db-[a:c]``; ``h[1:9:2]``; several ranges multiply.

    As Ansible's expand_hostname_range: leading zeros fix the width (begin and end then have the same
    width), letters run through a-z then A-Z, the step is the third bound. ValueError says what is wrong.
    """
    if "[" not in pattern:
        return [pattern]
    open_at = pattern.index("[")
    close_at = pattern.find("]", open_at)
    if close_at < 0:
        raise ValueError("'[' without its ']'")
    head, bounds_text, tail = pattern[:open_at], pattern[open_at + 1 : close_at], pattern[close_at + 1 :]
    bounds = bounds_text.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError(f"host range [{bounds_text}] must be [begin:end] or [begin:end:step]")
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise ValueError(f"host range [{bounds_text}] has no end")
    if not step_text.isdigit() or int(step_text) == 0:
        raise ValueError(f"host range [{bounds_text}]: the step must be a whole number above 0")
    step = int(step_text)
    width = len(begin) if begin[0] == "0" and len(begin) > 1 else 0
    if width and len(end) != width:
        raise ValueError(f"host range [{bounds_text}]: begin and end must have the same width")
    items: list[str]
    if begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise ValueError(f"host range [{bounds_text}]: begin must come before end")
        items = list(string.ascii_letters[first : last + 1 : step])
    elif begin.isdigit() and end.isdigit():
        if (int(end) - int(begin)) // step >= MAX_RANGE:
            raise ValueError(f"host range [{bounds_text}] expands to more than {MAX_RANGE} hosts")
        items = [str(n).zfill(width) if width else str(n) for n in range(int(begin), int(end) + 1, step)]
    else:
        raise ValueError(f"host range [{bounds_text}]: bounds must be two numbers or two letters")
    names: list[str] = []
    for item in items:
        names.extend(expand_range(head + item + tail))
        if len(names) > MAX_RANGE:
            raise ValueError(f"host range expands to more than {MAX_RANGE} hosts")
    return names


def expand_host(token: str) -> tuple[list[str], int | None]:
    """A host entry as Ansible reads one in INI and YAML alike: ``web[01:03]:2222`` -> the names and the
    port (None: none given); ValueError says what is wrong."""
    pattern, port = _host_and_port(token)
    if token.endswith(":") and port is None:
        raise ValueError("ends in ':'")
    return expand_range(pattern), port


def _host_and_port(token: str) -> tuple[str, int | None]:
    """``web1:2222`` -> (web1, 2222), as ansible's parse_address; a token it cannot read stays whole."""
    port = None
    address = token
    for form in (_BRACKETED_HOSTPORT, _HOSTPORT):
        found = form.match(address)
        if found:
            address, port = found.group(1), int(found.group(2))
    if _IPV4.match(address) or _HOSTNAME.match(address):
        return address, port
    return token, None


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.line = 0
        self.out = Parsed()
        for builtin in ("all", "ungrouped"):
            self.out.groups[builtin] = Group(builtin, 0)

    def error(self, what: str, hint: str | None = None, line: int | None = None) -> InputError:
        return InputError(what, path=self.path, line=line or self.line, hint=hint)

    def group(self, name: str) -> Group:
        if name not in self.out.groups:
            self.out.groups[name] = Group(name, self.line)
        return self.out.groups[name]

    def read(self, text: str) -> Parsed:
        # Ansible's pending declarations: a group named by [x:vars] or in [y:children] before its own
        # [x] or [x:children] section; the file is wrong if one is still pending at its end.
        pending: dict[str, tuple[int, str, list[str]]] = {}  # name -> (line, state, parents)
        name, state = "ungrouped", "hosts"
        for number, raw in enumerate(text.splitlines(), 1):
            self.line = number
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            section = _SECTION.match(line)
            if section:
                name, kind = section.group(1), section.group(2) or "hosts"
                state = kind
                if kind not in ("hosts", "children", "vars"):
                    raise self.error(
                        f"section [{section.group(1)}:{kind}] has an unknown type {kind!r}",
                        hint="[group], [group:children] or [group:vars]",
                    )
                if name not in self.out.groups:
                    if kind == "vars" and name not in pending:
                        pending[name] = (number, kind, [])
                    self.group(name)
                if name in pending and kind != "vars":
                    if pending[name][1] == "children":
                        self._adopt(name, pending)
                    else:
                        del pending[name]
                continue
            if line.startswith("[") and line.endswith("]"):
                raise self.error(
                    f"invalid section {line!r}", hint="[group], [group:children] or [group:vars], without spaces"
                )
            if state == "hosts":
                self._hosts(line, name)
            elif state == "vars":
                key, sep, text_value = line.partition("=")
                if not sep or not key.strip():
                    raise self.error(f"expected key=value in [{name}:vars], got {line!r}")
                self.out.groups[name].vars[key.strip()] = value(text_value.strip())
            else:
                child_line = _GROUP_LINE.match(line)
                if not child_line:
                    raise self.error(f"expected a group name in [{name}:children], got {line!r}")
                child = child_line.group(1)
                if child not in self.out.groups:
                    pending.setdefault(child, (number, "children", []))[2].append(name)
                elif child not in self.out.groups[name].children:
                    self.out.groups[name].children.append(child)
        for group, (line_number, kind, parents) in pending.items():
            if kind == "vars":
                raise self.error(
                    f"section [{group}:vars] is for a group declared nowhere",
                    hint=f"add a [{group}] or [{group}:children] section",
                    line=line_number,
                )
            raise self.error(
                f"section [{parents[-1]}:children] names group {group!r}, declared nowhere",
                hint=f"add a [{group}] section with its hosts",
                line=line_number,
            )
        return self.out

    def _adopt(self, name: str, pending: dict[str, tuple[int, str, list[str]]]) -> None:
        for parent in pending[name][2]:
            if name not in self.out.groups[parent].children:
                self.out.groups[parent].children.append(name)
            if parent in pending and pending[parent][1] == "children":
                self._adopt(parent, pending)
        pending.pop(name, None)

    def _hosts(self, line: str, group: str) -> None:
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise self.error(f"cannot read this host line: {exc}") from None
        if not tokens or not tokens[0]:
            raise self.error(f"expected a host name, got {line!r}")
        try:
            names, port = expand_host(tokens[0])
        except ValueError as exc:
            raise self.error(f"{tokens[0]!r}: {exc}", hint="host:PORT, e.g. web1:2222") from None
        if "---" in names:
            raise self.error("'---' starts a YAML document", hint="name a YAML inventory *.yml")
        assigned: dict[str, Any] = {}
        for token in tokens[1:]:
            key, sep, text_value = token.partition("=")
            if not sep or not key:
                raise self.error(
                    f"expected key=value after host {tokens[0]!r}, got {token!r}",
                    hint="quote a value with spaces: key='a b'",
                )
            assigned[key] = value(text_value)
        for host_name in names:
            if host_name not in self.out.hosts:
                self.out.hosts[host_name] = Host(host_name, self.line, port=port)
            self.out.hosts[host_name].vars.update(assigned)
            self.out.groups[group].hosts.setdefault(host_name)


def parse(text: str, path: str) -> Parsed:
    """The groups and hosts one INI inventory declares; an :class:`InputError` with ``path:line``."""
    return _Reader(path).read(text)
