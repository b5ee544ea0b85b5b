"""Campaign formats to the character, on Adobe's samples (tests/fixtures/adobe/): the exact ParseError
of every sample built to be refused, the edges of each range Adobe gives, and the defaults of what a
sample leaves out (mutants of runner/campaign_formats.py that test_adobe_formats.py and test_campaign.py
let through: `make mutation`, docs/mutation.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import campaign_formats as cf
from runner.campaign_formats import ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"


def _samples(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["samples"])


PARSERS: dict[str, Callable[[str], object]] = {
    "r-test.yml": cf.parse_r_test,
    "soap-fault.yml": cf.parse_soap_fault,
    "ping-jsp.yml": cf.parse_ping,
    "date-display.yml": cf.parse_date_display,
    "tracking-servers.yml": cf.parse_tracking_servers,
    "monitor-xml.yml": cf.parse_monitor,
    "config.yml": cf.parse_instance_config,
}
# The message of each sample built to be refused, by file and position in it.
REFUSED = {
    ("r-test.yml", 6): "/r/test: expected <redir status=...>, got <html>",
    ("r-test.yml", 7): "/r/test: not well-formed XML (unclosed token: line 1, column 0)",
    ("r-test.yml", 8): "/r/test: empty or binary answer",
    ("soap-fault.yml", 4): "SOAP answer: expected an Envelope, got <html>",
    ("soap-fault.yml", 5): "SOAP answer: not well-formed XML (no element found: line 5, column 24)",
    ("ping-jsp.yml", 3): (
        "ping.jsp: a markup page, not a status line: "
        "'<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></bod...'"
    ),
    ("ping-jsp.yml", 4): "ping.jsp: empty or binary answer",
    ("date-display.yml", 1): "date: expected YYYY/MM/DD HH:MM:SS, got '31/10/2018'",
    ("date-display.yml", 2): "date: expected YYYY/MM/DD HH:MM:SS, got ''",
    ("tracking-servers.yml", 4): "NmsTracking_ServerUrlList: 't2.example.com' is not an http(s) URL",
    ("tracking-servers.yml", 5): "NmsTracking_ServerUrlList: 'http://t1.example.com/$(reboot)' is not an http(s) URL",
    ("monitor-xml.yml", 2): "nlserver monitor: no <indicator> element under <monitoring>",
    ("monitor-xml.yml", 3): "indicator 'Core Files' current: value 'many' is not a number",
    ("config.yml", 8): "config: not well-formed XML (mismatched tag: line 13, column 2)",
    ("config.yml", 9): "inMail/@popMailPeriodSec: not a number of seconds: '5min'",
}


def test_every_sample_built_to_be_refused_is_listed_here() -> None:
    refused = {(name, i) for name in PARSERS for i, s in enumerate(_samples(name)) if s.get("valid", True) is False}
    assert refused == set(REFUSED)


@pytest.mark.parametrize(("name", "index"), sorted(REFUSED), ids=[f"{n}[{i}]" for n, i in sorted(REFUSED)])
def test_each_refused_sample_names_what_is_wrong(name: str, index: int) -> None:
    with pytest.raises(ParseError) as caught:
        PARSERS[name](_samples(name)[index]["sample"])
    assert str(caught.value) == REFUSED[(name, index)]


def test_an_excerpt_is_ascii_and_cut_after_eighty_characters() -> None:
    with pytest.raises(ParseError) as caught:
        cf.parse_ping("<" + "x" * 79)  # exactly 80 characters: not cut
    assert str(caught.value) == f"ping.jsp: a markup page, not a status line: '<{'x' * 79}'"
    with pytest.raises(ParseError) as caught:
        cf.parse_ping("<" + "x" * 80)
    assert str(caught.value) == f"ping.jsp: a markup page, not a status line: '<{'x' * 79}...'"
    with pytest.raises(ParseError) as caught:
        cf.parse_ping("<é")
    assert str(caught.value) == "ping.jsp: a markup page, not a status line: '<\\\\xe9'"


@pytest.mark.parametrize(
    ("parse", "what"),
    [(cf.parse_r_test, "/r/test"), (cf.parse_soap_fault, "SOAP answer"), (cf.parse_instance_config, "config")],
)
def test_an_empty_or_binary_xml_answer_is_named_as_such(parse: Callable[[str], object], what: str) -> None:
    for text in ("", " \n", "<redir status='OK'/>\x00"):
        with pytest.raises(ParseError) as caught:
            parse(text)
        assert str(caught.value) == f"{what}: empty or binary answer"
    with pytest.raises(ParseError) as caught:
        cf.parse_monitor("")
    assert str(caught.value) == "nlserver monitor: empty or binary answer"
    with pytest.raises(ParseError) as caught:
        cf.parse_ping("Ok\x00")
    assert str(caught.value) == "ping.jsp: empty or binary answer"


def test_r_test_attributes_left_out_are_empty() -> None:
    assert cf.parse_r_test("<redir status='OK'/>") == cf.RTest("OK", "", "", "", "", {})
    with pytest.raises(ParseError) as caught:
        cf.parse_r_test("<redir date='x'/>")
    assert str(caught.value) == "/r/test: expected <redir status=...>, got <redir>"


def _fault(inner: str) -> str:
    """Adobe's SOAP envelope (about-web-services.md) around a Fault made of ``inner``."""
    return (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
        f"<SOAP-ENV:Fault>{inner}</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def test_soap_fault_parts_left_out_are_empty_and_text_is_joined() -> None:
    assert cf.parse_soap_fault(_fault("<faultcode>SOAP-ENV:Client</faultcode>")) == cf.SoapFault(
        "SOAP-ENV:Client", "", ""
    )
    fault = cf.parse_soap_fault(
        _fault("<faultcode>SOAP-ENV:Server</faultcode><faultstring>a</faultstring><detail>x<b>y</b>z</detail>")
    )
    assert fault == cf.SoapFault("SOAP-ENV:Server", "a", "xyz")
    with pytest.raises(ParseError) as caught:
        cf.parse_soap_fault(_fault("<faultstring>Error while executing</faultstring>"))
    assert str(caught.value) == "SOAP answer: Fault without faultcode"


def _config(body: str) -> str:
    return f"<serverconf>{body}</serverconf>"


def test_config_booleans_and_their_errors() -> None:
    conf = cf.parse_instance_config(_config('<mta autoStart="1"/><stat autoStart="0"/><wfserver autoStart="TRUE"/>'))
    assert conf.auto_start == {"mta", "wfserver"} and conf.disabled == {"stat"}
    with pytest.raises(ParseError) as caught:
        cf.parse_instance_config(_config('<wfserver autoStart="yes"/>'))
    assert str(caught.value) == "wfserver/@autoStart: not a boolean: 'yes'"
    with pytest.raises(ParseError) as caught:
        cf.parse_instance_config("<serverConfig/>")
    assert str(caught.value) == "config: root element is <serverConfig>, expected <serverconf>"


def test_tracking_urls_skip_empty_entries_and_repeat_none() -> None:
    assert cf.parse_tracking_servers(",http://t1.example.com/;http://t1.example.com, https://t2.example.com/X/") == [
        "http://t1.example.com",
        "https://t2.example.com/X",
    ]


@pytest.mark.parametrize(
    "text",
    ["2018/01/01 00:00:00", "2018/12/31 23:59:60", "2018/01/31 23:59:59"],
)
def test_the_edges_of_a_date_are_accepted(text: str) -> None:
    assert cf.parse_date_display(text) == tuple(int(x) for x in text.replace("/", " ").replace(":", " ").split())


@pytest.mark.parametrize(
    "text",
    [
        "2018/00/01 00:00:00",
        "2018/13/01 00:00:00",
        "2018/01/00 00:00:00",
        "2018/01/32 00:00:00",
        "2018/01/01 24:00:00",
        "2018/01/01 00:60:00",
        "2018/01/01 00:00:61",
    ],
)
def test_a_date_out_of_range_is_named(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        cf.parse_date_display(f" {text} ")
    assert str(caught.value) == f"date: out of range: {text!r}"


MONITOR = _samples("monitor-xml.yml")


def test_monitor_display_texts_are_joined_with_their_labels() -> None:
    availability = cf.parse_monitor(MONITOR[1]["sample"])[1]
    assert availability.display == (
        "Last update of data: 2012-09-03 10:00; Availability last month: 100.00%; "
        "Availability this month: 100.00%; Recent downtime periods: 2012-07-04 11:10:00 - 11:19:59"
    )
    (one,) = cf.parse_monitor(
        "<monitoring><indicator name='x'><current display=' 5 files '/><current label='L' display=' '/>"
        "</indicator></monitoring>"
    )
    assert one.display == "5 files"


def test_monitor_reads_only_current_elements_as_the_current_value() -> None:
    (one,) = cf.parse_monitor(
        "<monitoring>\n<indicator\nname='Zombie Processes'>\n<warning value='2'/><current label='Current Value' "
        "value='1' display=''/><alert value='3'/><max value='4'/></indicator>\n</monitoring>"
    )
    assert one == cf.Indicator("Zombie Processes", 1.0, "", 2.0, 3.0, 4.0)


@pytest.mark.parametrize("element", ["warning", "alert", "max"])
def test_a_threshold_that_is_not_a_number_is_named(element: str) -> None:
    with pytest.raises(ParseError) as caught:
        cf.parse_monitor(
            f"<monitoring><indicator name='Zombie Processes'><{element} value='two'/></indicator></monitoring>"
        )
    assert str(caught.value) == f"indicator 'Zombie Processes' {element}: value 'two' is not a number"


def test_an_indicator_without_a_name_is_refused() -> None:
    for attrs in ("", " name=' '"):
        with pytest.raises(ParseError) as caught:
            cf.parse_monitor(f"<monitoring><indicator{attrs}><current value='0'/></indicator></monitoring>")
        assert str(caught.value) == "nlserver monitor: an <indicator> without a name"


def test_memory_levels_start_at_their_thresholds() -> None:
    assert cf.memory_level(1800, 1600, 1800) == "alert"
    assert cf.memory_level(1600, 1600, 1800) == "warning"
    assert cf.memory_level(1599.9, 1600, 1800) == "ok"


def test_a_url_written_with_and_without_its_trailing_slash_is_one_server() -> None:
    text = "http://t1.example.com http://t1.example.com/ https://t2.example.com/X/ https://t2.example.com/X"
    assert cf.parse_tracking_servers(text) == ["http://t1.example.com", "https://t2.example.com/X"]


def test_a_current_without_display_shows_nothing_and_a_display_keeps_its_letters() -> None:
    (one,) = cf.parse_monitor(
        "<monitoring><indicator name='Disk'><current value='3'/><current label='' display='XFS full'/>"
        "<current label='Mount' display=': /var :'/></indicator></monitoring>"
    )
    assert (one.current, one.display) == (3.0, "XFS full; Mount: : /var")


@pytest.mark.parametrize(
    ("posix", "python", "inside", "outside"),
    [
        ("[[:alnum:]]", "[0-9A-Za-z]", "aZ09", "-_ \t"),
        ("[[:alnum:]-]", "[0-9A-Za-z\\-]", "a-9", "_."),
        ("[0-9T:\\.-]", "[0-9T:\\\\.\\-]", "2T:.-\\", "Za"),
        ("[[:print:]]", "[\\x20-\\x7e]", " ~a", "\t\x7f"),
    ],
)
def test_a_posix_bracket_of_adobes_expression_reads_the_same_in_python(
    posix: str, python: str, inside: str, outside: str
) -> None:
    """How REDIR_LINE_RE is built from Adobe's sed expression: a POSIX bracket's backslash is itself, a
    class is its C-locale range, a last '-' is a literal (done at import, so tested here by hand)."""
    match = re.fullmatch(r"\[(.*)\]", posix)
    assert match is not None
    assert cf._bracket(match) == python
    assert all(re.fullmatch(python, c) for c in inside)
    assert not any(re.fullmatch(python, c) for c in outside)
