"""The engine over an in-memory host: stages, statuses, and that the audit log holds what was sent."""

from __future__ import annotations

import json
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from runner import playbook
from runner.audit import AuditLog
from runner.errors import CommandTimeout
from runner.execute import Engine, RunConfig
from runner.inventory import Host
from runner.outcomes import HostStatus, StepStatus
from tests.unit.fakehost import EVIDENCE_MARK, HOLD_MARK, SETTINGS_MARK, FakeHost

BANNER = "12:09:54 >   Application server for Adobe Campaign Classic (7.3 23.10 build 9362@6e4ecd4) of 14/02/2024"

WFSERVER = """
module: wfserver
title: Workflow server
scope: runs workflows
symptom: workflows stuck
checks:
  - id: wfserver_running
    title: wfserver is in pdump
    effect: read
    action: module_running
    args: {module: wfserver}
    gate: true
remediation:
  - id: start_wfserver
    title: Start wfserver
    effect: change
    action: start_module
    args: {module: wfserver}
    when: {failed: wfserver_running}
  - id: restart_wfserver
    title: Restart wfserver
    effect: disrupt
    action: restart_module
    args: {module: wfserver}
    when: {passed: wfserver_running}
    interrupts: running workflows
verification:
  - id: wfserver_back
    title: wfserver is in pdump
    effect: read
    action: module_running
    args: {module: wfserver}
    poll: {timeout: 5, interval: 0.01}
"""

SYSLOGD = """
module: syslogd
title: Log server
scope: writes logs
symptom: log lines missing
checks:
  - id: syslogd_running
    title: syslogd is in pdump
    effect: read
    action: module_running
    args: {module: syslogd}
remediation:
  - id: start_syslogd
    title: Start syslogd
    effect: change
    action: start_module
    args: {module: syslogd}
    when: {failed: syslogd_running}
verification:
  - id: record_reaches_log
    title: a test record reaches the log
    effect: read
    action: syslog_roundtrip
    args: {port: "{syslogd_port}", file: "/var/log/syslogd.log", wait: 1}
    poll: {timeout: 5, interval: 0.01}
"""


class Campaign:
    """What the fake host's nlserver answers: pdump of the running modules, monitor -missing of the enabled
    ones that do not run; start/restart change what runs."""

    def __init__(self, running: set[str], enabled: set[str] | None = None, starting_for: int = 0) -> None:
        self.running = set(running)
        self.enabled = set(enabled if enabled is not None else {"wfserver@prod", "syslogd@default"})
        self.probes = 0
        self.starting_for = starting_for  # after a start, answers in which the module shows nowhere yet
        self.starting: set[str] = set()

    def pdump(self) -> str:
        lines = [f"{name} ({1000 + i}) - 9.2 MB" for i, name in enumerate(sorted(self.running))]
        return "\n".join([BANNER, *(lines or ["No tasks"])]) + "\n"

    def __call__(self, command: str) -> tuple[str, str, int]:
        if command.endswith("nlserver pdump"):
            return self.pdump(), "", 0
        if command.endswith("nlserver monitor -missing"):
            if self.starting and self.starting_for > 0:  # started, not yet in pdump nor in monitor -missing
                self.starting_for -= 1
                hidden = self.running - self.starting
                lines = [f"{n} ({1000 + i}) - 9.2 MB" for i, n in enumerate(sorted(hidden))] or ["No tasks"]
                return "\n".join([BANNER, *lines]) + f"\n@@missing 0\n{BANNER}\n", "", 0
            missing = "".join(f"{m}\n" for m in sorted(self.enabled - self.running))
            return f"{self.pdump()}@@missing 0\n{BANNER}\n{missing}", "", 0
        if "last lines of" in command:  # how a stopped module stopped: its log tail and the watchdog
            log = "wfserver@prod: last lines of /x/wfserver.log\n2026-12-02T20:00:00.000Z\t1\tStop requested by admin"
            return f"{log}\nwatchdog running: watchdog (1000) - 9.2 MB\n", "", 0
        started = re.search(r"nlserver (start|restart) '?([\w@]+)'?", command)
        if started:
            self.running.add(started.group(2))
            self.starting.add(started.group(2))
            return f"Running task '{started.group(2)}' in a new process\nServer started", "", 0
        if "remediate-syslog-probe" in command:
            self.probes += 1
            token = re.search(r"remediate-syslog-probe-[\w-]+", command)
            assert token is not None
            # The first probe's record is lost (syslogd was still starting); the next one arrives.
            found = "12:found\n" if self.probes > 1 else ""
            return f"@@token {token.group(0)}\n{found}", "", 0 if self.probes > 1 else 1
        return "", f"unexpected command {command!r}", 127


def _book(tmp_path: Path, text: str) -> playbook.Playbook:
    module = re.search(r"^module: (\w+)", text, re.M)
    assert module is not None
    path = tmp_path / f"{module.group(1)}.yml"
    path.write_text(textwrap.dedent(text))
    return playbook.load(path)


def _host(**extra: Any) -> Host:
    return Host("prod1", ("all",), {"instance": "prod", "nlserver": "nlserver", **extra}, "test:1")


def _run(tmp_path: Path, book: str, fake: FakeHost, **config: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    log = AuditLog(tmp_path / "audit.jsonl")
    cfg = RunConfig(session_factory=fake.factory, **config)
    outcomes = Engine([_host(syslog_probe=True)], log, cfg).run(_book(tmp_path, book))
    log.close()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events, "the run wrote no audit record"
    return outcomes, events


def _recorded_commands(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["phase"], e["command"])
        for e in events
        if e["event"] in ("step.finished", "step.planned") and e.get("command")
    ]


def test_healthy_host_is_left_alone(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"wfserver@prod", "watchdog"}))
    outcomes, events = _run(tmp_path, WFSERVER, fake)
    assert outcomes[0].status is HostStatus.HEALTHY
    assert fake.changes() == []
    assert [e["outcome"] for e in events if e["event"] == "step.finished"] == ["passed"]


def test_missing_module_is_started_once_then_verified(tmp_path: Path) -> None:
    campaign = Campaign({"watchdog"})
    fake = FakeHost(campaign)
    outcomes, _events = _run(tmp_path, WFSERVER, fake, yes=True)
    assert outcomes[0].status is HostStatus.REMEDIATED
    assert fake.changes() == ["nlserver start wfserver@prod"]
    assert "wfserver@prod" in campaign.running
    assert fake.released == 1  # the lock was taken through its own stream and released cleanly


def test_a_module_not_shown_yet_after_its_start_is_polled_not_passed(tmp_path: Path) -> None:
    """Right after a start, a module may show neither in pdump nor in monitor -missing: after a fix that is
    "not back yet", so the verification polls on (it is not "not enabled here")."""
    campaign = Campaign({"watchdog"}, starting_for=2)
    fake = FakeHost(campaign)
    outcomes, events = _run(tmp_path, WFSERVER, fake, yes=True)
    assert outcomes[0].status is HostStatus.REMEDIATED
    assert campaign.starting_for == 0  # both hidden answers were seen, then the module showed
    (back,) = [e for e in events if e.get("step") == "wfserver_back" and e["event"] == "step.finished"]
    assert back["outcome"] == "passed"
    stuck = FakeHost(Campaign({"watchdog"}, starting_for=10_000))
    outcomes, _events = _run(tmp_path / "stuck", WFSERVER.replace("timeout: 5,", "timeout: 0.3,"), stuck, yes=True)
    assert outcomes[0].status is HostStatus.FAILED and "not back yet" in outcomes[0].message


def test_every_phase_records_the_command_that_was_sent(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}))
    _outcomes, events = _run(tmp_path, WFSERVER, fake, yes=True)
    recorded = _recorded_commands(events)
    assert {phase for phase, _ in recorded} == {"check", "remediation", "verification"}
    for phase, command in recorded:
        pool = fake.changes() if phase == "remediation" else fake.reads()
        assert command in pool, f"{phase} recorded {command!r}, which was never sent"


def test_verification_records_the_probe_it_sent_last(tmp_path: Path) -> None:
    campaign = Campaign({"watchdog"})
    fake = FakeHost(campaign)
    outcomes, events = _run(tmp_path, SYSLOGD, fake, yes=True)
    assert outcomes[0].status is HostStatus.REMEDIATED
    probes = [c for c in fake.reads() if "remediate-syslog-probe" in c]
    assert len(probes) == 2 and probes[0] != probes[1]  # each probe sends a fresh record
    (verification,) = [c for phase, c in _recorded_commands(events) if phase == "verification"]
    assert verification == probes[-1]


def test_dry_run_sends_no_change_and_shows_the_commands(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}))
    outcomes, events = _run(tmp_path, WFSERVER, fake, dry_run=True)
    assert outcomes[0].status is HostStatus.WOULD_REMEDIATE
    assert fake.changes() == [] and fake.streams == []  # no lock either: a dry-run changes nothing
    planned = [e["command"] for e in events if e["event"] == "step.planned"]
    assert planned[0] == "nlserver start wfserver@prod"


def test_disruptive_step_without_terminal_is_refused(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"wfserver@prod"}))
    outcomes, events = _run(tmp_path, WFSERVER, fake, force=True)
    assert outcomes[0].status is HostStatus.NOT_CONFIRMED
    assert fake.changes() == []
    assert any(e["event"] == "confirmation.refused" for e in events)


@pytest.mark.parametrize("exc", [CommandTimeout, ConnectionError])
def test_change_that_may_have_half_run_is_not_retried(tmp_path: Path, exc: type[Exception]) -> None:
    from runner.errors import ConnectionLost

    fake = FakeHost(Campaign({"watchdog"}), fail_changes=exc if exc is CommandTimeout else ConnectionLost)
    outcomes, events = _run(tmp_path, WFSERVER, fake, yes=True)
    assert outcomes[0].status is HostStatus.UNKNOWN
    assert fake.changes() == ["nlserver start wfserver@prod"]
    finished = [e for e in events if e["event"] == "step.finished" and e["phase"] == "remediation"]
    want = StepStatus.TIMEOUT if exc is CommandTimeout else StepStatus.UNKNOWN
    assert [e["outcome"] for e in finished] == [want]


def test_a_changing_run_anchors_its_chain_head_on_the_host(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}))
    _outcomes, events = _run(tmp_path, WFSERVER, fake, yes=True)
    (written,) = [e for e in events if e["event"] == "anchor.written"]
    (command,) = fake.anchors()
    assert written["head"] in command and '"outcome":"remediated"' in command
    # the head is the hash of the line written just before the anchor
    before = events[events.index(written) - 1]
    assert before["hash"] == written["head"]
    dry = FakeHost(Campaign({"watchdog"}))
    _run(tmp_path / "dry", WFSERVER, dry, dry_run=True)
    assert dry.anchors() == []  # a dry-run takes no lock and leaves nothing on the host


def test_module_not_enabled_on_this_host_does_not_apply(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}, enabled=set()))  # e.g. a mid-sourced instance without it
    outcomes, events = _run(tmp_path, WFSERVER, fake)
    assert outcomes[0].status is HostStatus.NOT_APPLICABLE
    assert "not enabled" in outcomes[0].message
    assert fake.changes() == []
    assert [(e["step"], e["outcome"]) for e in events if e["event"].startswith("step.") and "outcome" in e] == [
        ("wfserver_running", "skipped")
    ]


def test_lock_held_by_another_run(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}), lock_answer="HELD run abc by alice\n")
    outcomes, _events = _run(tmp_path, WFSERVER, fake)
    assert outcomes[0].status is HostStatus.LOCKED
    assert "alice" in outcomes[0].message
    assert fake.sent == []


def test_lock_directory_not_writable_is_its_own_error(tmp_path: Path) -> None:
    fake = FakeHost(
        Campaign({"watchdog"}), lock_answer="NODIR mkdir: cannot create directory '/x': Permission denied\n"
    )
    outcomes, events = _run(tmp_path, WFSERVER, fake)
    assert outcomes[0].status is HostStatus.FAILED
    assert "Permission denied" in outcomes[0].message and "lock_dir" in outcomes[0].message
    assert fake.sent == []
    assert any(e["event"] == "host.precondition_failed" for e in events)


@pytest.mark.parametrize(
    ("account", "wrap"),
    [({}, ""), ({"campaign_user": "acc", "become": "sudo"}, "sudo -n -u acc -- sh -c 'eval \"$(cat)\"' <<'@@rmdas")],
    ids=["direct", "sudo-to-campaign-user"],
)
@pytest.mark.parametrize("dropped", [0, 1], ids=["", "batch-resent"])
def test_every_recorded_command_is_the_text_the_host_received(
    tmp_path: Path, account: dict[str, str], wrap: str, dropped: int
) -> None:
    """The plan builds, the worker sends, the audit records one text: every read batch (``batch.sent``) and
    every change is recorded byte for byte as the session received it, with the Campaign environment
    sourced and, when the Campaign account is not the SSH user's (the fake logs in as neolane), the sudo
    wrap; each read step is recorded as its command inside the batch. A batch sent again after a lost
    connection is recorded again."""
    fake = FakeHost(Campaign({"watchdog"}), drop_batches=dropped)
    log = AuditLog(tmp_path / "audit.jsonl")
    env = {"instance": "prod", "nlserver": "nlserver", "nlserver_env": "/opt/nl 6/env.sh", **account}
    host = Host("prod1", ("all",), env, "t")
    outcomes = Engine([host], log, RunConfig(session_factory=fake.factory, yes=True)).run(_book(tmp_path, WFSERVER))
    log.close()
    assert outcomes[0].status is HostStatus.REMEDIATED
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    batches = [e for e in events if e["event"] == "batch.sent"]
    changes = [e for e in events if e.get("phase") == "remediation" and e.get("command")]
    assert len(batches) >= 2 + dropped and changes  # the checks' batch (twice if resent), the verification's
    if dropped:
        assert batches[0]["command"] == batches[1]["command"]
    sent_events = ("batch.sent", "read.sent", "anchor.written")
    recorded = [
        e["command"] for e in events if e["event"] in sent_events or (e in changes and e["event"] == "step.started")
    ]
    # every text the session received, in order, is recorded byte for byte: the read batches, the changes,
    # the run's own reads (its holds, the host's settings, how a stopped module stopped) and its anchor
    assert fake.received == recorded
    own = [e for e in events if e["event"] == "read.sent"]
    assert [e["read"] for e in own] == ["holds", "settings", "stop evidence"]
    assert HOLD_MARK in own[0]["command"] and SETTINGS_MARK in own[1]["command"] and EVIDENCE_MARK in own[2]["command"]
    locked = [e["command"] for e in events if e["event"] == "lock.acquired"]
    assert fake.streams == locked and len(locked) == 1 + dropped  # on its own channel; again after reconnecting
    wire = [
        e["command"] for e in events if e["event"] == "batch.sent" or (e in changes and e["event"] == "step.started")
    ]
    for text in wire:
        assert text.startswith(wrap), text[:120]
    for record in changes:
        assert record["command"] in fake.received and record["command"] in fake.changes()
    batch_texts = [e["command"] for e in batches]
    for e in events:
        if e["event"] in ("step.started", "step.finished") and e["phase"] != "remediation":
            assert any(f"\n{e['command']}\n" in b for b in batch_texts), f"{e['step']} was in no batch sent"
    assert all(b["steps"] and b["host"] == "prod1" and b["module"] == "wfserver" for b in batches)
    assert batches[0]["steps"] == ["wfserver/wfserver_running"]
    change = changes[0]["command"]
    start = ". '/opt/nl 6/env.sh' && nlserver start wfserver@prod"
    assert change == start if not wrap else f"\n{start}\n" in change
    assert "\n. '/opt/nl 6/env.sh' || exit 98\n" in batch_texts[0]  # the environment, once per batch
    assert fake.changes() == [change]  # sent once, byte for byte what was recorded


def test_a_stopped_module_is_not_started_without_confirmation(tmp_path: Path) -> None:
    """monitor -missing also lists modules shut down on purpose (usual-commands.md): a start is asked
    for like a disruptive step, and with no terminal it is refused, nothing sent."""
    fake = FakeHost(Campaign({"watchdog"}))
    outcomes, events = _run(tmp_path, WFSERVER, fake)
    assert outcomes[0].status is HostStatus.NOT_CONFIRMED
    assert "starts a module that is not running" in outcomes[0].message
    assert fake.changes() == []
    refused = [e for e in events if e["event"] == "confirmation.refused"]
    assert refused and refused[0]["step"] == "start_wfserver"


def test_the_operator_sees_what_a_start_would_start_and_may_decline(tmp_path: Path) -> None:
    asked: list[Any] = []

    def decline(request: Any) -> bool:
        asked.append(request)
        return False

    fake = FakeHost(Campaign({"watchdog"}))
    outcomes, _events = _run(tmp_path, WFSERVER, fake, confirm=decline)
    assert outcomes[0].status is HostStatus.NOT_CONFIRMED and fake.changes() == []
    assert asked and asked[0].starts == ("wfserver@prod",) and asked[0].command == "nlserver start wfserver@prod"
    # what the host says about how it stopped: its last log line with its time, and the watchdog's state
    assert any("Stop requested by admin" in line and "2026-12-02T20:00" in line for line in asked[0].context)
    assert any(line.startswith("watchdog running") for line in asked[0].context)


def test_a_dry_run_reports_the_start_it_would_ask_for(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}))
    _outcomes, events = _run(tmp_path, WFSERVER, fake, dry_run=True)
    planned = [e for e in events if e["event"] == "step.planned" and e["step"] == "start_wfserver"]
    assert planned and "would ask to confirm starting wfserver@prod" in planned[0]["message"]
    assert "Stop requested by admin" in planned[0]["message"] and fake.changes() == []


def test_verbose_records_show_what_the_host_answered(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"wfserver@prod", "watchdog"}))
    _outcomes, events = _run(tmp_path, WFSERVER, fake, verbose=True)
    check = next(e for e in events if e["event"] == "step.finished" and e["step"] == "wfserver_running")
    assert "\n" in check["message"] and "wfserver@prod (1" in check["message"]  # pdump's own line


def test_the_live_line_says_what_a_host_waits_for_and_clears() -> None:
    import io

    from runner.console import LiveLine

    screen = io.StringIO()
    line = LiveLine(screen, tick=0.01)
    line.begin("prod1", "wfserver is listed by pdump again", 60)
    time.sleep(0.05)
    line.end("prod1")
    text = screen.getvalue()
    assert "prod1  waiting  wfserver is listed by pdump again: 0/60 s" in text
    assert text.endswith("\r\x1b[K")  # cleared when the wait ends
