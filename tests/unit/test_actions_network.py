"""Network actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host

HOST = Host("prod1", (), {"instance": "prod", "address": "10.0.0.5", "syslogd_port": 514, "syslog_probe": True}, "-")
CTX = Context(HOST, run_id="3f2a9c0d11e4b5a6", attempt=2)
PDUMP = "12:00:00 >   Application server for Adobe Campaign Classic (7.X)\nsyslogd@default (700) - 9.2 MB\n"
PORT = {"module": "syslogd", "port": "{syslogd_port}", "proto": "udp"}


def test_port_command_looks_at_the_module_address_and_wildcards() -> None:
    cmd = ACTIONS["port_listening"].build(PORT, CTX)
    assert "a=10.0.0.5;" in cmd and "w='( sport = :514 ) and ( src 0.0.0.0 or src [::]'" in cmd
    assert 'ss -H -lune "$w"' in cmd
    # ss -p (every process's descriptors read) only runs when a socket is not the module's own
    assert '[ $f = 1 ] && for q in $(ss -H -lunp "$w"' in cmd
    # a name (TRACE_ADDR's localhost) is resolved by the host itself
    local = ACTIONS["port_listening"].build({**PORT, "address": "{syslogd_address}"}, CTX)
    assert "getent ahosts localhost" in local
    bad = Context(Host("h", (), {"address": "db example"}, "-"))
    with pytest.raises(Skip, match="neither an IP address nor a host name"):
        ACTIONS["port_listening"].build(PORT, bad)


SOCKET = "UNCONN 0 0 10.0.0.5:514 0.0.0.0:* uid:1001 ino:4242 sk:1 <->\n"
WILDCARD = "UNCONN 0 0 0.0.0.0:514 0.0.0.0:* uid:0 ino:777 sk:2 <->\n"
LOOPBACK = "UNCONN 0 0 127.0.0.1:666 0.0.0.0:* uid:1001 ino:4242 sk:3 <->\n"


def _out(ss: str, own: str, ps: str = "", mine: str = "", addr: str = "10.0.0.5", pdump: str = PDUMP) -> str:
    return f"{pdump}@@addr {addr}\n@@ss\n{ss}@@own {own}\n@@mine\n{mine}@@ps\n{ps}"


def test_port_listening_judges_owner_and_foreign_holders() -> None:
    judge = ACTIONS["port_listening"].judge
    ok = judge(PORT, CTX, _out(SOCKET, "3 4242 ", mine=SOCKET), "", 0)
    assert ok.passed and "pid 700" in ok.message and "at 10.0.0.5" in ok.message
    # the module's descriptors hold another socket: whoever holds this one is named by ss -p
    foreign = judge(PORT, CTX, _out(WILDCARD, "4242", "999 nc -lu 514\n"), "", 0)
    assert foreign.failed and foreign.data["foreign"][0]["pid"] == 999
    # ... or, when the SSH user cannot see that process, reported without a name (never a pass)
    hidden = judge(PORT, CTX, _out(WILDCARD, "4242"), "", 0)
    assert hidden.failed and "cannot see, on 0.0.0.0:514" in hidden.message
    # the module's descriptors cannot be read (another account): ss -p's holders decide, as they can
    unreadable = judge(PORT, CTX, _out(SOCKET, "unreadable", "700 nlserver syslogd\n"), "", 0)
    assert unreadable.passed
    assert judge(PORT, CTX, _out("", ""), "", 0).failed  # nothing listens
    stopped = judge(PORT, CTX, _out(WILDCARD, "unreadable", "999 nc -lu 514\n", pdump="No tasks\n"), "", 0)
    assert stopped.failed and stopped.data["foreign"][0]["pid"] == 999
    assert judge(PORT, CTX, "no markers at all", "", 0).undetermined
    not_foreign = ACTIONS["port_not_foreign"].judge(PORT, CTX, _out("", ""), "", 0)
    assert not_foreign.passed  # nothing else holds it, even if syslogd does not listen


def test_a_module_listening_elsewhere_is_undetermined_never_a_restart() -> None:
    """syslogd runs and holds udp 127.0.0.1:666 while the check was given 514 (a setting moved by the
    host, such as Adobe's 666/6666 discrepancy): restarting it would bind the same place again."""
    judge = ACTIONS["port_listening"].judge
    moved = judge(PORT, CTX, _out("", "4242", mine=LOOPBACK), "", 0)
    assert moved.undetermined and not moved.failed
    assert "listens on udp 127.0.0.1:666, not on 514 at 10.0.0.5" in moved.message and "restart" in moved.message
    assert ACTIONS["port_not_foreign"].judge(PORT, CTX, _out("", "4242", mine=LOOPBACK), "", 0).passed


def test_a_loopback_bind_at_the_trace_address_is_healthy() -> None:
    args = {**PORT, "address": "{syslogd_address}"}
    local = "UNCONN 0 0 127.0.0.1:514 0.0.0.0:* uid:1001 ino:4242 sk:3 <->\n"
    ok = ACTIONS["port_listening"].judge(args, CTX, _out(local, "4242", mine=local, addr="127.0.0.1 ::1"), "", 0)
    assert ok.passed and "at localhost (127.0.0.1, ::1)" in ok.message
    unresolved = ACTIONS["port_listening"].judge(args, CTX, _out("", "4242", addr=""), "", 0)
    assert unresolved.undetermined and "does not resolve" in unresolved.message


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_the_port_command_runs_in_sh_and_finds_the_module_socket(tmp_path: Path) -> None:
    """The built command on a real sh: ss and getent stubbed, the module's pid this test's own process,
    whose real socket inode the awk filter must find among the module's listening sockets."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        inode = os.fstat(sock.fileno()).st_ino
        line = f"UNCONN 0 0 127.0.0.1:666 0.0.0.0:* uid:1001 ino:{inode} sk:3 <->"
        banner = "12:00:00 >   Application server for Adobe Campaign Classic (7.X)"
        _stub(tmp_path, "nlserver", f"echo '{banner}'; echo 'syslogd@default ({os.getpid()}) - 9 MB'\n")
        _stub(tmp_path, "getent", "printf '127.0.0.1 STREAM localhost\\n::1 STREAM localhost\\n'\n")
        # with a filter (the module's address): nothing there; without: the module's socket on 666
        _stub(tmp_path, "ss", f'case "$*" in *sport*) ;; *) echo "{line}" ;; esac\n')
        host = Host("h", (), {"instance": "prod", "nlserver": str(tmp_path / "nlserver")}, "-")
        args = {**PORT, "address": "{syslogd_address}", "port": "6666"}
        ctx = Context(host)
        cmd = ACTIONS["port_listening"].build(args, ctx)
        env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}
        res = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, check=False)
        verdict = ACTIONS["port_listening"].judge(args, ctx, res.stdout, res.stderr, res.returncode)
    finally:
        sock.close()
    assert res.returncode == 0, res.stderr
    assert verdict.undetermined, verdict
    assert verdict.data["listening"] == ["127.0.0.1:666"] and verdict.data["resolved"] == ["127.0.0.1", "::1"]


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
    local = ACTIONS["syslog_roundtrip"].build({**args, "address": "{syslogd_address}"}, CTX)
    assert "/dev/udp/localhost/514" in local  # TRACE_ADDR's host, else local
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
