from __future__ import annotations

import json

import pytest

from runner.outcomes import ExitCode, HostStatus, ModuleVerdict, StepStatus
from runner.render import RunDocument, json_document
from runner.report import HostOutcome, StepOutcome, exit_code


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["healthy", "remediated", "would_remediate"], 0),
        (["healthy", "failed"], 1),
        (["unreachable", "healthy"], 3),
        (["not_confirmed", "healthy"], 4),
        (["locked", "healthy"], 4),
        (["unknown", "failed", "unreachable", "not_confirmed"], 5),
        (["failed", "unreachable", "not_confirmed"], 1),
        (["unreachable", "not_confirmed"], 3),
        ([], 0),
    ],
)
def test_exit_code_precedence(statuses: list[str], code: int) -> None:
    assert exit_code([HostOutcome(f"h{i}", HostStatus(s)) for i, s in enumerate(statuses)]) == code


def test_a_host_not_concluded_on_is_pending_not_unknown_and_fails_the_run() -> None:
    """PENDING is the default (nothing decided yet), a word of its own: not UNKNOWN, the outcome of a
    change whose connection dropped; a run that leaves a host pending is not a success."""
    pending = HostOutcome("h")
    assert pending.status is HostStatus.PENDING and str(pending.status) == "pending"
    assert HostStatus.PENDING is not HostStatus.UNKNOWN and HostStatus.PENDING != HostStatus.UNKNOWN
    assert exit_code([HostOutcome("h0", HostStatus.HEALTHY), pending]) is ExitCode.UNKNOWN
    assert exit_code([HostOutcome("h0", HostStatus.UNREACHABLE), pending]) is ExitCode.UNKNOWN


def test_interrupted_wins() -> None:
    assert exit_code([HostOutcome("h", HostStatus.UNKNOWN)], interrupted=True) == ExitCode.INTERRUPTED == 130


def test_every_host_status_has_an_exit_code() -> None:
    for status in HostStatus:
        assert isinstance(exit_code([HostOutcome("h", status)]), ExitCode)


def test_unknown_status_word_is_refused() -> None:
    with pytest.raises(ValueError):
        exit_code([HostOutcome("h", "not_run")])  # type: ignore[arg-type]


def test_json_document_uses_the_public_words() -> None:
    host = HostOutcome("h1", HostStatus.FAILED, "cannot diagnose")
    host.steps.append(StepOutcome("s", "check", "read", "t", "nlserver pdump", StepStatus.UNDETERMINED))
    host.modules["web"] = ModuleVerdict.PROBLEM
    doc = json.loads(json.dumps(json_document(RunDocument("r1", "web", False, [host], exit_code([host])))))
    assert doc["exit_code"] == 1
    assert doc["hosts"]["h1"]["status"] == "failed"
    assert doc["hosts"]["h1"]["steps"][0]["outcome"] == "undetermined"
    assert doc["hosts"]["h1"]["modules"] == {"web": "problem"}
