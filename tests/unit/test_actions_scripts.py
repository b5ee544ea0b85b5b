"""Script actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

CTX = Context(Host("prod1", (), {"instance": "prod", "nlserver": "nlserver", "nl6_root": "/a b"}, "-"))


def test_javascript_runs_a_temporary_file_for_the_instance() -> None:
    cmd = ACTIONS["javascript"].build({"script": 'xtk.workflow.Start("tracking");'}, CTX)
    assert 'nlserver javascript -instance:prod -file "$f"' in cmd and 'rm -f "$f"' in cmd
    assert ACTIONS["javascript"].judge({}, CTX, "", "", 0).passed
    assert ACTIONS["javascript"].judge({}, CTX, "", "JST-310000 error", 1).failed


def test_workflow_relaunch_takes_names_from_the_check() -> None:
    rows = Verdict(Reading.FAILED, "", {"rows": [["exportDaily", "20"], ["exportDaily", "20"], ["exportWeekly", "3"]]})
    ctx = Context(CTX.host, earlier={"stuck": rows})
    cmd = ACTIONS["workflow_relaunch"].build({"from": "stuck", "verb": "Restart"}, ctx)
    assert cmd.count("xtk.workflow.Restart") == 2 and "exportWeekly" in cmd
    forged = Context(CTX.host, earlier={"stuck": Verdict(Reading.FAILED, "", {"rows": [['x"); evil("']]})})
    with pytest.raises(Skip, match="refusing"):
        ACTIONS["workflow_relaunch"].build({"from": "stuck", "verb": "Start"}, forged)
    with pytest.raises(Skip, match="lists no workflow"):
        ACTIONS["workflow_relaunch"].build(
            {"from": "stuck", "verb": "Start"}, Context(CTX.host, earlier={"stuck": Verdict(Reading.PASSED, "")})
        )


def test_shell_quotes_every_var() -> None:
    assert ACTIONS["shell"].build({"command": "ls {nl6_root}"}, CTX) == "ls '/a b'"
    with pytest.raises(Skip, match="no 'db_host'"):
        ACTIONS["shell"].build({"command": "ping {db_host}"}, CTX)
