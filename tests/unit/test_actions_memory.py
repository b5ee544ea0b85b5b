"""module_memory, monitor_indicators and ping_jsp judged on Adobe's samples (tests/fixtures/adobe/)."""

from __future__ import annotations

from pathlib import Path

import yaml

from runner import hostfacts
from runner.actions import ACTIONS, Context
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.report import WARNING_MARK

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
HOST = Host("prod1", (), {"instance": "demo", "nlserver": "/opt/nl6/bin/nlserver"}, "inv.yml:3")


def sample(name: str, index: int) -> str:
    text: str = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["samples"][index]["sample"]
    return text


# enterprise-deployment.md's pdump: web@default 40.5 MB, mta@demo 15.6 MB
PDUMP = sample("pdump.yml", 0)


def judge(name: str, args: dict[str, str], out: str, rc: int = 0, facts: dict[str, object] | None = None) -> Verdict:
    ctx = Context(HOST, facts=facts or {})
    return ACTIONS[name].judge(args, ctx, out, "", rc)


def test_memory_below_adobes_warning_passes_and_carries_its_value() -> None:
    v = judge("module_memory", {"module": "web"}, PDUMP)
    assert v.reading is Reading.PASSED and not v.message.startswith(WARNING_MARK)
    assert v.data == {
        "process": "web@default",
        "memory_mb": 40.5,
        "warning_mb": 1600,
        "alert_mb": 1800,
        "level": "ok",
    }
    assert '[process_memory_mb "web@default"=40.5 warning=1600 alert=1800]' in v.message


def test_memory_thresholds_of_the_host_make_a_warning_then_an_alert() -> None:
    mta: dict[str, object] = {"warning": 10, "alert": 20, "source": "serverConf.xml mta/@..."}
    facts: dict[str, object] = {"memory_thresholds": {"mta": mta}}
    warned = judge("module_memory", {"module": "mta"}, PDUMP, facts=facts)
    assert warned.reading is Reading.PASSED and warned.message.startswith(WARNING_MARK)
    assert "mta@demo uses 15.6 MB" in warned.message
    mta["alert"] = 15
    alert = judge("module_memory", {"module": "mta"}, PDUMP, facts=facts)
    assert alert.reading is Reading.FAILED and "maxProcessMemoryAlertMb 15" in alert.message


def test_memory_of_a_process_not_running_or_unreadable_pdump() -> None:
    assert judge("module_memory", {"module": "stat"}, sample("pdump.yml", 1)).reading is Reading.NOT_APPLICABLE
    assert judge("module_memory", {"module": "web"}, "bash: nlserver: not found").reading is Reading.UNDETERMINED
    assert judge("module_memory", {"module": "web"}, PDUMP, rc=1).reading is Reading.UNDETERMINED


ADOBE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"


def test_hostfacts_read_the_thresholds_of_adobes_trackinglogd_sample() -> None:
    """additional-parameters.md's <trackinglogd ... maxProcessMemoryAlertMb="1800" maxProcessMemoryWarningMb="1600">,
    in config-default.xml, over serverConf.xml's web element."""
    (sample,) = yaml.safe_load((ADOBE / "settings" / "memory-thresholds.yml").read_text())["samples"]
    default = f"<serverconf>{sample['sample']}</serverconf>"
    server = '<serverconf><web maxProcessMemoryWarningMb="900"/><wfserver maxProcessMemoryAlertMb="x"/></serverconf>'
    out = "\n".join(
        f"{hostfacts.MARK} {name}\n{text}\n{hostfacts.MARK} rc 0"
        for name, text in (("env", ""), ("customer", ""), ("serverconf", server), ("default", default))
    )
    mark = hostfacts.MARK
    out += f"\n{mark} instance\nNo such file\n{mark} rc 1\n{mark} systemd\n{mark} rc 1\n"
    found = hostfacts.parse(out, nl6_root="/usr/local/neolane/nl6", instance="prod")
    thresholds = found.values["memory_thresholds"]
    assert thresholds["trackinglogd"] == {
        "warning": 1600,
        "alert": 1800,
        "source": "config-default.xml trackinglogd/@maxProcessMemoryWarningMb, "
        "config-default.xml trackinglogd/@maxProcessMemoryAlertMb",
    }
    assert thresholds["web"]["warning"] == 900 and thresholds["web"]["alert"] is None
    assert any("wfserver/@maxProcessMemoryAlertMb='x'" in p for p in found.problems), found.problems
    ctx = Context(HOST, facts=found.values)
    web = ACTIONS["module_memory"].judge({"module": "web"}, ctx, PDUMP, "", 0)
    assert web.data["warning_mb"] == 900 and web.data["alert_mb"] == 1800
    assert "Adobe's default for the other" in web.message


def test_monitor_indicators_inform_with_their_values() -> None:
    v = judge("monitor_indicators", {}, sample("monitor-xml.yml", 1))
    assert v.reading is Reading.PASSED and v.data["levels"] == {"Zombie Processes": "alert", "Availability": "ok"}
    assert '[monitor_indicator "Zombie Processes"=2 warning=2 alert=2 max=2]' in v.message
    assert judge("monitor_indicators", {}, sample("monitor-xml.yml", 2)).reading is Reading.UNDETERMINED


def ping(body: str, status: int, rc: int = 0) -> Verdict:
    return judge("ping_jsp", {}, f"{body}\n@@http {status} ", rc)


def test_ping_jsp_ok_error_and_no_answer() -> None:
    ok = ping(sample("ping-jsp.yml", 0), 200)
    assert ok.reading is Reading.PASSED and "Ok" in ok.message
    assert "__sessiontoken=monitoring" in ok.data["url"]
    failed = ping(sample("ping-jsp.yml", 2), 500)
    assert failed.reading is Reading.FAILED and "PGS-220000" in failed.message and "database" in failed.message
    assert ping("", 0, rc=7).reading is Reading.FAILED
    assert ping(sample("ping-jsp.yml", 3), 502).reading is Reading.FAILED
    assert ping("", 302).reading is Reading.UNDETERMINED


def test_ping_jsp_command_sends_the_session_token() -> None:
    host = Host("prod1", (), {"address": "127.0.0.9", "ping_session_token": "mon itor"}, "inv.yml:3")
    command = ACTIONS["ping_jsp"].build({}, Context(host))
    assert "'http://127.0.0.9:8080/nl/jsp/ping.jsp?__sessiontoken=mon%20itor'" in command
