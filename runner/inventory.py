"""Hosts, groups and vars from an Ansible-style YAML inventory; host selection.

Owns: reading ``all:`` / ``children:`` / ``hosts:`` / ``vars:`` trees (one file or a directory of
them), merging vars (host over group over ``all``; a deeper group over its parents), validating the
vars the runner reads against the table in :mod:`runner.hostvars`, and selecting hosts by name or
group. Must not: open connections or read OpenSSH configs (that is :mod:`runner.transport`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import hostvars, yamlfile
from runner.errors import InputError, did_you_mean

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
SECRET_NAME = hostvars.SECRET_NAME
GROUP_KEYS = frozenset({"hosts", "vars", "children"})


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


@dataclass
class _RawHost:
    name: str
    source: str
    own_vars: dict[str, Any] = field(default_factory=dict)
    group_vars: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (depth, vars)
    groups: list[str] = field(default_factory=list)


@dataclass
class _Collect:
    hosts: dict[str, _RawHost] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=lambda: {"all": []})
    group_vars: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)


def default_path(cwd: Path | None = None) -> Path:
    """``$REMEDIATE_INVENTORY`` or ``inventory/`` in the current directory."""
    env = os.environ.get("REMEDIATE_INVENTORY")
    return Path(env) if env else (cwd or Path.cwd()) / "inventory"


def inventory_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
        if not files:
            raise InputError(
                "no *.yml inventory file in this directory",
                path=str(path),
                hint="put your inventory (YAML) there, or pass -i PATH, or set REMEDIATE_INVENTORY",
            )
        return files
    if not path.exists():
        raise InputError("inventory not found", path=str(path), hint="pass -i PATH or set REMEDIATE_INVENTORY")
    return [path]


def load(path: Path) -> Inventory:
    """Load an inventory file or directory; every defect is an :class:`InputError` with file:line."""
    found = _Collect()
    files = inventory_files(path)
    for file in files:
        data = yamlfile.load_file(file)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise InputError("an inventory must be a mapping of groups (all:, ...)", path=str(file), line=1)
        for group, body in data.items():
            _walk_group(file, data, group, body, [], found, depth=0 if group == "all" else 1)
    inventory = Inventory(paths=[str(f) for f in files])
    for name, raw in found.hosts.items():
        layers: list[tuple[int, dict[str, Any]]] = []
        for group in dict.fromkeys(["all", *raw.groups]):
            layers.extend(found.group_vars.get(group, []))
        merged: dict[str, Any] = {}
        for _depth, gvars in sorted(layers, key=lambda item: item[0]):
            merged.update(gvars)
        merged.update(raw.own_vars)
        ordered_groups = tuple(dict.fromkeys(g for g in raw.groups if g != "all"))
        host = Host(name=name, groups=ordered_groups, vars=merged, source=raw.source)
        _check_vars(host)
        inventory.hosts[name] = host
    found.members["all"] = list(found.hosts)
    inventory.groups = {g: list(dict.fromkeys(members)) for g, members in found.members.items()}
    return inventory


def _walk_group(
    file: Path, parent: Any, group: str, body: Any, ancestors: list[str], found: _Collect, depth: int
) -> None:
    where_line = yamlfile.line_of(parent, group)
    if not GROUP_NAME.match(str(group)):
        raise InputError(
            f"invalid group name {group!r}", path=str(file), line=where_line, hint="letters, digits, '_' and '-'"
        )
    if group in ancestors:
        raise InputError(f"group {group!r} contains itself", path=str(file), line=where_line)
    found.members.setdefault(group, [])
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
    chain = [*ancestors, group]
    gvars = _mapping_or_empty(file, body, "vars", f"vars of group {group!r}")
    hosts = _mapping_or_empty(file, body, "hosts", f"hosts of group {group!r}")
    for name, hvars in hosts.items():
        line = yamlfile.line_of(hosts, name)
        if not isinstance(name, str) or not HOST_NAME.match(name):
            raise InputError(
                f"invalid host name {name!r}", path=str(file), line=line, hint="letters, digits, '.', '_' and '-'"
            )
        if hvars is not None and not isinstance(hvars, dict):
            raise InputError(f"vars of host {name!r} must be a mapping", path=str(file), line=line)
        raw = found.hosts.setdefault(name, _RawHost(name=name, source=f"{file}:{line}"))
        raw.own_vars.update(dict(hvars or {}))
        raw.groups.extend(chain)
        for g in chain:
            found.members.setdefault(g, []).append(name)
    # A group's vars apply to every host below it; deeper groups override their parents.
    if gvars:
        found.group_vars.setdefault(group, []).append((depth, dict(gvars)))
    children = _mapping_or_empty(file, body, "children", f"children of group {group!r}")
    for child, child_body in children.items():
        _walk_group(file, children, child, child_body, chain, found, depth + 1)


def _mapping_or_empty(file: Path, body: Any, key: str, what: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a mapping", path=str(file), line=yamlfile.line_of(body, key))
    return value


def _check_vars(host: Host) -> None:
    """Each var the runner reads must fit its type in :data:`runner.hostvars.VARS`."""
    found = hostvars.problems(host.vars)
    if found:
        what, hint = found[0]
        for secret in sorted(host.secrets(), key=len, reverse=True):  # not even in a var it was misplaced in
            what = what.replace(secret, "***")
        raise InputError(what, where=f"{host.source} (host {host.name})", hint=hint)
