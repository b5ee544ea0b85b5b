"""Ansible's host patterns, for ``--limit``: which hosts of an inventory a pattern names.

Owns: splitting a pattern into its elements (``a:b`` or ``a,b`` union, ``&`` intersection, ``!`` exclusion,
``@FILE`` one element a line, as Ansible's retry files), and matching each element the way
``ansible-playbook --limit`` does (ansible/inventory/manager.py): a name that is a host is that host;
otherwise a glob (``web*``, ``db-[ab]?``) or a regex (``~web\\d+``) matched against the group names
(every host of a matching group, its children's included) and, when no group matched or the element
is a glob or regex, against the host names; a ``[i]``, ``[i:j]`` or ``[i:]`` subscript takes hosts by
position. Elements apply in Ansible's order: the plain ones, then the ``&``, then the ``!`` (a pattern
of only ``&``/``!`` elements starts from ``all``).

Stricter than Ansible on purpose: an element that matches no host and no group (a typo, or a host
meant to be excluded that is not there), an operator Ansible does not have, an unbalanced bracket or
a bad regex is an input error naming the element, not a warning. Must not: know where hosts come from
(it is given the host names and the groups' members) or print.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import InputError, did_you_mean

# a pattern element followed by a [i], [i:j] or [i:] subscript (ansible's PATTERN_WITH_SUBSCRIPT)
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
# what may start an element's body (after its & or !): a name, a glob, a regex (~) or a retry file (@)
_FIRST = re.compile(r"[A-Za-z0-9_*?\[~@]")
# what a name or glob may hold outside its [...] (hosts: letters, digits, '.', '_', '-'; globs: * ?)
_NAME_CHAR = re.compile(r"[A-Za-z0-9._\-*?]")
_BRACKETS = re.compile(r"\[[^\]]*\]")
OPERATORS = "union a:b (or a,b), intersection a:&b, exclusion a:!b, wildcard web*, regex ~web\\d+, subscript web[0:2]"


def split(pattern: str, where: str = "--limit") -> list[str]:
    """The elements of ``pattern``, in order, each with its ``&`` or ``!``.

    As Ansible: with a comma, the commas separate; without one, colons do (never inside ``[...]``).
    Unlike Ansible, a comma-separated part is split at its colons too (a host name cannot hold one),
    except a regex, which may.
    """
    parts = pattern.split(",") if "," in pattern else [pattern]
    elements: list[str] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        body = part.lstrip("&!")
        if body.startswith("@") or (body.startswith("~") and "," in pattern):
            elements.append(part)
            continue
        elements.extend(_split_colons(part, pattern, where))
    if not elements:
        raise InputError("an empty host pattern", where=where, hint=OPERATORS)
    return elements


def _split_colons(part: str, pattern: str, where: str) -> list[str]:
    out: list[str] = []
    depth = 0
    current = ""
    for char in part:
        if char == "[":
            depth += 1
            if depth > 1:
                raise InputError(f"'[' inside '[...]' in {pattern!r}", where=where, hint=OPERATORS)
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise InputError(f"']' without its '[' in {pattern!r}", where=where, hint=OPERATORS)
        if depth == 0 and (char == ":" or char.isspace()):
            if current:
                out.append(current)
            current = ""
            continue
        current += char
    if depth:
        raise InputError(f"'[' without its ']' in {pattern!r}", where=where, hint=OPERATORS)
    if current:
        out.append(current)
    return out


def _check(element: str, where: str) -> None:
    """Refuse what Ansible would silently take as a name that matches nothing."""
    body = element[1:] if element[0] in "&!" else element
    if not body:
        raise InputError(f"nothing after {element!r}", where=where, hint=OPERATORS)
    if not _FIRST.match(body[0]):
        raise InputError(f"unknown pattern operator {body[0]!r} in {element!r}", where=where, hint=OPERATORS)
    if body[0] == "~":
        try:
            re.compile(body[1:])
        except re.error as exc:
            raise InputError(f"invalid regular expression {body[1:]!r}: {exc}", where=where) from None
        return
    if body[0] == "@":
        return
    bad = next((c for c in _BRACKETS.sub("", body) if not _NAME_CHAR.match(c)), None)
    if bad is not None:
        hint = "'&' and '!' start an element: a:&b, a:!b" if bad in "&!" else OPERATORS
        raise InputError(f"unknown pattern operator {bad!r} in {element!r}", where=where, hint=hint)


def _from_files(elements: list[str], where: str) -> list[str]:
    """``@FILE`` elements replaced by the file's lines (Ansible's ``--limit @retry_file``)."""
    out: list[str] = []
    for element in elements:
        if not element.startswith("@"):
            out.append(element)
            continue
        path = Path(element[1:]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputError(f"cannot read the limit file: {exc.strerror}", where=f"{where} {element}") from None
        out.extend(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))
    return out


def _compile(body: str) -> re.Pattern[str]:
    return re.compile(body[1:] if body.startswith("~") else fnmatch.translate(body))


def _subscript(body: str) -> tuple[str, tuple[int, int | None] | None]:
    if body.startswith("~"):
        return body, None
    found = _SUBSCRIPT.match(body)
    if not found:
        return body, None
    expr, index, start, _sep, end = found.groups()
    if index:
        return expr, (int(index), None)
    return expr, (int(start), int(end) if end else -1)


def _one(
    element: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]], where: str, original: str
) -> list[str]:
    """The hosts one element (without its & or !) names, in order."""
    expr, sub = _subscript(element)
    regex = _compile(expr)
    matched_groups = [name for name in groups if regex.match(name)]
    found: list[str] = []
    for name in matched_groups:
        found.extend(groups[name])
    glob = expr.startswith("~") or any(c in expr for c in ".?*[")
    if not matched_groups or glob:
        found.extend(name for name in hosts if regex.match(name))
    found = list(dict.fromkeys(found))
    if not found:
        listing = f"hosts: {', '.join(list(hosts)[:8]) or 'none'}; groups: {', '.join(list(groups)[:8])}"
        raise InputError(
            f"{expr!r} in {original!r} matches no host and no group",
            where=where,
            hint=did_you_mean(expr, [*hosts, *groups], listing),
        )
    if sub is None:
        return found
    start, end = sub
    if end is None:
        if not -len(found) <= start < len(found):
            raise InputError(f"{element!r}: no host at position {start} of {len(found)}", where=where)
        return [found[start]]
    last = len(found) - 1 if end == -1 else end
    taken = found[start : last + 1]
    if not taken:
        raise InputError(f"{element!r}: no host at positions {start}..{last} of {len(found)}", where=where)
    return taken


def hosts_matching(
    pattern: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]], where: str = "--limit"
) -> list[str]:
    """The host names ``pattern`` selects, in Ansible's order; an :class:`InputError` naming ``where``
    for a malformed pattern or an element that matches nothing.

    ``hosts`` is every host name in inventory order; ``groups`` maps each group name (``all`` and
    ``ungrouped`` included) to every host below it.
    """
    elements = split(pattern, where)
    for element in elements:
        _check(element, where)
    elements = _from_files(elements, where)
    for element in elements:
        _check(element, where)
    regular = [e for e in elements if e[0] not in "&!"] or ["all"]
    ordered = regular + [e for e in elements if e[0] == "&"] + [e for e in elements if e[0] == "!"]
    known = set(hosts)
    chosen: list[str] = []
    for element in ordered:
        if element in known:
            chosen.append(element)
            continue
        that = _one(element[1:] if element[0] in "&!" else element, hosts, groups, where, pattern)
        if element[0] == "!":
            drop = set(that)
            chosen = [h for h in chosen if h not in drop]
        elif element[0] == "&":
            keep = set(that)
            chosen = [h for h in chosen if h in keep]
        else:
            have = set(chosen)
            chosen.extend(h for h in that if h not in have)
    return list(dict.fromkeys(chosen))
