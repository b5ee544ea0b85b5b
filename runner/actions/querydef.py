"""The instance's database through Campaign itself: ``xtk.queryDef`` in ``nlserver javascript -instance:<I>``.

Campaign servers on Linux run PostgreSQL or Oracle, usually without ``psql``, and keep the database
credentials encrypted in ``config-<I>.xml``. The portable read is the one Adobe documents
(configuration/using/soap-methods-in-javascript.md, workflow/using/supervising-workflows.md): a queryDef
on schema names (``xtk:workflow``, ``@internalName``, ``@state``) run by ``nlserver javascript`` on the
instance's own connection, rows printed with ``logInfo``. No SQL dialect, no credentials in the inventory.

Owns: the ``query`` action — its argument spec, the JavaScript fragment one query becomes, the
``nlserver javascript`` command around one or several fragments (the planner puts every query of one
batch into one call: a JavaScript engine start costs seconds on a real server), and reading a query's
rows back out of the console output. Pure: no I/O; a fragment's key derives from its own text.

Output protocol, one ``logInfo`` line each (the console may prefix ``HH:MM:SS >   ``)::

    @@qd <key> begin
    @@qd <key> row<TAB>value<TAB>value...
    @@qd <key> end             (or: @@qd <key> error <message>)
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from runner.actions.base import ArgSpec, Context, Effect, Skip, action, render, snapshot, xml_attr
from runner.outcomes import Reading, Verdict
from runner.templates import fill

SCHEMA = r"[a-z]{2,8}:[A-Za-z][A-Za-z0-9]{0,40}"
_NAME = r"[A-Za-z][A-Za-z0-9]*"
_PATH = rf"(?:@{_NAME}|\[(?:{_NAME}/)*@{_NAME}\])"
# A select/groupBy/orderBy expression: an attribute or linked attribute, optionally inside the few
# aggregate and string functions the playbooks use (Lower(Ltrim(Rtrim(@email))), Count(@id), Min(@id),
# Length(...)). Only names of Adobe's "List of functions" (platform/using/defining-filter-conditions.md):
# it has Ltrim and Rtrim, and no Trim, so a build may refuse Trim.
FUNCTIONS = ("Lower", "Upper", "Ltrim", "Rtrim", "Length", "Count", "Min", "Max")
EXPR = rf"(?:(?:{'|'.join(FUNCTIONS)})\()*{_PATH}\)*"
_EXPR = re.compile(EXPR)
# A condition once its {var} fields are filled: attributes, numbers, 'quoted words', operators, functions.
_COND_TOKEN = re.compile(
    rf"\s*(?:{EXPR}|'[A-Za-z0-9_.@:\- ]*'|-?\d+(?:\.\d+)?|<=|>=|<>|!=|=|<|>|\(|\)|,|"
    rf"\b(?:AND|OR|NOT|IN|IS|NULL|LIKE|GetDate|{'|'.join(FUNCTIONS)}|"
    r"SubDays|SubHours|SubMinutes|SubSeconds)\b)"
)
_LITERAL_WORD = re.compile(r"[A-Za-z0-9_.@:\-]{1,128}")
QUERY_EXPECT = ("ok", "empty", "nonempty")
MARK = "@@qd"


def _literal(name: str, value: Any) -> str:
    """A host var as a queryDef literal: a number, a 'word', or a list of them (for IN (...))."""
    if isinstance(value, bool):
        raise Skip(f"var {name!r} is true/false, not a value a query can compare")
    if isinstance(value, int | float):
        return str(value)
    items = value if isinstance(value, list | tuple) else [value]
    if not items:
        raise Skip(f"var {name!r} is an empty list: nothing to query")
    out = []
    for item in items:
        text = str(item)
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(text)
        elif _LITERAL_WORD.fullmatch(text):
            out.append(f"'{text}'")
        else:
            raise Skip(f"var {name!r} holds {text!r}, which cannot be put into a query safely")
    return ", ".join(out)


def condition(text: str, ctx: Context) -> str:
    """Fill a condition's ``{var}`` fields as queryDef literals, then accept only the known tokens."""

    filled = fill(text, lambda name: _literal(name, ctx.var(name)))
    position = 0
    while position < len(filled.rstrip()):
        token = _COND_TOKEN.match(filled, position)
        if token is None or token.end() == position:
            raise ValueError(f"condition {filled!r}: cannot use {filled[position : position + 20]!r}")
        position = token.end()
    return filled


def _element(schema: str) -> str:
    """The result element of a select on ``schema``: its name part (``xtk:workflow`` -> ``workflow``)."""
    return schema.split(":", 1)[1]


def _line_count(args: Mapping[str, Any], ctx: Context) -> int:
    """The query's ``lineCount``: ``limit``, a number or a {var} template of one (e.g. "{import_limit}")."""
    text = render(str(args.get("limit", 200)), ctx, quote=False)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"limit must be a whole number of at least 1, got {text!r}")
    return int(text)


def fragment(args: Mapping[str, Any], ctx: Context) -> tuple[str, str]:
    """(key, JavaScript) of one query; the key is a hash of the query itself."""
    schema = str(args["schema"])
    select = [str(e) for e in args["select"]]
    conditions = [condition(str(c), ctx) for c in args.get("where") or []]
    parts = [f'<queryDef schema={xml_attr(schema)} operation="select" lineCount="{_line_count(args, ctx)}">']
    parts.append("<select>" + "".join(f'<node expr={xml_attr(e)} alias="@c{i}"/>' for i, e in enumerate(select)))
    parts.append("</select>")
    if conditions:
        parts.append("<where>" + "".join(f"<condition expr={xml_attr(c)}/>" for c in conditions) + "</where>")
    for tag, key in (("groupBy", "group_by"), ("orderBy", "order_by")):
        nodes = [str(e) for e in args.get(key) or []]
        if nodes:
            parts.append(f"<{tag}>" + "".join(f"<node expr={xml_attr(e)}/>" for e in nodes) + f"</{tag}>")
    having = [condition(str(c), ctx) for c in args.get("having") or []]
    if having:
        parts.append("<having>" + "".join(f"<condition expr={xml_attr(c)}/>" for c in having) + "</having>")
    parts.append("</queryDef>")
    xml = "".join(parts)
    if "{" in xml or "}" in xml:  # E4X would evaluate them
        raise ValueError("a query may not contain { or } once its vars are filled")
    key = "q" + hashlib.sha256(xml.encode("utf-8")).hexdigest()[:10]
    values = ' + "\\t" + '.join(f"r.@c{i}" for i in range(len(select)))
    js = (
        f"try {{ var {key} = xtk.queryDef.create({xml}).ExecuteQuery(); "
        f'logInfo("{MARK} {key} begin"); '
        f'for each (var r in {key}.{_element(schema)}) logInfo("{MARK} {key} row\\t" + {values}); '
        f'logInfo("{MARK} {key} end"); }} '
        f'catch (e) {{ logInfo("{MARK} {key} error " + e); }}'
    )
    return key, js


def script_command(script: str, ctx: Context) -> str:
    """``nlserver javascript -instance:<I> -file <tmp>`` running ``script``; the file is removed after."""
    instance = ctx.var("instance")
    return (
        f"f=$(mktemp) && printf '%s\\n' {shlex.quote(script)} > \"$f\" && "
        f'{ctx.nlserver} javascript -instance:{shlex.quote(str(instance))} -file "$f"; '
        'rc=$?; rm -f "$f"; exit $rc'
    )


def combined_command(scripts: Sequence[str], ctx: Context) -> str:
    """One ``nlserver javascript`` call running several query fragments, one after the other."""
    return script_command("\n".join(scripts), ctx)


# The one ``nlserver javascript`` call of a batch: every step reading it (each query, the tracking options)
# contributes its script (``part``), each once, in order; each reads its own lines back by its key. A
# JavaScript engine start costs seconds on a real server.
JAVASCRIPT = "javascript"
snapshot(JAVASCRIPT, lambda parts, ctx: combined_command(list(dict.fromkeys(parts)), ctx))


def _query_part(args: Mapping[str, Any], ctx: Context) -> str:
    return fragment(args, ctx)[1]


def _query_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return ctx.snapshot(JAVASCRIPT, _query_part(args, ctx))


_CONSOLE = re.compile(r"^\d{2}:\d{2}:\d{2} >\s*")


def rows_of(key: str, out: str) -> tuple[list[list[str]] | None, str | None]:
    """The rows a query printed, or (None, why) when it did not run to its end."""
    rows: list[list[str]] = []
    began = ended = False
    for raw in out.splitlines():
        line = _CONSOLE.sub("", raw, count=1)
        if not line.startswith(f"{MARK} {key} "):
            continue
        rest = line[len(MARK) + len(key) + 2 :]
        if rest == "begin":
            began = True
        elif rest.startswith("row\t") or rest == "row":
            rows.append(rest[4:].split("\t") if rest.startswith("row\t") else [""])
        elif rest == "end":
            ended = True
        elif rest.startswith("error"):
            return None, rest[5:].strip() or "the query failed"
    if not (began and ended):
        return None, "the query did not run to its end"
    return rows, None


def _judge_query(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    key = fragment(args, ctx)[0]
    rows, problem = rows_of(key, out)
    if rows is None:
        tail = (err.strip() or out.strip()).splitlines()[-2:]
        detail = f" (exit {rc}: {' / '.join(tail)[:200]})" if rc != 0 or tail else ""
        return Verdict(Reading.UNDETERMINED, f"query on {args['schema']} failed: {problem}{detail}")
    data: dict[str, Any] = {"rows": rows[:50], "row_count": len(rows)}
    expect = str(args.get("expect", "ok"))
    describe = str(args.get("describe", "rows"))
    sample = "; ".join(" ".join(r) for r in rows[:5])
    if expect == "empty" and rows:
        return Verdict(Reading.FAILED, f"{len(rows)} {describe}: {sample}"[:400], data)
    if expect == "empty":
        return Verdict(Reading.PASSED, f"no {describe}", data)
    if expect == "nonempty" and not rows:
        return Verdict(Reading.FAILED, f"no {describe}", data)
    return Verdict(Reading.PASSED, f"{len(rows)} {describe}: {sample}"[:400] if rows else f"no {describe}", data)


def _valid(args: Mapping[str, Any]) -> str | None:
    for key in ("select", "group_by", "order_by"):
        for expr in args.get(key) or []:
            if not _EXPR.fullmatch(str(expr)):
                return f"{key} expression {expr!r} is not an attribute (@name, [link/@name]) or a known function of one"
    return None


QUERY = action(
    "query",
    "read the instance's database with an xtk.queryDef through nlserver javascript (any supported DB, no "
    "credentials in the inventory; all queries of one batch share one nlserver javascript call)",
    Effect.READ,
    build=_query_cmd,
    judge=_judge_query,
    read_only=True,
    validate=_valid,
    reads=(JAVASCRIPT,),
    part=_query_part,
    args=[
        ArgSpec("schema", "str", "the schema, e.g. xtk:workflow", required=True, pattern=SCHEMA),
        ArgSpec("select", "list[str]", "the expressions to read, e.g. [@internalName, @state]", required=True),
        ArgSpec("where", "list[str]", 'conditions (AND), e.g. "@failed = 1"; {var} becomes a literal', template=True),
        ArgSpec("group_by", "list[str]", "expressions to group by"),
        ArgSpec("having", "list[str]", 'conditions on the groups, e.g. "Count(@id) > 1"', template=True),
        ArgSpec("order_by", "list[str]", "expressions to order by"),
        ArgSpec(
            "limit",
            "int",
            'at most this many rows (lineCount); e.g. "{import_limit}"',
            default=200,
            template=True,
            minimum=1,
        ),
        ArgSpec("expect", "enum", "what a good answer is", default="ok", choices=QUERY_EXPECT),
        ArgSpec("describe", "str", "what the rows are, in words, for messages", default="rows"),
    ],
    pages=("configuration/using/data-oriented-apis.md",),
)
