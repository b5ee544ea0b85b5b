"""Runs that must not write to the Campaign database leave it as it was, read through the lab's DB view.

A comparison of DB views is only evidence when both views were read: ``helpers.db_view`` fails with the
database error when ``lab.status`` could not read one (``db_error``), and this file proves that it does.
"""

from __future__ import annotations

import pytest

from lab import Lab
from lab.status import DBUnavailable
from tests.reliability.helpers import db_view, stable_db
from tests.support.cli import Runner


def test_an_unreadable_db_view_fails_the_comparison_with_its_error() -> None:
    unread = {"db": DBUnavailable("connection refused"), "db_error": "connection refused"}
    with pytest.raises(AssertionError, match="could not be read, nothing to compare: connection refused"):
        stable_db(unread, "lab1")
    with pytest.raises(AssertionError, match="no db_error key"):
        stable_db({"db": {}}, "lab1")
    assert stable_db({"db": {"recipients": 1}, "db_error": None}, "lab1") == {"recipients": 1, "workflows": {}}


@pytest.mark.parametrize(
    ("args", "code"),
    [(["check", "all"], 1), (["import", "--dry-run"], 1), (["wfserver", "--dry-run"], 0)],
    ids=["check all", "import dry-run", "wfserver dry-run"],
)
def test_checks_and_dry_runs_leave_the_database_as_it_was(
    lab: Lab, host: str, remediate: Runner, args: list[str], code: int
) -> None:
    lab.break_(host, "import_duplicates")
    before = db_view(lab, host)
    assert before["duplicate_email_groups"] > 0, before  # there is something a run could have deleted
    res = remediate(*args, "--host", host)
    assert res.returncode == code, res.stdout + res.stderr  # README: 1 when a host stays unhealthy
    assert "Traceback" not in res.stderr
    assert remediate.events()
    assert db_view(lab, host) == before
