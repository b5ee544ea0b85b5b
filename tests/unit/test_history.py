"""The team history: anchors with the run's summary, bounded anchor files, and the merge with a local log."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner import anchor, history
from runner.audit import AuditLog, line_hash
from runner.events import Event
from runner.inventory import Host


def _run(
    log: AuditLog, module: str, host: str, outcome: str, *, dry_run: bool = False, anchored: bool = True, **extra: Any
) -> None:
    log.emit(Event.RUN_STARTED, module=module, hosts=[host], dry_run=dry_run, **extra)
    if anchored:
        log.emit(Event.LOCK_ACQUIRED, host=host, module=module)
        log.emit(Event.ANCHOR_WRITTEN, host=host, module=module, file="/x/audit-anchors.jsonl", head=log.head)
    log.emit(Event.HOST_FINISHED, host=host, module=module, outcome=outcome)
    log.emit(Event.RUN_FINISHED, module=module, status="finished", exit_code=0, hosts={host: outcome})


def _events(path: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


def _summary(**kw: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "started": "2026-12-01T10:00:00Z",
        "ended": "2026-12-01T10:01:00Z",
        "reason": "disk full",
        "incident": "INC-9",
        "log": "b" * 64,
        "log_host": "laptop-bob",
    }
    return base | kw


def _anchors(*lines: str) -> list[dict[str, str | None]]:
    found, bad, _trimmed = anchor.summaries("\n".join(lines) + "\n")
    assert bad == 0
    return found


def test_an_anchor_carries_the_run_summary_and_old_ones_stay_readable() -> None:
    new = anchor.record("r2", "2026-12-01T10:01:00Z", "bob", "web", "remediated", "h" * 64, _summary(incident=None))
    old = anchor.record("r1", "2026-11-01T09:00:00Z", "carol", "mta", "failed", "g" * 64)
    found, bad, trimmed = anchor.summaries(f"{old}\nnot json\n{new}\n")
    assert bad == 1 and not trimmed
    assert found[0] == {
        "run_id": "r1",
        "ts": "2026-11-01T09:00:00Z",
        "operator": "carol",
        "module": "mta",
        "outcome": "failed",
        "head": "g" * 64,
    }
    assert found[1]["incident"] is None and found[1]["reason"] == "disk full" and found[1]["log_host"] == "laptop-bob"
    assert found[1]["started"] == "2026-12-01T10:00:00Z" and found[1]["ended"] == "2026-12-01T10:01:00Z"
    # audit verify --anchors reads both as it always did
    plain, bad = anchor.parse(f"{old}\n{new}\n")
    assert bad == 0 and [a["run_id"] for a in plain] == ["r1", "r2"] and set(plain[1]) == {*anchor.ANCHOR_KEYS, "log"}
    assert set(plain[0]) == set(anchor.ANCHOR_KEYS)  # an old record has no log id


def test_the_log_id_is_the_hash_of_its_first_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    assert anchor.log_id(path) is None
    log = AuditLog(path, run_id="r1")
    first = log.emit(Event.RUN_STARTED, module="web", hosts=["h1"], dry_run=False)
    log.emit(Event.RUN_FINISHED, module="web", status="finished", exit_code=0, hosts={})
    log.close()
    assert anchor.log_id(path) == first["hash"] == line_hash(first)


def test_the_anchor_file_keeps_the_last_records_and_says_it_was_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "audit-anchors.jsonl"
    for n in range(5):
        line = anchor.record(f"r{n}", f"2026-12-01T10:00:0{n}Z", "o'neil", "web", "remediated", "h" * 64, _summary())
        done = subprocess.run(["sh", "-c", anchor.append_command(str(path), line, 3)], capture_output=True, text=True)
        assert done.returncode == 0 and done.stderr == ""
    lines = path.read_text().splitlines()
    assert lines[0] == anchor.TRIMMED and len(lines) == 4
    found, bad, trimmed = anchor.summaries(path.read_text())
    assert trimmed and bad == 0 and [a["run_id"] for a in found] == ["r2", "r3", "r4"]
    assert found[0]["operator"] == "o'neil"
    assert not (tmp_path / "locks" / "audit-anchors.jsonl.tmp").exists()


def test_keep_is_the_host_var_else_the_default() -> None:
    assert anchor.keep(Host("h", (), {}, "")) == anchor.KEEP == 1000
    assert anchor.keep(Host("h", (), {"anchor_keep": 50}, "")) == 50
    assert anchor.keep(Host("h", (), {"anchor_keep": 0}, "")) == 1


def test_verify_does_not_expect_runs_dropped_from_a_trimmed_file(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", run_id="old")
    _run(log, "web", "h1", "remediated")
    log.close()
    log = AuditLog(tmp_path / "a.jsonl", run_id="new")
    _run(log, "web", "h1", "remediated")
    log.close()
    events = _events(tmp_path / "a.jsonl")
    head = next(e["head"] for e in events if e["event"] == "anchor.written" and e["run_id"] == "new")
    later = "2999-01-01T00:00:00Z"  # the record kept is after the dropped run's anchor
    kept = anchor.record("new", later, "alice", "web", "remediated", head)
    trimmed, _ = anchor.parse(f"{anchor.TRIMMED}\n{kept}\n")
    assert trimmed[0]["trimmed"] == "yes"
    assert anchor.compare(events, {"h1": trimmed}, {}).intact
    untrimmed, _ = anchor.parse(f"{kept}\n")  # nothing was dropped on purpose: the missing run is named
    assert anchor.compare(events, {"h1": untrimmed}, {}).missing_on_host == [("h1", "old")]


def _two_logs(tmp_path: Path) -> tuple[list[dict[str, Any]], str]:
    path = tmp_path / "mine.jsonl"
    log = AuditLog(path, run_id="mine1")
    _run(log, "wfserver", "h1", "remediated", reason="stuck workflows", incident="INC-1")
    log.close()
    log = AuditLog(path, run_id="dry1")
    _run(log, "wfserver", "h1", "would_remediate", dry_run=True, anchored=False)
    log.close()
    log = AuditLog(path, run_id="chk1")
    _run(log, "check", "h1", "healthy", anchored=False)
    log.close()
    own = anchor.log_id(path)
    assert own is not None
    return _events(path), own


def test_the_local_log_gives_its_changing_runs(tmp_path: Path) -> None:
    events, own = _two_logs(tmp_path)
    runs = history.local_runs(events, own)
    assert [r.run_id for r in runs] == ["mine1"]  # the dry-run and the sweep held no lock
    r = runs[0]
    assert (r.module, r.reason, r.incident, r.hosts, r.source, r.log) == (
        "wfserver",
        "stuck workflows",
        "INC-1",
        {"h1": "remediated"},
        history.THIS_LOG,
        own,
    )
    assert r.started is not None and r.ended is not None and r.started <= r.ended


def test_merge_one_entry_per_run_marked_with_where_it_came_from(tmp_path: Path) -> None:
    events, own = _two_logs(tmp_path)
    mine = anchor.record("mine1", "2026-12-03T00:00:00Z", "root", "wfserver", "remediated", "h" * 64, _summary(log=own))
    theirs = anchor.record("bob1", "2026-12-01T10:01:00Z", "bob", "web", "remediated", "f" * 64, _summary())
    theirs_h2 = anchor.record(
        "bob1", "2026-12-01T10:02:00Z", "bob", "web", "failed", "e" * 64, _summary(ended="2026-12-01T10:02:00Z")
    )
    old = anchor.record("old1", "2026-11-01T09:00:00Z", "carol", "mta", "failed", "d" * 64)
    lost = anchor.record("lost1", "2026-12-02T09:00:00Z", "root", "web", "remediated", "c" * 64, _summary(log=own))
    found = {"h1": _anchors(mine, theirs, old, lost), "h2": _anchors(theirs_h2)}
    merged = history.merge(history.local_runs(events, own), found, own)
    by_id = {e.run_id: e for e in merged}
    assert [e.run_id for e in merged] == ["old1", "bob1", "lost1", "mine1"]  # oldest first
    assert by_id["mine1"].source == history.THIS_LOG and by_id["mine1"].via == ["h1"]
    assert by_id["mine1"].incident == "INC-1"  # the local log's account wins
    bob = by_id["bob1"]
    assert bob.source == history.OTHER_LOG and bob.hosts == {"h1": "remediated", "h2": "failed"}
    assert (bob.operator, bob.incident, bob.reason, bob.log_host, bob.via) == (
        "bob",
        "INC-9",
        "disk full",
        "laptop-bob",
        ["h1", "h2"],
    )
    assert bob.ended == "2026-12-01T10:02:00Z" and bob.started == "2026-12-01T10:00:00Z"
    assert by_id["old1"].source == history.UNKNOWN_LOG and by_id["old1"].started is None
    assert by_id["old1"].ended == "2026-11-01T09:00:00Z" and by_id["old1"].reason is None
    assert by_id["lost1"].source == history.NOT_IN_THIS_LOG
    line = history.line(bob)
    for part in ("bob1", "h1=remediated, h2=failed", "web", "bob", 'INC-9 / "disk full"', "another log", "via h1, h2"):
        assert part in line, (part, line)
    assert history.line(by_id["mine1"]).endswith("[this log]")
    assert "unknown log via h1" in history.line(by_id["old1"])


def test_select_by_host_module_and_since(tmp_path: Path) -> None:
    events, own = _two_logs(tmp_path)
    theirs = anchor.record("bob1", "2026-12-01T10:01:00Z", "bob", "web", "remediated", "f" * 64, _summary())
    old = anchor.record("old1", "2026-11-01T09:00:00Z", "carol", "mta", "failed", "d" * 64)
    merged = history.merge(history.local_runs(events, own), {"h2": _anchors(theirs, old)}, own)
    assert [e.run_id for e in history.filter_entries(merged, module="web")] == ["bob1"]
    assert [e.run_id for e in history.filter_entries(merged, hosts={"h1"})] == ["mine1"]
    since = datetime(2026, 11, 15, tzinfo=UTC)
    assert [e.run_id for e in history.filter_entries(merged, since=since, hosts={"h2"})] == ["bob1"]
    assert history.filter_entries(merged, module="nope") == []


def test_read_back_names_every_host_that_could_not_be_read() -> None:
    from runner.wire import Result

    texts, unread = anchor.read_back(
        {"h1": Result("a\n", "", 0), "h2": "connection refused", "h3": Result("", "cat: Permission denied\n", 1)}
    )
    assert texts == {"h1": "a\n"}
    assert unread == {
        "h2": "connection refused",
        "h3": "cannot read the anchor file (exit 1): cat: Permission denied",
    }
