"""The instance's tracking options: tracking_servers (/r/test through each URL of NmsTracking_ServerUrlList,
reported per server) and tracking_consolidated (NmsTracking_LastConsolidation's age), their commands run for
real in ``sh`` against a stand-in ``nlserver`` and a local HTTP server answering Adobe's /r/test sample; and
the tracking playbook's rules: a stopped workflow is started only on confirmation, the tracking utility only
on request and never in a run that starts the workflow, nothing for a tracking server."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.actions import ACTIONS, Context
from runner.actions.base import Effect
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.plan import steps_to_run
from runner.playbook import load_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
R_TEST_OK = yaml.safe_load((FIXTURES / "r-test.yml").read_text())["samples"][0]["sample"]


def console(*lines: str) -> str:
    """Lines as nlserver javascript's logInfo prints them (Adobe's console prefix)."""
    return "".join(f"12:00:00 >   {line}\n" for line in lines)


def options(values: dict[str, str]) -> str:
    out = ""
    for name, value in values.items():
        out += console(f"@@opt {name} begin", value, f"@@opt {name} end")
    return out


@pytest.fixture()
def tracking_server() -> Iterator[str]:
    """A tracking server on 127.0.0.1 answering Adobe's /r/test sample."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            ok = self.path == "/r/test"
            body = (R_TEST_OK if ok else "<html>Not Found</html>").encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_nlserver(tmp_path: Path, printed: str, rc: int = 0) -> Context:
    """A context whose nlserver prints ``printed`` for any javascript file (and exits ``rc``)."""
    out = tmp_path / "printed.txt"
    out.write_text(printed)
    script = tmp_path / "nlserver"
    script.write_text(f"#!/bin/sh\ncat '{out}'\nexit {rc}\n")
    script.chmod(0o755)
    return Context(Host("prod1", (), {"instance": "prod", "nlserver": str(script)}, "inv.yml:3"))


def run(name: str, args: dict[str, Any], ctx: Context) -> Verdict:
    command = ACTIONS[name].build(args, ctx)
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    return ACTIONS[name].judge(args, ctx, done.stdout, done.stderr, done.returncode)


# --- tracking_servers ----------------------------------------------------------------------------------


def test_the_server_that_does_not_answer_is_named(tmp_path: Path, tracking_server: str) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    printed = options({"NmsTracking_ServerUrlList": f"{tracking_server},{down}/", "NmsTracking_ServerUrl": ""})
    verdict = run("tracking_servers", {}, fake_nlserver(tmp_path, printed))
    assert verdict.failed, verdict
    assert f"{down} does not answer" in verdict.message and f"answering: {tracking_server}" in verdict.message
    assert "nothing is restarted" in verdict.message
    assert verdict.data["servers"][tracking_server]["ok"] is True
    assert verdict.data["servers"][down]["ok"] is False


def test_every_server_answering_passes(tmp_path: Path, tracking_server: str) -> None:
    printed = options(
        {"NmsTracking_ServerUrlList": f"{tracking_server}; {tracking_server}", "NmsTracking_ServerUrl": ""}
    )
    verdict = run("tracking_servers", {}, fake_nlserver(tmp_path, printed))
    assert verdict.passed and list(verdict.data["servers"]) == [tracking_server], verdict


def test_an_empty_list_falls_back_on_the_tracking_url(tmp_path: Path, tracking_server: str) -> None:
    """deploying-an-instance.md: "If you do not specify a URL, the tracking URL will be used by default"."""
    printed = options({"NmsTracking_ServerUrlList": "", "NmsTracking_ServerUrl": tracking_server})
    verdict = run("tracking_servers", {}, fake_nlserver(tmp_path, printed))
    assert verdict.passed and verdict.data["option"] == "NmsTracking_ServerUrl", verdict
    nothing = options({"NmsTracking_ServerUrlList": "", "NmsTracking_ServerUrl": "undefined"})
    assert run("tracking_servers", {}, fake_nlserver(tmp_path, nothing)).not_applicable


def test_an_entry_that_is_not_a_url_is_never_probed(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    printed = options(
        {
            "NmsTracking_ServerUrlList": f"http://127.0.0.1:1/$(touch {pwned}),`touch {pwned}`",
            "NmsTracking_ServerUrl": "",
        }
    )
    ctx = fake_nlserver(tmp_path, printed)
    verdict = run("tracking_servers", {}, ctx)
    assert verdict.undetermined and "not an http(s) URL" in verdict.message
    assert not pwned.exists()
    probed = subprocess.run(["sh", "-c", ACTIONS["tracking_servers"].build({}, ctx)], capture_output=True, text=True)
    assert "@@server" not in probed.stdout


def test_a_script_that_fails_is_undetermined(tmp_path: Path) -> None:
    printed = "12:00:00 >   PGS-220000 PostgreSQL error: could not connect to server\n"
    verdict = run("tracking_servers", {}, fake_nlserver(tmp_path, printed, rc=1))
    assert verdict.undetermined and "PGS-220000" in verdict.message


def test_a_server_in_another_shape_is_undetermined_an_error_page_fails(tmp_path: Path) -> None:
    ctx = fake_nlserver(tmp_path, "")
    out = options({"NmsTracking_ServerUrlList": "http://t1.example.com", "NmsTracking_ServerUrl": ""})
    other = out + "@@server http://t1.example.com\n<html>hello</html>\n@@http 200\n@@done http://t1.example.com\n"
    assert ACTIONS["tracking_servers"].judge({}, ctx, other, "", 0).undetermined
    error = out + "@@server http://t1.example.com\n<html>Bad Gateway</html>\n@@http 502\n@@done http://t1.example.com\n"
    assert ACTIONS["tracking_servers"].judge({}, ctx, error, "", 0).failed
    missing = ACTIONS["tracking_servers"].judge({}, ctx, out, "", 0)
    assert missing.undetermined and "was not probed" in missing.message


# --- tracking_consolidated -----------------------------------------------------------------------------


def consolidated(last: str, now: str, raw: str | None = None) -> str:
    values = {"NmsTracking_LastConsolidation": last if raw is None else raw, "dates": f"{last}\t{now}"}
    return options(values)


@pytest.mark.parametrize(
    ("last", "now", "reading"),
    [
        ("2024/03/15 14:10:02", "2024/03/15 15:40:02", Reading.PASSED),  # 1.5 h: within two hourly runs
        ("2024/03/15 08:10:02", "2024/03/15 14:10:02", Reading.FAILED),  # 6 h
        ("2024/03/15 14:10:02", "2024/03/15 14:00:00", Reading.PASSED),  # a clock a little behind
    ],
)
def test_last_consolidation_age(tmp_path: Path, last: str, now: str, reading: Reading) -> None:
    verdict = run("tracking_consolidated", {}, fake_nlserver(tmp_path, consolidated(last, now)))
    assert verdict.reading is reading, verdict
    if reading is Reading.FAILED:
        assert "6.0 h ago" in verdict.message and "tracking_max_age 7200s" in verdict.message


def test_last_consolidation_unset_unreadable_or_failing(tmp_path: Path) -> None:
    empty = run("tracking_consolidated", {}, fake_nlserver(tmp_path, consolidated("", "2024/03/15 14:10:02")))
    assert empty.failed and "never been consolidated" in empty.message
    odd = consolidated("15.03.2024 14:10", "2024/03/15 14:10:02")
    assert run("tracking_consolidated", {}, fake_nlserver(tmp_path, odd)).undetermined
    failing = run("tracking_consolidated", {}, fake_nlserver(tmp_path, "JST-310000 Error\n", rc=1))
    assert failing.undetermined


def test_consolidated_reads_documented_functions_only(tmp_path: Path) -> None:
    command = ACTIONS["tracking_consolidated"].build({}, fake_nlserver(tmp_path, ""))
    assert 'getOption("NmsTracking_LastConsolidation")' in command
    assert 'formatDate(new Date(), "%4Y/%2M/%2D %2H:%2N:%2S")' in command
    assert "lastRun" not in command
    short = Context(Host("p", (), {"instance": "prod", "tracking_max_age": 600}, "inv.yml:1"))
    verdict = ACTIONS["tracking_consolidated"].judge(
        {}, short, consolidated("2024/03/15 14:00:00", "2024/03/15 14:20:00"), "", 0
    )
    assert verdict.failed and "600s" in verdict.message


# --- the tracking playbook -----------------------------------------------------------------------------

PLAYBOOK = load_module("tracking")
CHECKS = [s.id for s in PLAYBOOK.checks]
FAILED = Verdict(Reading.FAILED, "found")
PASSED = Verdict(Reading.PASSED, "fine")


def chosen(failed: set[str], **options: str) -> list[str]:
    verdicts = {sid: FAILED if sid in failed else PASSED for sid in CHECKS}
    given = {"rerun_utility": "no", **options}
    return [s.id for s in steps_to_run(PLAYBOOK, verdicts, given)]


def test_a_stopped_workflow_is_started_only_by_a_confirmed_step() -> None:
    steps = {s.id: s for s in PLAYBOOK.steps()}
    assert chosen({"tracking_workflow_started"}) == ["start_stopped_tracking_workflow"]
    confirmed = steps["start_stopped_tracking_workflow"]
    assert confirmed.effect is Effect.DISRUPT and confirmed.interrupts and "on purpose" in confirmed.interrupts
    # a workflow in error (@failed = 1) is started once confirmed too: xtk.workflow.Start is an inferred name
    assert chosen({"tracking_workflow_ok"}) == ["start_failed_tracking_workflow"]
    in_error = steps["start_failed_tracking_workflow"]
    assert in_error.effect is Effect.DISRUPT and "inferred" in in_error.title and in_error.interrupts
    # the start that ends Adobe's corrupted-line procedure follows its confirmed stop, unasked
    assert chosen({"redir_lines_ok"}) == [
        "stop_tracking_workflow",
        "quarantine_corrupted_lines",
        "start_tracking_workflow",
    ]
    assert steps["start_tracking_workflow"].effect is Effect.CHANGE
    assert chosen({"tracking_workflow_ok", "redir_lines_ok"})[-1] == "start_tracking_workflow"
    # stopped by someone and corrupted lines: the start after the quarantine is the confirmed one
    assert chosen({"tracking_workflow_started", "redir_lines_ok"}) == [
        "stop_tracking_workflow",
        "quarantine_corrupted_lines",
        "start_stopped_tracking_workflow",
    ]


def test_the_tracking_utility_is_opt_in_and_never_follows_a_start() -> None:
    steps = {s.id: s for s in PLAYBOOK.steps()}
    rerun = steps["rerun_tracking"]
    assert rerun.effect is Effect.DISRUPT and "Opt-in" in (rerun.title or "")
    assert chosen({"tracking_consolidated"}) == []  # reported, nothing run
    assert chosen({"tracking_consolidated"}, rerun_utility="yes") == ["rerun_tracking"]
    for started in ("tracking_workflow_ok", "tracking_workflow_started", "redir_lines_ok", "wfserver_running"):
        picked = chosen({"tracking_consolidated", started}, rerun_utility="yes")
        assert "rerun_tracking" not in picked and picked, (started, picked)


def test_nothing_is_done_for_a_tracking_server() -> None:
    assert chosen({"tracking_servers_answer"}) == []
    assert chosen({"tracking_servers_answer"}, rerun_utility="yes") == []
    assert "lastRun" not in Path(PLAYBOOK.path).read_text()
    verification = [s.action for s in PLAYBOOK.verification]
    assert "tracking_consolidated" not in verification  # the workflow's state is verified, not a poll of a date
