"""`nlserver javascript -instance:<I> -file F`: the subset of server-side JavaScript the lab executes.

Owns: reading a script into statements, refusing it whole (JST-310000, exit 1) when any statement is
outside the subset, and running the statements in order on the instance's database. The subset, one
statement each (`;` optional, any number per line):
  - the query block of runner/actions/querydef.py: ``try { var K = xtk.queryDef.create(<queryDef ...>).
    ExecuteQuery(); logInfo("@@qd K begin"); for each (var r in K.<element>) logInfo("@@qd K row\\t" + r.@c0
    + "\\t" + r.@c1 ...); logInfo("@@qd K end"); } catch (e) { logInfo("@@qd K error " + e); }``
  - ``logInfo(<term> + <term> ...)``, a term being a "string", a 'string', a variable, sqlGetInt("..."),
    getOption("name") (technotes/using/inbound-sms-wf.md; an option that does not exist reads "") or
    formatDate(getOption("name") | new Date(), "%4Y/%2M/%2D %2H:%2N:%2S") (delivery/using/formatting.md;
    dates in UTC, an empty value formats as "")
  - ``xtk.workflow.Start|Restart|Stop("name"|id)`` (queued for wfserver; Stop ends in @state 20)
  - ``sqlExec("...")`` and ``var name = sqlGetInt("...")`` (plain SQL, for import de-duplication)
Must not: import anything outside the standard library; run any statement of a script it refuses.
"""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .common import console, log
from .db import PG, DBError
from .querydef import QueryDefError, translate

_STR = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')"
_KEY = r"[A-Za-z_]\w*"
QUERY_BLOCK = re.compile(
    rf"try\s*\{{\s*var\s+(?P<key>{_KEY})\s*=\s*xtk\.queryDef\.create\(\s*(?P<xml><queryDef\b.*?</queryDef>)\s*\)"
    rf"\s*\.ExecuteQuery\(\)\s*;\s*logInfo\(\"@@qd (?P=key) begin\"\)\s*;\s*"
    rf"for\s+each\s*\(\s*var\s+(?P<var>{_KEY})\s+in\s+(?P=key)\.(?P<element>{_KEY})\s*\)\s*"
    rf"logInfo\(\"@@qd (?P=key) row\\t\"(?P<values>(?:\s*\+\s*(?:(?P=var)\.@{_KEY}|\"\\t\"))*)\s*\)\s*;\s*"
    rf"logInfo\(\"@@qd (?P=key) end\"\)\s*;\s*\}}\s*catch\s*\(\s*(?P<e>{_KEY})\s*\)\s*\{{\s*"
    rf"logInfo\(\"@@qd (?P=key) error \"\s*\+\s*(?P=e)\s*\)\s*;?\s*\}}",
    re.DOTALL,
)
_GET_OPTION = rf"getOption\(\s*{_STR}\s*\)"
_FORMAT_DATE = rf"formatDate\(\s*(?:{_GET_OPTION}|new\s+Date\(\s*\))\s*,\s*{_STR}\s*\)"
_TERM = rf"(?:{_STR}|sqlGetInt\(\s*{_STR}\s*\)|{_FORMAT_DATE}|{_GET_OPTION}|{_KEY})"
_DATE_CODES = {"%4Y": "%Y", "%2M": "%m", "%2D": "%d", "%2H": "%H", "%2N": "%M", "%2S": "%S"}
LOG_INFO = re.compile(rf"logInfo\(\s*(?P<terms>{_TERM}(?:\s*\+\s*{_TERM})*)\s*\)")
WORKFLOW = re.compile(rf"xtk\.workflow\.(?P<verb>Start|Restart|Stop)\(\s*(?:(?P<name>{_STR})|(?P<id>\d+))\s*\)")
SQL_EXEC = re.compile(rf"sqlExec\(\s*(?P<sql>{_STR})\s*\)")
SQL_GET_INT = re.compile(rf"var\s+(?P<var>{_KEY})\s*=\s*sqlGetInt\(\s*(?P<sql>{_STR})\s*\)")
_SPACE = re.compile(r"(?:\s|;|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def unquote(literal: str) -> str:
    """The value of a JavaScript string literal."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), literal[1:-1])


class ScriptError(Exception):
    """An uncaught error while the script runs (message as Campaign prints it)."""


@dataclass
class Statement:
    line: int
    run: Callable[[Script], None]


class Script:
    """A parsed script, its variables and its one database connection (opened when first needed)."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.vars: dict[str, str] = {}
        self.statements = self._parse(source)
        self._db: PG | None = None

    @property
    def db(self) -> PG:
        if self._db is None:
            self._db = PG()
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def _parse(self, source: str) -> list[Statement]:
        out: list[Statement] = []
        position = _SPACE.match(source, 0)
        at = position.end() if position else 0
        while at < len(source):
            line = source.count("\n", 0, at) + 1
            for pattern, build in _STATEMENTS:
                match = pattern.match(source, at)
                if match:
                    out.append(Statement(line, build(match)))
                    at = match.end()
                    break
            else:
                shown = source[at : at + 40].split("\n")[0]
                raise ScriptError(
                    f"JST-310000 Error while compiling script '{self.path}' line {line}: "
                    f"statement not supported by this server: '{shown}'"
                )
            space = _SPACE.match(source, at)
            at = space.end() if space else at
        return out

    def value(self, term: str) -> str:
        if term[0] in "\"'":
            return unquote(term)
        if term.startswith("sqlGetInt"):
            return str(self.get_int(unquote(term[term.index("(") + 1 : term.rindex(")")].strip())))
        if term.startswith("getOption"):
            return self.option(unquote(term[term.index("(") + 1 : term.rindex(")")].strip()))[0]
        if term.startswith("formatDate"):
            inner, fmt = term[term.index("(") + 1 : term.rindex(",")], unquote(term[term.rindex(",") + 1 : -1].strip())
            if inner.strip().startswith("new"):
                when: datetime.datetime | None = datetime.datetime.now(datetime.UTC)
            else:
                when = self.option(unquote(inner[inner.index("(") + 1 : inner.rindex(")")].strip()))[1]
            return format_date(when, fmt)
        if term not in self.vars:
            raise ScriptError(f"JST-310000 '{term}' is not defined")
        return self.vars[term]

    def option(self, name: str) -> tuple[str, datetime.datetime | None]:
        """getOption(name): its text ("" when the option does not exist) and its date, if it is a date option."""
        rows = self.db.query(
            "SELECT coalesce(sStringValue, iLongValue::text, to_char(tsTimeStampValue AT TIME ZONE 'UTC', "
            "'YYYY/MM/DD HH24:MI:SS'), ''), to_char(tsTimeStampValue AT TIME ZONE 'UTC', 'YYYY/MM/DD HH24:MI:SS') "
            "FROM XtkOption WHERE sName=$1::text",
            [name],
        )
        if not rows:
            return "", None
        text, stamp = rows[0][0] or "", rows[0][1]
        when = datetime.datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S") if stamp else None
        return text, when

    def get_int(self, sql: str) -> int:
        rows = self.db.query(sql)
        value = rows[0][0] if rows and rows[0] else None
        try:
            return int(float(value)) if value is not None else 0
        except ValueError:
            return 0


def format_date(when: datetime.datetime | None, fmt: str) -> str:
    """formatDate with Adobe's codes (%4Y %2M %2D %2H %2N %2S, formatting.md); no date: ""."""
    if when is None:
        return ""
    return re.sub(r"%[0-9][A-Za-z]", lambda m: when.strftime(_DATE_CODES.get(m.group(0), m.group(0))), fmt)


def _query(match: re.Match[str]) -> Callable[[Script], None]:
    key, element = match["key"], match["element"]
    selected = re.findall(rf"{re.escape(match['var'])}\.@({_KEY})", match["values"])

    def run(script: Script) -> None:
        try:
            sql, params, aliases, result = translate(match["xml"])
            missing = [a for a in selected if a not in aliases]
            if missing:
                raise QueryDefError(f"XSV-350023 '@{missing[0]}' is not selected by the queryDef.")
            rows = script.db.query(sql, params)
        except (QueryDefError, DBError) as e:
            console(f"@@qd {key} error {e}")
            return
        console(f"@@qd {key} begin")
        for row in rows if element == result else []:  # E4X: another element name is an empty list
            values = ["" if row[aliases.index(a)] is None else str(row[aliases.index(a)]) for a in selected]
            console(f"@@qd {key} row\t" + "\t".join(values))
        console(f"@@qd {key} end")

    return run


def _log_info(match: re.Match[str]) -> Callable[[Script], None]:
    terms = re.findall(_TERM, match["terms"])

    def run(script: Script) -> None:
        console("".join(script.value(t) for t in terms))

    return run


def _workflow(match: re.Match[str]) -> Callable[[Script], None]:
    verb = match["verb"]
    name = unquote(match["name"]) if match["name"] else None
    wid = match["id"]

    def run(script: Script) -> None:
        where, param = ("sInternalName=$1::text", name) if name is not None else ("iWorkflowId=$1::int", wid)
        rows = script.db.query(f"SELECT iWorkflowId, sInternalName FROM XtkWorkflow WHERE {where}", [param])
        if not rows:
            raise ScriptError(f"XTK-170006 Unable to find workflow '{name or wid}'.")
        script.db.query(
            "INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) VALUES ($1::int, $2::text)", [rows[0][0], verb.lower()]
        )
        log("info", f"xtk.workflow.{verb}('{rows[0][1]}'): request queued for the workflow server")

    return run


def _sql_exec(match: re.Match[str]) -> Callable[[Script], None]:
    sql = unquote(match["sql"])

    def run(script: Script) -> None:
        script.db.query(sql)

    return run


def _sql_get_int(match: re.Match[str]) -> Callable[[Script], None]:
    var, sql = match["var"], unquote(match["sql"])

    def run(script: Script) -> None:
        script.vars[var] = str(script.get_int(sql))

    return run


_STATEMENTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Callable[[Script], None]]]] = [
    (QUERY_BLOCK, _query),
    (LOG_INFO, _log_info),
    (WORKFLOW, _workflow),
    (SQL_EXEC, _sql_exec),
    (SQL_GET_INT, _sql_get_int),
]


def run_file(path: str) -> int:
    """Compile the whole script, then run it; 0, or 1 after a Campaign-like error line on stderr."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            source = f.read()
    except OSError as e:
        console(f"JST-310000 Unable to read file '{path}': {e.strerror}", sys.stderr)
        return 1
    try:
        script = Script(path, source)
    except ScriptError as e:
        console(str(e), sys.stderr)
        return 1
    statement = None
    try:
        for statement in script.statements:
            statement.run(script)
    except (ScriptError, DBError, OSError) as e:
        where = f" line {statement.line}" if statement else ""
        console(f"JST-310000 Error while executing script '{path}'{where}: {e}", sys.stderr)
        return 1
    finally:
        script.close()
    return 0
