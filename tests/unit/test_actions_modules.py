"""Module process actions, without a host: the command each builds, and its verdict on sample output."""

from __future__ import annotations

import pytest

from runner.actions import ACTIONS, Context, Skip, Verdict
from runner.inventory import Host

HOST = Host("prod1", (), {"instance": "prod", "nlserver": "/opt/nl6/bin/nlserver"}, "inv.yml:3")
CTX = Context(HOST)
BANNER = "12:09:54 >   Application server for Adobe Campaign Classic (7.X YY.R build XXX@SHA1) of DD/MM/YYYY\n"
PDUMP = BANNER + "wfserver@prod (7832) - 11.5 MB\nweb@default (28671) - 40.5 MB\nwatchdog (27369) - 3.1 MB\n"


def _judge(name: str, args: dict[str, object], out: str, rc: int = 0, ctx: Context = CTX) -> Verdict:
    return ACTIONS[name].judge(args, ctx, out, "", rc)


def test_module_running_builds_pdump_and_judges() -> None:
    args = {"module": "wfserver"}
    assert ACTIONS["module_running"].build(args, CTX) == "/opt/nl6/bin/nlserver pdump"
    ok = _judge("module_running", args, PDUMP)
    assert ok.passed and ok.data["pid"] == 7832
    gone = _judge("module_running", {"module": "mta"}, PDUMP)
    assert gone.failed and "mta@prod is not in pdump" in gone.message
    assert _judge("module_running", args, "Segmentation fault\n").undetermined
    assert _judge("module_running", args, "", rc=1).failed


def test_module_running_skips_a_host_without_instance() -> None:
    bare = Context(Host("h", (), {}, "-"))
    with pytest.raises(Skip, match="no 'instance' var"):
        ACTIONS["module_running"].build({"module": "wfserver"}, bare)
    assert ACTIONS["module_running"].build({"module": "web"}, bare) == "nlserver pdump"  # web@default


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


def test_web_sessions() -> None:
    assert ACTIONS["web_sessions"].build({}, CTX).endswith("pdump -who")
    found = _judge("web_sessions", {}, PDUMP + "Sessions:\n  admin from 10.0.0.1\n")
    assert found.passed and found.data["sessions"] == ["admin from 10.0.0.1"]
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
    earlier = {"missing": Verdict(False, "", {"missing": ["mta@prod", "web@default"]})}
    ctx = Context(HOST, earlier=earlier)
    cmd = ACTIONS["start_listed"].build({"from": "missing"}, ctx)
    assert cmd == "/opt/nl6/bin/nlserver start mta@prod && /opt/nl6/bin/nlserver start web@default"
    with pytest.raises(Skip, match="no result"):
        ACTIONS["start_listed"].build({"from": "other"}, ctx)
    forged = Context(HOST, earlier={"missing": Verdict(False, "", {"missing": ["mta; reboot"]})})
    with pytest.raises(Skip, match="refusing"):
        ACTIONS["start_listed"].build({"from": "missing"}, forged)


def test_watchdog_and_reload() -> None:
    assert ACTIONS["watchdog_start"].build({}, CTX).endswith("nlserver watchdog -svc -noconsole")
    assert ACTIONS["reload"].build({"module": "stat"}, CTX).endswith("nlserver stat -reload")
    assert ACTIONS["reload"].build({"module": "mta"}, CTX).endswith("nlserver config -reload")
