"""inMail playbook on the lab: a quiet inMail is left alone; stopped, it is started; with the POP3 server
down it is reported and not restarted; errors that inMail's last start already answered are no reason to
restart it, a new one is; on the mid-sourced host the playbook does not apply."""

from __future__ import annotations

import time

from tests.e2e.playbook_helpers import INSTANCE, check_dry_run, check_healthy_run, pids, run, step, steps
from tests.support.labfix import pid_of
from tests.support.wait import wait_until

INMAIL = f"inMail@{INSTANCE}"


def test_inmail_healthy_host_is_left_alone_though_its_log_is_quiet(lab, remediate, host):
    check_healthy_run(lab, remediate, "inMail")
    code, report = run(remediate, "inMail", "--yes")
    assert code == 0 and step(report, "inmail_log_errors")["outcome"] == "passed", report
    assert step(report, "pop3_reachable")["outcome"] == "passed"


def test_inmail_stopped_is_started(lab, remediate, host):
    lab.break_(host, "inmail_stopped")
    assert pid_of(lab, host, INMAIL) is None
    code, report = run(remediate, "inMail", "--yes")
    assert code == 0, report
    assert lab.status(host)["processes"][INMAIL]["alive"]
    # the started inMail polls the bounce mailbox at start: the mails that piled up are processed
    wait_until(lambda: lab.status(host)["healthy"]["inMail"], 30, "the bounce mails processed by the started inMail")
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_inmail"]


def test_inmail_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "inMail", "inmail_stopped", [f"nlserver start {INMAIL}"])
    assert pid_of(lab, host, INMAIL) is None


def test_inmail_on_the_mid_sourced_host_does_not_apply(lab, remediate):
    mid = lab.hosts()[-1]
    before = lab.status(mid)
    assert INMAIL not in before["processes"]
    code, doc = remediate.json("inMail", "--host", mid, "--yes")
    report = doc["hosts"][mid]
    assert code == 0 and report["status"] == "not_applicable", report
    assert not steps(report, "remediation")
    after = lab.status(mid)
    assert INMAIL not in after["processes"] and pids(after) == pids(before)


def test_pop3_down_is_reported_not_restarted_then_a_new_error_is_restarted(lab, remediate, host):
    lab.break_(host, "pop3_down")
    log = lab.hdir(host) / f"nl6/var/{INSTANCE}/log/inMail.log"
    wait_until(lambda: "\terror\t" in log.read_text(errors="replace"), 15, "inMail logs a POP3 error")
    wait_until(lambda: pid_of(lab, host, INMAIL) is not None, 15, "the restarted inMail ready")
    old = pid_of(lab, host, INMAIL)
    code, report = run(remediate, "inMail", "--yes")
    assert code == 1, report
    assert step(report, "inmail_log_errors")["outcome"] == "failed"
    assert step(report, "pop3_reachable")["outcome"] == "failed"
    assert not steps(report, "remediation", "ran"), report["steps"]
    assert pid_of(lab, host, INMAIL) == old
    # The POP3 server is back and inMail restarted (the heal): the errors predate it, nothing to do.
    lab.heal(host)
    assert lab.status(host)["pop3"]["reachable"]
    old = pid_of(lab, host, INMAIL)
    code, report = run(remediate, "inMail", "--yes")
    assert code == 0 and not steps(report, "remediation", "ran"), report
    assert "since inMail@prod started" in step(report, "inmail_log_errors")["message"]
    # inMail logs an error after its start while the POP3 server answers: Adobe's fix, a restart.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with log.open("a") as f:  # the line inMail writes (Adobe's layout), e.g. a mailbox it cannot read
        f.write(f"{stamp}.000Z\t{old}\t{old}\t1\terror\tinMail\tINM-090031 Error while reading message 3 (iRc=-55)\n")
    code, report = run(remediate, "inMail", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["restart_inmail"]
    new = pid_of(lab, host, INMAIL)
    assert new and new != old
    assert step(report, "pop3_still_reachable")["outcome"] == "passed"


def test_database_error_lines_restart_nothing(lab, remediate, host):
    """inMail.log holds database errors (Adobe's PGS-220000 and ODB-240000 lines) written after inMail's
    start: a database problem, reported (exit 1), and inMail is not restarted, --yes or not."""
    old = pid_of(lab, host, INMAIL)
    assert old
    log = lab.hdir(host) / f"nl6/var/{INSTANCE}/log/inMail.log"
    kept = log.read_text(errors="replace")
    try:
        _database_errors_restart_nothing(lab, remediate, host, log, old)
    finally:
        lab.write(log, kept, in_place=True)  # the lines written here leave the log (syslogd appends to the same file)


def _database_errors_restart_nothing(lab, remediate, host, log, old):
    time.sleep(1.1)  # the lines come after inMail's start, to the second
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with log.open("a") as f:  # Adobe's log layout; the messages as the pages print them
        f.write(
            f"{stamp}.000Z\t{old}\t{old}\t1\terror\tinMail\tPGS-220000 PostgreSQL error: could not connect to "
            "server: Connection refused (iRc=-2006)\n"
            f"{stamp}.100Z\t{old}\t{old}\t1\terror\tinMail\tODB-240000 ODBC error: [unixODBC][Driver Manager]Data "
            "source name not found, and no default driver specified (iRc=-2006)\n"
        )
    code, report = run(remediate, "inMail", "--yes")
    assert code == 1, report
    database = step(report, "inmail_database_errors")
    assert database["outcome"] == "failed" and database["message"].startswith("database problem: 2 database error")
    logged = step(report, "inmail_log_errors")
    assert logged["outcome"] == "passed" and "2 database error line(s) left out" in logged["message"]
    assert step(report, "pop3_reachable")["outcome"] == "passed"
    assert not steps(report, "remediation", "ran"), report["steps"]
    assert pid_of(lab, host, INMAIL) == old
    assert lab.status(host)["processes"][INMAIL]["alive"]
    # an inMail error of its own beside them: still no restart while the database errors stand
    with log.open("a") as f:
        f.write(f"{stamp}.200Z\t{old}\t{old}\t1\terror\tinMail\tINM-090031 Error while reading message 3 (iRc=-55)\n")
    code, report = run(remediate, "inMail", "--yes")
    assert code == 1 and step(report, "inmail_log_errors")["outcome"] == "failed", report
    assert not steps(report, "remediation", "ran"), report["steps"]
    assert pid_of(lab, host, INMAIL) == old
