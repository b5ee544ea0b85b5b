from __future__ import annotations

import pytest

from runner import campaign, campaign_formats
from runner.campaign_formats import ParseError

PDUMP = """\
12:09:54 >   Application server for Adobe Campaign Classic (7.X YY.R build XXX@SHA1) of DD/MM/YYYY
syslogd@default (7611) - 9.2 MB
stat@demo (5988) - 1.5 MB
inMail@demo (7830) - 11.9 Mb
watchdog (27369) - 3.1 Mo
mta@demo (7831) - 15.6 MB
wfserver@demo (7832) - 11.5 MB
web@default (28671) - 40.5 MB
"""


def test_pdump_documented_format() -> None:
    dump = campaign.parse_pdump(PDUMP)
    assert [p.name for p in dump.processes][:3] == ["syslogd@default", "stat@demo", "inMail@demo"]
    assert dump.find("watchdog").pid == 27369  # type: ignore[union-attr]
    assert dump.find("wfserver@demo").memory_mb == 11.5  # type: ignore[union-attr]
    assert not dump.no_tasks


@pytest.mark.parametrize("line", ["No tasks", "No task", "no task", "12:00:01 >   No tasks"])
def test_pdump_no_tasks_variants(line: str) -> None:
    dump = campaign.parse_pdump("12:00:00 >   Application server for Adobe Campaign Classic (7.X)\n" + line + "\n")
    assert dump.no_tasks and not dump.processes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\n",
        "\x00\x01\x02binary",
        PDUMP + "Segmentation fault\n",
        "web@default (abc) - 1 MB\n",
        PDUMP + "No tasks\n",
    ],
)
def test_pdump_unexpected_output_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        campaign.parse_pdump(text)


def test_pdump_who_keeps_session_lines() -> None:
    dump = campaign.parse_pdump(PDUMP + "Sessions:\n  admin from 10.0.0.1\n", who=True)
    assert dump.extra == ["Sessions:", "admin from 10.0.0.1"]


def test_monitor_missing() -> None:
    banner = "12:00:00 >   Application server for Adobe Campaign Classic (7.X)\n"
    assert campaign.parse_missing(banner) == []
    assert campaign.parse_missing(banner + "mta@prod\ntrackinglogd@default\n") == ["mta@prod", "trackinglogd@default"]
    with pytest.raises(ParseError):
        campaign.parse_missing(banner + "mta@prod; rm -rf /\n")


def test_process_names() -> None:
    assert campaign.process_name("web", "prod") == "web@default"
    assert campaign.process_name("watchdog", None) == "watchdog"
    assert campaign.process_name("wfserver", "prod") == "wfserver@prod"
    with pytest.raises(ValueError):
        campaign.process_name("mta", None)


def test_each_format_has_one_home() -> None:
    """campaign.py holds the nlserver console parsers; the other formats live only in campaign_formats
    (no re-export facade: one name, one place)."""
    for name in ("process_name", "PROCESS_NAME", "Process", "Pdump", "parse_pdump", "parse_missing"):
        assert hasattr(campaign, name)
    for name in ("parse_r_test", "parse_soap_fault", "parse_instance_config", "is_redir_line", "DeliveryState"):
        assert hasattr(campaign_formats, name) and not hasattr(campaign, name)


def test_banner_and_no_tasks_on_one_line() -> None:
    dump = campaign.parse_pdump("12:00:00 > Application Server for Adobe Campaign version 7.3 (build 9362) No tasks\n")
    assert dump.no_tasks and not dump.processes


def test_console_restart_lines() -> None:
    out = (
        "10:00:00 >   Stop requested for 'wfserver@prod' ('nlserver wfserver -instance:prod', pid=10, tid=1)...\n"
        "10:00:00 >   Stop requested (pid=10)\n"
        "10:00:01 >   Running task 'wfserver@prod' ('nlserver wfserver -instance:prod') in a new process\n"
        "10:00:01 >   Server started\n"
    )
    console = campaign.parse_console(out)
    assert console.stop_requested == ["wfserver@prod"] and console.started == ["wfserver@prod"]
    assert console.stopped_pids == [10] and console.server_started
    with pytest.raises(ParseError):
        campaign.parse_console("")
    with pytest.raises(ParseError):
        campaign.parse_console("10:00:00 >   ok\x00")


def test_r_test_and_soap_fault_refuse_non_xml() -> None:
    assert campaign_formats.parse_r_test("<redir status='OK' date='d' build='1' host='h' localHost='l'/>").ok
    for text in ("", "OK", "<redir date='x'/>", "\x00"):
        with pytest.raises(ParseError):
            campaign_formats.parse_r_test(text)
    with pytest.raises(ParseError):
        campaign_formats.parse_soap_fault(
            "<Envelope><Body><Fault><faultstring>x</faultstring></Fault></Body></Envelope>"
        )


def test_log_line_short_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        campaign_formats.parse_log_line("2021-05-31T08:42:18.124Z\t1\terror")
