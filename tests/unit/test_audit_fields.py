"""The audit hash covers every field of a record: changing, removing or adding any one breaks verify.

A hash that left out one field (``operator``, ``ts``, ``event`` ...) would let that field be rewritten
unseen; each field of a real record is changed in turn here, nested ones included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import audit
from runner.events import Event

SCHEMA = [  # runner/audit.py's public field names, all on one record
    *("ts", "run_id", "event", "operator", "host", "module", "step", "phase", "effect", "command", "exit_code"),
    *("duration", "outcome", "message", "reason", "dry_run", "playbook_sha256", "host_key", "prev", "hash"),
]


def _record_log(path: Path) -> list[dict[str, Any]]:
    log = audit.AuditLog(path, run_id="r-fields")
    log.emit(Event.RUN_STARTED, module="wfserver", dry_run=False, reason="INC-1", playbook_sha256="ab" * 32)
    log.emit(
        Event.STEP_FINISHED,
        host="prod1",
        module="wfserver",
        step="wfserver_running",
        phase="check",
        effect="read",
        command="nlserver pdump",
        exit_code=0,
        duration=0.25,
        outcome="passed",
        message="wfserver@prod running",
        reason="INC-1",
        dry_run=True,
        playbook_sha256="cd" * 32,
        host_key="SHA256:abc",
        snapshots={"pdump": "nlserver pdump"},
        tags=["a", "b"],
    )
    log.emit(Event.RUN_FINISHED, status="healthy")
    log.close()
    return [json.loads(line) for line in path.read_text().splitlines()]


def _changed(value: Any) -> Any:
    """Another value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value + "x" if value else "x"
    if isinstance(value, list):
        return [*value, "x"]
    if value is None:
        return "x"
    raise AssertionError(f"no change for {value!r}")


def _paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every field of a record, nested ones by their path (operator.login ...)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from _paths(inner, (*path, key))


def _set(record: dict[str, Any], path: tuple[str, ...], how: str) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    if how == "remove":
        del target[path[-1]]
    elif isinstance(target[path[-1]], dict):
        target[path[-1]] = {**target[path[-1]], "added": "x"}
    else:
        target[path[-1]] = _changed(target[path[-1]])


def _verify_with(path: Path, records: list[dict[str, Any]]) -> tuple[bool, str]:
    path.write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records))
    ok, _count, message = audit.verify(path)
    return ok, message


def test_the_record_carries_every_schema_field(tmp_path: Path) -> None:
    records = _record_log(tmp_path / "a.jsonl")
    assert set(SCHEMA) <= set(records[1]), sorted(set(SCHEMA) - set(records[1]))
    assert records[1]["operator"] and isinstance(records[1]["operator"], dict)
    assert _verify_with(tmp_path / "b.jsonl", records)[0]  # rewritten unchanged: still intact


@pytest.mark.parametrize("how", ["change", "remove"])
def test_changing_any_one_field_breaks_verify(tmp_path: Path, how: str) -> None:
    records = _record_log(tmp_path / "a.jsonl")
    fields = list(_paths(records[1]))
    assert {("operator",), ("ts",), ("event",), ("host",), ("prev",), ("hash",)} <= set(fields)
    assert any(len(p) == 2 and p[0] == "operator" for p in fields)  # nested: operator.login ...
    survived = []
    for field in fields:
        copy = json.loads(json.dumps(records))
        _set(copy[1], field, how)
        ok, message = _verify_with(tmp_path / "b.jsonl", copy)
        if ok or ":2:" not in message:
            survived.append(".".join(field))
    assert not survived, f"{how} of these fields left the chain intact: {survived}"


def test_adding_a_field_breaks_verify(tmp_path: Path) -> None:
    records = _record_log(tmp_path / "a.jsonl")
    records[1]["approved_by"] = "someone"
    ok, message = _verify_with(tmp_path / "b.jsonl", records)
    assert not ok and ":2:" in message
