"""Database actions, without a database: the psql command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host

DB = {"db_host": "127.0.0.30", "db_name": "campaign", "db_user": "ro", "db_password": "pw 1", "grace": 120}
HOST = Host("prod1", (), DB, "-")
CTX = Context(HOST, run_id="3f2a9c0d11e4b5a6ff")


def test_sql_read_step_runs_read_only_with_the_password_in_the_environment() -> None:
    cmd = ACTIONS["sql"].build({"query": "SELECT 1"}, CTX)
    assert cmd.startswith("PGCONNECT_TIMEOUT=5 PGOPTIONS='-c default_transaction_read_only=on' PGPASSWORD='pw 1' psql")
    assert "-h 127.0.0.30 -p 5432 -U ro -d campaign -c 'SELECT 1'" in cmd
    change = ACTIONS["sql"].build({"query": "SELECT 1", "_read_only": False}, CTX)
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


def test_dedup_backup_table_is_named_from_the_run() -> None:
    cmd = ACTIONS["recipient_dedup"].build({}, CTX)
    assert "CREATE TABLE nmsrecipientdedup_3f2a9c0d11e4 (LIKE NmsRecipient)" in cmd
    assert ACTIONS["recipient_dedup"].build({}, CTX) == cmd
    assert "default_transaction_read_only" not in cmd
    with pytest.raises(ValueError, match="prefix"):
        ACTIONS["recipient_dedup"].build({"backup_prefix": "x; DROP"}, CTX)


def test_dedup_judges() -> None:
    judge = ACTIONS["recipient_dedup"].judge
    done = judge({}, CTX, "3\t3\t4,5,6\tnmsrecipientdedup_3f2a9c0d11e4\n", "", 0)
    assert done.passed and done.data["backup_table"] == "nmsrecipientdedup_3f2a9c0d11e4"
    assert "INSERT INTO NmsRecipient SELECT * FROM nmsrecipientdedup_3f2a9c0d11e4" in done.data["restore"]
    assert judge({}, CTX, "3\t2\t4,5\tt\n", "", 0).failed
    assert judge({}, CTX, "garbage", "", 0).undetermined
    assert judge({}, CTX, "", "ERROR", 1).undetermined
