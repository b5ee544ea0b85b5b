"""import playbook on the lab: duplicates reported by default; deleted only with dedup=delete in dedup_folders.

The lab's ``import_duplicates`` fault re-imports 12 recipients into their own folder (nmsRootRecipient)
and 8 into the other folder (their originals were created an hour before, by the partial first run), and
points subscriptions, delivery logs, tracking logs, a subscription history row and a group membership at
some copies. The lab inventory names ``import_folders: [nmsRootRecipient, prospects]``; the checks read
only those folders and recipients created within ``import_window_days`` (7).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.e2e.playbook_helpers import check_healthy_run, pids, run, step

PREFIX = "nmsrecipientdedup_"
COPIES = "iRecipientId > 200"


def _db(host):
    return f"campaign_{host}"


def _count(lab, host, sql):
    return int(lab.psql(sql, db=_db(host)))


def _backups(lab, host):
    return set(lab.psql(f"SELECT tablename FROM pg_tables WHERE tablename LIKE '{PREFIX}%'", db=_db(host)).split())


def _inventory(remediate, tmp_path: Path, **extra) -> Path:
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update(extra)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _unreference_copies(lab, host):
    lab.psql(
        f"DELETE FROM NmsSubscription WHERE {COPIES}; DELETE FROM NmsBroadLogRcp WHERE {COPIES}; "
        f"DELETE FROM NmsTrackingLogRcp WHERE {COPIES}; DELETE FROM NmsSubHisto WHERE {COPIES}; "
        f"DELETE FROM NmsRcpGrpRel WHERE {COPIES}",
        db=_db(host),
    )


def test_import_default_run_reports_and_deletes_nothing(lab, remediate, host):
    lab.break_(host, "import_duplicates")
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    tables = _backups(lab, host)
    code, report = run(remediate, "import", "--yes")
    assert code == 1, report
    found = step(report, "no_duplicate_emails")
    assert found["outcome"] == "failed" and "20 duplicated emails" in found["message"]
    assert "no remediation step applies" in report["message"] and report["done"] == []
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows
    assert _backups(lab, host) == tables


def test_import_delete_without_dedup_folders_is_refused(lab, remediate, host):
    lab.break_(host, "import_duplicates")
    _unreference_copies(lab, host)
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    code, report = run(remediate, "import", "--option", "dedup=delete", "--yes")
    assert code == 1, report
    assert "dedup_folders" in step(report, "deduplicate")["message"]
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows


def test_import_delete_in_dedup_folders_backs_up_and_restores(lab, remediate, host, tmp_path):
    lab.break_(host, "import_duplicates")
    _unreference_copies(lab, host)
    inventory = _inventory(remediate, tmp_path, dedup_folders=["nmsRootRecipient"])
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    prospects = _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iFolderId = 2")
    tables = _backups(lab, host)
    code, doc = remediate.json("import", "--host", host, "--option", "dedup=delete", "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 0, report
    dedup = step(report, "deduplicate")
    assert dedup["outcome"] == "ran" and dedup["effect"] == "disrupt"
    (backup,) = _backups(lab, host) - tables
    assert f"copied into table {backup}" in dedup["message"]
    # only within nmsRootRecipient: the 12 copies there; the prospects folder is untouched
    assert _count(lab, host, f"SELECT count(*) FROM {backup}") == 12
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows - 12
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iFolderId = 2") == prospects
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iRecipientId <= 200") == 200
    # the printed restore command, run on the host, brings the rows back
    restore = dedup["message"].split("restore with: ", 1)[1]
    res = _ssh(lab, host, restore)
    assert res.returncode == 0, res.stdout + res.stderr
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows


def _ssh(lab, host, command):
    return subprocess.run(
        ["ssh", "-F", str(Path(lab.dir) / "ssh_config"), host, command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_delete_refused_while_delivery_logs_point_at_a_duplicate(lab, remediate, host, tmp_path):
    lab.break_(host, "import_duplicates")
    inventory = _inventory(remediate, tmp_path, dedup_folders=["nmsRootRecipient", "prospects"])
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    tables = _backups(lab, host)
    code, doc = remediate.json("import", "--host", host, "--option", "dedup=delete", "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 1, report
    message = step(report, "deduplicate")["message"]
    assert "refused" in message and "delivery logs (nms:broadLogRcp)" in message
    assert "1 group memberships (NmsRcpGrpRel)" in message and "1 subscription history rows (nms:subHisto)" in message
    assert "Merge selected lines" in message and "platform/using/updating-data.md" in message
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows
    assert _backups(lab, host) == tables


def test_import_dry_run_deletes_nothing(lab, remediate, host, tmp_path):
    lab.break_(host, "import_duplicates")
    _unreference_copies(lab, host)
    inventory = _inventory(remediate, tmp_path, dedup_folders=["nmsRootRecipient"])
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    tables = _backups(lab, host)
    res = remediate("import", "--host", host, "--option", "dedup=delete", "--dry-run", "--yes", inventory=inventory)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "CREATE TABLE nmsrecipientdedup_" in res.stdout and "would_run" in res.stdout
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows
    assert _backups(lab, host) == tables


def test_import_healthy_host_is_left_alone(lab, remediate, host):
    before = lab.status(host)
    check_healthy_run(lab, remediate, "import")
    assert pids(lab.status(host)) == pids(before)


def test_import_recipients_without_an_email_are_not_duplicates(lab, remediate, host):
    """Profiles with no email ('' or blanks; NULL on Oracle) are left out by Length(Ltrim(Rtrim(@email))) > 0."""
    lab.psql(
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId, sFirstName, sLastName, sCompany) "
        "SELECT nextval('NmsRecipient_seq'), e, 1, 'No', 'Email', 'none' "
        "FROM (VALUES (''), (''), ('   '), ('  '), (NULL), (NULL)) AS v(e)",
        db=_db(host),
    )
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iRecipientId > 200") == 6
    code, report = run(remediate, "import", "--yes")
    assert code == 0, report
    assert step(report, "no_duplicate_emails")["outcome"] == "passed"
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient WHERE iRecipientId > 200") == 6


def test_import_check_reads_only_its_folders_and_recent_recipients(lab, remediate, host):
    """Bounded: a duplicate created long ago, or in a folder imports do not write into, is not read."""
    lab.psql(
        "INSERT INTO XtkFolder VALUES (3, 'archive', 'Archive') ON CONFLICT DO NOTHING;"
        # a copy of recipient 40 made 30 days ago (outside the 7-day window, as is the original)
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId, tsCreated) "
        "SELECT nextval('NmsRecipient_seq'), sEmail, iFolderId, now() - interval '30 days' FROM NmsRecipient "
        "WHERE iRecipientId = 40;"
        # two fresh copies of one email in a folder the inventory does not name
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId) SELECT nextval('NmsRecipient_seq'), "
        "'archived@example.com', 3 FROM generate_series(1, 2)",
        db=_db(host),
    )
    try:
        assert lab.status(host)["db"]["duplicate_email_groups"] == 2  # the whole table has them
        code, report = run(remediate, "import", "--yes")
        assert code == 0, report
        checked = step(report, "no_duplicate_emails")
        assert checked["outcome"] == "passed" and "import_folders" in checked["message"], checked
        sent = " ".join([checked["command"], *checked.get("snapshots", {}).values()])  # the batch's javascript
        assert "SubDays(GetDate(), 7)" in sent and "[folder/@name] IN" in sent
    finally:
        lab.psql(
            "DELETE FROM NmsRecipient WHERE iRecipientId > 200; DELETE FROM XtkFolder WHERE iFolderId = 3", db=_db(host)
        )


def test_import_delete_refused_while_a_group_membership_points_at_a_duplicate(lab, remediate, host, tmp_path):
    """NmsRcpGrpRel and NmsSubHisto point at recipients too (data-model-description.md): refused, nothing deleted."""
    lab.break_(host, "import_duplicates")
    lab.psql(  # only the group membership and the subscription history row are left pointing at copies
        f"DELETE FROM NmsSubscription WHERE {COPIES}; DELETE FROM NmsBroadLogRcp WHERE {COPIES}; "
        f"DELETE FROM NmsTrackingLogRcp WHERE {COPIES}",
        db=_db(host),
    )
    inventory = _inventory(remediate, tmp_path, dedup_folders=["nmsRootRecipient"])
    rows = _count(lab, host, "SELECT count(*) FROM NmsRecipient")
    tables = _backups(lab, host)
    code, doc = remediate.json("import", "--host", host, "--option", "dedup=delete", "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 1, report
    message = step(report, "deduplicate")["message"]
    assert message.startswith("refused: 1 subscription history rows (nms:subHisto), 1 group memberships"), message
    assert _count(lab, host, "SELECT count(*) FROM NmsRecipient") == rows
    assert _backups(lab, host) == tables
