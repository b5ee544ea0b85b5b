"""Hosts, groups and vars from an inventory as operators have them; host selection.

Owns: reading Ansible's three static formats into one model — YAML (``all:`` / ``children:`` /
``hosts:`` / ``vars:`` trees), INI (:mod:`runner.inventory_ini`) and the JSON that ``ansible-inventory
--list`` prints (so any dynamic inventory works through Ansible) — from one file or a directory of them
(the format from the extension, else from the content), with the ``group_vars/`` and ``host_vars/``
beside it; Ansible's reconciliation (groups under ``all``, ``ungrouped``) and variable precedence (host
over group over ``all``; a deeper group over its parents, ties by ``ansible_group_priority`` then name;
vars files over inventory vars); validating the vars the runner reads against the table in
:mod:`runner.hostvars`; selecting hosts by name, group or Ansible host pattern (:mod:`runner.patterns`).
Must not: open connections or read OpenSSH configs (that is :mod:`runner.transport`), or run a dynamic
inventory script.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import hostvars, inventory_ini, patterns, yamlfile
from runner.errors import InputError, did_you_mean

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
GROUP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$")
SECRET_NAME = hostvars.SECRET_NAME
GROUP_KEYS = frozenset({"hosts", "vars", "children"})
BUILTIN_GROUPS = ("all", "ungrouped")  # Ansible's: every host, and the hosts in no other group
FORMAT_OF_SUFFIX = {".yml": "yaml", ".yaml": "yaml", ".json": "json", ".ini": "ini"}
DIRECTORY_SUFFIXES = frozenset(FORMAT_OF_SUFFIX)  # and files without an extension, as Ansible's ``hosts``
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")  # of a group_vars/ or host_vars/ file, in Ansible's order
MAX_JSON_BYTES = 16 * 1024 * 1024  # ansible-inventory --list repeats group vars in every host: larger than YAML
JSON_GROUP_HINT = "a group is {hosts: [...], children: [...], vars: {...}}, as ansible-inventory --list prints"
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_YAML_KEY = re.compile(r"^[^\s:#\[{]+:(\s|$)")  # "all:", "web:"; never "web1:2222" (INI host:port)
# Ansible's boolean strings (module_utils/parsing/convert_bool.py), for the runner's true/false vars in INI
_TRUE = frozenset({"y", "yes", "on", "1", "true", "t", "1.0"})
_FALSE = frozenset({"n", "no", "off", "0", "false", "f", "0.0"})


@dataclass(frozen=True)
class Host:
    """One inventory host with its merged vars."""

    name: str
    groups: tuple[str, ...]
    vars: Mapping[str, Any]
    source: str  # "path:line" where the host was first declared

    def var(self, key: str, default: Any = None) -> Any:
        return self.vars.get(key, default)

    @property
    def instance(self) -> str | None:
        value = self.vars.get("instance")
        return str(value) if value is not None else None

    def secrets(self) -> set[str]:
        """Values of this host that must never be written anywhere (redacted by value)."""
        listed = self.vars.get("secret_vars")  # may be malformed: this runs while reporting that, too
        names = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()
        out: set[str] = set()
        for key, value in self.vars.items():
            if (key in names or SECRET_NAME.search(key)) and isinstance(value, str | int) and str(value):
                out.add(str(value))
        return out


@dataclass
class Inventory:
    """Every host and group of an inventory."""

    hosts: dict[str, Host] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def hosts_named(self, names: Iterable[str] = (), groups: Iterable[str] = ()) -> list[Host]:
        """Hosts named or in the named groups, in inventory order; unknown names are input errors."""
        wanted: list[str] = []
        for name in names:
            if name not in self.hosts:
                known = ", ".join(sorted(self.hosts)[:8]) or "none"
                hint = did_you_mean(name, self.hosts, f"inventory hosts: {known}")
                raise InputError(f"unknown host {name!r}", where="--host", hint=hint)
            wanted.append(name)
        for group in groups:
            if group not in self.groups:
                known = ", ".join(sorted(self.groups)[:8]) or "none"
                hint = did_you_mean(group, self.groups, f"groups: {known}")
                raise InputError(f"unknown group {group!r}", where="--group", hint=hint)
            wanted.extend(self.groups[group])
        return [self.hosts[n] for n in dict.fromkeys(wanted)]

    def matching(self, pattern: str, where: str = "--limit") -> list[Host]:
        """The hosts an Ansible host pattern selects (``web:&emea:!web3``, ``db*``, ``~app\\d+``)."""
        return [self.hosts[n] for n in patterns.hosts_matching(pattern, list(self.hosts), self.groups, where)]


@dataclass
class _Group:
    name: str
    source: str  # "path:line" where the group is first declared
    hosts: dict[str, None] = field(default_factory=dict)  # its own hosts, in order (an ordered set)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    priority: int = 1  # ansible_group_priority: among groups of one depth, the higher wins

    def set_vars(self, values: Mapping[str, Any], where: str) -> None:
        """As Ansible's Group.set_variable: ``ansible_group_priority`` is the group's priority, not a var."""
        for key, value in values.items():
            if key != "ansible_group_priority":
                self.vars[key] = value
                continue
            try:
                self.priority = int(value)
            except (TypeError, ValueError, OverflowError):
                raise InputError(
                    f"ansible_group_priority of group {self.name!r} must be a whole number", where=where
                ) from None


@dataclass
class _RawHost:
    name: str
    source: str
    own_vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Collect:
    """What every file of an inventory declares, whatever its format: Ansible's groups and hosts."""

    hosts: dict[str, _RawHost] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for builtin in BUILTIN_GROUPS:
            self.groups.setdefault(builtin, _Group(builtin, "(built in)"))

    def group(self, name: str, source: str) -> _Group:
        return self.groups.setdefault(name, _Group(name, source))

    def host(self, name: str, source: str) -> _RawHost:
        return self.hosts.setdefault(name, _RawHost(name, source))


def default_path(cwd: Path | None = None) -> Path:
    """``$REMEDIATE_INVENTORY`` or ``inventory/`` in the current directory."""
    env = os.environ.get("REMEDIATE_INVENTORY")
    return Path(env) if env else (cwd or Path.cwd()) / "inventory"


def in_directory(path: Path) -> bool:
    """Whether a file of an inventory directory is an inventory: YAML, JSON, INI, or no extension (INI,
    as Ansible's ``hosts``); never a hidden file, a backup, or notes."""
    if not path.is_file() or path.name.startswith(".") or path.name.endswith("~"):
        return False
    return path.suffix.lower() in DIRECTORY_SUFFIXES or not path.suffix


def inventory_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if in_directory(p))
        if not files:
            raise InputError(
                "no inventory file (*.yml, *.yaml, *.ini, *.json or no extension) in this directory",
                path=str(path),
                hint="put your inventory there, or pass -i PATH, or set REMEDIATE_INVENTORY",
            )
        return files
    if not path.exists():
        raise InputError("inventory not found", path=str(path), hint="pass -i PATH or set REMEDIATE_INVENTORY")
    return [path]


def _read_text(file: Path) -> str:
    try:
        if file.stat().st_size > MAX_JSON_BYTES:
            raise InputError(f"file is larger than {MAX_JSON_BYTES} bytes", path=str(file))
        raw = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(file)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=str(file)) from None


def sniff(text: str) -> str:
    """The format of an inventory from its first line that is not blank or a comment."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("{"):
            return "json"
        if line.startswith(("---", "%YAML")) or _YAML_KEY.match(line):
            return "yaml"
        return "ini"
    return "ini"


def detect(file: Path, text: str) -> str:
    """``yaml``, ``ini`` or ``json``: by the extension when it names one, else by the content."""
    return FORMAT_OF_SUFFIX.get(file.suffix.lower()) or sniff(text)


def load(path: Path) -> Inventory:
    """Load an inventory file or directory; every defect is an :class:`InputError` with file:line."""
    found = _Collect()
    files = inventory_files(path)
    for file in files:
        text = _read_text(file)
        if text.startswith("#!"):
            raise InputError(
                "a dynamic inventory script: remediate does not run it",
                path=str(file),
                line=1,
                hint=f"ansible-inventory -i {file} --list > inventory.json, then -i inventory.json",
            )
        kind = detect(file, text)
        if kind == "json":
            _read_json(file, text, found)
        elif kind == "ini":
            _read_ini(file, text, found)
        else:
            _read_yaml(file, text, found)
    beside = path if path.is_dir() else path.parent
    group_files = {name: _vars_of(beside / "group_vars", name) for name in found.groups}
    host_files = {name: _vars_of(beside / "host_vars", name) for name in found.hosts}
    try:
        return _resolve(found, [str(f) for f in files], group_files, host_files)
    except RecursionError:
        raise InputError("groups nested too deeply", path=str(path)) from None


# --- group_vars/ and host_vars/ beside the inventory (Ansible's host_group_vars plugin) ------------


def _vars_of(where: Path, name: str) -> dict[str, Any]:
    """The vars ``group_vars/NAME`` (or ``host_vars/NAME``) holds: the first of ``NAME``, ``NAME.yml``,
    ``NAME.yaml``, ``NAME.json`` that exists, a directory meaning each of its files in name order."""
    if not where.is_dir():
        return {}
    merged: dict[str, Any] = {}
    for suffix in VARS_SUFFIXES:
        candidate = where / f"{name}{suffix}"
        if candidate.exists():
            files = _vars_files_below(candidate) if candidate.is_dir() else [candidate]
            for file in files:
                data = yamlfile.load_text(_read_text(file), str(file))
                if data is None:
                    continue
                if not isinstance(data, dict):
                    raise InputError(f"the vars of {where.name}/{name} must be a mapping", path=str(file), line=1)
                merged.update(data)
            break
    return merged


def _vars_files_below(directory: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            found.extend(_vars_files_below(entry))
        elif entry.is_file() and (not entry.suffix or entry.suffix in VARS_SUFFIXES):
            found.append(entry)
    return found


# --- YAML -----------------------------------------------------------------------------------------


def _read_yaml(file: Path, text: str, found: _Collect) -> None:
    try:
        data = yamlfile.load_text(text, str(file))
    except InputError as exc:
        if sniff(text) == "ini":  # an INI inventory named *.yml
            raise InputError(
                exc.what, where=exc.where, hint="this looks like an INI inventory: name it *.ini"
            ) from None
        raise
    if data is None:
        return
    if not isinstance(data, dict):
        raise InputError("an inventory must be a mapping of groups (all:, ...)", path=str(file), line=1)
    for group, body in data.items():
        _walk_group(file, data, group, body, [], found)


def _walk_group(file: Path, parent: Any, group: str, body: Any, ancestors: list[str], found: _Collect) -> None:
    where_line = yamlfile.line_of(parent, group)
    _check_group_name(group, str(file), where_line)
    if group in ancestors:
        raise InputError(f"group {group!r} contains itself", path=str(file), line=where_line)
    declared = found.group(group, f"{file}:{where_line}")
    if ancestors and group not in found.groups[ancestors[-1]].children:
        found.groups[ancestors[-1]].children.append(group)
    if body is None:
        return
    if not isinstance(body, dict):
        raise InputError(
            f"group {group!r} must be a mapping with hosts:, vars:, children:", path=str(file), line=where_line
        )
    for key in body:
        if key not in GROUP_KEYS:
            raise InputError(
                f"unknown key {key!r} in group {group!r}",
                path=str(file),
                line=yamlfile.line_of(body, key),
                hint="expected hosts, vars or children",
            )
    declared.set_vars(_mapping_or_empty(file, body, "vars", f"vars of group {group!r}"), f"{file}:{where_line}")
    hosts = _mapping_or_empty(file, body, "hosts", f"hosts of group {group!r}")
    for entry, hvars in hosts.items():
        line = yamlfile.line_of(hosts, entry)
        if hvars is not None and not isinstance(hvars, dict):
            raise InputError(f"vars of host {entry!r} must be a mapping", path=str(file), line=line)
        try:  # as Ansible's YAML reader: web[01:03] and host:PORT, as in INI
            names, port = inventory_ini.expand_host(entry) if isinstance(entry, str) else ([entry], None)
        except ValueError as exc:
            raise InputError(f"host {entry!r}: {exc}", path=str(file), line=line) from None
        for name in names:
            _check_host_name(name, str(file), line)
            if name not in found.hosts and port is not None:
                found.host(name, f"{file}:{line}").own_vars["ansible_port"] = port
            found.host(name, f"{file}:{line}").own_vars.update(dict(hvars or {}))
            declared.hosts.setdefault(name)
    children = _mapping_or_empty(file, body, "children", f"children of group {group!r}")
    for child, child_body in children.items():
        _walk_group(file, children, child, child_body, [*ancestors, group], found)


def _mapping_or_empty(file: Path, body: Any, key: str, what: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a mapping", path=str(file), line=yamlfile.line_of(body, key))
    return value


# --- INI ------------------------------------------------------------------------------------------


def _read_ini(file: Path, text: str, found: _Collect) -> None:
    if len(text.encode("utf-8", "surrogateescape")) > yamlfile.MAX_BYTES:
        raise InputError(f"file is larger than {yamlfile.MAX_BYTES} bytes", path=str(file))
    parsed = inventory_ini.parse(text, str(file))
    for name, ini_group in parsed.groups.items():
        if name in BUILTIN_GROUPS and not (ini_group.hosts or ini_group.children or ini_group.vars):
            continue
        _check_group_name(name, str(file), ini_group.line)
        declared = found.group(name, f"{file}:{ini_group.line}")
        declared.set_vars(_ansible_booleans(ini_group.vars), f"{file}:{ini_group.line}")
        for child in ini_group.children:
            if child not in declared.children:
                declared.children.append(child)
        for host in ini_group.hosts:
            declared.hosts.setdefault(host)
    for name, ini_host in parsed.hosts.items():
        _check_host_name(name, str(file), ini_host.line)
        if name not in found.hosts and ini_host.port is not None:  # as Ansible: the port of a new host only
            found.host(name, f"{file}:{ini_host.line}").own_vars["ansible_port"] = ini_host.port
        found.host(name, f"{file}:{ini_host.line}").own_vars.update(_ansible_booleans(ini_host.vars))


def _ansible_booleans(values: dict[str, Any]) -> dict[str, Any]:
    """The runner's true/false vars of an INI or JSON inventory read as Ansible's modules read a
    boolean: ``yes``/``true``/``1`` ...

    Ansible's INI reader keeps ``syslog_probe=true`` the string "true" (so does the JSON that
    ``ansible-inventory`` prints of it), and Ansible makes it a boolean where a module reads it; the
    runner does the same for the vars it declares true/false. YAML has booleans of its own: there a
    quoted "yes" or a 1 stays refused. Other vars keep their types.
    """
    out = dict(values)
    for key, value in values.items():
        spec = hostvars.VARS.get(key)
        if spec is None or spec.type != "bool" or isinstance(value, bool):
            continue
        word = str(value).strip().lower() if isinstance(value, str | int | float) else None
        if word in _TRUE:
            out[key] = True
        elif word in _FALSE:
            out[key] = False
    return out


# --- JSON (ansible-inventory --list) --------------------------------------------------------------


def _read_json(file: Path, text: str, found: _Collect) -> None:
    path = str(file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except ValueError as exc:  # e.g. a number longer than Python reads
        raise InputError(f"invalid JSON: {exc}", path=path) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", path=path) from None
    if not isinstance(data, dict):
        raise InputError(
            "a JSON inventory must be an object of groups, as `ansible-inventory --list` prints", path=path, line=1
        )

    first_line = _string_lines(text)

    def line(name: str) -> int:
        return first_line.get(json.dumps(name), 1)

    meta = data.get("_meta", {})
    hostvars_of = meta.get("hostvars", {}) if isinstance(meta, dict) else None
    if not isinstance(hostvars_of, dict):
        raise InputError("_meta must be an object with hostvars: {host: {var: value}}", path=path, line=line("_meta"))
    for group, body in data.items():
        if group == "_meta":
            continue
        _check_group_name(group, path, line(group))
        declared = found.group(group, f"{path}:{line(group)}")
        if isinstance(body, list):  # a dynamic inventory script's short form: the group's hosts
            body = {"hosts": body}
        if body is None:
            continue
        if not isinstance(body, dict):
            raise InputError(
                f"group {group!r} must be an object with hosts, children, vars", path=path, line=line(group)
            )
        for key in body:
            if key not in GROUP_KEYS:
                raise InputError(
                    f"unknown key {key!r} in group {group!r}", path=path, line=line(group), hint=JSON_GROUP_HINT
                )
        for key in ("hosts", "children"):
            names = body.get(key) or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InputError(f"{key} of group {group!r} must be a list of names", path=path, line=line(group))
        gvars = body.get("vars") or {}
        if not isinstance(gvars, dict):
            raise InputError(f"vars of group {group!r} must be an object", path=path, line=line(group))
        declared.set_vars(_ansible_booleans(gvars), f"{path}:{line(group)}")
        for host in body.get("hosts") or []:
            _check_host_name(host, path, line(host))
            found.host(host, f"{path}:{line(host)}")
            declared.hosts.setdefault(host)
        for child in body.get("children") or []:
            _check_group_name(child, path, line(child))
            found.group(child, f"{path}:{line(child)}")
            if child not in declared.children:
                declared.children.append(child)
    for host, hvars in hostvars_of.items():
        _check_host_name(host, path, line(host))
        if not isinstance(hvars, dict):
            raise InputError(f"hostvars of {host!r} must be an object", path=path, line=line(host))
        found.host(host, f"{path}:{line(host)}").own_vars.update(_ansible_booleans(hvars))


def _string_lines(text: str) -> dict[str, int]:
    """The line where each JSON string (quoted, as written) first appears: one pass over the text."""
    lines: dict[str, int] = {}
    line, last = 1, 0
    for found in _JSON_STRING.finditer(text):
        line += text.count("\n", last, found.start())
        last = found.start()
        lines.setdefault(found.group(0), line)
    return lines


# --- one inventory from every file ----------------------------------------------------------------


def _resolve(
    found: _Collect,
    paths: list[str],
    group_files: Mapping[str, dict[str, Any]],
    host_files: Mapping[str, dict[str, Any]],
) -> Inventory:
    """Ansible's reconciliation and variable precedence over everything the files declared.

    A group no other group names is a child of ``all``; a host in no group but ``all`` is in
    ``ungrouped``. A host's vars, in Ansible's order (its VARIABLE_PRECEDENCE): ``all``'s, then its
    groups' (and their ancestors') from the shallowest group to the deepest (depth: the longest path
    from ``all``; ties by ``ansible_group_priority``, then by name, as Ansible sorts them), then
    ``group_vars/all``, then ``group_vars/GROUP`` in the same order, then its own, then
    ``host_vars/HOST``.
    """
    groups = found.groups
    parents: dict[str, list[str]] = {name: [] for name in groups}
    for group in groups.values():
        for child in group.children:
            parents[child].append(group.name)
    for name in groups:
        if name != "all" and not parents[name]:
            groups["all"].children.append(name)
            parents[name].append("all")
    _refuse_cycles(groups, paths)
    direct: dict[str, list[str]] = {name: [] for name in found.hosts}
    for group in groups.values():
        for host in group.hosts:
            direct[host].append(group.name)
    ungrouped = groups["ungrouped"]
    for name, in_groups in direct.items():
        if set(in_groups) - set(BUILTIN_GROUPS):
            ungrouped.hosts.pop(name, None)
        elif name not in ungrouped.hosts:
            ungrouped.hosts.setdefault(name)
            in_groups.append("ungrouped")

    depth: dict[str, int] = {"all": 0}

    def depth_of(name: str) -> int:
        if name not in depth:
            depth[name] = max(depth_of(parent) + 1 for parent in parents[name])
        return depth[name]

    ancestors: dict[str, set[str]] = {}

    def ancestors_of(name: str) -> set[str]:
        if name not in ancestors:
            ancestors[name] = set().union(*({p} | ancestors_of(p) for p in parents[name])) if parents[name] else set()
        return ancestors[name]

    order = {name: index for index, name in enumerate(groups)}
    inventory = Inventory(paths=paths)
    for name, raw in found.hosts.items():
        mine = {"all", *direct[name]}
        for member_of in list(mine):
            mine |= ancestors_of(member_of)
        ordered = sorted(mine - {"all"}, key=lambda g: (depth_of(g), groups[g].priority, g))
        merged: dict[str, Any] = dict(groups["all"].vars)
        for layer in ordered:
            merged.update(groups[layer].vars)
        for layer in ["all", *ordered]:
            merged.update(group_files.get(layer, {}))
        merged.update(raw.own_vars)
        merged.update(host_files.get(name, {}))
        shown = tuple(g for g in sorted(mine, key=order.__getitem__) if g not in BUILTIN_GROUPS)
        loaded = Host(name=name, groups=shown, vars=merged, source=raw.source)
        _check_vars(loaded)
        inventory.hosts[name] = loaded

    members: dict[str, list[str]] = {"all": list(found.hosts)}

    def members_of(name: str) -> list[str]:
        if name not in members:
            below = [*groups[name].hosts]
            for child in groups[name].children:
                below.extend(members_of(child))
            members[name] = list(dict.fromkeys(below))
        return members[name]

    inventory.groups = {name: members_of(name) for name in groups}
    return inventory


def _refuse_cycles(groups: dict[str, _Group], paths: list[str]) -> None:
    """A group that contains itself, through any chain of children (``all`` included): an input error
    naming where a group of the loop is declared."""
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for child in groups[name].children:
            if state.get(child) == 1:
                cycle = path[path.index(child) :]
                where = next((groups[g].source for g in cycle if g not in BUILTIN_GROUPS), paths[0])
                raise InputError(f"groups contain each other: {' -> '.join([*cycle, child])}", where=where)
            if child not in state:
                visit(child, [*path, child])
        state[name] = 2

    for name in groups:
        if name not in state:
            visit(name, [name])


def _check_host_name(name: Any, path: str, line: int | None) -> None:
    if not isinstance(name, str) or not HOST_NAME.match(name):
        raise InputError(f"invalid host name {name!r}", path=path, line=line, hint="letters, digits, '.', '_' and '-'")


def _check_group_name(name: Any, path: str, line: int | None) -> None:
    if not isinstance(name, str) or not GROUP_NAME.match(name):
        raise InputError(f"invalid group name {name!r}", path=path, line=line, hint="letters, digits, '_' and '-'")


def _check_vars(host: Host) -> None:
    """Each var the runner reads must fit its type in :data:`runner.hostvars.VARS`."""
    found = hostvars.problems(host.vars)
    if found:
        what, hint = found[0]
        for secret in sorted(host.secrets(), key=len, reverse=True):  # not even in a var it was misplaced in
            what = what.replace(secret, "***")
        raise InputError(what, where=f"{host.source} (host {host.name})", hint=hint)
