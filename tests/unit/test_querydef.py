"""The query action: queryDef text, safe literals, rows read back, and one nlserver javascript per batch."""

from __future__ import annotations

import shlex

import pytest

from runner import plan
from runner.actions import ACTIONS, Context, Skip
from runner.actions import querydef as q
from runner.inventory import Host
from runner.playbook import Step

ARGS = {
    "schema": "xtk:workflow",
    "select": ["@internalName", "@state", "@failed"],
    "where": ["@internalName IN ({export_workflows})", "@failed = 1 OR @state = 13"],
    "expect": "empty",
    "describe": "export workflows in error or paused",
}


def _ctx(**extra: object) -> Context:
    return Context(
        Host("p", ("all",), {"instance": "prod", "export_workflows": ["exportDaily", "exportWeekly"], **extra}, "t:1")
    )


def test_fragment_is_adobe_shaped_and_fills_vars_as_literals() -> None:
    key, js = q.fragment(ARGS, _ctx())
    assert js.startswith(f'try {{ var {key} = xtk.queryDef.create(<queryDef schema="xtk:workflow" operation="select"')
    assert "<condition expr=\"@internalName IN ('exportDaily', 'exportWeekly')\"/>" in js
    assert f"for each (var r in {key}.workflow)" in js
    assert q.fragment(ARGS, _ctx())[0] == key  # the same query always has the same key


@pytest.mark.parametrize("value", ["x'; drop", "a b\tc", "{nested}", ["ok", "not ok'"]])
def test_a_var_that_is_not_a_plain_word_is_never_put_into_a_query(value: object) -> None:
    with pytest.raises(Skip):
        q.fragment(ARGS, _ctx(export_workflows=value))


@pytest.mark.parametrize("cond", ["@a = 1; x", '@a = "x"', "@a = 1 } <x/>", "sqlExec('x')"])
def test_conditions_outside_the_grammar_are_refused(cond: str) -> None:
    with pytest.raises(ValueError):
        q.condition(cond, _ctx())


def test_rows_are_read_back_by_key_and_judged() -> None:
    key = q.fragment(ARGS, _ctx())[0]
    out = (
        f"12:00:00 >   @@qd {key} begin\n12:00:00 >   @@qd {key} row\texportDaily\t13\t1\n"
        f"12:00:00 >   @@qd other begin\n12:00:00 >   @@qd {key} end\n"
    )
    verdict = ACTIONS["query"].judge(ARGS, _ctx(), out, "", 0)
    assert verdict.failed and verdict.data["rows"] == [["exportDaily", "13", "1"]]
    empty = f"@@qd {key} begin\n@@qd {key} end\n"
    assert ACTIONS["query"].judge(ARGS, _ctx(), empty, "", 0).passed


@pytest.mark.parametrize(
    "out",
    [
        "12:00:00 >   JST-310000 Error while compiling script",
        "@@qd {key} begin\n",
        "@@qd {key} error XSV-350023 unknown",
    ],
)
def test_a_query_that_did_not_run_to_its_end_is_undetermined(out: str) -> None:
    key = q.fragment(ARGS, _ctx())[0]
    verdict = ACTIONS["query"].judge(ARGS, _ctx(), out.format(key=key), "", 1)
    assert verdict.undetermined and not verdict.failed


def _step(sid: str, args: dict[str, object]) -> Step:
    from runner.actions import Effect

    return Step(sid, sid, "check", Effect.READ, "query", dict(args), None, None, 30.0, None, None, 1)


def test_every_query_of_a_batch_shares_one_nlserver_javascript_call() -> None:
    ctx = _ctx(campaign_user="neolane")
    ctx.ssh_user = "neolane"
    other = {"schema": "nms:delivery", "select": ["@id", "@state"], "where": ["@state = 51"]}
    reads = plan.read_batch([("m", _step("a", ARGS)), ("m", _step("b", other))], ctx)
    assert reads.batch is not None and list(reads.snapshots) == [q.JAVASCRIPT]
    taken = reads.snapshots[q.JAVASCRIPT]
    assert reads.batch.script.count("nlserver javascript") == 1 and taken.count("nlserver javascript") == 1
    script = shlex.split(taken.split("printf '%s\\n' ", 1)[1])[0]
    assert q.fragment(ARGS, ctx)[1] in script and q.fragment(other, ctx)[1] in script
    # each step replays that one reading, and reads its own rows back by its key
    commands = [p.command for _m, p in reads.todo]
    assert commands[0] == commands[1] == plan.replay(q.JAVASCRIPT)
    assert reads.reads == {"m/a": (q.JAVASCRIPT,), "m/b": (q.JAVASCRIPT,)}
    # alone (show, a step outside a batch) a query is its own nlserver javascript call
    alone = plan.build(_step("a", ARGS), ctx).command
    assert alone is not None and alone.count("nlserver javascript") == 1
    assert shlex.split(alone.split("printf '%s\\n' ", 1)[1])[0] == q.fragment(ARGS, ctx)[1]


def test_line_count_comes_from_a_host_var_when_the_limit_names_one() -> None:
    args = {"schema": "nms:recipient", "select": ["@id"], "limit": "{import_limit}"}
    assert 'lineCount="200"' in q.fragment(args, _ctx())[1]  # the var's default
    assert 'lineCount="5"' in q.fragment(args, _ctx(import_limit=5))[1]
    assert 'lineCount="7"' in q.fragment({**args, "limit": 7}, _ctx())[1]
    with pytest.raises(ValueError, match="limit must be a whole number"):
        q.fragment(args, _ctx(import_limit="0"))
