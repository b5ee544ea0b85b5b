"""Anchors compared with a log, and the log read back as runs and stories: pure, on real audit files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner import anchor, auditview
from runner.audit import AuditLog, line_hash
from runner.errors import InputError


def _log(path: Path) -> tuple[list[dict[str, object]], str]:
    log = AuditLog(path, run_id="r1")
    log.emit("run.started", module="web", hosts=["h1"], dry_run=False, reason="INC-7")
    log.emit(
        "step.finished",
        host="h1",
        module="web",
        step="web_running",
        phase="check",
        outcome="failed",
        message="web@default is not in pdump",
        command="nlserver pdump",
    )
    log.emit("confirmation.given", host="h1", module="web", step="restart_web", via="--yes")
    log.emit(
        "step.finished",
        host="h1",
        module="web",
        step="restart_web",
        phase="remediation",
        outcome="ran",
        message="exit 0",
        command="nlserver restart web@default",
    )
    head = log.head
    log.emit("anchor.written", host="h1", module="web", file="/x/audit-anchors.jsonl", head=head)
    log.emit("run.finished", module="web", status="finished", exit_code=0, hosts={"h1": "remediated"})
    log.close()
    return [json.loads(line) for line in path.read_text().splitlines()], head


def _anchor(head: str, run_id: str = "r1") -> dict[str, str]:
    text = anchor.record(run_id, "2026-01-01T00:00:00Z", "alice", "web", "remediated", head)
    found, bad = anchor.parse(text + "\nnot json\n")
    assert bad == 1
    return found[0]


def test_anchors_that_match(tmp_path: Path) -> None:
    events, head = _log(tmp_path / "a.jsonl")
    result = anchor.compare(events, {"h1": [_anchor(head)]}, {})
    assert result.intact and result.matched == [("h1", "r1")]


def test_a_rewritten_log_with_a_recomputed_chain_no_longer_matches(tmp_path: Path) -> None:
    events, head = _log(tmp_path / "a.jsonl")
    prev = "0" * 64
    for e in events:  # what a dishonest operator does: change the reason, recompute every hash
        if e["event"] == "run.started":
            e["reason"] = "routine"
        e["prev"] = prev
        e["hash"] = line_hash(e)
        prev = str(e["hash"])
    result = anchor.compare(events, {"h1": [_anchor(head)]}, {})
    assert not result.intact and [r[:2] for r in result.rewritten] == [("h1", "r1")]


def test_a_removed_run_and_an_unreachable_host_are_named(tmp_path: Path) -> None:
    events, head = _log(tmp_path / "a.jsonl")
    result = anchor.compare(events, {"h1": [_anchor(head), _anchor("f" * 64, "r0")]}, {"h2": "connection refused"})
    assert result.missing_from_log == [("h1", "r0")]
    assert result.unreachable == [("h2", "connection refused")] and not result.intact
    bare = anchor.compare(events, {"h1": []}, {})
    assert bare.missing_on_host == [("h1", "r1")]


def test_runs_and_story(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _log(path)
    events = auditview.load(path)
    (run,) = auditview.runs(events)
    assert (run.module, run.reason, run.outcome, run.exit_code) == ("web", "INC-7", {"h1": "remediated"}, 0)
    assert auditview.filter_runs([run], host="h2") == [] and auditview.filter_runs([run], module="web") == [run]
    told = auditview.story(events, "r1")["hosts"]["h1"]
    assert told["failed"][0]["step"] == "web_running"
    assert told["confirmations"][0]["via"] == "--yes"
    assert told["commands"][0]["command"] == "nlserver restart web@default"
    with pytest.raises(InputError, match="no run 'nope'"):
        auditview.story(events, "nope")


def test_missing_or_empty_log_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        auditview.load(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="empty"):
        auditview.load(tmp_path / "empty.jsonl")


def test_since() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert auditview.since_cutoff("24h", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert auditview.since_cutoff("2026-01-01T12:00:00", now).hour == 12
    with pytest.raises(InputError):
        auditview.since_cutoff("yesterday", now)


def test_audit_times_are_shown_in_local_time_to_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        assert auditview.local_time("2026-12-02T21:05:09.123456Z") == "2026-12-02 22:05:09 CET"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _from_log(head: str, run_id: str, log: str) -> dict[str, str]:
    text = anchor.record(run_id, "2026-01-01T00:00:00Z", "bob", "web", "remediated", head, {"log": log})
    return anchor.parse(text)[0][0]


def test_runs_of_another_log_are_told_apart_from_runs_removed_from_this_one(tmp_path: Path) -> None:
    events, head = _log(tmp_path / "a.jsonl")
    ours = str(events[0]["hash"])
    host = [_from_log(head, "r1", ours), _from_log("e" * 64, "r9", "b" * 64)]
    result = anchor.compare(events, {"h1": host}, {})
    assert result.intact and result.other_logs == [("h1", "r9")] and result.matched == [("h1", "r1")]
    # a run this log anchored under its own id, since removed from it: missing, not "another log"
    removed = anchor.compare(events, {"h1": [*host, _from_log("d" * 64, "r0", ours)]}, {})
    assert removed.missing_from_log == [("h1", "r0")] and not removed.intact


def test_a_log_rewritten_from_its_first_line_keeps_its_old_id_on_the_hosts(tmp_path: Path) -> None:
    events, head = _log(tmp_path / "a.jsonl")
    old_id = str(events[0]["hash"])
    prev = "0" * 64
    for e in events:  # every hash recomputed: the log's first-record id changes
        e["prev"] = prev
        e["hash"] = line_hash(e)
        prev = str(e["hash"])
    # r1 is still in the log and was anchored under the old id: that id is this log's, so r0 (removed) is
    # missing from the log, not another operator's run
    host = [_from_log(head, "r1", old_id), _from_log("d" * 64, "r0", old_id)]
    result = anchor.compare(events, {"h1": host}, {})
    assert result.missing_from_log == [("h1", "r0")] and not result.other_logs and not result.intact
