"""The one type system of values a user writes: an action's ``args:`` and an inventory's host vars. Pure.

Owns: :data:`KINDS` (each kind's name, its words for messages and the README, and its check) and
:func:`problem` (why a value does not fit a kind and its constraints: choices, a pattern, a minimum, a
``{var}`` template allowed). :class:`runner.actions.ArgSpec` and :class:`runner.hostvars.HostVar` both
name a kind of this table and ask it, so a port, a list of names or a template is checked and
described the same way wherever it is written.
Must not: import from the rest of the package but :mod:`runner.templates` (the one ``{var}`` parser).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.templates import FIELD, template_fields

ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.:-]{0,252})$")
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
INTERNAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # a workflow's or folder's internal name


def _whole(value: Any, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _line(value: Any) -> bool:
    return isinstance(value, str) and "\n" not in value and "\x00" not in value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


@dataclass(frozen=True)
class Kind:
    """One kind of value: what it is in words, and whether a value is one (before any constraint)."""

    name: str
    words: str
    fits: Callable[[Any], bool]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        # text
        Kind("str", "a string", lambda v: isinstance(v, str)),
        Kind("line", "a single-line string", _line),
        Kind("template", "a {var} template", lambda v: isinstance(v, str)),
        Kind("check", "a check id", lambda v: isinstance(v, str)),
        Kind("enum", "one of", lambda v: isinstance(v, str)),
        Kind("secret", "a single-line string or number", lambda v: _line(str(v)) and isinstance(v, str | int)),
        Kind("address", "a host name or IP address", lambda v: isinstance(v, str) and bool(ADDRESS.match(v))),
        Kind("instance", "a Campaign instance name", lambda v: isinstance(v, str) and bool(INSTANCE_NAME.match(v))),
        # numbers
        Kind("bool", "true or false", lambda v: isinstance(v, bool)),
        Kind("int", "a whole number", lambda v: _whole(v, -(10**18), 10**18)),
        Kind("float", "a number", _number),
        Kind("port", "a port number (1-65535)", lambda v: _whole(v, 1, 65535)),
        Kind("seconds", "a whole number of seconds", lambda v: _whole(v, 0, 10**9 - 1)),
        Kind("minutes", "a whole number of minutes", lambda v: _whole(v, 0, 10**9 - 1)),
        Kind("count", "a whole number from 1 to 64", lambda v: _whole(v, 1, 64)),
        Kind("rows", "a whole number of rows from 1 to 10000", lambda v: _whole(v, 1, 10000)),
        Kind("ratio", "a number between 0 and 1", lambda v: _number(v) and 0 <= v <= 1),
        # lists
        Kind("list[str]", "a list of strings", _strings),
        Kind(
            "names",
            "a list of Campaign internal names (letters, digits, _)",
            lambda v: _strings(v) and all(INTERNAL_NAME.match(x) for x in v),
        ),
    )
}


def words(kind: str, *, choices: tuple[str, ...] = (), template: bool = False) -> str:
    """The kind in words, with its choices and whether a ``{var}`` template may stand for it."""
    if kind == "enum":
        return "one of " + "|".join(choices)
    if kind == "list[str]" and choices:
        return "a list of " + "|".join(choices)
    text = KINDS[kind].words
    return text + " or a {var} template" if template and kind in ("int", "float") else text


def template_problem(text: str) -> str | None:
    """Why ``text`` is not a valid ``{var}`` template, or None."""
    try:
        template_fields(text)
    except ValueError as exc:
        return str(exc)
    return None


def shown(value: Any, *, secret: bool = False) -> str:
    """A value as a message shows it: never a secret."""
    return "a secret value (not shown)" if secret else f"{type(value).__name__} {value!r}"[:80]


def problem(
    kind: str,
    value: Any,
    *,
    choices: tuple[str, ...] = (),
    pattern: str | None = None,
    minimum: float | None = None,
    template: bool = False,
    secret: bool = False,
) -> str | None:
    """Why ``value`` does not fit ``kind`` and its constraints (a phrase: "must be ..."), or None.

    ``template``: a number may be written as a ``{var}`` template, a list's items are templates, a
    ``str`` may hold ``{var}`` fields (else such a field would be sent as written: refused).
    """
    spec = KINDS[kind]
    if kind in ("int", "float") and template and isinstance(value, str):
        return template_problem(value) or (
            None if template_fields(value) else f"must be {words(kind, template=True)}, got {value!r}"
        )
    if not spec.fits(value):
        said = words(kind) if kind == "list[str]" else words(kind, choices=choices, template=template)
        return f"must be {said}, got {shown(value, secret=secret)}"
    if kind == "enum" and value not in choices:
        return f"must be one of {', '.join(choices)}, got {value!r}"
    if kind in ("str", "line") and choices and value not in choices:
        return f"must be one of {', '.join(choices)}, got {shown(value, secret=secret)}"
    if kind == "str" and pattern is not None and not re.fullmatch(pattern, value):
        return f"{value!r} does not match {pattern}"
    if kind == "str" and not template and FIELD.search(value):
        return f"is not a template: {value!r} would be sent as written"
    if kind == "template":
        return template_problem(value)
    if kind in ("int", "float") and minimum is not None and float(value) < minimum:
        return f"must be at least {minimum:g}, got {value!r}"
    if kind == "list[str]":
        for item in value:
            if choices and item not in choices:
                return f"may hold {', '.join(choices)}, got {item!r}"
            if template and (trouble := template_problem(item)):
                return trouble
    return None
