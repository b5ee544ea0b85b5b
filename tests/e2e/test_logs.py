"""``remediate logs`` on the lab: a module's log read over SSH, Adobe's message codes named, nothing changed.

The lines are sent to the host's syslogd as its modules send theirs (one UDP record: ``module@instance``,
pid, level, message), so the lab's syslogd writes them in Adobe's layout into the module's log.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

from tests.e2e.playbook_helpers import INSTANCE, pids
from tests.support.wait import wait_until

INMAIL = f"inMail@{INSTANCE}"


def _send(lab, host, *records: tuple[str, str]) -> str:
    """Each (level, message) as a record of inMail to the host's syslogd; wait until its log holds them.
    Returns a token that every message carries."""
    token = uuid.uuid4().hex[:12]
    log = lab.var_dir(host) / INSTANCE / "log" / "inMail.log"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for level, message in records:
            s.sendto(f"{INMAIL}\t4242\t{level}\t{message} [{token}]".encode(), lab.trace_addr(host))
    wait_until(
        lambda: log.exists() and log.read_text(errors="replace").count(token) == len(records),
        15,
        "syslogd writes the records into inMail.log",
    )
    return token


PGS = "PGS-220000 PostgreSQL error: could not connect to server: Connection refused (iRc=-2006)"
UNKNOWN = "XYZ-123456 Something Adobe does not document (iRc=-1)"


def test_logs_names_adobes_codes_and_changes_nothing(lab, remediate, host):
    log = lab.var_dir(host) / INSTANCE / "log" / "inMail.log"
    kept = log.read_text(errors="replace")
    try:
        before = pids(lab.status(host))
        token = _send(lab, host, ("error", PGS), ("error", UNKNOWN), ("info", "POP3 session closed"))
        size = log.stat().st_size
        res = remediate("logs", "inMail", "--host", host, "--errors")
        assert res.returncode == 0, res.stderr
        shown = [line for line in res.stdout.splitlines() if token in line]
        assert len(shown) == 2 and "\terror\t" not in res.stdout  # Adobe's layout, printed in columns
        assert "PGS-220000: PostgreSQL error; restart helps: no" in res.stdout
        assert "XYZ-123456: unknown: not in Adobe's documented table" in res.stdout
        assert "POP3 session closed" not in res.stdout  # --errors: an info line is left out
        assert "\x1b[" not in res.stdout  # no terminal: no colour
        assert "PGS-220000 x1 (PostgreSQL error; a module restart cannot help" in res.stderr
        # JSON, narrowed by --grep and --since on the host's clock
        res = remediate("logs", "inmail", "--host", host, "--grep", token, "--since", "10m", "--output", "json")
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        (only,) = doc["hosts"]
        assert only["host"] == host and only["file"].endswith(f"/{INSTANCE}/log/inMail.log")
        assert [line["level"] for line in only["lines"]] == ["error", "error", "info"]
        first = only["lines"][0]
        assert first["category"] == "inMail" and first["pid"] == 4242
        assert first["codes"] == [
            {
                "code": "PGS-220000",
                "known": True,
                "meaning": "PostgreSQL error",
                "page": "help/integrations/using/troubleshooting-the-acs-connector.md",
                "restart_helps": "no",
            }
        ]
        assert only["codes"]["XYZ-123456"]["known"] is False and only["codes"]["XYZ-123456"]["count"] == 1
        # read-only: the log was not written to by the reads and no process was touched
        assert log.read_text(errors="replace")[:size].count(token) == 3
        assert pids(lab.status(host)) == before
    finally:
        lab.write(log, kept, in_place=True)  # the lines sent here leave the log (syslogd appends to the same file)


def test_logs_follows_the_hosts_var_dir_and_refuses_bad_input_before_any_host(lab, remediate, host):
    lab.break_(host, "var_dir_moved")  # XTK_VAR_DIR in customer.sh: the logs leave nl6/var
    moved = lab.var_dir(host)
    assert moved != lab.hdir(host) / "nl6" / "var"
    token = _send(lab, host, ("error", PGS))
    res = remediate("logs", "inMail", "--host", host, "--grep", token)
    assert res.returncode == 0, res.stderr
    assert token in res.stdout and "PGS-220000: PostgreSQL error" in res.stdout
    assert str(moved) in res.stderr  # the file read, from the host's own XTK_VAR_DIR
    started = time.time()
    for bad in (("--since", "yesterday"), ("--grep", "([")):
        res = remediate("logs", "inMail", "--host", host, *bad)
        assert res.returncode == 2 and bad[0] in res.stderr and res.stdout == ""
    assert time.time() - started < 20
