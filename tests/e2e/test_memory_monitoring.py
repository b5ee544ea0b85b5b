"""Process memory against Adobe's maxProcessMemoryWarningMb / maxProcessMemoryAlertMb, and ping.jsp, on the lab:
a warning keeps `remediate check` at exit 0 and makes Nagios WARNING, an alert is a problem (exit 1, CRITICAL);
nothing is restarted for memory (the web pid is the same afterwards)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from lab import postgres
from tests.e2e.playbook_helpers import pids, run, step, steps
from tests.support.labfix import pid_of


def _memory(text: str, host: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (
                s.name == "remediate_process_memory_mb"
                and s.labels["process"] == "web@default"
                and s.labels["host"] == host
            ) and s.labels["kind"] == "current":
                return float(s.value)
    raise AssertionError(f"no web@default memory gauge in {text}")


def test_healthy_web_memory_and_ping_pass(lab, remediate, host):
    code, report = run(remediate, "web")
    assert code == 0, report
    assert step(report, "ping_jsp")["outcome"] == "passed" and "Ok" in step(report, "ping_jsp")["message"]
    assert step(report, "web_memory")["outcome"] == "passed"
    res = remediate("check", "web", "watchdog", "--host", host, "--output", "prometheus")
    assert res.returncode == 0, res.stdout + res.stderr
    assert 0 < _memory(res.stdout, host) < 1600
    assert (
        f'remediate_monitor_indicator{{host="{host}",module="watchdog",indicator="Core Files",kind="current"}} 0'
        in res.stdout
    )


def test_memory_warning_is_a_warning_not_a_problem(lab, remediate, host):
    lab.break_(host, "memory_warning")
    before = pids(lab.status(host))
    res = remediate("check", "web", "--host", host)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "warning: web@default uses 1700 MB" in res.stdout, res.stdout
    nagios = remediate("check", "web", "--host", host, "--output", "nagios")
    assert nagios.returncode == 1 and nagios.stdout.startswith("REMEDIATE WARNING - warning: "), nagios.stdout
    prom = remediate("check", "web", "--host", host, "--output", "prometheus").stdout
    assert f'remediate_check_module_warning{{host="{host}",module="web"}} 1' in prom
    assert _memory(prom, host) == 1700
    code, report = run(remediate, "web", "--yes")
    assert code == 0 and report["status"] == "healthy", report
    assert pids(lab.status(host)) == before


def test_memory_alert_is_a_problem_and_nothing_is_restarted(lab, remediate, host):
    lab.break_(host, "memory_alert")
    old = pid_of(lab, host, "web@default")
    res = remediate("check", "web", "--host", host)
    assert res.returncode == 1 and "maxProcessMemoryAlertMb 1800" in res.stdout, res.stdout
    nagios = remediate("check", "web", "--host", host, "--output", "nagios")
    assert nagios.returncode == 2 and nagios.stdout.startswith("REMEDIATE CRITICAL - problem: "), nagios.stdout
    assert _memory(remediate("check", "web", "--host", host, "--output", "prometheus").stdout, host) == 1900
    code, report = run(remediate, "web", "--yes")
    assert code == 1 and step(report, "web_memory")["outcome"] == "failed", report
    assert not steps(report, "remediation", "ran")
    assert pid_of(lab, host, "web@default") == old


def test_ping_jsp_fails_while_the_lab_database_is_down(lab, remediate, host):
    """Adobe's ping.jsp goes through Tomcat, web and the database: with the lab's PostgreSQL stopped it is
    not Ok, the web check names it, and web is not restarted for a database outage."""
    before = pid_of(lab, host, "web@default")
    assert postgres.stop(lab), "the lab's PostgreSQL was not running"
    try:
        code, report = run(remediate, "web")
    finally:
        postgres.start(lab)
        lab.heal(host)
    assert code == 1, report
    ping = step(report, "ping_jsp")
    assert ping["outcome"] == "failed" and "Ok" not in ping["message"], ping
    assert not steps(report, "remediation", "ran"), report["steps"]
    assert pid_of(lab, host, "web@default") == before
