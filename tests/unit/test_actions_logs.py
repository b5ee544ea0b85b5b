"""Database errors in a module's log (Adobe's PGS-/ODB- samples), and lines with a documented code whose fix
is not a restart: reported, never a reason to restart the module."""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import campaign_formats, plan
from runner.actions import ACTIONS, Context
from runner.actions.logs import is_database_error
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.playbook import load_module

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe" / "log-lines.yml"
SAMPLES = [s for s in yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["samples"] if "database_error" in s]
CTX = Context(Host("prod1", (), {"instance": "prod", "nl6_root": "/nl6"}, "inv.yml:3"))
NOW = 1_700_000_000
ARGS = {"file": "{nl6_root}/var/{instance}/log/inMail.log", "window": 600}


def _line(seconds_ago: int, level: str, message: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - seconds_ago))
    assert calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) == NOW - seconds_ago
    return f"{stamp}.120Z\t7830\t7831\t1\t{level}\tinMail\t{message}"


def _judge(args: dict[str, Any], *lines: str) -> Verdict:
    out = f"{NOW}\n@@log\n" + "\n".join(lines) + "\n"
    return ACTIONS["log_errors"].judge(args, CTX, out, "", 0)


PGS = "PGS-220000 PostgreSQL error: could not connect to server 10.0.0.5:5432: Connection refused (iRc=-2006)"
ODB = "ODB-240000 ODBC error: [Microsoft][ODBC Driver Manager] Data source name not found."
INM = "INM-090031 Error while reading message 3 (iRc=-55)"
# a code of Adobe's table that is no database error, whose page's fix is a build upgrade (restart_helps no)
XTK = "XTK-170024 The temporary 'temp:group' schema is not defined in the current context"


def test_fixture_has_database_errors_and_others() -> None:
    flags = [s["database_error"] for s in SAMPLES]
    assert flags.count(True) >= 4 and flags.count(False) >= 2


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["sample"][40:90] for s in SAMPLES])
def test_database_errors_are_told_on_adobes_samples(sample: dict[str, Any]) -> None:
    entry = campaign_formats.parse_log_line(sample["sample"])
    assert is_database_error(entry.message) is sample["database_error"]


def test_only_database_errors_are_no_reason_to_restart_the_module() -> None:
    lines = (_line(30, "error", PGS), _line(20, "error", ODB), _line(10, "info", "POP3 session closed"))
    module = _judge(ARGS, *lines)  # the default: what a restart may answer
    assert module.passed and "2 database error line(s) left out" in module.message
    assert module.data["errors"] == [] and len(module.data["database_errors"]) == 2
    database = _judge({**ARGS, "errors": "database"}, *lines)
    assert database.failed and database.message.startswith("database problem: 2 database error line(s)")
    assert "a module restart cannot fix them" in database.message and "ODB-240000" in database.message
    assert _judge({**ARGS, "errors": "all"}, *lines).failed


def test_module_errors_still_count_beside_database_errors() -> None:
    lines = (_line(30, "error", PGS), _line(20, "error", INM))
    module = _judge(ARGS, *lines)
    assert module.failed and "INM-090031" in module.message and "1 database error line(s) left out" in module.message
    assert _judge({**ARGS, "errors": "database"}, _line(20, "error", INM)).passed
    # a database code on an info line (ODB-240007, configure-fda-teradata.md) is not an error
    info = "ODB-240007 Teradata: will use 'Europe Central' as session time zone."
    assert _judge({**ARGS, "errors": "database"}, _line(5, "info", info)).passed
    # outside the window, a database error is no finding either
    assert _judge({**ARGS, "errors": "database"}, _line(4000, "error", PGS)).passed


def test_a_documented_code_whose_fix_is_not_a_restart_is_no_reason_to_restart() -> None:
    """XTK-170024 (fixed by a build upgrade, rn/using/release-2021.md): left out of what a restart may
    answer, and reported by the ``unfixable`` check, as a database error is."""
    lines = (_line(30, "error", XTK), _line(20, "error", PGS))
    module = _judge(ARGS, *lines)
    assert module.passed and module.data["errors"] == [], module.message
    assert "2 error line(s) left out: a restart cannot fix them; 1 database, 1 with a code" in module.message
    unfixable = _judge({**ARGS, "errors": "unfixable"}, *lines)
    assert unfixable.failed and len(unfixable.data["unfixable_errors"]) == 2
    assert "that a module restart cannot fix (1 database error(s); 1 with a code" in unfixable.message
    assert "XTK-170024 x1 (The temporary" in unfixable.message
    # the database check still counts only database errors; alone, a database error keeps its own words
    assert len(_judge({**ARGS, "errors": "database"}, *lines).data["database_errors"]) == 1
    assert _judge({**ARGS, "errors": "unfixable"}, lines[1]).message.startswith("database problem: 1 database")
    assert _judge({**ARGS, "errors": "unfixable"}, _line(20, "error", INM)).passed


def test_an_unknown_code_is_not_guessed_to_be_unfixable() -> None:
    unknown = "ABC-123456 Something Adobe's pages do not name"
    assert _judge(ARGS, _line(20, "error", unknown)).failed  # a module error a restart may answer
    assert _judge({**ARGS, "errors": "unfixable"}, _line(20, "error", unknown)).passed


@pytest.mark.parametrize(
    ("module", "gate", "errors", "passing", "restart"),
    [
        (
            "inMail",
            "inmail_database_errors",
            "inmail_log_errors",
            ["inmail_running", "pop3_reachable"],
            "restart_inmail",
        ),
        (
            "trackinglogd",
            "trackinglogd_unfixable_errors",
            "trackinglogd_log_errors",
            ["trackinglogd_running"],
            "restart_trackinglogd",
        ),
    ],
)
def test_a_module_is_never_restarted_while_an_unfixable_error_is_logged(
    module: str, gate: str, errors: str, passing: list[str], restart: str
) -> None:
    """The ``unfixable`` check (database errors, codes fixed elsewhere) gates each log-driven restart."""
    pb = load_module(module)
    check = pb.steps_by_id[gate]
    assert check.args["errors"] == "unfixable" and not check.inform and check.action == "log_errors_since_start"
    assert pb.steps_by_id[errors].args.get("errors", "module") == "module"
    ran = {**{p: Verdict(Reading.PASSED, "up") for p in passing}, errors: Verdict(Reading.FAILED, "1 error")}
    ok = {**ran, gate: Verdict(Reading.PASSED, "none")}
    assert [s.id for s in plan.steps_to_run(pb, ok, {})] == [restart]
    for reading in (Reading.FAILED, Reading.UNDETERMINED):
        assert plan.steps_to_run(pb, {**ran, gate: Verdict(reading, "PGS-220000 / XTK-170024")}, {}) == []
