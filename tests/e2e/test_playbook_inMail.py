"""inMail playbook on the lab: inMail stopped with 12 bounces waiting → started, the mailbox drains."""

from __future__ import annotations

from tests.e2e.playbook_helpers import INSTANCE, check_dry_run, check_healthy_run, run, steps
from tests.support.labfix import pid_of


def test_inmail_stopped_is_started_and_mailbox_drains(lab, remediate, host):
    lab.break_(host, "inmail_stopped")
    st = lab.status(host)
    assert pid_of(lab, host, f"inMail@{INSTANCE}") is None and st["files"]["bounce_mailbox"] == 12
    code, report = run(remediate, "inMail", "--yes")
    assert code == 0, report
    st = lab.status(host)
    assert st["processes"][f"inMail@{INSTANCE}"]["alive"]
    assert st["files"]["bounce_mailbox"] == 0
    assert st["healthy"]["inMail"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_inmail"]
    processed = list((lab.hdir(host) / f"nl6/var/{INSTANCE}/inmail/processed").glob("bounce-*.eml"))
    assert len(processed) >= 12


def test_inmail_dry_run_changes_nothing(lab, remediate, host):
    after = check_dry_run(lab, remediate, "inMail", "inmail_stopped", [f"nlserver start inMail@{INSTANCE}"])
    assert after["files"]["bounce_mailbox"] == 12


def test_inmail_healthy_host_is_left_alone(lab, remediate, host):
    check_healthy_run(lab, remediate, "inMail")
