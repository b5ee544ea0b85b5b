"""The lab's options and front web server: getOption/formatDate in nlserver javascript read XtkOption as the
runner's tracking actions print them, the tracking run sets NmsTracking_LastConsolidation, and the front web
server hands /r/test and redirects to Tomcat (502 when Tomcat does not answer)."""

from __future__ import annotations

import calendar
import time
import urllib.error
import urllib.request

from labtools import nl, poll

from lab import Lab
from lab.base import FRONT_PORT
from runner.campaign_formats import DATE_FORMAT, parse_date_display, parse_r_test, parse_tracking_servers

HOST = "lab1"


def run_js(lab: Lab, script: str) -> tuple[int, str, str]:
    path = lab.hdir(HOST) / "run" / "test-options.js"
    lab.write(path, script + "\n")
    r = nl(lab, HOST, "javascript", "-instance:prod", "-file", str(path))
    return r.returncode, r.stdout, r.stderr


def printed(out: str) -> list[str]:
    """What the script's logInfo calls printed: console lines after Adobe's banner."""
    lines = [line.split(">   ", 1)[1] if ">   " in line else line for line in out.splitlines()]
    return [line for line in lines if not line.startswith("Application server for Adobe Campaign")]


def test_get_option_reads_the_tracking_servers(lab: Lab) -> None:
    rc, out, err = run_js(
        lab, 'logInfo(getOption("NmsTracking_ServerUrlList")); logInfo("[" + getOption("NoSuchOption") + "]")'
    )
    assert rc == 0, err
    lines = printed(out)
    assert parse_tracking_servers(lines[0]) == [f"http://{lab.addr(HOST)}:{FRONT_PORT}"]
    assert lines[1] == "[]"  # an option that does not exist reads empty


def test_format_date_prints_adobes_internal_format_and_the_tracking_run_sets_it(lab: Lab) -> None:
    def last_and_now() -> tuple[int, int]:
        rc, out, err = run_js(
            lab,
            f'logInfo(formatDate(getOption("NmsTracking_LastConsolidation"), "{DATE_FORMAT}") + "|" + '
            f'formatDate(new Date(), "{DATE_FORMAT}"))',
        )
        assert rc == 0, err
        last, now = printed(out)[0].split("|")
        return calendar.timegm((*parse_date_display(last), 0, 0, 0)), calendar.timegm(
            (*parse_date_display(now), 0, 0, 0)
        )

    lab.psql(
        "UPDATE XtkOption SET tsTimeStampValue=now() - interval '3 hours' WHERE sName='NmsTracking_LastConsolidation'",
        db="campaign_lab1",
    )
    last, now = last_and_now()
    assert 3 * 3600 - 5 <= now - last <= 3 * 3600 + 5 and abs(now - time.time()) < 5
    assert nl(lab, HOST, "tracking", "-instance:prod", "-download", "-update").returncode == 0
    last, now = last_and_now()
    assert now - last < 5


def test_front_web_server_hands_requests_to_tomcat(lab: Lab) -> None:
    front = f"http://{lab.addr(HOST)}:{FRONT_PORT}"
    with urllib.request.urlopen(f"{front}/r/test", timeout=5) as r:
        assert r.status == 200 and parse_r_test(r.read().decode()).ok
    assert nl(lab, HOST, "stop", "web@default").returncode == 0
    try:
        try:
            urllib.request.urlopen(f"{front}/r/test", timeout=5)
            raise AssertionError("the front answered while Tomcat is stopped")
        except urllib.error.HTTPError as e:
            assert e.code == 502 and b"Bad Gateway" in e.read()
    finally:
        assert nl(lab, HOST, "start", "web@default").returncode == 0
        poll(lambda: lab.status(HOST)["r_test"]["ok"], timeout=15)
