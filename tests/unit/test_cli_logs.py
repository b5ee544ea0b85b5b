"""``remediate triage CODE`` answers from Adobe's code table; ``remediate logs`` refuses bad input before any
host is touched, and reads a log's lines in Adobe's layout with each code named (run in-process, plus one
real subprocess; the lab test is tests/e2e/test_logs.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import logs as logs_cli
from runner.cli import main
from runner.console import Color

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


# --- triage CODE ----------------------------------------------------------------------------------------


def test_triage_a_known_code_names_meaning_page_restart_and_playbooks() -> None:
    code, out, _ = _run("triage", "PGS-220000")
    assert code == 0
    assert out.startswith("PGS-220000  PostgreSQL error\n")
    assert "Adobe's page: help/integrations/using/troubleshooting-the-acs-connector.md" in out
    assert "restart helps: no (a database error" in out
    assert "modules: wfserver" in out and "playbook: remediate wfserver --host HOST" in out
    code, out, _ = _run("triage", "bas-010007")  # any case
    assert code == 0 and "Function not implemented" in out and "playbook: none (no playbook for pipelined)" in out


def test_triage_an_unknown_code_says_it_is_not_in_adobes_table_and_exits_1() -> None:
    code, out, _ = _run("triage", "XYZ-123456")
    assert code == 1 and out == "XYZ-123456  unknown: not in Adobe's documented table (its meaning is not guessed)\n"
    code, out, _ = _run("triage", "PGS-229999")
    assert code == 1 and "unknown: not in Adobe's documented table" in out and "restart helps: no" in out


def test_triage_json_and_a_pasted_log_line_with_two_codes() -> None:
    line = "IOB-090020 Error in SSL library: 'IOB-090013 error:14090086:SSL routines: certificate verify failed'"
    code, out, _ = _run("triage", line, "--output", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["code"] for r in rows] == ["IOB-090020", "IOB-090013"]
    assert rows[0]["meaning"] == "Error in SSL library" and rows[0]["page"] == "help/rn/using/release-2021.md"
    assert rows[0]["restart_helps"] == "no" and rows[0]["playbooks"] == ["remediate wfserver"]
    code, out, _ = _run("triage", "INM-090031", "--output", "json")
    assert code == 1 and json.loads(out)[0] == {
        "code": "INM-090031",
        "known": False,
        "meaning": None,
        "page": None,
        "section": None,
        "restart_helps": "unknown",
        "why": None,
        "database": False,
        "modules": [],
        "playbooks": [],
    }


def test_triage_in_plain_words_is_unchanged() -> None:
    code, out, _ = _run("triage", "workflow stuck")
    assert code == 0 and out.split()[0] == "wfserver"


def test_triage_a_code_through_the_real_command_line() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "runner", "triage", "ODB-240000"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ODB-240000  ODBC error\n") and "restart helps: no" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "runner", "triage", "ABC-000001"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert res.returncode == 1 and "not in Adobe's documented table" in res.stdout


# --- logs: bad input, refused before any host ---------------------------------------------------------------


@pytest.fixture()
def inventory(tmp_path: Path) -> Path:
    """Hosts on a loopback address where nothing listens: a command that tried to reach one would end 3.
    The SSH user is the Campaign account (neolane), so no host is refused for the account it would reach."""
    path = tmp_path / "inv.yml"
    path.write_text(
        "all:\n  hosts:\n"
        "    web1: {ansible_host: 127.0.21.250, ansible_port: 1, ansible_user: neolane, instance: prod}\n"
        "    bare: {ansible_host: 127.0.21.251, ansible_port: 1, ansible_user: neolane}\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "--since: expected e.g. 24h, 30m, 7d or an ISO time, got 'yesterday'"),
        (["--grep", "(["], "--grep: not a regular expression"),
        (["--host", "nosuch"], "nosuch"),
    ],
)
def test_logs_bad_input_exits_2_before_any_host(inventory: Path, args: list[str], says: str) -> None:
    code, out, err = _run(
        "logs", "inMail", "-i", str(inventory), *(args if "--host" in args else ["--host", "web1", *args])
    )
    assert code == 2 and says in err and out == ""


def test_logs_needs_hosts_a_campaign_module_and_an_instance_for_a_per_instance_one(inventory: Path) -> None:
    code, _out, err = _run("logs", "inMail", "-i", str(inventory))
    assert code == 2 and "--host/--group/--limit: name the hosts to read" in err
    code, _out, err = _run("logs", "nosuch", "--host", "web1", "-i", str(inventory))
    assert code == 2 and "'nosuch' is not a Campaign module; one of: inMail," in err
    code, _out, err = _run("logs", "wfserver", "--host", "bare", "-i", str(inventory))
    assert code == 2 and "bare:" in err and "'instance' var" in err
    # a host that cannot be reached is named on stderr: exit 3 (the refusals above never got that far)
    code, out, err = _run("logs", "web", "--host", "bare", "-i", str(inventory), "--output", "json")
    assert code == 3 and "bare: not read:" in err and json.loads(out)["unread"][0]["host"] == "bare"


# --- logs: reading what a host printed ----------------------------------------------------------------------

CLOCK = 1_700_000_000  # 2023-11-14T22:13:20Z
READ = (
    f"{CLOCK}\n@@log\n"
    "2023-11-14T21:00:00.000Z\t7830\t7831\t1\terror\tinMail\tPGS-220000 PostgreSQL error: gone (iRc=-2006)\n"
    "2023-11-14T22:13:00.000Z\t7830\t7831\t1\tinfo\tinMail\tPOP3 session closed\n"
    "2023-11-14T22:13:10.000Z\t7830\t7831\t1\terror\tinMail\tXYZ-123456 Something (iRc=-1)\n"
    "a line in no documented layout PGS-220000\n"
)


def _read(since: str | None = None, grep: re.Pattern[str] | None = None, errors: bool = False) -> logs_cli.HostLog:
    log = logs_cli._parse("web1", "/nl6/var/prod/log/inMail.log", READ)
    assert log is not None and log.clock == CLOCK
    logs_cli._filter(log, since=since, grep=grep, errors=errors)
    return log


def test_lines_are_parsed_filtered_on_the_hosts_clock_and_their_codes_counted() -> None:
    every = _read()
    assert every.read == 4 and len(every.lines) == 4 and every.unreadable == 1
    assert every.codes == {"PGS-220000": 2, "XYZ-123456": 1}
    errors = _read(errors=True)
    assert [line["message"][:10] for line in errors.lines] == ["PGS-220000", "XYZ-123456"]
    recent = _read(since="10m", errors=True)  # 10 minutes before the host's clock, not this machine's
    assert [line["message"][:10] for line in recent.lines] == ["XYZ-123456"] and recent.codes == {"XYZ-123456": 1}
    grepped = _read(grep=re.compile("POP3|layout"))
    assert [line.get("level", "raw") for line in grepped.lines] == ["info", "raw"]
    assert logs_cli._parse("web1", "/x.log", "not a clock\n@@log\n") is None


def test_json_names_each_code_and_unknown_ones_as_unknown() -> None:
    doc = logs_cli._host_json(_read(errors=True))
    assert doc["lines_read"] == 4 and [c["code"] for line in doc["lines"] for c in line["codes"]] == [
        "PGS-220000",
        "XYZ-123456",
    ]
    assert doc["codes"]["PGS-220000"]["meaning"] == "PostgreSQL error" and doc["codes"]["PGS-220000"]["count"] == 1
    assert doc["codes"]["XYZ-123456"] == {
        "code": "XYZ-123456",
        "known": False,
        "meaning": None,
        "page": None,
        "restart_helps": "unknown",
        "count": 1,
    }


def test_text_highlights_codes_only_when_painting() -> None:
    line = _read(errors=True).lines[0]
    plain = logs_cli._line_text("", line, Color(False))
    assert plain == [
        "2023-11-14T21:00:00.000Z  error    PGS-220000 PostgreSQL error: gone (iRc=-2006)",
        f"{'':<26}^ PGS-220000: PostgreSQL error; restart helps: no",
    ]
    painted = logs_cli._line_text("web1", line, Color(True))
    assert painted[0].startswith("web1  2023-11-14T21:00:00.000Z  \x1b[31m")  # the level in red
    assert "\x1b[35m\x1b[1mPGS-220000\x1b[0m PostgreSQL error" in painted[0]  # the code highlighted
    assert "PostgreSQL error; restart helps: no" in painted[1]
    summary = logs_cli._summary(_read(errors=True))
    assert "2 of 4 line(s) shown, 1 not in Adobe's layout" in summary
    assert "PGS-220000 x1 (PostgreSQL error; a module restart cannot help)" in summary


def test_the_read_command_reads_the_rotated_file_first_and_bounds_the_lines(tmp_path: Path) -> None:
    """The command as logs sends it, run by a real shell on files laid out as Adobe's rotation leaves them."""
    from runner.actions.logs import read_command, split_read

    (tmp_path / "inMail_2.log").write_text("old 1\nold 2\n")
    (tmp_path / "inMail.log").write_text("new 1\n" + "x" * 50 + "\n")
    command = read_command(str(tmp_path / "inMail.log"), 3, width=10, most=1000)
    res = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=10)
    clock, _between, text = split_read(res.stdout)
    assert res.returncode == 0 and clock is not None and abs(clock - time.time()) < 60
    assert text.splitlines() == ["old 2", "new 1", "x" * 10]
    res = subprocess.run(["sh", "-c", read_command(str(tmp_path / "no.log"), 3)], capture_output=True, text=True)
    assert res.returncode == 2 and f"cannot read {tmp_path}/no.log" in res.stderr
