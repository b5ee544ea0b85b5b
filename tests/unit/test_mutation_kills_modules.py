"""The module actions to the character, on Adobe's samples (tests/fixtures/adobe/pdump.yml,
monitor-missing.yml, pdump-who.yml): every verdict message and its data, and the exact commands of
start/stop/restart/reload and of the stop evidence (mutants of runner/actions/modules.py that the
behavioural tests let through: `make mutation`, docs/mutation.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.actions import ACTIONS, Context, Skip, modules
from runner.actions.modules import MISSING_MARK, read_pdump
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"


def _samples(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["samples"])


PDUMP = _samples("pdump.yml")[0]["sample"]  # enterprise-deployment.md: the @demo modules, web, watchdog
assert "wfserver@demo (7832) - 11.5 MB" in PDUMP
NO_TASKS = next(s["sample"] for s in _samples("pdump.yml") if s["expect"].get("no_tasks"))
MISSING = _samples("monitor-missing.yml")
MISSING_PROD = MISSING[1]["sample"]  # monitoring-processes.md: mta@prod, stat@prod, wfserver@prod
MISSING_NONE = MISSING[2]["sample"]  # the banner alone
MISSING_BAD = MISSING[3]["sample"]  # built to be refused
WHO = _samples("pdump-who.yml")
PROCESSES = ["syslogd@default", "stat@demo", "inMail@demo", "watchdog", "mta@demo", "wfserver@demo", "web@default"]


def _ctx(instance: str = "demo", **extra: object) -> Context:
    return Context(Host("h", (), {"instance": instance, "nl6_root": "/usr/local/neolane/nl6", **extra}, "-"))


def _running(module: str, out: str, *, instance: str = "demo", err: str = "", rc: int = 0) -> Verdict:
    return ACTIONS["module_running"].judge({"module": module}, _ctx(instance), out, err, rc)


def _with_missing(pdump: str, missing: str, code: str = "0") -> str:
    return f"{pdump}{MISSING_MARK} {code}\n{missing}"


def test_a_running_module_is_passed_with_its_pid_and_memory() -> None:
    v = _running("wfserver", _with_missing(PDUMP, MISSING_NONE))
    assert (v.reading, v.message) == (Reading.PASSED, "wfserver@demo running (pid 7832, 11.5 MB)")
    assert v.data == {"pid": 7832, "processes": PROCESSES}
    v = _running("watchdog", PDUMP)
    assert (v.reading, v.message, v.data) == (
        Reading.PASSED,
        "watchdog running (pid 27369, 3.1 MB)",
        {"pid": 27369, "processes": PROCESSES},
    )


def test_a_module_listed_by_monitor_missing_is_enabled_but_not_running() -> None:
    v = _running("mta", _with_missing(PDUMP, MISSING_PROD), instance="prod")
    assert v.reading is Reading.FAILED
    assert v.message == "mta@prod is not in pdump; monitor -missing lists it: enabled but not running"
    assert v.data == {
        "no_tasks": False,
        "processes": PROCESSES,
        "missing": ["mta@prod", "stat@prod", "wfserver@prod"],
    }
    v = _running("mta", _with_missing(NO_TASKS, MISSING_PROD), instance="prod")
    assert v.message == "pdump says No tasks; monitor -missing lists it: enabled but not running"
    assert v.data == {"no_tasks": True, "processes": [], "missing": ["mta@prod", "stat@prod", "wfserver@prod"]}


def test_a_module_neither_listed_nor_missing_is_not_enabled_here() -> None:
    v = _running("inMail", _with_missing(PDUMP, MISSING_PROD), instance="prod")
    assert v.reading is Reading.NOT_APPLICABLE
    assert v.message == (
        "inMail@prod is not enabled on this host: neither pdump nor monitor -missing lists it (not started)"
    )
    assert v.data == {"no_tasks": False, "processes": PROCESSES, "missing": ["mta@prod", "stat@prod", "wfserver@prod"]}


def test_a_watchdog_not_in_pdump_has_failed() -> None:
    v = _running("watchdog", NO_TASKS)
    assert (v.reading, v.message, v.data) == (
        Reading.FAILED,
        "pdump says No tasks",
        {"no_tasks": True, "processes": []},
    )


def test_a_failed_or_unreadable_monitor_missing_leaves_the_module_undetermined() -> None:
    v = _running("mta", _with_missing(PDUMP, ""), instance="prod", err="  " + "e" * 300 + "\n", rc=3)
    assert v.reading is Reading.UNDETERMINED
    assert v.message == "mta@prod is not in pdump, and nlserver monitor -missing failed (exit 3): " + "e" * 200
    assert v.data == {"no_tasks": False, "processes": PROCESSES}
    v = _running("mta", _with_missing(PDUMP, MISSING_BAD), instance="prod")
    assert v.reading is Reading.UNDETERMINED
    assert v.message.startswith("mta@prod is not in pdump, and monitor -missing cannot be read: ")
    assert v.data == {"no_tasks": False, "processes": PROCESSES}


def test_a_failed_pdump_names_its_exit_code_and_error() -> None:
    v = _running("wfserver", _with_missing(PDUMP, MISSING_NONE, "12"))
    assert (v.reading, v.message) == (Reading.UNDETERMINED, "nlserver pdump failed (exit 12): ")
    v = _running("wfserver", _with_missing(PDUMP, MISSING_NONE, "x"), err=" boom \n")
    assert v.message == "nlserver pdump failed (exit -1): boom"
    v = _running("watchdog", PDUMP, err="\n" + "e" * 250, rc=255)
    assert v.message == "nlserver pdump failed (exit 255): " + "e" * 200
    dump = read_pdump("garbage\n", 0, "")
    assert isinstance(dump, Verdict) and dump.reading is Reading.UNDETERMINED
    assert dump.message.startswith("cannot parse pdump output: ")


def test_processes_running_word_for_word() -> None:
    judge = ACTIONS["processes_running"].judge
    v = judge({}, _ctx(), PDUMP, "", 0)
    assert (v.reading, v.message, v.data) == (
        Reading.PASSED,
        "7 processes running",
        {"no_tasks": False, "processes": PROCESSES},
    )
    v = judge({}, _ctx(), NO_TASKS, "", 0)
    assert (v.reading, v.message, v.data) == (
        Reading.FAILED,
        "pdump says No tasks: no Campaign process is running",
        {"no_tasks": True},
    )
    v = judge({}, _ctx(), PDUMP, " down ", 1)
    assert (v.reading, v.message) == (Reading.UNDETERMINED, "nlserver pdump failed (exit 1): down")


def test_monitor_missing_word_for_word() -> None:
    judge = ACTIONS["monitor_missing"].judge
    v = judge({}, _ctx(), MISSING_PROD, "", 0)
    assert (v.reading, v.message, v.data) == (
        Reading.FAILED,
        "enabled but not running: mta@prod, stat@prod, wfserver@prod",
        {"missing": ["mta@prod", "stat@prod", "wfserver@prod"]},
    )
    v = judge({}, _ctx(), MISSING_NONE, "", 0)
    assert (v.reading, v.message, v.data) == (Reading.PASSED, "every enabled module is running", {"missing": []})
    v = judge({}, _ctx(), MISSING_BAD, "", 0)
    assert v.reading is Reading.UNDETERMINED and v.data == {"missing": []}
    assert v.message.startswith("cannot parse monitor output: ")
    v = judge({}, _ctx(), MISSING_PROD, "\n" + "e" * 250 + " ", 2)
    assert (v.reading, v.message) == (Reading.UNDETERMINED, "nlserver monitor -missing failed (exit 2): " + "e" * 200)


def test_web_sessions_word_for_word() -> None:
    judge = ACTIONS["web_sessions"].judge
    v = judge({}, _ctx(), WHO[0]["sample"], "", 0)
    sessions = [
        "formation_fr|tracking from 127.0.0.1 (default, last access 15/03/2024 14:01:58)",
        "internal|monitoring from 127.0.0.1 (default, last access 15/03/2024 14:02:03)",
    ]
    assert (v.reading, v.data) == (Reading.PASSED, {"sessions": sessions, "pool": ["default as test400"]})
    assert v.message == f"2 connection(s) a web restart would cut: {'; '.join(sessions)} | DB pool: default as test400"
    v = judge({}, _ctx(), WHO[1]["sample"], "", 0)
    assert (
        v.message == "0 connection(s) a web restart would cut: no connection in progress | DB pool: default as test400"
    )
    v = judge({}, _ctx(), WHO[2]["sample"], "", 0)
    assert v.reading is Reading.UNDETERMINED
    assert v.message.startswith("cannot read pdump -who (not Adobe's layout): ")
    v = judge({}, _ctx(), WHO[0]["sample"], " " + "e" * 250, 1)
    assert (v.reading, v.message) == (Reading.UNDETERMINED, "nlserver pdump -who failed (exit 1): " + "e" * 200)


def test_start_stop_restart_and_reload_commands() -> None:
    for verb in ("start", "stop", "restart"):
        action = ACTIONS[f"{verb}_module"]
        assert action.build({"module": "wfserver", "flags": ["-verbose", "-noconsole"]}, _ctx()) == (
            f"nlserver {verb} wfserver@demo -verbose -noconsole"
        )
        assert action.build({"module": "web"}, _ctx()) == f"nlserver {verb} web@default"
        assert action.touches is not None
        assert tuple(action.touches({"module": "mta"}, _ctx())) == ("mta@demo",)
    reload = ACTIONS["reload"]
    assert reload.build({"module": "stat"}, _ctx()) == "nlserver stat -reload"
    assert reload.build({"module": "mta"}, _ctx()) == "nlserver config -reload"


def test_a_start_reads_the_last_log_lines_and_the_watchdog_first() -> None:
    evidence = ACTIONS["start_module"].evidence
    assert evidence is not None
    assert ACTIONS["stop_module"].evidence is None and ACTIONS["restart_module"].evidence is None
    watchdog = (
        "nlserver pdump 2>/dev/null | grep -E '^watchdog ' | sed 's/^/watchdog running: /'"
        " || echo 'watchdog: not in pdump'"
    )
    log = "/usr/local/neolane/nl6/var/demo/log/wfserver.log"
    assert evidence({"module": "wfserver"}, _ctx()) == (
        f"if [ -r {log} ]; then echo 'wfserver@demo: last lines of' {log}; tail -n 5 {log}; "
        f"else echo 'wfserver@demo: no log at' {log}; fi\n{watchdog}"
    )
    log = "/usr/local/neolane/nl6/var/default/log/watchdog.log"
    assert evidence({"module": "watchdog"}, _ctx()) == (
        f"if [ -r {log} ]; then echo 'watchdog: last lines of' {log}; tail -n 5 {log}; "
        f"else echo 'watchdog: no log at' {log}; fi\n{watchdog}"
    )
    log = "'/data/campaign var/default/log/web.log'"
    assert evidence({"module": "web"}, _ctx(var_dir="/data/campaign var")) == (
        f"if [ -r {log} ]; then echo 'web@default: last lines of' {log}; tail -n 5 {log}; "
        f"else echo 'web@default: no log at' {log}; fi\n{watchdog}"
    )


def test_the_pdump_reads_need_a_known_instance_except_for_the_watchdog() -> None:
    unknown = Context(Host("h", (), {}, "-"))
    for name in ("processes_running", "module_running"):
        with pytest.raises(Skip) as caught:
            ACTIONS[name].build({"module": "wfserver"}, unknown)
        assert str(caught.value) == "wfserver runs per Campaign instance and host h has no 'instance' var"
    assert ACTIONS["processes_running"].build({"module": "watchdog"}, unknown) == "nlserver pdump"
    assert ACTIONS["module_running"].build({"module": "watchdog"}, unknown) == "nlserver pdump"
    assert ACTIONS["module_running"].build({"module": "watchdog"}, _ctx()) == "nlserver pdump"
    assert ACTIONS["module_running"].build({"module": "wfserver"}, _ctx()) == (
        f"nlserver pdump; echo {MISSING_MARK} $?; nlserver monitor -missing"
    )
    assert ACTIONS["processes_running"].build({}, unknown) == "nlserver pdump"
    assert ACTIONS["web_sessions"].build({}, _ctx()) == "nlserver pdump -who"
    assert ACTIONS["monitor_missing"].build({}, _ctx()) == "nlserver monitor -missing"


def test_a_pdump_with_its_banner_and_no_process_runs_nothing() -> None:
    banner = PDUMP.splitlines()[0] + "\n"
    v = ACTIONS["processes_running"].judge({}, _ctx(), banner, "", 0)
    assert (v.reading, v.message) == (Reading.FAILED, "pdump says No tasks: no Campaign process is running")


def test_the_db_pool_is_named_only_when_pdump_who_lists_one() -> None:
    judge = ACTIONS["web_sessions"].judge
    sample = WHO[1]["sample"]  # no connection in progress, one pool row
    pool_row = "default xxxxx myserver myprovider test400\n"
    assert sample.endswith(pool_row)
    v = judge({}, _ctx(), sample[: -len(pool_row)], "", 0)
    assert (v.reading, v.message) == (
        Reading.PASSED,
        "0 connection(s) a web restart would cut: no connection in progress",
    )
    assert v.data == {"sessions": [], "pool": []}
    v = judge({}, _ctx(), sample + "mkt xxxxx myserver2 myprovider mktuser\n", "", 0)
    assert v.message.endswith(" | DB pool: default as test400, mkt as mktuser")


def test_each_control_builder_names_its_verb_process_and_flags() -> None:
    """The builders are made once, at import: made again here, so that what makes them is tested too."""
    for verb in ("start", "stop", "restart"):
        build = modules._control(verb)
        assert build({"module": "mta", "flags": ["-verbose"]}, _ctx()) == f"nlserver {verb} mta@demo -verbose"
        assert build({"module": "watchdog"}, _ctx()) == f"nlserver {verb} watchdog"
