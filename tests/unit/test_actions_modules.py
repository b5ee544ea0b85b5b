"""Module process actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

HOST = Host("prod1", (), {"instance": "prod", "nlserver": "/opt/nl6/bin/nlserver"}, "inv.yml:3")
CTX = Context(HOST)
BANNER = "12:09:54 >   Application server for Adobe Campaign Classic (7.X YY.R build XXX@SHA1) of DD/MM/YYYY\n"
PDUMP = BANNER + "wfserver@prod (7832) - 11.5 MB\nweb@default (28671) - 40.5 MB\nwatchdog (27369) - 3.1 MB\n"


def _judge(name: str, args: dict[str, object], out: str, rc: int = 0, ctx: Context = CTX) -> Verdict:
    return ACTIONS[name].judge(args, ctx, out, "", rc)


def _running(pdump: str, missing: str = BANNER, pdump_rc: int = 0, rc: int = 0) -> str:
    return f"{pdump}@@missing {pdump_rc}\n{missing}"


def test_module_running_builds_pdump_and_monitor_missing() -> None:
    args = {"module": "wfserver"}
    assert ACTIONS["module_running"].build(args, CTX) == (
        "/opt/nl6/bin/nlserver pdump; echo @@missing $?; /opt/nl6/bin/nlserver monitor -missing"
    )
    assert ACTIONS["module_running"].build({"module": "watchdog"}, CTX) == "/opt/nl6/bin/nlserver pdump"


def test_module_running_running_missing_or_not_enabled() -> None:
    ok = _judge("module_running", {"module": "wfserver"}, _running(PDUMP))
    assert ok.passed and not ok.not_applicable and ok.data["pid"] == 7832
    listed = _judge("module_running", {"module": "mta"}, _running(PDUMP, BANNER + "mta@prod\n"))
    assert listed.failed and "enabled but not running" in listed.message
    # Neither pdump nor monitor -missing: not enabled here (e.g. mta on a mid-sourced instance).
    absent = _judge("module_running", {"module": "mta"}, _running(PDUMP))
    assert absent.clear and absent.not_applicable and "not enabled" in absent.message


def test_module_running_cannot_decide() -> None:
    args = {"module": "wfserver"}
    assert _judge("module_running", args, _running("Segmentation fault\n")).undetermined
    assert _judge("module_running", args, _running("", pdump_rc=1), rc=0).undetermined
    assert _judge("module_running", {"module": "mta"}, _running(PDUMP, "garbage; x\n")).undetermined
    assert _judge("module_running", {"module": "watchdog"}, BANNER + "No tasks\n").failed


def test_module_running_skips_a_host_without_instance() -> None:
    bare = Context(Host("h", (), {}, "-"))
    with pytest.raises(Skip, match="no 'instance' var"):
        ACTIONS["module_running"].build({"module": "wfserver"}, bare)
    assert ACTIONS["module_running"].build({"module": "web"}, bare).startswith("nlserver pdump;")  # web@default


def test_processes_running() -> None:
    assert _judge("processes_running", {}, PDUMP).passed
    assert _judge("processes_running", {}, BANNER + "No tasks\n").failed
    assert _judge("processes_running", {}, "garbage\n").undetermined


def test_monitor_missing() -> None:
    assert ACTIONS["monitor_missing"].build({}, CTX).endswith("nlserver monitor -missing")
    assert _judge("monitor_missing", {}, BANNER).passed
    missing = _judge("monitor_missing", {}, BANNER + "mta@prod\n")
    assert missing.failed and missing.data["missing"] == ["mta@prod"]
    assert _judge("monitor_missing", {}, BANNER + "mta@prod; rm -rf /\n").undetermined


def test_web_sessions_in_adobes_layout() -> None:
    assert ACTIONS["web_sessions"].build({}, CTX).endswith("pdump -who")
    who = (
        PDUMP + "\nConnections ------------------------------------------------------\nLast Access IP Instance Login \n"
        "15/03/2024 14:01:58 127.0.0.1 default formation_fr|tracking\n\n"
        "Connection pool --------------------------------------------------\nDatasource Server Provider Login \n"
        "default xxxxx myserver myprovider test400\n"
    )
    found = _judge("web_sessions", {}, who)
    assert found.passed and len(found.data["sessions"]) == 1 and "formation_fr|tracking" in found.message
    # Not Adobe's layout: undetermined, never "0 sessions".
    assert _judge("web_sessions", {}, PDUMP + "Sessions:\n  admin from 10.0.0.1\n").undetermined
    assert _judge("web_sessions", {}, "\x00binary").undetermined


@pytest.mark.parametrize(
    ("name", "verb"), [("start_module", "start"), ("stop_module", "stop"), ("restart_module", "restart")]
)
def test_control_builds_the_documented_command(name: str, verb: str) -> None:
    cmd = ACTIONS[name].build({"module": "wfserver", "flags": ["-verbose"]}, CTX)
    assert cmd == f"/opt/nl6/bin/nlserver {verb} wfserver@prod -verbose"
    assert _judge(name, {"module": "wfserver"}, "", rc=0).passed
    assert _judge(name, {"module": "wfserver"}, "error\n", rc=2).failed


def test_start_listed_uses_the_missing_check() -> None:
    earlier = {"missing": Verdict(Reading.FAILED, "", {"missing": ["mta@prod", "web@default"]})}
    ctx = Context(HOST, earlier=earlier)
    cmd = ACTIONS["start_listed"].build({"from": "missing"}, ctx)
    assert cmd == "/opt/nl6/bin/nlserver start mta@prod && /opt/nl6/bin/nlserver start web@default"
    with pytest.raises(Skip, match="no result"):
        ACTIONS["start_listed"].build({"from": "other"}, ctx)
    forged = Context(HOST, earlier={"missing": Verdict(Reading.FAILED, "", {"missing": ["mta; reboot"]})})
    with pytest.raises(Skip, match="refusing"):
        ACTIONS["start_listed"].build({"from": "missing"}, forged)


def test_watchdog_and_reload() -> None:
    assert ACTIONS["watchdog_start"].build({}, CTX).endswith("nlserver watchdog -svc -noconsole")
    assert ACTIONS["reload"].build({"module": "stat"}, CTX).endswith("nlserver stat -reload")
    assert ACTIONS["reload"].build({"module": "mta"}, CTX).endswith("nlserver config -reload")
