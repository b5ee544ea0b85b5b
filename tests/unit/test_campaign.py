from __future__ import annotations

import pytest

from runner import campaign
from runner.campaign import ParseError

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
    ["", "garbage\n", "\x00\x01\x02binary", PDUMP + "Segmentation fault\n", "web@default (abc) - 1 MB\n",
     PDUMP + "No tasks\n"],
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
