"""log_errors, tcp_banner and path_present without a host: commands and verdicts on Adobe-shaped output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host
from runner.outcomes import Verdict

HOST = Host("prod1", (), {"instance": "prod", "nl6_root": "/nl6", "pop3_server": "127.0.0.9:1110"}, "inv.yml:3")
CTX = Context(HOST)
NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
INMAIL = {"file": "{nl6_root}/var/{instance}/log/inMail.log", "window_from": "popMailPeriodSec"}


def _line(seconds_ago: int, level: str, message: str) -> str:
    import calendar
    import time

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - seconds_ago))
    assert calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) == NOW - seconds_ago
    return f"{stamp}.120Z\t7830\t7831\t1\t{level}\tinMail\t{message}"


def _judge(name: str, args: dict[str, object], out: str, rc: int = 0, err: str = "") -> Verdict:
    return ACTIONS[name].judge(args, CTX, out, err, rc)


def _log(config: str, *lines: str) -> str:
    return f"{NOW}\n@@config\n{config}\n@@log\n" + "\n".join(lines) + "\n"


def test_log_errors_window_is_the_configured_polling_period() -> None:
    command = ACTIONS["log_errors"].build(INMAIL, CTX)
    assert "cat /nl6/conf/config-prod.xml" in command and "tail -n 2000 /nl6/var/prod/log/inMail.log" in command
    old_error = _line(400, "error", "INM-110004 Unable to connect to POP3 server (iRc=-55)")
    quiet = _judge("log_errors", INMAIL, _log("", old_error, _line(10, "info", "0 message(s) processed")))
    assert quiet.passed and "300s" in quiet.message  # Adobe's default period: the old error is outside it
    longer = '<serverconf><inMail autoStart="true" popMailPeriodSec="600"/></serverconf>'
    flagged = _judge("log_errors", INMAIL, _log(longer, old_error))
    assert flagged.failed and "INM-110004" in flagged.message


def test_log_errors_cannot_decide_on_an_unknown_layout_or_unreadable_file() -> None:
    assert _judge("log_errors", INMAIL, _log("", "some text in another layout")).undetermined
    assert _judge("log_errors", INMAIL, "", rc=2, err="cannot read").undetermined
    assert _judge("log_errors", INMAIL, _log("<notconfig/>", _line(1, "error", "x"))).undetermined


def test_tcp_banner_reaches_the_pop3_server_from_the_host() -> None:
    args = {"server_var": "pop3_server", "expect": r"^\+OK"}
    assert "/dev/tcp/127.0.0.9/1110" in ACTIONS["tcp_banner"].build(args, CTX)
    assert _judge("tcp_banner", args, "+OK POP3 ready\n").passed
    assert _judge("tcp_banner", args, "-ERR busy\n").failed
    assert _judge("tcp_banner", args, "", rc=3, err="bash: connect: Connection refused").failed
    with pytest.raises(Skip, match="pop3_missing"):
        ACTIONS["tcp_banner"].build({"server_var": "pop3_missing"}, CTX)


def test_path_present_is_a_gate() -> None:
    args = {"path": "{nl6_root}/var/{instance}/redir", "absent_means": "not a redirection server"}
    assert "/nl6/var/prod/redir" in ACTIONS["path_present"].build(args, CTX)
    assert _judge("path_present", args, "present\n").passed
    absent = _judge("path_present", args, "absent\n")
    assert absent.not_applicable and "not a redirection server" in absent.message
    assert _judge("path_present", args, "", rc=1).undetermined


def test_log_errors_reads_across_adobes_rotation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After a rotation (<module>.log -> <module>_2.log) the current file may not exist yet: the rotated
    file is still read, so a recent error is not lost; with neither file, the check cannot decide."""
    import subprocess

    host = Host("p", (), {"instance": "prod", "nl6_root": str(tmp_path)}, "t:1")
    ctx = Context(host)
    args = {"file": "{nl6_root}/inMail.log", "window": 600}
    import time

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    (tmp_path / "inMail_2.log").write_text(f"{stamp}.1Z\t1\t1\t1\terror\tinMail\tINM-090024 cannot connect (iRc=-55)\n")
    command = ACTIONS["log_errors"].build(args, ctx)
    res = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    verdict = ACTIONS["log_errors"].judge(args, ctx, res.stdout, res.stderr, res.returncode)
    assert verdict.failed and "INM-090024" in verdict.message
    (tmp_path / "inMail_2.log").unlink()
    res = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert ACTIONS["log_errors"].judge(args, ctx, res.stdout, res.stderr, res.returncode).undetermined


# --- the POP3 probe speaks what the mailbox speaks (external-accounts.md, "Bounce mails") ----------

POP3 = {"server_var": "pop3_server", "expect": r"^\+OK", "protocol": "pop3"}


def _pop3_ctx(server: str, **extra: object) -> Context:
    return Context(Host("prod1", (), {"instance": "prod", "pop3_server": server, **extra}, "inv.yml:3"))


def _pop3_judge(ctx: Context, out: str, rc: int = 0, err: str = "") -> Verdict:
    return ACTIONS["tcp_banner"].judge(POP3, ctx, out, err, rc)


def test_pop3_probe_speaks_tls_on_pop3s() -> None:
    for ctx in (_pop3_ctx("mail.example.com:995"), _pop3_ctx("mail.example.com:1995", pop3_encryption="pop3s")):
        command = ACTIONS["tcp_banner"].build(POP3, ctx)
        assert "openssl s_client -connect mail.example.com:" in command and "-servername mail.example.com" in command
        assert "/dev/tcp/mail.example.com/" in command  # TCP first: "unreachable" means it
        verdict = _pop3_judge(ctx, "+OK Dovecot ready.\n")
        assert verdict.passed and "over TLS" in verdict.message and verdict.data["tls"]
    for plain in (_pop3_ctx("mail.example.com:110"), _pop3_ctx("mail.example.com:995", pop3_encryption="starttls")):
        command = ACTIONS["tcp_banner"].build(POP3, plain)
        assert "openssl" not in command and "read -r -t 5 line" in command  # STARTTLS greets in plain first
    generic = ACTIONS["tcp_banner"].build({"server_var": "pop3_server"}, _pop3_ctx("mail.example.com:995"))
    assert "openssl" not in generic  # only protocol pop3 knows POP3S


def test_pop3_probe_cannot_probe_oauth_and_says_so() -> None:
    with pytest.raises(Skip, match=r"cannot probe.*OAuth 2\.0"):
        ACTIONS["tcp_banner"].build(POP3, _pop3_ctx("outlook.office365.com:995", pop3_oauth=True))


def test_pop3_probe_that_cannot_tell_is_undetermined_never_unreachable() -> None:
    tls = _pop3_ctx("mail.example.com:995")
    silent = _pop3_judge(tls, "", rc=0)
    assert silent.undetermined and "cannot probe" in silent.message and "cannot reach" not in silent.message
    no_openssl = _pop3_judge(tls, "", rc=4)
    assert no_openssl.undetermined and "openssl" in no_openssl.message
    odd_port = _pop3_ctx("mail.example.com:2110")  # TLS or plain? a plain greeting is tried
    unknown = _pop3_judge(odd_port, "", rc=0)
    assert unknown.undetermined and "pop3_encryption: pop3s" in unknown.message
    assert _pop3_judge(odd_port, "+OK ready\n").passed
    refused = _pop3_judge(tls, "", rc=3, err="bash: connect: Connection refused")
    assert refused.failed and "cannot reach mail.example.com:995" in refused.message
    assert _pop3_judge(_pop3_ctx("mail.example.com:110"), "-ERR busy\n").failed


def test_pop3s_probe_reads_the_greeting_of_a_real_tls_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The command runs for real against a local POP3S server (a self-signed certificate: not judged)."""
    import shutil
    import socket
    import ssl
    import subprocess
    import threading

    if not (shutil.which("openssl") and shutil.which("bash") and shutil.which("timeout")):
        pytest.skip("openssl, bash and timeout are needed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    made = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("openssl cannot make a certificate here")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(cert), str(key))
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(2):  # the TCP check, then the TLS session
            conn, _addr = server.accept()
            try:
                with tls.wrap_socket(conn, server_side=True) as session:
                    session.sendall(b"+OK POP3S ready\r\n")
                    session.recv(64)
                    session.sendall(b"+OK bye\r\n")
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ctx = _pop3_ctx(f"127.0.0.1:{port}", pop3_encryption="pop3s")
    command = ACTIONS["tcp_banner"].build(POP3, ctx)
    res = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20, check=False)
    server.close()
    verdict = ACTIONS["tcp_banner"].judge(POP3, ctx, res.stdout, res.stderr, res.returncode)
    assert verdict.passed and "+OK POP3S ready" in verdict.message, (res.stdout, res.stderr)
    plain = _pop3_ctx(f"127.0.0.1:{port}", pop3_encryption="pop3")  # nothing listens any more
    res = subprocess.run(
        ["sh", "-c", ACTIONS["tcp_banner"].build(POP3, plain)], capture_output=True, text=True, timeout=20, check=False
    )
    assert ACTIONS["tcp_banner"].judge(POP3, plain, res.stdout, res.stderr, res.returncode).failed
