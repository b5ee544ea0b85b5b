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
