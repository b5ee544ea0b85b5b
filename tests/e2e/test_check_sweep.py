"""`remediate check all`: a read-only sweep that finds each injected fault and names the right module."""

from __future__ import annotations

import pytest

from tests.e2e.playbook_helpers import HOST, pids
from tests.support.labfix import pid_of
from tests.support.wait import wait_until

# fault -> (the module it breaks, the modules the sweep must flag as a problem). mta checks the stat server
# it asks; trackinglogd checks /r/test, which web serves, as does the tracking server tracking probes;
# export and tracking need wfserver for their workflows. A stopped module is also flagged by watchdog
# (monitor -missing lists it).
STOPPED = {"watchdog"}
FAULTS = {
    "syslogd_down": ("syslogd", {"syslogd"} | STOPPED),
    "mta_down": ("mta", {"mta"} | STOPPED),
    "stat_down": ("stat", {"stat", "mta"} | STOPPED),
    "inmail_stopped": ("inMail", {"inMail"} | STOPPED),
    "trackinglogd_down": ("trackinglogd", {"trackinglogd"} | STOPPED),
    "tracking_failed": ("tracking", {"tracking"}),
    "redir_corrupt": ("tracking", {"tracking"}),
    "web_down": ("web", {"web", "trackinglogd", "tracking"} | STOPPED),  # the tracking server hands /r/test to web
    "import_duplicates": ("import", {"import"}),
    "export_failed": ("export", {"export"}),
    "export_paused": ("export", {"export"}),
    "pop3_down": ("inMail", {"inMail"}),
    "tracking_stale": ("tracking", {"tracking"}),
    "wfserver_down": ("wfserver", {"wfserver", "export", "tracking"} | STOPPED),
}


def test_healthy_host_sweep_is_all_healthy(lab, remediate, host):
    before = pids(lab.status(HOST))
    code, doc = remediate.json("check", "all", "--host", HOST)
    report = doc["hosts"][HOST]
    assert code == 0, report["found"]
    assert set(report["modules"].values()) == {"healthy"}
    assert len(report["modules"]) == 11
    assert pids(lab.status(HOST)) == before


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_sweep_names_the_broken_module(lab, remediate, host, fault):
    lab.break_(host, fault)
    if fault == "pop3_down":  # the fault restarts inMail with a short polling period: wait until it runs again
        wait_until(lambda: pid_of(lab, HOST, "inMail@prod"), 30, "inMail@prod running again after pop3_down")
    before = lab.status(HOST)
    code, doc = remediate.json("check", "all", "--host", HOST)
    report = doc["hosts"][HOST]
    assert code == 1, report
    broken, flagged = FAULTS[fault]
    assert not before["healthy"][broken]  # the lab agrees the module is broken
    problems = {m for m, state in report["modules"].items() if state == "problem"}
    assert problems == flagged, report["found"]
    assert any(f.startswith(f"{broken}: ") for f in report["found"])
    assert pids(lab.status(HOST)) == pids(before)  # read-only


def test_sweep_cannot_decide_when_the_instance_database_is_unreachable(lab, remediate, host):
    """web's data source pointing at a wrong port: every check that reads the database through the
    instance says it cannot decide, naming the error; only web's ping.jsp, Adobe's probe through Tomcat,
    web and the database, reads a problem (reported: no step restarts web for it)."""
    lab.break_(host, "web_xtk_errors")
    before = lab.status(HOST)
    code, doc = remediate.json("check", "all", "--host", HOST)
    report = doc["hosts"][HOST]
    assert code == 1, report
    states = report["modules"]
    assert {m for m, state in states.items() if state == "problem"} == {"web"}, report["found"]
    web = [f for f in report["found"] if f.startswith("web:")]
    assert web and all(f.startswith("web: ping_jsp:") and "PGS-220000" in f for f in web), report["found"]
    assert {m for m, state in states.items() if state == "undetermined"} >= {"export", "import", "tracking"}
    assert any("PostgreSQL error" in f for f in report["found"])
    assert pids(lab.status(HOST)) == pids(before)


def test_sweep_text_output_is_a_table(lab, remediate, host):
    lab.break_(host, "mta_down")
    res = remediate("check", "mta", "syslogd", "--host", HOST)
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert any(line.split()[:2] == ["mta", "problem"] for line in lines), res.stdout
    assert any(line.split()[:2] == ["syslogd", "healthy"] for line in lines), res.stdout


def test_list_shows_the_seed_table(remediate):
    res = remediate("list", "--output", "json")
    assert res.returncode == 0, res.stderr
    rows = {r["module"]: r for r in __import__("json").loads(res.stdout)}
    assert set(rows) == {
        "export",
        "import",
        "inMail",
        "mta",
        "stat",
        "syslogd",
        "tracking",
        "trackinglogd",
        "watchdog",
        "web",
        "wfserver",
    }
    assert all(r["scope"] and r["symptom"] for r in rows.values())
    assert "sent" in rows["mta"]["symptom"] and "Bounce" in rows["inMail"]["symptom"]
    text = remediate("list").stdout
    assert "symptom: Emails are no longer sent" in text


@pytest.mark.parametrize("module", ["syslogd", "import", "web"])
def test_show_markdown(remediate, module):
    res = remediate("show", module, "--output", "markdown")
    assert res.returncode == 0, res.stderr
    assert res.stdout.lstrip().startswith("#")
    assert "DISRUPT (asks confirmation)" in res.stdout and "## Verification" in res.stdout


def test_triage_cli(remediate):
    res = remediate("triage", "emails are not sent", "--output", "json")
    ranked = __import__("json").loads(res.stdout)
    assert {r["module"] for r in ranked[:2]} == {"mta", "stat"}
