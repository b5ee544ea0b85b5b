"""import playbook on the lab: duplicated recipients → backed up, removed in one transaction, none lost."""

from __future__ import annotations

import re

from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, run, step

PREFIX = "nmsrecipientdedup_"


def _count(lab, host, sql):
    return int(lab.psql(sql, db=f"campaign_{host}"))


def _backup_tables(lab, host):
    out = lab.psql(f"SELECT tablename FROM pg_tables WHERE tablename LIKE '{PREFIX}%'", db=f"campaign_{host}")
    return set(out.split())


def _backup_of(report):
    message = step(report, "deduplicate")["message"]
    match = re.search(r"copied into table (" + PREFIX + r"[a-z0-9_]+)", message)
    assert match, message
    return match.group(1)


def test_import_duplicates_are_removed_and_backed_up(lab, remediate, host):
    lab.break_(host, "import_duplicates")
    original = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    ids_before = set(lab.psql("SELECT iRecipientId FROM NmsRecipient", db=f"campaign_{host}").split())
    tables_before = _backup_tables(lab, host)
    assert lab.status(host)["db"]["duplicate_email_groups"] == 20
    code, report = run(remediate, "import", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["db"]["duplicate_email_groups"] == 0
    remaining = st["db"]["recipients"]
    backup = _backup_of(report)
    assert _backup_tables(lab, host) - tables_before == {backup}
    backed_up = _count(lab, host, f"SELECT count(*) FROM {backup}")
    assert backed_up == 20
    assert remaining + backed_up == original  # no row lost
    # the oldest id of each email is kept: every original (id <= 200) is still there
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iRecipientId <= 200") == 200
    ids_after = set(lab.psql("SELECT iRecipientId FROM NmsRecipient", db=f"campaign_{host}").split())
    backup_ids = set(lab.psql(f"SELECT iRecipientId FROM {backup}", db=f"campaign_{host}").split())
    assert ids_before - ids_after == backup_ids
    found = step(report, "no_duplicate_emails")
    assert found["outcome"] == "failed" and "20 duplicated emails" in found["message"]
    # sample ids: the kept original and its re-imported copy (ids from the sequence, past the 200 originals)
    sample = re.search(r"user1@example\.com 2 1 1,(\d+)", found["message"])
    assert sample and sample.group(1) in backup_ids and int(sample.group(1)) > 200, found["message"]
    assert step(report, "no_duplicates_in_folder")["outcome"] == "failed"
    dedup = step(report, "deduplicate")
    assert dedup["effect"] == "disrupt" and dedup["outcome"] == "ran"
    assert f"INSERT INTO NmsRecipient SELECT * FROM {backup}" in dedup["message"]
    assert "psql -h" in dedup["message"]


def test_import_restore_command_brings_rows_back(lab, remediate, host):
    lab.break_(host, "import_duplicates")
    original = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    code, report = run(remediate, "import", "--yes")
    assert code == 0, report
    restore_sql = step(report, "deduplicate")["message"].split(" -c ", 1)[1].strip().strip("'")
    lab.psql(restore_sql, db=f"campaign_{host}")
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == original


def test_import_refused_confirmation_deletes_nothing(lab, remediate, host):
    lab.break_(host, "import_duplicates")
    original = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    tables_before = _backup_tables(lab, host)
    res = remediate("import", "--host", host)  # no terminal, no --yes: cannot confirm
    assert res.returncode == 4, res.stdout + res.stderr
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == original
    assert _backup_tables(lab, host) == tables_before
    assert lab.status(host)["db"]["duplicate_email_groups"] == 20


def test_import_dry_run_deletes_nothing(lab, remediate, host):
    tables_before = _backup_tables(lab, host)
    after = check_dry_run(lab, remediate, "import", "import_duplicates", ["DELETE FROM NmsRecipient"])
    assert after["db"]["duplicate_email_groups"] == 20
    assert _backup_tables(lab, host) == tables_before


def test_import_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "import")
