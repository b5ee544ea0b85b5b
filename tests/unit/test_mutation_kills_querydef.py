"""The query action to the character: the whole queryDef and JavaScript of one query, the command around it,
the rows read back and every verdict message (mutants of runner/actions/querydef.py that the behavioural
tests in test_querydef.py let through: `make mutation`, docs/mutation.md)."""

from __future__ import annotations

import hashlib

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.actions import querydef as q
from runner.inventory import Host
from runner.outcomes import Reading

FULL = {
    "schema": "nms:recipient",
    "select": ["@email", "Count(@id)"],
    "where": ["@id IN ({ids})", "@age > {n}"],
    "group_by": ["@email"],
    "having": ["Count(@id) > 1"],
    "order_by": ["@email"],
    "limit": 5,
}
XML = (
    '<queryDef schema="nms:recipient" operation="select" lineCount="5"><select>'
    '<node expr="@email" alias="@c0"/><node expr="Count(@id)" alias="@c1"/></select>'
    '<where><condition expr="@id IN (3, \'ab\')"/><condition expr="@age &gt; 7"/></where>'
    '<groupBy><node expr="@email"/></groupBy><orderBy><node expr="@email"/></orderBy>'
    '<having><condition expr="Count(@id) &gt; 1"/></having></queryDef>'
)


def _ctx(**extra: object) -> Context:
    return Context(Host("p", ("all",), {"instance": "prod", "ids": [3, "ab"], "n": 7, **extra}, "t:1"))


def test_the_whole_fragment_of_a_query_with_every_clause() -> None:
    key, js = q.fragment(FULL, _ctx())
    assert key == "q" + hashlib.sha256(XML.encode("utf-8")).hexdigest()[:10]
    assert js == (
        f"try {{ var {key} = xtk.queryDef.create({XML}).ExecuteQuery(); "
        f'logInfo("@@qd {key} begin"); '
        f'for each (var r in {key}.recipient) logInfo("@@qd {key} row\\t" + r.@c0 + "\\t" + r.@c1); '
        f'logInfo("@@qd {key} end"); }} '
        f'catch (e) {{ logInfo("@@qd {key} error " + e); }}'
    )


def test_a_bare_query_has_no_empty_clause_and_the_default_line_count() -> None:
    key, js = q.fragment({"schema": "xtk:workflow", "select": ["@internalName"]}, _ctx())
    xml = (
        '<queryDef schema="xtk:workflow" operation="select" lineCount="200"><select>'
        '<node expr="@internalName" alias="@c0"/></select></queryDef>'
    )
    assert key == "q" + hashlib.sha256(xml.encode("utf-8")).hexdigest()[:10]
    assert f"create({xml}).ExecuteQuery()" in js
    assert f"for each (var r in {key}.workflow) " in js


@pytest.mark.parametrize("brace", ["{", "}"])
def test_a_brace_left_in_a_query_is_refused(brace: str) -> None:
    with pytest.raises(ValueError, match=r"^a query may not contain \{ or \} once its vars are filled$"):
        q.fragment({"schema": "xtk:workflow", "select": ["@a"], "group_by": ["@b" + brace]}, _ctx())


def test_literals_of_numbers_words_and_lists() -> None:
    assert q._literal("n", 7) == "7"
    assert q._literal("n", 2.5) == "2.5"
    assert q._literal("w", "exportDaily") == "'exportDaily'"
    assert q._literal("l", [3, "a-b.c", "x:y@z"]) == "3, 'a-b.c', 'x:y@z'"
    assert q._literal("l", ("one",)) == "'one'"
    assert q._literal("w", "w" * 128) == "'" + "w" * 128 + "'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "var 'v' is true/false, not a value a query can compare"),
        ([], "var 'v' is an empty list: nothing to query"),
        (["ok", "a b"], "var 'v' holds 'a b', which cannot be put into a query safely"),
        ("w" * 129, "var 'v' holds '" + "w" * 129 + "', which cannot be put into a query safely"),
        ("", "var 'v' holds '', which cannot be put into a query safely"),
    ],
)
def test_a_literal_that_cannot_be_used_skips_with_its_reason(value: object, message: str) -> None:
    with pytest.raises(Skip) as caught:
        q._literal("v", value)
    assert str(caught.value) == message


def test_a_condition_is_filled_and_checked_token_by_token() -> None:
    assert q.condition("@age > {n}  ", _ctx()) == "@age > 7  "
    with pytest.raises(Skip) as skipped:
        q.condition("@failed = {flag}", _ctx(flag=True))
    assert str(skipped.value) == "var 'flag' is true/false, not a value a query can compare"
    assert q.condition("@a IS NULL AND Lower(@b) LIKE 'x'", _ctx()) == "@a IS NULL AND Lower(@b) LIKE 'x'"
    with pytest.raises(ValueError) as caught:
        q.condition("@a = 1 ; drop table xtkWorkflow", _ctx())
    assert str(caught.value) == "condition '@a = 1 ; drop table xtkWorkflow': cannot use ' ; drop table xtkWor'"


def test_the_command_writes_the_script_to_a_file_runs_it_and_removes_it() -> None:
    assert q.script_command("a'b", _ctx()) == (
        "f=$(mktemp) && printf '%s\\n' 'a'\"'\"'b' > \"$f\" && "
        'nlserver javascript -instance:prod -file "$f"; rc=$?; rm -f "$f"; exit $rc'
    )
    assert q.combined_command(["x", "y"], _ctx()) == q.script_command("x\ny", _ctx())


def test_rows_read_back_by_key() -> None:
    out = (
        "09:15:02 >   @@qd k1 begin\n"
        "@@qd k1 row\ta\tb\n"
        "@@qd k1 row\n"
        "@@qd k10 row\tother\n"
        " @@qd k1 row\tindented\n"
        "@@qd k1 end\n"
    )
    assert q.rows_of("k1", out) == ([["a", "b"], [""]], None)
    assert q.rows_of("k1", "@@qd k1 begin\n@@qd k1 error   boom  \n@@qd k1 end\n") == (None, "boom")
    assert q.rows_of("k1", "@@qd k1 begin\n@@qd k1 error\n") == (None, "the query failed")
    assert q.rows_of("k1", "@@qd k1 begin\n@@qd k1 row\tx\n") == (None, "the query did not run to its end")
    assert q.rows_of("k1", "@@qd k1 row\tx\n@@qd k1 end\n") == (None, "the query did not run to its end")
    assert q.rows_of("k1", "@@qd k1 begin\n@@qd k1 rowdy\n@@qd k1 end\n") == ([], None)


def _answer(key: str, rows: list[str]) -> str:
    return "".join(f"@@qd {key} {line}\n" for line in ["begin", *(f"row\t{r}" for r in rows), "end"])


def test_every_verdict_of_a_query_word_for_word() -> None:
    judge = ACTIONS["query"].judge
    args = {"schema": "xtk:workflow", "select": ["@internalName", "@state"], "describe": "workflows"}
    key = q.fragment(args, _ctx())[0]
    six = _answer(key, [f"w{i}\t{i}" for i in range(6)])
    none = _answer(key, [])

    v = judge({**args, "expect": "empty"}, _ctx(), six, "", 0)
    assert (v.reading, v.message) == (Reading.FAILED, "6 workflows: w0 0; w1 1; w2 2; w3 3; w4 4")
    assert v.data == {"rows": [[f"w{i}", str(i)] for i in range(6)], "row_count": 6}
    v = judge({**args, "expect": "empty"}, _ctx(), none, "", 0)
    assert (v.reading, v.message, v.data) == (Reading.PASSED, "no workflows", {"rows": [], "row_count": 0})
    v = judge({**args, "expect": "nonempty"}, _ctx(), none, "", 0)
    assert (v.reading, v.message) == (Reading.FAILED, "no workflows")
    v = judge({**args, "expect": "nonempty"}, _ctx(), six, "", 0)
    assert (v.reading, v.message) == (Reading.PASSED, "6 workflows: w0 0; w1 1; w2 2; w3 3; w4 4")
    v = judge(args, _ctx(), none, "", 0)
    assert (v.reading, v.message) == (Reading.PASSED, "no workflows")
    v = judge({"schema": "xtk:workflow", "select": ["@internalName", "@state"]}, _ctx(), six, "", 0)
    assert v.message == "6 rows: w0 0; w1 1; w2 2; w3 3; w4 4"


def test_a_long_answer_is_cut_and_at_most_fifty_rows_are_kept() -> None:
    judge = ACTIONS["query"].judge
    args = {"schema": "xtk:workflow", "select": ["@internalName"], "expect": "empty"}
    key = q.fragment(args, _ctx())[0]
    names = ["n" * 100 + str(i) for i in range(60)]
    v = judge(args, _ctx(), _answer(key, names), "", 0)
    assert v.message == ("60 rows: " + "; ".join(names[:5]))[:400]
    assert len(v.message) == 400
    assert v.data["rows"] == [[n] for n in names[:50]] and v.data["row_count"] == 60
    v = judge({**args, "expect": "ok"}, _ctx(), _answer(key, names), "", 0)
    assert v.message == ("60 rows: " + "; ".join(names[:5]))[:400]


def test_a_query_that_did_not_end_is_undetermined_with_the_last_lines_of_its_output() -> None:
    judge = ACTIONS["query"].judge
    args = {"schema": "xtk:workflow", "select": ["@internalName"]}
    v = judge(args, _ctx(), "", "line 1\nline 2\nERR-1: cannot connect\n", 1)
    assert v.reading is Reading.UNDETERMINED
    assert v.message == (
        "query on xtk:workflow failed: the query did not run to its end (exit 1: line 2 / ERR-1: cannot connect)"
    )
    v = judge(args, _ctx(), "out a\nout b\nout c\n", "  ", 0)
    assert v.message == "query on xtk:workflow failed: the query did not run to its end (exit 0: out b / out c)"
    v = judge(args, _ctx(), "", "", 3)
    assert v.message == "query on xtk:workflow failed: the query did not run to its end (exit 3: )"
    v = judge(args, _ctx(), "", "", 0)
    assert v.message == "query on xtk:workflow failed: the query did not run to its end"
    v = judge(args, _ctx(), "", "x" * 300, 2)
    assert v.message == "query on xtk:workflow failed: the query did not run to its end (exit 2: " + "x" * 200 + ")"


def test_an_expression_outside_the_grammar_is_named_with_its_clause() -> None:
    validate = ACTIONS["query"].validate
    assert validate is not None
    assert validate({"select": ["@a", "Count(@id)"], "group_by": ["[link/@b]"], "order_by": ["Lower(@c)"]}) is None
    for key in ("select", "group_by", "order_by"):
        assert validate({"select": ["@a"], key: ["@a", "sqlExec('x')"]}) == (
            f"{key} expression \"sqlExec('x')\" is not an attribute (@name, [link/@name]) or a known function of one"
        )


def test_several_group_and_having_clauses_and_a_var_in_having() -> None:
    args = {
        "schema": "nms:recipient",
        "select": ["@email", "@name", "Count(@id)"],
        "group_by": ["@email", "@name"],
        "having": ["Count(@id) > {n}", "Count(@id) < 100"],
    }
    js = q.fragment(args, _ctx())[1]
    assert '<groupBy><node expr="@email"/><node expr="@name"/></groupBy>' in js
    assert '<having><condition expr="Count(@id) &gt; 7"/><condition expr="Count(@id) &lt; 100"/></having>' in js


def test_row_values_keep_their_spaces_and_empty_fields() -> None:
    out = "@@qd k1 begin\n@@qd k1 row\texport Daily\t\t13\n@@qd k1 end\n"
    assert q.rows_of("k1", out) == ([["export Daily", "", "13"]], None)


def test_the_verdicts_without_rows_carry_the_empty_answer() -> None:
    judge = ACTIONS["query"].judge
    args = {"schema": "xtk:workflow", "select": ["@internalName"]}
    key = q.fragment(args, _ctx())[0]
    none = _answer(key, [])
    for expect, reading in (("nonempty", Reading.FAILED), ("ok", Reading.PASSED)):
        v = judge({**args, "expect": expect}, _ctx(), none, "", 0)
        assert (v.reading, v.message, v.data) == (reading, "no rows", {"rows": [], "row_count": 0})
    v = judge(args, _ctx(), _answer(key, ["a"]), "", 0)
    assert (v.reading, v.message, v.data) == (Reading.PASSED, "1 rows: a", {"rows": [["a"]], "row_count": 1})
