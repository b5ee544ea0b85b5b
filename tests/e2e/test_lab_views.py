"""The lab's views the playbook tests compare: read strictly, and counted as the playbooks count.

A test that compares two views of the host must fail when a view could not be read (two unknowns are
not "nothing changed"), and the lab's duplicate count must be the import playbook's own condition, or
a test comparing them proves nothing.
"""

from __future__ import annotations

import pytest

from lab.status import DBUnavailable
from tests.e2e.playbook_helpers import HOST, assert_unchanged, db_view, run, step


def _unreadable() -> dict[str, object]:
    error = "campaign_lab1: connection refused"
    return {"db": DBUnavailable(error), "db_error": error}


def test_a_database_view_the_lab_could_not_read_fails_the_comparison() -> None:
    with pytest.raises(AssertionError, match="could not read the database"):
        db_view(_unreadable())


def test_a_view_missing_a_fact_fails_instead_of_reading_none(lab, host) -> None:
    st = lab.status(HOST)
    db_view(st)  # the real view reads
    for fact in ("recipients", "workflows"):
        broken = {**st, "db": {k: v for k, v in st["db"].items() if k != fact}}
        with pytest.raises(KeyError):
            db_view(broken)
    with pytest.raises(AssertionError):
        assert_unchanged(st, {**st, **_unreadable()})


def test_the_lab_counts_duplicates_as_the_import_playbook_does(lab, remediate, host) -> None:
    """Recipients without an email ('' or blanks) are no duplicates, for the playbook's
    Length(Ltrim(Rtrim(@email))) > 0 and for the lab alike; 'A@x ' and 'a@x' are one email for both."""
    db = f"campaign_{HOST}"
    before = lab.status(HOST)["db"]["duplicate_email_groups"]
    lab.psql(
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId) SELECT nextval('NmsRecipient_seq'), e, 1 "
        "FROM (VALUES (''), (''), ('   '), ('  ')) AS v(e)",
        db=db,
    )
    try:
        assert lab.status(HOST)["db"]["duplicate_email_groups"] == before  # blanks are not an email
        code, report = run(remediate, "import")
        assert code == 0 and step(report, "no_duplicate_emails")["outcome"] == "passed", report
        lab.psql(
            "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId) SELECT nextval('NmsRecipient_seq'), e, 1 "
            "FROM (VALUES ('Same@Example.com  '), ('  same@example.com')) AS v(e)",
            db=db,
        )
        assert lab.status(HOST)["db"]["duplicate_email_groups"] == before + 1
        code, report = run(remediate, "import")
        assert code == 1 and step(report, "no_duplicate_emails")["outcome"] == "failed", report
    finally:
        lab.psql("DELETE FROM NmsRecipient WHERE iRecipientId > 200", db=db)
