"""Load the YAML of playbooks and inventories safely, keeping where each value came from.

Owns: the one YAML loader of the package — safe (no object construction), strict (duplicate keys,
anchors/aliases and oversized files are errors) and positional (every mapping remembers the line of
each key, so validation errors say ``file:line``). Must not: know what a playbook or inventory means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from runner.errors import InputError

MAX_BYTES = 1024 * 1024  # a playbook or inventory larger than 1 MiB is a mistake, not a fleet


class Mapping(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


# libyaml's parser when PyYAML has it (about 6x faster on playbooks); construction stays in Python.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader that refuses aliases and duplicate keys and records line numbers.

    An alias is the same composed node met twice; refusing it at construction also defuses
    "billion laughs" documents before anything is expanded.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(None, None, "anchors and aliases are not allowed", node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_sequence(self, node: Node, deep: bool = False) -> Any:
        for child in node.value:
            if child in self.constructed_objects or child in self.recursive_objects:
                # point at the sequence holding the alias, not at the anchor it repeats
                raise yaml.constructor.ConstructorError(
                    None, None, "anchors and aliases are not allowed", node.start_mark
                )
        return super().construct_sequence(node, deep=deep)

    def construct_yaml_map(self, node: MappingNode) -> Any:
        data = Mapping()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        for key_node, value_node in node.value:
            if value_node in self.constructed_objects:
                raise yaml.constructor.ConstructorError(
                    None, None, "anchors and aliases are not allowed", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be strings, got {key!r}", key_node.start_mark
                )
            if key in data:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_lines[key] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def load_text(text: str, path: str) -> Any:
    """Parse ``text`` (from ``path``) into plain data whose mappings are :class:`Mapping`."""
    if len(text.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise InputError(f"file is larger than {MAX_BYTES} bytes", path=path)
    try:
        loader = _Loader(text)  # a SafeLoader (or CSafeLoader) subclass: never constructs objects
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=path) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", path=path) from None


def load_file(path: Path) -> Any:
    """Read and parse one YAML file; every failure is an :class:`InputError` naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"file is larger than {MAX_BYTES} bytes", path=str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from None
    return load_text(text, str(path))


def line_of(data: Any, key: str | None = None) -> int | None:
    """The line of ``data`` (or of its ``key``) when it is a positional mapping."""
    if isinstance(data, Mapping):
        return data.line_of(key) if key is not None else data.line
    return None
