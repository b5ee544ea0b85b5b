"""On-call across a fleet, on the lab: notifications to real HTTP receivers, --incident in the audit log and
the host's anchors, require_incident, Alertmanager silences in a real Alertmanager, and bad input refused
before any host is touched.

The disruptive run is ``wfserver --force --yes`` (a restart of a running wfserver): the restart is
asserted through the lab (wfserver's pid changed), the silence through Alertmanager's API while the
runner waits in verification (the lab's slow_restart fault keeps wfserver out of pdump for ~4 s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import Lab
from tests.support.alertmanager import Alertmanager, running_alertmanager
from tests.support.cli import Runner, finish
from tests.support.labfix import pid_of
from tests.support.receiver import (
    check_pagerduty,
    check_slack,
    check_teams,
    check_webhook,
    closed_port,
    receiving,
)

# one pytest-xdist worker runs the whole file: one Alertmanager for the module
pytestmark = pytest.mark.xdist_group("test_team")

WF = "wfserver@prod"
SLACK_TOKEN = "T0000/B0000/xoxb-s3cr3t-slack"
PD_KEY = "e93facc04764012d7bfb002500d5d1a6"


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    with running_alertmanager(tmp_path_factory.mktemp("alertmanager")) as running:
        yield running


def _inventory(lab: Lab, tmp_path: Path, host_vars: dict[str, Any] | None = None, **group_vars: Any) -> Path:
    """The lab's inventory with vars added to the group ``lab`` (group vars) or to lab1 itself."""
    doc = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    group = doc["all"]["children"]["lab"]
    group.setdefault("vars", {}).update(group_vars)
    group["hosts"]["lab1"].update(host_vars or {})
    path = tmp_path / "inventory-team.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def _restart(remediate: Runner, host: str, *args: str, **kw: Any) -> Any:
    return remediate("wfserver", "--host", host, "--force", "--yes", *args, **kw)


def test_each_notifier_receives_its_documented_payload(lab: Lab, remediate: Runner, host: str, tmp_path: Path) -> None:
    before = pid_of(lab, host, WF)
    with receiving() as rx:
        cfg = _config(
            tmp_path,
            f"timeout: 3\nnotifiers:\n"
            f"  - type: slack\n    url_env: TEAM_SLACK_URL\n"
            f"  - type: teams\n    url_env: TEAM_TEAMS_URL\n"
            f"  - type: pagerduty\n    routing_key_env: TEAM_PD_KEY\n    url: {rx.url}/pagerduty/v2/change/enqueue\n"
            f"  - type: webhook\n    url_env: TEAM_HOOK_URL\n",
        )
        env = {
            "TEAM_SLACK_URL": f"{rx.url}/slack/services/{SLACK_TOKEN}",
            "TEAM_TEAMS_URL": f"{rx.url}/teams/webhookb2/teams-s3cr3t",
            "TEAM_PD_KEY": PD_KEY,
            "TEAM_HOOK_URL": f"{rx.url}/hook/h00k-s3cr3t",
        }
        res = _restart(
            remediate,
            host,
            "--incident",
            "INC-4242",
            "--reason",
            "workflows stuck",
            "--config",
            str(cfg),
            "-v",
            env=env,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        after = pid_of(lab, host, WF)
        assert after is not None and after != before  # wfserver really restarted
        run_id = remediate.events()[0]["run_id"]
        moments = ["run.started", "confirmation.given", "host.remediated", "run.finished"]
        hooks = rx.at("/hook/h00k-s3cr3t")
        assert [b["event"] for b in hooks] == moments
        for body in hooks:
            check_webhook(body)
            assert (body["run_id"], body["module"], body["incident"], body["reason"]) == (
                run_id,
                "wfserver",
                "INC-4242",
                "workflows stuck",
            )
            assert body["operator"]
        assert hooks[0]["steps"] == ["restart_wfserver"] and hooks[0]["hosts"] == [host]
        assert hooks[1]["host"] == host and hooks[1]["step"] == "restart_wfserver"
        assert hooks[3]["exit_code"] == 0
        slack = rx.at(f"/slack/services/{SLACK_TOKEN}")
        teams = rx.at("/teams/webhookb2/teams-s3cr3t")
        pd = rx.at("/pagerduty/v2/change/enqueue")
        assert len(slack) == len(teams) == len(pd) == 4
        for body in slack:
            check_slack(body)
            assert "INC-4242" in json.dumps(body) and run_id in json.dumps(body)
        for body in teams:
            check_teams(body)
            assert "INC-4242" in json.dumps(body) and run_id in json.dumps(body)
        for body in pd:
            check_pagerduty(body, PD_KEY)
            assert body["payload"]["custom_details"]["incident"] == "INC-4242"
            assert body["payload"]["custom_details"]["run_id"] == run_id
    sent = [e for e in remediate.events() if e["event"] == "notify.sent"]
    assert len(sent) == 16 and not [e for e in remediate.events() if e["event"] == "notify.failed"]
    written = remediate.audit_log.read_text() + res.stdout + res.stderr
    for secret in (SLACK_TOKEN, "teams-s3cr3t", PD_KEY, "h00k-s3cr3t"):
        assert secret not in written, secret


def test_a_dead_notifier_leaves_the_exit_code_and_is_audited(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    before = pid_of(lab, host, WF)
    cfg = _config(tmp_path, "notifiers:\n  - type: webhook\n    name: deadhook\n    url_env: TEAM_DEAD_URL\n")
    res = _restart(remediate, host, "--config", str(cfg), env={"TEAM_DEAD_URL": f"http://127.0.0.1:{closed_port()}/x"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert pid_of(lab, host, WF) not in (None, before)
    warnings = [line for line in res.stderr.splitlines() if "notifier deadhook" in line]
    assert len(warnings) == 1 and "warning" in warnings[0], res.stderr
    failed = [e for e in remediate.events() if e["event"] == "notify.failed"]
    assert {e["moment"] for e in failed} == {"run.started", "confirmation.given", "host.remediated", "run.finished"}
    assert all(e["notifier"] == "deadhook" and "no answer" in e["message"] for e in failed)


def test_incident_is_in_every_audit_record_and_the_host_anchor(lab: Lab, remediate: Runner, host: str) -> None:
    res = remediate("wfserver", "--host", host, "--incident", "CHG-0042")
    assert res.returncode == 0, res.stdout + res.stderr
    events = remediate.events()
    assert len(events) > 5 and all(e.get("incident") == "CHG-0042" for e in events)
    run_id = events[0]["run_id"]
    anchors = Path(lab.hdir(host)) / "nl6" / "var" / "remediate" / "locks" / "audit-anchors.jsonl"
    records = [json.loads(line) for line in anchors.read_text().splitlines() if line.startswith('{"')]
    mine = [r for r in records if r.get("run_id") == run_id]
    assert len(mine) == 1 and mine[0]["incident"] == "CHG-0042"


def test_require_incident_refuses_disruptive_runs_before_any_host(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    inventory = _inventory(lab, tmp_path, require_incident=True)  # group var of lab
    before = pid_of(lab, host, WF)
    res = _restart(remediate, host, inventory=inventory)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "require_incident" in res.stderr and host in res.stderr and "--incident" in res.stderr
    remediate.assert_no_audit_log()
    assert pid_of(lab, host, WF) == before
    res = _restart(remediate, host, "--incident", "INC-7", inventory=inventory)
    assert res.returncode == 0, res.stdout + res.stderr
    assert pid_of(lab, host, WF) not in (None, before)


def test_alertmanager_silence_exists_during_the_step_and_is_expired_after(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path, am: Alertmanager
) -> None:
    inventory = _inventory(lab, tmp_path, {"alertmanager_url": am.url})
    lab.break_(host, "slow_restart")  # wfserver shows in pdump ~4 s after its restart: verification polls
    before = pid_of(lab, host, WF)
    proc = remediate.start("wfserver", "--host", host, "--force", "--yes", "--incident", "INC-77", inventory=inventory)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        seen += [s for s in am.active() if "INC-77" in s["comment"]]
        time.sleep(0.1)
    code, out, err = finish(proc)
    assert code == 0, out + err
    assert pid_of(lab, host, WF) not in (None, before)
    assert seen, "no active silence was seen while the run went on"
    live = seen[0]
    assert {(m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in live["matchers"]} == {
        ("instance", f"{host}(:[0-9]+)?", True, True),
        ("module", "wfserver", False, True),
    }
    events = remediate.events()
    run_id = events[0]["run_id"]
    assert live["comment"] == f"INC-77: remediate wfserver restart_wfserver on {host}, run {run_id}"
    created = [e for e in events if e["event"] == "silence.created"]
    expired = [e for e in events if e["event"] == "silence.expired"]
    assert len(created) == 1 and created[0]["silence_id"] == live["id"] and expired
    order = [e["event"] for e in events]
    restart = next(
        i for i, e in enumerate(events) if e["event"] == "step.started" and e.get("step") == "restart_wfserver"
    )
    verified = max(i for i, e in enumerate(events) if e.get("step") == "wfserver_back")
    assert order.index("silence.created") < restart < verified < order.index("silence.expired")
    assert am.silence(live["id"])["status"]["state"] == "expired"  # in Alertmanager itself
    assert not [s for s in am.active() if s["id"] == live["id"]]


def test_an_alertmanager_that_does_not_answer_warns_or_refuses(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    before = pid_of(lab, host, WF)
    res = _restart(remediate, host, inventory=_inventory(lab, tmp_path, {"alertmanager_url": dead}))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "goes on without a silence" in res.stderr
    assert [e["action"] for e in remediate.events() if e["event"] == "silence.failed"] == ["create"]
    restarted = pid_of(lab, host, WF)
    assert restarted not in (None, before)

    remediate.audit_log.unlink()
    strict = _inventory(lab, tmp_path, {"alertmanager_url": dead, "silence_required": True})
    res = _restart(remediate, host, inventory=strict)
    assert res.returncode == 4, res.stdout + res.stderr
    assert pid_of(lab, host, WF) == restarted  # nothing was restarted
    events = remediate.events()
    assert not [e for e in events if e["event"] == "step.started" and e.get("step") == "restart_wfserver"]
    declined = [e for e in events if e.get("step") == "restart_wfserver" and e["event"] == "step.finished"]
    assert declined and "silence_required" in declined[0]["message"]


@pytest.mark.parametrize(
    ("args", "config", "words"),
    [
        (("--incident", "INC 1"), None, "--incident: the incident id 'INC 1' contains ' '"),
        (("--incident", "X" * 65), None, "--incident: the incident id is 65 characters long"),
        (("--incident", ""), None, "--incident: the incident id is empty"),
        ((), "notifiers:\n  - type: carrier-pigeon\n    url_env: X\n", "config.yml:2: notifier type 'carrier-pigeon'"),
        (
            (),
            "notifiers:\n  - type: slack\n    url_env: TEAM_UNSET_URL\n",
            "config.yml:3: environment variable TEAM_UNSET_URL",
        ),
        ((), "alertmanager_url: localhost:9093\n", "config.yml:1: alertmanager_url 'localhost:9093' is not"),
        ((), "notifiers: [\n", "config.yml:2: invalid YAML"),
        (("--serial", "0"), None, "--serial: '0' is not a batch size"),
        (("--serial", "-1"), None, "--serial: '-1' is not a batch size"),
        (("--serial", "150%"), None, "--serial: '150%' is not a batch size"),
        (("--serial", "a,b"), None, "--serial: 'a' is not a batch size"),
    ],
)
def test_bad_input_is_refused_before_any_host(
    lab: Lab, remediate: Runner, tmp_path: Path, args: tuple[str, ...], config: str | None, words: str
) -> None:
    extra = ("--config", str(_config(tmp_path, config))) if config is not None else ()
    res = remediate("wfserver", "--host", "lab1", "--force", "--yes", *args, *extra)
    assert res.returncode == 2, res.stdout + res.stderr
    assert words in res.stderr, res.stderr
    remediate.assert_no_audit_log()


def test_a_malformed_alertmanager_url_host_var_is_refused(lab: Lab, remediate: Runner, tmp_path: Path) -> None:
    inventory = _inventory(lab, tmp_path, {"alertmanager_url": "http//am"})
    res = remediate("wfserver", "--host", "lab1", "--force", "--yes", inventory=inventory)
    assert res.returncode == 2 and "host lab1" in res.stderr and "alertmanager_url 'http//am'" in res.stderr
    remediate.assert_no_audit_log()
