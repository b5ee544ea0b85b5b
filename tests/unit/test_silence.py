"""Alert silences: matchers from host vars, the check of the vars before a run, and the silence's life
against a real Alertmanager on loopback (created active with its matchers, expired at the end); an
Alertmanager that does not answer is a warning, or a refusal where silence_required is true."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import playbook, silence
from runner.audit import AuditLog
from runner.config import TeamConfig
from runner.errors import InputError
from runner.inventory import Host
from tests.support.alertmanager import Alertmanager, running_alertmanager
from tests.support.receiver import closed_port

RESTART = next(s for s in playbook.load(Path("playbooks/wfserver.yml")).remediation if s.id == "restart_wfserver")


def _host(name: str = "lab1", **vars: Any) -> Host:
    return Host(name, ("all",), {"instance": "prod", **vars}, "inventory.yml:3")


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    with running_alertmanager(tmp_path_factory.mktemp("alertmanager")) as running:
        yield running


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_default_matchers_name_the_address_and_the_module() -> None:
    found = silence.matchers_for(_host(ansible_host="10.0.0.5"), "wfserver")
    assert [str(m) for m in found] == ["instance=~10\\.0\\.0\\.5(:[0-9]+)?", "module=wfserver"]
    assert found[0].as_api() == {
        "name": "instance",
        "value": "10\\.0\\.0\\.5(:[0-9]+)?",
        "isRegex": True,
        "isEqual": True,
    }
    assert str(silence.matchers_for(_host(), "mta")[0]) == "instance=~lab1(:[0-9]+)?"  # no ansible_host: the name


def test_host_matchers_replace_the_default_and_are_filled_in() -> None:
    host = _host(silence_matchers=["job=campaign", "host={host}", "service!={module}", "env!~dev.*"])
    found = silence.matchers_for(host, "web")
    assert [m.as_api() for m in found] == [
        {"name": "job", "value": "campaign", "isRegex": False, "isEqual": True},
        {"name": "host", "value": "lab1", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "web", "isRegex": False, "isEqual": False},
        {"name": "env", "value": "dev.*", "isRegex": True, "isEqual": False},
    ]


@pytest.mark.parametrize(
    ("vars", "words"),
    [
        (
            {"alertmanager_url": "am:9093"},
            "host lab1 \\(inventory.yml:3\\): alertmanager_url: alertmanager_url 'am:9093'",
        ),
        ({"alertmanager_url": "http://am:9093/?x=1"}, "has a query"),
        ({"silence_matchers": ["instance"]}, "silence_matchers: 'instance' is not a matcher.*NAME=VALUE"),
        ({"silence_matchers": "module=web"}, "is not a list of matchers"),
        ({"silence_required": True}, "silence_required is true but no Alertmanager is set"),
    ],
)
def test_bad_silence_vars_are_input_errors_naming_host_and_value(vars: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError, match=words):
        silence.check([_host(**vars)], TeamConfig())


def test_a_silence_is_active_during_the_step_and_expired_after(tmp_path: Path, am: Alertmanager) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    silences = silence.Silences(log, TeamConfig(alertmanager_url=am.url), incident="INC-5", reason="stuck")
    host = _host()
    assert silences.disrupting(host, "wfserver", RESTART, 180.0) is None
    created = [e for e in _events(log.path) if e["event"] == "silence.created"]
    assert len(created) == 1
    sid = created[0]["silence_id"]
    live = am.silence(sid)
    assert live["status"]["state"] == "active" and live["createdBy"] == log.operator_name
    assert {(m["name"], m["value"], m["isRegex"]) for m in live["matchers"]} == {
        ("instance", "lab1(:[0-9]+)?", True),
        ("module", "wfserver", False),
    }
    assert live["comment"] == f"INC-5 (stuck): remediate wfserver restart_wfserver on lab1, run {log.run_id}"
    assert silences.disrupting(host, "wfserver", RESTART, 180.0) is None  # one silence per host
    assert [s["id"] for s in am.active()].count(sid) == 1 and len(am.active()) == 1
    silences.settled(host, "wfserver")
    assert am.silence(sid)["status"]["state"] == "expired"
    assert [e["event"] for e in _events(log.path)] == ["silence.created", "silence.expired"]


def test_a_host_var_points_elsewhere_than_the_config(tmp_path: Path, am: Alertmanager) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    dead = f"http://127.0.0.1:{closed_port()}"
    silences = silence.Silences(log, TeamConfig(alertmanager_url=dead), incident=None, reason=None)
    host = _host(alertmanager_url=am.url + "/")
    assert silences.disrupting(host, "wfserver", RESTART, 10.0) is None
    sid = _events(log.path)[0]["silence_id"]
    assert am.silence(sid)["comment"].startswith("no incident given: remediate wfserver")
    silences.settled(host, "wfserver")
    assert am.silence(sid)["status"]["state"] == "expired"


def test_an_alertmanager_that_does_not_answer_is_a_warning(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    warnings: list[str] = []
    team = TeamConfig(alertmanager_url=f"http://127.0.0.1:{closed_port()}")
    silences = silence.Silences(log, team, incident=None, reason=None, warn=warnings.append)
    assert silences.disrupting(_host(), "wfserver", RESTART, 10.0) is None
    silences.settled(_host(), "wfserver")  # nothing to expire
    (failed,) = _events(log.path)
    assert failed["event"] == "silence.failed" and failed["action"] == "create" and "refused" not in failed
    assert len(warnings) == 1 and "restart_wfserver goes on without a silence" in warnings[0]


def test_silence_required_refuses_the_step_when_it_cannot_be_created(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    team = TeamConfig(alertmanager_url=f"http://127.0.0.1:{closed_port()}")
    silences = silence.Silences(log, team, incident=None, reason=None)
    refusal = silences.disrupting(_host(silence_required=True), "wfserver", RESTART, 10.0)
    assert refusal is not None and refusal.startswith("restart_wfserver refused: the Alertmanager at http://127.0.0.1:")
    assert "silence_required" in refusal
    assert _events(log.path)[0]["refused"] is True


def test_no_alertmanager_no_silence(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    silences = silence.Silences(log, TeamConfig(), incident=None, reason=None)
    assert silences.disrupting(_host(), "wfserver", RESTART, 10.0) is None
    assert not log.path.read_text()
