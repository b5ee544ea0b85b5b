"""Database actions, without a database: the psql command each builds, and its verdict on sample output."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runner.actions import ACTIONS, Context, Effect, Skip
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

DB = {"db_host": "127.0.0.30", "db_name": "campaign", "db_user": "ro", "db_password": "pw 1", "grace": 120}
HOST = Host("prod1", (), DB, "-")
CTX = Context(HOST, run_id="3f2a9c0d11e4b5a6ff")


def test_sql_read_step_runs_read_only_with_the_password_in_the_environment() -> None:
    cmd = ACTIONS["sql"].build({"query": "SELECT 1"}, CTX)
    assert cmd.startswith("PGCONNECT_TIMEOUT=5 PGOPTIONS='-c default_transaction_read_only=on' PGPASSWORD='pw 1' psql")
    assert "-h 127.0.0.30 -p 5432 -U ro -d campaign -c 'SELECT 1'" in cmd
    change = ACTIONS["sql"].build({"query": "SELECT 1"}, replace(CTX, effect=Effect.CHANGE))
    assert "default_transaction_read_only" not in change


def test_sql_templates_take_whole_numbers_only() -> None:
    cmd = ACTIONS["sql"].build({"query": "SELECT {grace}", "template": True}, CTX)
    assert cmd.endswith("-c 'SELECT 120'")
    words = Context(Host("h", (), {**DB, "grace": "1; DROP TABLE x"}, "-"))
    with pytest.raises(Skip, match="whole number"):
        ACTIONS["sql"].build({"query": "SELECT {grace}", "template": True}, words)
    with pytest.raises(Skip, match="no database access"):
        ACTIONS["sql"].build({"query": "SELECT 1"}, Context(Host("h", (), {}, "-")))


def test_sql_judges() -> None:
    judge = ACTIONS["sql"].judge
    assert judge({"query": "q", "expect": "empty"}, CTX, "", "", 0).passed
    rows = judge({"query": "q", "expect": "empty", "describe": "stuck"}, CTX, "wf1\t20\n", "", 0)
    assert rows.failed and rows.message.startswith("1 stuck: wf1 20") and rows.data["rows"] == [["wf1", "20"]]
    assert judge({"query": "q", "expect": "zero"}, CTX, "3\n", "", 0).failed
    assert judge({"query": "q", "expect": "nonempty"}, CTX, "a\n", "", 0).passed
    assert judge({"query": "q"}, CTX, "", "ERROR: relation does not exist", 1).undetermined


DEDUP_ARGS = {"folders_from": "folders"}
FOLDERS = Verdict(Reading.PASSED, "", {"rows": [["2", "prospects"]]})


def _dedup_ctx() -> Context:
    host = Host("prod1", (), {**CTX.host.vars, "instance": "prod", "dedup_folders": ["prospects"]}, "-")
    return Context(host, {}, {"folders": FOLDERS}, run_id=CTX.run_id)


def test_dedup_backup_table_is_named_from_the_run() -> None:
    cmd = ACTIONS["recipient_dedup"].build(DEDUP_ARGS, _dedup_ctx())
    assert "CREATE TABLE nmsrecipientdedup_3f2a9c0d11e4 AS SELECT r.* FROM NmsRecipient r" in cmd
    assert ACTIONS["recipient_dedup"].build(DEDUP_ARGS, _dedup_ctx()) == cmd
    assert "psql" not in cmd and "nlserver javascript -instance:prod" in cmd
    with pytest.raises(ValueError, match="prefix"):
        ACTIONS["recipient_dedup"].build({**DEDUP_ARGS, "backup_prefix": "x; DROP"}, _dedup_ctx())


def test_dedup_judges() -> None:
    judge = ACTIONS["recipient_dedup"].judge
    ctx = _dedup_ctx()
    out = "@@dedup rows 3\n@@dedup ref nms:broadLogRcp 0\n@@dedup backed_up 3\n@@dedup left 0\n"
    done = judge(DEDUP_ARGS, ctx, out, "", 0)
    assert done.passed and done.data["backup_table"] == "nmsrecipientdedup_3f2a9c0d11e4"
    assert "INSERT INTO NmsRecipient SELECT b.* FROM nmsrecipientdedup_3f2a9c0d11e4 b" in done.data["restore"]
    refused = judge(DEDUP_ARGS, ctx, "@@dedup rows 3\n@@dedup ref nms:subscription 2\n@@dedup refused\n", "", 2)
    assert refused.failed and "2 subscriptions (nms:subscription)" in refused.message
    assert judge(DEDUP_ARGS, ctx, "garbage", "", 0).undetermined
    assert judge(DEDUP_ARGS, ctx, "", "JST-310000 Error", 1).undetermined
