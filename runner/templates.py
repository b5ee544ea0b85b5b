"""``{var}`` templates: the one parser of the fields playbooks fill from host vars and options. Pure.

Owns: :func:`parse_template` (literal pieces and field names; anything but ``{var_name}`` refused),
:func:`fill`, :func:`template_fields` and :data:`FIELD` (the text of one ``{var}`` field). Imports nothing
from the rest of the package.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FIELD = re.compile(r"\{" + VAR_NAME.pattern + r"\}")  # one {var} field: a search, and a JSON Schema pattern


def parse_template(template: str) -> list[tuple[str, str | None]]:
    """The one template parser: a ``{var}`` template as (literal text, var name or None) pieces.

    ``{{`` and ``}}`` are literal braces; a field that is anything but a plain var name (a format spec,
    a conversion, an attribute) is refused with ValueError, as is an unbalanced brace.
    """
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conv in string.Formatter().parse(template):
        if name is not None and (spec or conv or not VAR_NAME.fullmatch(name)):
            raise ValueError(f"unsupported template field {{{name}}}: only {{var_name}} is allowed")
        pieces.append((literal, name))
    return pieces


def fill(template: str, value: Callable[[str], str]) -> str:
    """``template`` with each ``{var}`` replaced by ``value(var)`` (which quotes it as its use needs)."""
    return "".join(literal + (value(name) if name is not None else "") for literal, name in parse_template(template))


def template_fields(template: str) -> list[str]:
    """The ``{var}`` names of a template; anything but a plain var name is refused (ValueError)."""
    return [name for _literal, name in parse_template(template) if name is not None]
