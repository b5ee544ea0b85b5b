"""xtk.queryDef on the lab's database: a queryDef document translated to one SQL statement with bound values.

Owns: the schema map (Campaign schema and attribute names -> the lab's tables and columns, links as
joins), which of them Adobe's pages name (every other attribute is refused, as a build that lacks it
would refuse it; the few inferred ones remediate's report-only checks read are listed apart), the
expression language of select/where/groupBy/having/orderBy nodes (attributes, numbers, 'strings',
= <> != < > <= >= IN (...) IS [NOT] NULL LIKE, AND/OR/NOT, and only functions of Adobe's "List of
functions" (platform/using/defining-filter-conditions.md): Lower/Upper/Ltrim/Rtrim/Length/Count/Min/Max,
GetDate(), SubDays/SubHours/SubMinutes/SubSeconds(date, n) — ``Trim`` is not in that list and is
refused) and the text Campaign's E4X gives a value. Every literal becomes a bound parameter ($1, $2 ...):
no value is ever written into the SQL text.
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


class QueryDefError(Exception):
    """A queryDef Campaign would refuse (message as Campaign prints it, with its code)."""


@dataclass(frozen=True)
class Link:
    table: str
    fk: str  # column of the source table
    pk: str  # column of the linked table
    attrs: dict[str, str]


@dataclass(frozen=True)
class Schema:
    table: str
    attrs: dict[str, str]
    links: dict[str, Link] = field(default_factory=dict)


# Attributes Adobe's pages name, per schema (an SQL column of a documented table, named by the rule of
# configuration/using/database-mapping.md - type prefix + attribute name - counts). @id is the autopk key
# of every schema (database-mapping.md <keyfield xpath="@id"/>; xtk:workflow @id in
# technotes/using/apple-mail-app-privacy-protection.md, nms:delivery @id in a-b-testing-uc-script.md).
_FOLDER = {"id": "iFolderId", "name": "sName"}  # XtkFolder sName (data-model-description.md)
_RECIPIENT = {  # integrations/using/acs-connector-principles-and-data-cycle.md; data-model-description.md
    "id": "iRecipientId",
    "email": "sEmail",
    "firstName": "sFirstName",
    "lastName": "sLastName",
    "created": "tsCreated",
    "lastModified": "tsLastModified",
}
_DELIVERY = {  # a-b-testing-uc-script.md (@id, @label); data-model-description.md (sInternalName);
    # database-cleanup-workflow.md (iState, tsLastModified); reporting/using/indicator-calculation.md
    "id": "iDeliveryId",
    "internalName": "sInternalName",
    "label": "sLabel",
    "state": "iState",
    "toDeliver": "iToDeliver",
    "sent": "iSent",
    "lastModified": "tsLastModified",
}
_SERVICE = {"id": "iServiceId", "name": "sName"}  # data-model-description.md (NmsService sName)
_TO_DELIVERY = Link("NmsDelivery", "iDeliveryId", "iDeliveryId", _DELIVERY)
_TO_RECIPIENT = Link("NmsRecipient", "iRecipientId", "iRecipientId", _RECIPIENT)
SCHEMAS = {
    # workflow/using/supervising-workflows.md: @internalName @label @state @failed, [folder/@name]
    "xtk:workflow": Schema(
        "XtkWorkflow",
        {
            "id": "iWorkflowId",
            "internalName": "sInternalName",
            "label": "sLabel",
            "state": "iState",
            "failed": "iFailed",
        },
    ),
    # production/using/tables-to-maintain.md names the table XtkWorkflowJob, no page its attributes: the
    # ones remediate's inferred wfserver check reads are in INFERRED below
    "xtk:workflowJob": Schema(
        "XtkWorkflowJob",
        {"id": "iWorkflowJobId"},
        {
            "workflow": Link(
                "XtkWorkflow",
                "iWorkflowId",
                "iWorkflowId",
                {"id": "iWorkflowId", "internalName": "sInternalName", "label": "sLabel"},
            )
        },
    ),
    "nms:recipient": Schema(
        "NmsRecipient", _RECIPIENT, {"folder": Link("XtkFolder", "iFolderId", "iFolderId", _FOLDER)}
    ),
    "xtk:folder": Schema("XtkFolder", _FOLDER),
    "nms:delivery": Schema("NmsDelivery", _DELIVERY),
    # database-cleanup-workflow.md: iBroadLogId, iDeliveryId, iStatus (6 Pending, 7 cancelled), tsLastModified
    "nms:broadLogRcp": Schema(
        "NmsBroadLogRcp",
        {"id": "iBroadLogId", "status": "iStatus", "lastModified": "tsLastModified"},
        {"delivery": _TO_DELIVERY, "recipient": _TO_RECIPIENT},
    ),
    # workflow/using/querying-delivery-information.md (@logDate); web-tracking-mode.md (@sourceId)
    "nms:trackingLogRcp": Schema(
        "NmsTrackingLogRcp",
        {"id": "iTrackingLogId", "logDate": "tsLog", "sourceId": "sSourceId"},
        {"delivery": _TO_DELIVERY, "recipient": _TO_RECIPIENT},
    ),
    "nms:service": Schema("NmsService", _SERVICE),
    "nms:subscription": Schema(
        "NmsSubscription",
        {},
        {"recipient": _TO_RECIPIENT, "service": Link("NmsService", "iServiceId", "iServiceId", _SERVICE)},
    ),
}
# Attributes no page names that the lab still answers, each because a remediate check that is inferred
# (report-only, labelled so in its playbook) reads it; lab/README.md lists them as the lab's. A real build
# may lack them: that check then cannot decide, and it never acts.
INFERRED: dict[tuple[str, str], str] = {
    ("xtk:workflowJob", "command"): "sCommand",
    ("xtk:workflowJob", "status"): "iStatus",
    ("xtk:workflowJob", "created"): "tsCreated",
}

_TOKEN = re.compile(
    r"\s*(?:(?P<path>@[A-Za-z]\w*|\[(?:[A-Za-z]\w*/)*@[A-Za-z]\w*\])|(?P<num>-?\d+(?:\.\d+)?)"
    r"|'(?P<str>[^']*)'|(?P<op><=|>=|<>|!=|=|<|>)|(?P<punct>[(),])|(?P<word>[A-Za-z]\w*))"
)
# Adobe's "List of functions" (platform/using/defining-filter-conditions.md): these, and no Trim
_FUNCS_1 = {
    "Lower": "lower",
    "Upper": "upper",
    "Ltrim": "ltrim",
    "Rtrim": "rtrim",
    "Length": "length",
    "Count": "count",
    "Min": "min",
    "Max": "max",
}
_SUB = {"SubDays": "1 day", "SubHours": "1 hour", "SubMinutes": "1 minute", "SubSeconds": "1 second"}
_TS = "ts"  # kind of a timestamp value (printed as Campaign prints dates)


class Query:
    """One queryDef on one schema: builds its SQL and collects its bound values."""

    def __init__(self, schema_name: str) -> None:
        schema = SCHEMAS.get(schema_name)
        if schema is None:  # the documented message of XTK-170024 (rn/using/release-2021.md)
            raise QueryDefError(f"XTK-170024 The '{schema_name}' schema is not defined in the current context")
        self.name, self.schema = schema_name, schema
        self.params: list[str | None] = []
        self.joins: dict[str, str] = {}

    def bind(self, value: str, cast: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{cast}"

    def path(self, text: str) -> tuple[str, str]:
        """(SQL, kind) of `@attr` or `[link/@attr]`."""
        steps = text.strip("[]").split("/")
        attr, links = steps[-1][1:], steps[:-1]
        if not links:
            column = self.schema.attrs.get(attr) or INFERRED.get((self.name, attr))
            if column is None:
                raise QueryDefError(f"XSV-350023 Unable to find node '@{attr}' in schema '{self.name}'.")
            return f"t0.{column}", _TS if column.startswith("ts") else ""
        link = self.schema.links.get(links[0]) if len(links) == 1 else None
        if link is None or attr not in link.attrs:
            raise QueryDefError(f"XSV-350023 Unable to find node '{text}' in schema '{self.name}'.")
        if link.attrs[attr] == link.pk:
            return f"t0.{link.fk}", ""  # the link's own key is the foreign key column
        alias = f"l_{links[0]}"
        self.joins[alias] = f"LEFT JOIN {link.table} {alias} ON {alias}.{link.pk} = t0.{link.fk}"
        column = link.attrs[attr]
        return f"{alias}.{column}", _TS if column.startswith("ts") else ""

    def expr(self, text: str) -> tuple[str, str]:
        """(SQL, kind) of a whole expression: the tokens must all be used."""
        parser = _Parser(self, text)
        result = parser.or_expr()
        if parser.peek() is not None:
            raise QueryDefError(f"XTK-170013 Unable to parse expression '{text}': unexpected '{parser.peek()}'.")
        return result


class _Parser:
    def __init__(self, query: Query, text: str) -> None:
        self.query, self.text = query, text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise QueryDefError(f"XTK-170013 Unable to parse expression '{text}'.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise QueryDefError(f"XTK-170013 Unable to parse expression '{self.text}': it ends too early.")
        token = self.tokens[self.at]
        if expected is not None and token[1].upper() != expected.upper():
            raise QueryDefError(f"XTK-170013 Unable to parse expression '{self.text}': '{expected}' expected.")
        self.at += 1
        return token

    def word(self, *words: str) -> bool:
        value = self.peek()
        return value is not None and self.tokens[self.at][0] == "word" and value.upper() in words

    def or_expr(self) -> tuple[str, str]:
        sql, kind = self.and_expr()
        while self.word("OR"):
            self.take()
            sql, kind = f"({sql} OR {self.and_expr()[0]})", ""
        return sql, kind

    def and_expr(self) -> tuple[str, str]:
        sql, kind = self.not_expr()
        while self.word("AND"):
            self.take()
            sql, kind = f"({sql} AND {self.not_expr()[0]})", ""
        return sql, kind

    def not_expr(self) -> tuple[str, str]:
        if self.word("NOT"):
            self.take()
            return f"(NOT {self.not_expr()[0]})", ""
        return self.comparison()

    def comparison(self) -> tuple[str, str]:
        left, kind = self.value()
        if self.peek() is not None and self.tokens[self.at][0] == "op":
            op = self.take()[1]
            return f"({left} {'<>' if op == '!=' else op} {self.value()[0]})", ""
        negate = ""
        if self.word("IS"):
            self.take()
            if self.word("NOT"):
                self.take()
                negate = "NOT "
            self.take("NULL")
            return f"({left} IS {negate}NULL)", ""
        if self.word("NOT"):
            self.take()
            negate = "NOT "
        if self.word("IN"):
            self.take()
            self.take("(")
            items = [self.value()[0]]
            while self.peek() == ",":
                self.take()
                items.append(self.value()[0])
            self.take(")")
            return f"({left} {negate}IN ({', '.join(items)}))", ""
        if self.word("LIKE"):
            self.take()
            return f"({left} {negate}LIKE {self.value()[0]})", ""
        if negate:
            raise QueryDefError(f"XTK-170013 Unable to parse expression '{self.text}': NOT where IN or LIKE expected.")
        return left, kind

    def value(self) -> tuple[str, str]:
        kind, text = self.take()
        if kind == "path":
            return self.query.path(text)
        if kind == "num":
            return self.query.bind(text, "numeric"), ""
        if kind == "str":
            return self.query.bind(text, "text"), ""
        if text == "(":
            inner = self.or_expr()
            self.take(")")
            return f"({inner[0]})", inner[1]
        if kind == "word" and self.peek() == "(" and text not in _FUNCS_1 and text != "GetDate" and text not in _SUB:
            raise QueryDefError(
                f"XTK-170013 Unable to parse expression '{self.text}': unknown function '{text}' "
                "(not in Adobe's list of functions)."
            )
        if kind == "word" and text in _FUNCS_1:
            self.take("(")
            arg, arg_kind = self.or_expr()
            self.take(")")
            sql = f"{_FUNCS_1[text]}({arg})"
            return sql, arg_kind if text in ("Min", "Max") else ""
        if kind == "word" and text == "GetDate":
            self.take("(")
            self.take(")")
            return "now()", _TS
        if kind == "word" and text in _SUB:
            self.take("(")
            date = self.or_expr()[0]
            self.take(",")
            amount = self.or_expr()[0]
            self.take(")")
            return f"({date} - ({amount})::float8 * interval '{_SUB[text]}')", _TS
        raise QueryDefError(f"XTK-170013 Unable to parse expression '{self.text}': '{text}' not expected.")


def _nodes(root: ET.Element, section: str, tag: str) -> list[ET.Element]:
    found = root.find(section)
    return [] if found is None else [el for el in found if el.tag == tag]


def translate(xml: str) -> tuple[str, list[str | None], list[str], str]:
    """(SQL, bound values, select aliases, result element name) of a queryDef document."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise QueryDefError(f"XTK-170011 The queryDef is not a valid XML document ({e}).") from e
    if root.tag != "queryDef" or root.get("operation", "select") != "select":
        raise QueryDefError("XTK-170012 Only queryDef operation 'select' is supported by this server.")
    schema_name = root.get("schema", "")
    query = Query(schema_name)
    selects, aliases = [], []
    for n, node in enumerate(_nodes(root, "select", "node")):
        sql, kind = query.expr(node.get("expr", ""))
        if kind == _TS:
            sql = f"""to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS"Z"')"""
        alias = node.get("alias", f"@c{n}").lstrip("@")
        selects.append(f"{sql} AS {'c' + str(n)}")
        aliases.append(alias)
    if not selects:
        raise QueryDefError(f"XTK-170012 The queryDef on '{schema_name}' selects nothing.")
    where = [query.expr(c.get("expr", ""))[0] for c in _nodes(root, "where", "condition")]
    group = [query.expr(n.get("expr", ""))[0] for n in _nodes(root, "groupBy", "node")]
    having = [query.expr(c.get("expr", ""))[0] for c in _nodes(root, "having", "condition")]
    order = [
        query.expr(n.get("expr", ""))[0] + (" DESC" if n.get("sortDesc") == "true" else "")
        for n in _nodes(root, "orderBy", "node")
    ]
    sql = f"SELECT {', '.join(selects)} FROM {query.schema.table} t0"
    sql += "".join(f" {j}" for j in query.joins.values())
    sql += f" WHERE {' AND '.join(where)}" if where else ""
    sql += f" GROUP BY {', '.join(group)}" if group else ""
    sql += f" HAVING {' AND '.join(having)}" if having else ""
    sql += f" ORDER BY {', '.join(order)}" if order else ""
    count = root.get("lineCount", "")
    if count:
        if not count.isdigit():
            raise QueryDefError(f"XTK-170012 lineCount '{count}' is not a number.")
        sql += f" LIMIT {query.bind(count, 'int')}"
    return sql, query.params, aliases, schema_name.split(":", 1)[1]
