from __future__ import annotations

import pytest

from runner.report import HostOutcome, exit_code


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["healthy", "remediated", "would_remediate"], 0),
        (["healthy", "failed"], 1),
        (["unreachable", "healthy"], 3),
        (["not_confirmed", "healthy"], 4),
        (["unknown", "failed", "unreachable", "not_confirmed"], 5),
        (["failed", "unreachable", "not_confirmed"], 1),
        (["unreachable", "not_confirmed"], 3),
        ([], 0),
    ],
)
def test_exit_code_precedence(statuses: list[str], code: int) -> None:
    assert exit_code([HostOutcome(f"h{i}", s) for i, s in enumerate(statuses)]) == code


def test_interrupted_wins() -> None:
    assert exit_code([HostOutcome("h", "unknown")], interrupted=True) == 130
