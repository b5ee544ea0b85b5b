"""File and log actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context
from runner.inventory import Host

CTX = Context(Host("prod1", (), {"instance": "prod", "nl6_root": "/opt/nl6"}, "-"))
EXPORT = {"dir": "{nl6_root}/var/{instance}/export", "max_age": 60, "pattern": "*.csv"}


def test_file_fresh() -> None:
    cmd = ACTIONS["file_fresh"].build(EXPORT, CTX)
    assert "find /opt/nl6/var/prod/export -maxdepth 1 -type f -name '*.csv'" in cmd
    judge = ACTIONS["file_fresh"].judge
    assert judge(EXPORT, CTX, "1000\n990.5 12 /opt/nl6/var/prod/export/a.csv\n", "", 0).passed
    old = judge(EXPORT, CTX, "1000\n100.0 12 /opt/nl6/var/prod/export/a.csv\n", "", 0)
    assert old.failed and "limit 60s" in old.message
    assert judge(EXPORT, CTX, "1000\n", "", 0).failed  # no file at all
    assert judge(EXPORT, CTX, "not a clock\n", "", 0).undetermined


def test_log_search() -> None:
    args = {"file": "{nl6_root}/var/{instance}/log/inMail.log", "pattern": "POP3 session", "expect": "present"}
    cmd = ACTIONS["log_search"].build(args, CTX)
    assert cmd.startswith("[ -r /opt/nl6/var/prod/log/inMail.log ] || exit 2; tail -n 200 ")
    judge = ACTIONS["log_search"].judge
    assert judge(args, CTX, "POP3 session opened\n", "", 0).passed
    assert judge(args, CTX, "", "", 0).failed
    assert judge({**args, "expect": "absent"}, CTX, "", "", 0).passed
    assert judge({**args, "expect": "absent"}, CTX, "", "", 2).undetermined  # unreadable log


def test_backlog() -> None:
    args = {"dir": "{nl6_root}/var/{instance}/inmail/mailbox", "pattern": "*.eml", "max_count": 0, "max_age": 120}
    assert "-name '*.eml'" in ACTIONS["backlog"].build(args, CTX)
    judge = ACTIONS["backlog"].judge
    assert judge(args, CTX, "1000\n@@count 0\n", "", 0).passed
    assert judge(args, CTX, "1000\n@@count 2\n500.0 /x/a.eml\n", "", 0).failed
    assert judge(args, CTX, "", "", 2).undetermined
    with pytest.raises(ValueError, match="invalid file pattern"):
        ACTIONS["backlog"].build({**args, "pattern": "*; rm"}, CTX)
