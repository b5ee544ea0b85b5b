"""web playbook on the lab: a healthy web is left alone and sends no SOAP Logon unless the inventory opts
in; web down is started (not restarted); a SOAP fault is reported, never restarted; the opt-in Logon's
password stays out of the output and the audit log. Adobe's remedies only (failure-to-connect.md): a failing
/r/test, a blank page, a front web server that is down and a logon.jsp answering an empty 302 are reported
and restart nothing (every pid unchanged); a running web is restarted only with --force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab.base import FRONT_PORT, WEB_PORT
from tests.e2e.playbook_helpers import check_dry_run, check_healthy_run, pids, run, step, steps
from tests.support.cli import read_events
from tests.support.labfix import pid_of

R_TEST_FAULT = "web_r_test_failing"  # web@default alive in pdump, /r/test not OK


def sent_commands(audit_log: Path) -> list[str]:
    return [str(e["command"]) for e in read_events(audit_log) if e.get("command")]


def opt_in_inventory(lab: Any, tmp_path: Path) -> Path:
    """The lab's inventory plus a monitoring operator for the opt-in SOAP Logon probe."""
    doc = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    doc["all"]["vars"]["soap_probe_login"] = "monitoring"
    path = tmp_path / "inventory-soap.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_opted_in(
    lab: Any, remediate: Any, host: str, tmp_path: Path, password: str | None = None
) -> tuple[int, dict[str, Any]]:
    """``remediate web --yes`` with the opt-in inventory and the operator's password in the environment
    (the lab's monitoring operator's, unless a wrong one is given)."""
    inventory = opt_in_inventory(lab, tmp_path)
    secret = password if password is not None else lab.monitoring_password()
    return remediate.json("web", "--host", host, "--yes", inventory=inventory, env={"REMEDIATE_SOAP_PASSWORD": secret})


def test_web_healthy_host_is_left_alone_and_sends_no_logon(lab, remediate, host, audit_log):
    check_healthy_run(lab, remediate, "web")
    commands = sent_commands(audit_log)
    assert any("/r/test" in c for c in commands) and any("/nl/jsp/logon.jsp" in c for c in commands)
    front = f"http://{lab.addr(host)}:{FRONT_PORT}/r/test"
    assert any(front in c for c in commands) and any(f":{WEB_PORT}/r/test" in c for c in commands)
    assert not any("soaprouter" in c or "Logon" in c for c in commands), commands
    skipped = [e for e in read_events(audit_log) if e.get("event") == "step.skipped" and e.get("step") == "soap_logon"]
    assert skipped and "soap_probe_login" in skipped[0]["message"]


def test_web_down_is_started_not_restarted(lab, remediate, host):
    lab.break_(host, "web_down")
    st = lab.status(host)
    assert pid_of(lab, host, "web@default") is None and not st["r_test"]["ok"]
    code, report = run(remediate, "web", "--yes")
    assert code == 0, report
    st = lab.status(host)
    pid = st["processes"]["web@default"]["pid"]
    assert st["processes"]["web@default"]["alive"] and st["ports"]["tcp/8080"]["pids"] == [pid]
    assert st["r_test"]["ok"] and st["healthy"]["web"]
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["start_web"]
    assert report["status"] == "remediated"


def test_web_dry_run_changes_nothing(lab, remediate, host):
    check_dry_run(lab, remediate, "web", "web_down", ["nlserver start web@default"])
    assert pid_of(lab, host, "web@default") is None


def test_web_opt_in_logon_passes_and_its_password_is_never_written(lab, remediate, host, audit_log, tmp_path):
    before = lab.status(host)
    code, doc = run_opted_in(lab, remediate, host, tmp_path)
    report = doc["hosts"][host]
    assert code == 0 and report["status"] == "healthy", report
    assert step(report, "soap_logon")["outcome"] == "passed"
    assert pids(lab.status(host)) == pids(before)
    audit = audit_log.read_text()
    assert "strPassword" in audit and "soaprouter" in audit  # the probe was sent ...
    password = lab.monitoring_password()
    assert password not in audit and password not in str(doc)  # ... and its password never written


def test_web_refused_logon_is_an_authentication_finding_not_a_restart(lab, remediate, host, tmp_path):
    before = lab.status(host)
    code, doc = run_opted_in(lab, remediate, host, tmp_path, password="not-the-password")
    report = doc["hosts"][host]
    assert code == 1 and report["status"] == "failed", report
    assert step(report, "soap_logon")["outcome"] == "failed"
    assert "Invalid login or password" in step(report, "soap_logon")["message"]
    assert not [s for s in report["steps"] if s["phase"] == "remediation"]  # no restart proposed
    assert pids(lab.status(host)) == pids(before)


def test_web_soap_fault_is_reported_not_restarted(lab, remediate, host, tmp_path):
    """The data source points to a wrong DB port: the Logon faults. A restart cannot fix a wrong config."""
    lab.break_(host, "web_xtk_errors")
    assert lab.status(host)["soap_logon"]["fault"]
    old = pid_of(lab, host, "web@default")
    code, doc = run_opted_in(lab, remediate, host, tmp_path)
    report = doc["hosts"][host]
    assert code == 1, report
    assert step(report, "soap_logon")["outcome"] == "failed"
    assert step(report, "r_test_tomcat")["outcome"] == "passed" and step(report, "r_test_front")["outcome"] == "passed"
    assert not steps(report, "remediation", "ran"), report["steps"]
    assert pid_of(lab, host, "web@default") == old


def test_web_soap_fault_without_opt_in_is_not_probed(lab, remediate, host):
    """Without soap_probe_login the Logon is not sent: /r/test and logon.jsp are fine, ping.jsp names the database
    (its data source points to a wrong port), and web is left alone."""
    lab.break_(host, "web_xtk_errors")
    old = pid_of(lab, host, "web@default")
    code, report = run(remediate, "web", "--yes")
    assert code == 1 and report["status"] == "failed", report
    (ping,) = steps(report, "check", "failed")
    assert ping["id"] == "ping_jsp" and "PGS-220000" in ping["message"] and "database" in ping["message"], ping
    assert step(report, "soap_logon")["outcome"] == "skipped"
    assert not steps(report, "remediation", "ran")
    assert pid_of(lab, host, "web@default") == old


def reported_not_touched(lab: Any, remediate: Any, host: str, fault: str) -> dict[str, Any]:
    """Break ``fault``, run ``web --yes``: exit 1, no remediation step, every pid and the fault unchanged."""
    lab.break_(host, fault)
    before = lab.status(host)
    assert not before["healthy"]["web"] or not before["healthy"]["front_web"], fault
    code, report = run(remediate, "web", "--yes")
    after = lab.status(host)
    assert code == 1 and report["status"] == "failed", report
    assert not steps(report, "remediation"), report["steps"]
    assert pids(after) == pids(before), f"pids changed: {pids(before)} -> {pids(after)}"
    assert after["front_web"]["pid"] == before["front_web"]["pid"]
    assert fault in after["faults"]
    return report


def test_web_r_test_failure_is_reported_not_restarted(lab, remediate, host):
    """/r/test not OK while web runs: Adobe says "check in your Web server configuration"; no restart."""
    report = reported_not_touched(lab, remediate, host, R_TEST_FAULT)
    assert not lab.status(host)["r_test"]["ok"]
    tomcat = step(report, "r_test_tomcat")
    assert tomcat["outcome"] == "failed" and "status='ERROR'" in tomcat["message"]
    assert step(report, "r_test_front")["outcome"] == "failed"  # the front hands /r/test to the same Tomcat


def test_front_web_server_down_is_reported_apart_from_tomcat(lab, remediate, host):
    report = reported_not_touched(lab, remediate, host, "front_web_down")
    front = step(report, "r_test_front")
    assert front["outcome"] == "failed" and f":{FRONT_PORT}/r/test does not answer" in front["message"]
    assert "nothing is restarted" in front["message"]
    assert step(report, "r_test_tomcat")["outcome"] == "passed"
    st = lab.status(host)
    assert not st["front_web"]["alive"] and st["r_test"]["ok"]  # nothing started the front, Tomcat is fine


def test_blank_logon_page_while_web_runs_restarts_nothing(lab, remediate, host):
    """Adobe's remedy for a blank page is `nlserver start web` when pdump does not list web: it does here."""
    report = reported_not_touched(lab, remediate, host, "web_logon_blank")
    assert step(report, "logon_page_served")["outcome"] == "failed"
    assert lab.status(host)["logon_page"]["answer"] == "blank"


def test_empty_302_is_not_a_blank_page_and_restarts_nothing(lab, remediate, host):
    report = reported_not_touched(lab, remediate, host, "web_logon_redirect")
    found = step(report, "logon_page_served")
    assert found["outcome"] == "undetermined", found
    assert "HTTP 302 with an empty body" in found["message"] and "not Adobe's blank page" in found["message"]
    assert "https://" in found["message"]  # where it redirects to
    st = lab.status(host)
    assert st["logon_page"]["http_status"] == 302 and st["logon_page"]["answer"] == "empty"


def test_web_restart_only_on_the_operators_request(lab, remediate, host):
    """--force (and its confirmation) is the operator's own decision to restart a running web."""
    lab.break_(host, R_TEST_FAULT)
    old = pid_of(lab, host, "web@default")
    assert old and not lab.status(host)["r_test"]["ok"]
    code, report = run(remediate, "web", "--force")
    assert code == 4 and report["status"] == "not_confirmed", report  # no terminal: refused
    assert pid_of(lab, host, "web@default") == old
    code, report = run(remediate, "web", "--force", "--yes")
    assert code == 0, report
    assert [s["id"] for s in steps(report, "remediation", "ran")] == ["restart_web"]
    new = pid_of(lab, host, "web@default")
    assert new and new != old and lab.status(host)["r_test"]["ok"]
    assert step(report, "r_test_tomcat_answers")["outcome"] == "passed"
