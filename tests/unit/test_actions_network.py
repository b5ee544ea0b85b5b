"""Network actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host

HOST = Host("prod1", (), {"instance": "prod", "address": "10.0.0.5", "syslogd_port": 514, "syslog_probe": True}, "-")
CTX = Context(HOST, run_id="3f2a9c0d11e4b5a6", attempt=2)
PDUMP = "12:00:00 >   Application server for Adobe Campaign Classic (7.X)\nsyslogd@default (700) - 9.2 MB\n"
PORT = {"module": "syslogd", "port": "{syslogd_port}", "proto": "udp"}


def test_port_command_looks_at_the_host_address_and_wildcards() -> None:
    cmd = ACTIONS["port_listening"].build(PORT, CTX)
    where = "'( sport = :514 ) and ( src 10.0.0.5 or src 0.0.0.0 or src [::] )'"
    assert f"ss -H -lune {where}" in cmd
    # ss -p (every process's descriptors read) only runs when a socket is not the module's own
    assert f"[ $f = 1 ] && for q in $(ss -H -lunp {where}" in cmd
    bad = Context(Host("h", (), {"address": "db.example"}, "-"))
    with pytest.raises(Skip, match="not an IP address"):
        ACTIONS["port_listening"].build(PORT, bad)


SOCKET = "UNCONN 0 0 10.0.0.5:514 0.0.0.0:* uid:1001 ino:4242 sk:1 <->\n"
WILDCARD = "UNCONN 0 0 0.0.0.0:514 0.0.0.0:* uid:0 ino:777 sk:2 <->\n"


def test_port_listening_judges_owner_and_foreign_holders() -> None:
    judge = ACTIONS["port_listening"].judge
    ok = judge(PORT, CTX, PDUMP + "@@ss\n" + SOCKET + "@@own 3 4242 \n@@ps\n", "", 0)
    assert ok.passed and "pid 700" in ok.message
    # the module's descriptors hold another socket: whoever holds this one is named by ss -p
    foreign = judge(PORT, CTX, PDUMP + "@@ss\n" + WILDCARD + "@@own 4242\n@@ps\n999 nc -lu 514\n", "", 0)
    assert foreign.failed and foreign.data["foreign"][0]["pid"] == 999
    # ... or, when the SSH user cannot see that process, reported without a name (never a pass)
    hidden = judge(PORT, CTX, PDUMP + "@@ss\n" + WILDCARD + "@@own 4242\n@@ps\n", "", 0)
    assert hidden.failed and "cannot see, on 0.0.0.0:514" in hidden.message
    # the module's descriptors cannot be read (another account): ss -p's holders decide, as they can
    unreadable = judge(PORT, CTX, PDUMP + "@@ss\n" + SOCKET + "@@own unreadable\n@@ps\n700 nlserver syslogd\n", "", 0)
    assert unreadable.passed
    assert judge(PORT, CTX, PDUMP + "@@ss\n@@own \n@@ps\n", "", 0).failed  # nothing listens
    stopped = judge(PORT, CTX, "No tasks\n@@ss\n" + WILDCARD + "@@own unreadable\n@@ps\n999 nc -lu 514\n", "", 0)
    assert stopped.failed and stopped.data["foreign"][0]["pid"] == 999
    assert judge(PORT, CTX, "no markers at all", "", 0).undetermined
    not_foreign = ACTIONS["port_not_foreign"].judge(PORT, CTX, PDUMP + "@@ss\n@@own \n@@ps\n", "", 0)
    assert not_foreign.passed  # nothing else holds it, even if syslogd does not listen


def test_http_probe() -> None:
    args = {"url": "http://{address}:8080/r/test", "expect": "status='OK'", "headers": ["Host: {address}"]}
    cmd = ACTIONS["http_probe"].build(args, CTX)
    assert (
        cmd.startswith("curl -sS -m 5 ") and "'Host: 10.0.0.5'" in cmd and cmd.endswith("http://10.0.0.5:8080/r/test")
    )
    judge = ACTIONS["http_probe"].judge
    assert judge(args, CTX, "<redir status='OK'/>\n@@http 200", "", 0).passed
    assert judge(args, CTX, "<redir status='KO'/>\n@@http 200", "", 0).failed
    assert judge(args, CTX, "\n@@http 500", "", 0).failed
    assert judge(args, CTX, "", "curl: (7) Failed to connect", 7).failed
    with pytest.raises(ValueError, match="invalid url"):
        ACTIONS["http_probe"].build({"url": "file:///etc/passwd"}, CTX)


def test_syslog_token_derives_from_run_and_attempt() -> None:
    args = {"port": "{syslogd_port}", "file": "/var/log/remediate.log"}
    cmd = ACTIONS["syslog_roundtrip"].build(args, CTX)
    assert "remediate-syslog-probe-3f2a9c0d11e4b5a6-2" in cmd and "/dev/udp/10.0.0.5/514" in cmd
    assert ACTIONS["syslog_roundtrip"].build(args, CTX) == cmd  # same run, same text
    other = ACTIONS["syslog_roundtrip"].build(args, Context(HOST, run_id="3f2a9c0d11e4b5a6", attempt=3))
    assert other != cmd
    assert "remediate-syslog-probe-norun-0" in ACTIONS["syslog_roundtrip"].build(args, Context(HOST))
    with pytest.raises(ValueError, match="run id"):
        ACTIONS["syslog_roundtrip"].build(args, Context(HOST, run_id="x$(reboot)"))
    judge = ACTIONS["syslog_roundtrip"].judge
    assert judge(args, CTX, "@@token t\n3:line\n", "", 0).passed
    assert judge(args, CTX, "@@token t\n", "", 1).failed
    assert judge(args, CTX, "", "bash: connect: refused", 3).failed


def test_syslog_probe_off_by_default() -> None:
    with pytest.raises(Skip, match="syslog_probe"):
        ACTIONS["syslog_roundtrip"].build({"port": 514, "file": "/x"}, Context(Host("h", (), {}, "-")))
