from __future__ import annotations

import pytest

from runner import retry
from runner.errors import AuthError, HostKeyError, TransportError


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "open"


def test_transient_failures_retried_with_backoff() -> None:
    sleeps: list[float] = []
    fn = Flaky([TransportError("refused", host="h"), TransportError("reset", host="h")])
    seen: list[int] = []
    out = retry.connect(
        fn,
        retry.ConnectPolicy(attempts=5, initial=0.5, max_wait=4),
        on_retry=lambda n, e, w: seen.append(n),
        sleep=sleeps.append,
    )
    assert out == "open" and fn.calls == 3 and seen == [1, 2]
    assert len(sleeps) == 2 and all(0 < s <= 4.5 for s in sleeps)
    assert sleeps[1] >= 0.5  # exponential: the second wait is at least the initial one


@pytest.mark.parametrize("exc", [AuthError("denied", host="h"), HostKeyError("changed", host="h"), ValueError("bug")])
def test_never_retried(exc: Exception) -> None:
    fn = Flaky([exc])
    with pytest.raises(type(exc)):
        retry.connect(fn, retry.ConnectPolicy(), sleep=lambda s: None)
    assert fn.calls == 1


def test_gives_up_after_attempts() -> None:
    fn = Flaky([TransportError("x", host="h") for _ in range(10)])
    with pytest.raises(TransportError):
        retry.connect(fn, retry.ConnectPolicy(attempts=3), sleep=lambda s: None)
    assert fn.calls == 3


def test_poll_until_done_and_returns_last_value() -> None:
    values = iter([1, 2, 3, 4])
    sleeps: list[float] = []
    assert retry.poll(lambda: next(values), lambda v: v >= 3, timeout=60, interval=2, sleep=sleeps.append) == 3
    assert sleeps == [2, 2]


def test_poll_gives_up_returning_last() -> None:
    calls = []
    out = retry.poll(lambda: calls.append(1) or len(calls), lambda v: False, timeout=0.05, interval=0.01)
    assert out == len(calls) >= 1


def test_a_refused_connection_gets_one_short_retry() -> None:
    from runner.errors import ConnectionRefused

    fn = Flaky([ConnectionRefused("connection refused by 10.0.0.1:22", host="h") for _ in range(10)])
    with pytest.raises(ConnectionRefused):
        retry.connect(fn, retry.ConnectPolicy(attempts=5), sleep=lambda s: None)
    assert fn.calls == 2  # not the five a slow network gets
    assert "2 when refused" in retry.ConnectPolicy().describe()


def test_the_console_shows_one_line_per_host_that_does_not_answer(capsys: pytest.CaptureFixture[str]) -> None:
    from runner.console import Progress

    show = Progress(True)
    for attempt in (1, 2, 3):
        show({"event": "host.retrying", "host": "prod1", "attempt": attempt, "message": "refused", "policy": "p"})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1 and "prod1" in lines[0] and "retrying: p" in lines[0]
