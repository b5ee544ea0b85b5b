"""Notifications: the config file (every mistake at its file:line, secrets from the environment), the
incident id, each vendor's payload in its documented shape, and the fan-out against a real HTTP receiver
on loopback (a dead notifier is warned once and audited, never raised)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner import config, notify
from runner.audit import AuditLog
from runner.errors import InputError
from runner.events import Event
from tests.support.receiver import (
    check_pagerduty,
    check_slack,
    check_teams,
    check_webhook,
    closed_port,
    receiving,
)

SLACK = "https://hooks.slack.example/services/T000/B000/s3cr3tt0ken"
ENV = {"SLACK_URL": SLACK, "TEAMS_URL": "https://teams.example/webhookb2/abc", "PD_KEY": "R0UT1NGKEY0123456789"}


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> config.TeamConfig:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return config.load(path, ENV if env is None else env)


def _message(**extra: Any) -> notify.Message:
    fields: dict[str, Any] = {
        "event": "host.remediated",
        "summary": "remediate wfserver: lab1 remediated <now> & verified",
        "run_id": "abc123",
        "module": "wfserver",
        "operator": "oncall",
        "incident": "INC-42",
        "reason": "workflows stuck",
        "host": "lab1",
        "status": "remediated",
        "message": "remediated and verified",
    }
    fields.update(extra)
    return notify.Message(**fields)


# -- the config file -------------------------------------------------------------------------------
def test_a_full_config_is_read_with_its_secrets_from_the_environment(tmp_path: Path) -> None:
    team = _load(
        tmp_path,
        "timeout: 2\nalertmanager_url: http://127.0.0.1:9093\nnotifiers:\n"
        "  - type: slack\n    url_env: SLACK_URL\n"
        "  - type: teams\n    url_env: TEAMS_URL\n    timeout: 1.5\n"
        "  - type: pagerduty\n    routing_key_env: PD_KEY\n    name: pd\n",
    )
    assert [(n.name, n.type, n.timeout) for n in team.notifiers] == [
        ("slack", "slack", 2.0),
        ("teams-2", "teams", 1.5),
        ("pd", "pagerduty", 2.0),
    ]
    assert team.notifiers[0].url == SLACK and team.notifiers[2].url == config.PAGERDUTY_CHANGE_URL
    assert team.secrets() == {SLACK, ENV["TEAMS_URL"], ENV["PD_KEY"]}  # PagerDuty's public endpoint is none
    assert team.alertmanager_url == "http://127.0.0.1:9093" and team.timeout == 2.0


def test_no_default_file_is_no_config_but_a_named_one_must_exist(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("REMEDIATE_CONFIG", raising=False)
    assert config.load(None) == config.TeamConfig()
    assert config.default_path() == tmp_path / "remediate" / "config.yml"
    monkeypatch.setenv("REMEDIATE_CONFIG", str(tmp_path / "absent.yml"))
    with pytest.raises(InputError, match=r"REMEDIATE_CONFIG: config file .*absent\.yml does not exist"):
        config.load(None)
    with pytest.raises(InputError, match="--config: config file"):
        config.load(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "notifiers:\n  - type: hipchat\n    url_env: SLACK_URL\n",
            2,
            "notifier type 'hipchat' is not known.*allowed: slack, teams, pagerduty, webhook",
        ),
        (
            "notifiers:\n  - type: slack\n    url_env: NOT_SET_ANYWHERE\n",
            3,
            "environment variable NOT_SET_ANYWHERE \\(url_env\\) is not set",
        ),
        ("notifiers:\n  - type: pagerduty\n    routing_key_env: NOPE\n", 3, "NOPE \\(routing_key_env\\) is not set"),
        ("notifiers:\n  - type: slack\n", 2, "slack notifier needs url_env"),
        ("notifiers:\n  - type: slack\n    url: https://hooks.slack.example/x\n", 3, "is a secret and is not written"),
        ("alertmanager_url: not a url\n", 1, "alertmanager_url 'not a url' is not a URL"),
        ("alertmanager_url: ftp://am:9093\n", 1, "is not an http\\(s\\) URL"),
        ("alertmanager_url: http://am:99999\n", 1, "'http://am:99999' is not a URL"),
        ("timeout: 0\n", 1, "timeout 0 is not allowed"),
        ("\nnotify: []\n", 2, "unknown setting 'notify'.*allowed: timeout, alertmanager_url, notifiers"),
        ("timeout: 5\nnotifiers: - type: slack\n", 2, "invalid YAML"),
        (
            "notifiers:\n  - type: webhook\n    url_env: SLACK_URL\n    colour: red\n",
            4,
            "unknown notifier setting 'colour'",
        ),
    ],
)
def test_config_mistakes_name_their_file_line_and_what_is_allowed(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    with pytest.raises(InputError, match=words) as caught:
        _load(tmp_path, text)
    assert str(caught.value).startswith(f"{tmp_path / 'config.yml'}:{line}: "), caught.value


def test_a_secret_url_that_is_malformed_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, "notifiers:\n  - type: slack\n    url_env: SLACK_URL\n", {"SLACK_URL": "hooks s3cr3t"})
    assert "s3cr3t" not in str(caught.value) and "url_env" in str(caught.value)


@pytest.mark.parametrize("good", ["INC-1234", "CHG0001234", "jira:OPS-77", "x" * 64])
def test_incident_ids_taken(good: str) -> None:
    assert config.check_incident(good) == good


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("", "empty"),
        ("INC 12", "contains ' '"),
        ("INC-1\n", "contains"),
        ("x" * 65, "65 characters"),
        ("a\x07", "contains"),
    ],
)
def test_incident_ids_refused(bad: str, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        config.check_incident(bad)
    assert str(caught.value).startswith("--incident: ") and "64 characters" in str(caught.value)


# -- payloads --------------------------------------------------------------------------------------
def test_slack_payload_has_text_and_blocks_escaped() -> None:
    body = notify.slack(_message())
    check_slack(body)
    assert body["text"] == "remediate wfserver: lab1 remediated &lt;now&gt; &amp; verified"
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "*Incident*\nINC-42" in fields and "*Run id*\nabc123" in fields and "*Operator*\noncall" in fields


def test_teams_payload_is_an_adaptive_card_message() -> None:
    body = notify.teams(_message())
    check_teams(body)
    facts = {f["title"]: f["value"] for f in body["attachments"][0]["content"]["body"][1]["facts"]}
    assert facts["Host"] == "lab1" and facts["Incident"] == "INC-42" and facts["Reason"] == "workflows stuck"


def test_pagerduty_payload_is_a_change_event() -> None:
    body = notify.pagerduty(_message(summary="s" * 2000), "KEY", "https://runbook.example/wfserver")
    check_pagerduty(body, "KEY")
    assert len(body["payload"]["summary"]) == 1024 and body["payload"]["source"] == "lab1"
    details = body["payload"]["custom_details"]
    assert details["incident"] == "INC-42" and details["run_id"] == "abc123" and details["operator"] == "oncall"
    assert body["links"] == [{"href": "https://runbook.example/wfserver", "text": "remediate run abc123"}]
    assert notify.pagerduty(_message(), "KEY")["links"] == []


def test_webhook_payload_is_versioned_and_complete() -> None:
    body = notify.webhook(_message(event="run.started", host=None, hosts=("lab1", "lab2"), steps=("restart_wfserver",)))
    check_webhook(body)
    assert body["hosts"] == ["lab1", "lab2"] and body["host"] is None and body["exit_code"] is None


# -- the fan-out -----------------------------------------------------------------------------------
def _notifier(kind: str, url: str, name: str, key: str | None = None) -> config.Notifier:
    return config.Notifier(name, kind, url, 2.0, "config.yml:1", routing_key=key)


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fanout_sends_each_moment_to_each_notifier_and_audits_it(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", secrets=["R0UT1NGKEY0123456789"])
    with receiving() as rx:
        notifiers = [
            _notifier("slack", f"{rx.url}/slack/s3cr3t", "slack"),
            _notifier("pagerduty", f"{rx.url}/pagerduty", "pd", "R0UT1NGKEY0123456789"),
            _notifier("webhook", f"{rx.url}/hook", "hook"),
        ]
        fan = notify.Fanout(notifiers, log, module="wfserver", incident="INC-9", reason="stuck")
        log.listeners.append(fan)
        fan.disruption_planned("wfserver", ["lab1"], ["restart_wfserver"])
        log.emit(Event.CONFIRMATION_GIVEN, host="lab1", module="wfserver", step="restart_wfserver", via="--yes")
        log.emit(Event.HOST_FINISHED, host="lab1", module="wfserver", outcome="remediated", message="ok")
        log.emit(Event.HOST_FINISHED, host="lab2", module="wfserver", outcome="healthy", message="ok")  # not told
        log.emit(Event.RUN_FINISHED, module="wfserver", status="finished", exit_code=0, hosts={"lab1": "remediated"})
        moments = ["run.started", "confirmation.given", "host.remediated", "run.finished"]
        assert [b["event"] for b in rx.at("/hook")] == moments  # in order, per notifier
        assert len(rx.at("/slack/s3cr3t")) == 4 and len(rx.at("/pagerduty")) == 4
        for body in rx.at("/slack/s3cr3t"):
            check_slack(body)
        for body in rx.at("/pagerduty"):
            check_pagerduty(body, "R0UT1NGKEY0123456789")  # the key is sent, though it is a secret of the log
        for body in rx.at("/hook"):
            check_webhook(body)
            assert body["incident"] == "INC-9" and body["run_id"] == log.run_id and body["reason"] == "stuck"
    sent = [e for e in _events(log.path) if e["event"] == "notify.sent"]
    assert len(sent) == 12 and {e["notifier"] for e in sent} == {"slack", "pd", "hook"}
    assert "R0UT1NGKEY0123456789" not in log.path.read_text() and "s3cr3t" not in log.path.read_text()


def test_a_dead_notifier_is_warned_once_and_audited(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    warnings: list[str] = []
    dead = _notifier("webhook", f"http://127.0.0.1:{closed_port()}/x", "dead")
    fan = notify.Fanout([dead], log, module="wfserver", incident=None, reason=None, warn=warnings.append)
    log.listeners.append(fan)
    fan.disruption_planned("wfserver", ["lab1"], ["restart_wfserver"])
    log.emit(Event.RUN_FINISHED, module="wfserver", status="finished", exit_code=0, hosts={"lab1": "remediated"})
    failed = [e for e in _events(log.path) if e["event"] == "notify.failed"]
    assert [e["moment"] for e in failed] == ["run.started", "run.finished"]
    assert all("no answer" in e["message"] and e["notifier"] == "dead" for e in failed)
    assert len(warnings) == 1 and "notifier dead (webhook) failed" in warnings[0]


def test_a_failing_answer_is_audited_with_its_status(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with receiving() as rx:
        fan = notify.Fanout(
            [_notifier("teams", f"{rx.url}/fail", "teams")], log, module="m", incident=None, reason=None
        )
        log.listeners.append(fan)
        log.emit(Event.RUN_FINISHED, module="m", status="finished", exit_code=1, hosts={})  # non-zero: told
    failed = [e for e in _events(log.path) if e["event"] == "notify.failed"]
    assert len(failed) == 1 and failed[0]["message"].startswith("HTTP 500")


def test_a_quiet_healthy_run_tells_no_one(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with receiving() as rx:
        fan = notify.Fanout(
            [_notifier("webhook", f"{rx.url}/hook", "hook")], log, module="m", incident=None, reason=None
        )
        log.listeners.append(fan)
        log.emit(Event.HOST_FINISHED, host="lab1", module="m", outcome="healthy", message="every check passed")
        log.emit(Event.RUN_FINISHED, module="m", status="finished", exit_code=0, hosts={"lab1": "healthy"})
        assert rx.got == []


# -- the engine's observer calls -------------------------------------------------------------------
class Recorder:
    """An observer that records the engine's calls and refuses when told to."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.refuse = refuse

    def disruption_planned(self, module: str, hosts: Any, steps: Any) -> None:
        self.calls.append(("planned", module, list(hosts), list(steps)))

    def disrupting(self, host: Any, module: str, step: Any, bound: float) -> str | None:
        self.calls.append(("disrupting", host.name, step.id, bound))
        return self.refuse

    def settled(self, host: Any, module: str) -> None:
        self.calls.append(("settled", host.name))


def _engine_run(tmp_path: Path, running: set[str], observer: Recorder, **config: Any) -> tuple[Any, Any]:
    from runner.execute import Engine, RunConfig
    from runner.inventory import Host
    from tests.unit.fakehost import FakeHost
    from tests.unit.test_engine import WFSERVER, Campaign, _book

    fake = FakeHost(Campaign(running))
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod", "nlserver": "nlserver"}, "t:1")
    run_config = RunConfig(session_factory=fake.factory, yes=True, observers=(observer,), **config)
    (outcome,) = Engine([host], log, run_config).run(_book(tmp_path, WFSERVER))
    log.close()
    return outcome, fake


def test_the_engine_tells_observers_of_a_planned_disruption_and_when_the_host_is_settled(tmp_path: Path) -> None:
    observer = Recorder()
    outcome, fake = _engine_run(tmp_path, {"watchdog", "wfserver@prod"}, observer, force=True)
    assert outcome.status == "remediated"
    assert observer.calls == [
        ("planned", "wfserver", ["prod1"], ["restart_wfserver"]),
        ("disrupting", "prod1", "restart_wfserver", observer.calls[1][3]),
        ("settled", "prod1"),
    ]
    assert observer.calls[1][3] >= 5  # the step's timeout plus the verification bound (5 s)
    assert any("restart wfserver" in c for c in fake.changes())


def test_a_start_is_no_planned_disruption(tmp_path: Path) -> None:
    observer = Recorder()
    outcome, _fake = _engine_run(tmp_path, {"watchdog"}, observer)
    assert outcome.status == "remediated" and observer.calls == [("settled", "prod1")]


def test_an_observer_refusal_sends_nothing_and_ends_not_confirmed(tmp_path: Path) -> None:
    observer = Recorder(refuse="restart_wfserver refused: no silence")
    outcome, fake = _engine_run(tmp_path, {"watchdog", "wfserver@prod"}, observer, force=True)
    assert outcome.status == "not_confirmed" and outcome.message == "restart_wfserver refused: no silence"
    assert fake.changes() == [] and observer.calls[-1] == ("settled", "prod1")
