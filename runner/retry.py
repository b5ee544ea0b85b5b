"""Retry policies: the only module that imports tenacity.

Owns: which failures are retried and how. Connecting is retried with exponential backoff and jitter
inside a bounded time, but never after an authentication or host-key failure. Read-only checks may be
polled until they pass, for as long as the playbook allows. Must not: retry a command that may change
a host — nothing in this module is ever handed one (the engine only polls read steps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from runner.errors import ConnectionRefused, TransportError

T = TypeVar("T")


@dataclass(frozen=True)
class ConnectPolicy:
    """How hard to try to reach a host before calling it unreachable."""

    attempts: int = 5
    budget: float = 30.0  # seconds, across all attempts
    initial: float = 0.3
    max_wait: float = 4.0
    refused_attempts: int = 2  # a refused TCP connection: one short retry (an sshd restarting), no more

    def describe(self) -> str:
        """The policy in words, for the one line an operator reads when a host does not answer at once."""
        return f"up to {self.attempts} attempts within {self.budget:g}s ({self.refused_attempts} when refused)"


def connect(
    open_fn: Callable[[], T],
    policy: ConnectPolicy,
    *,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``open_fn`` until it succeeds, retrying only retryable :class:`TransportError`."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            exc = state.outcome.exception()
            wait = state.next_action.sleep if state.next_action else 0.0
            if exc is not None:
                on_retry(state.attempt_number, exc, wait)

    class refused_enough(tenacity.stop.stop_base):
        """Stop once a refused connection has been tried ``policy.refused_attempts`` times."""

        def __call__(self, state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome is not None else None
            return isinstance(exc, ConnectionRefused) and state.attempt_number >= policy.refused_attempts

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, TransportError) and e.retryable),
        stop=tenacity.stop_any(
            tenacity.stop_after_attempt(policy.attempts), tenacity.stop_after_delay(policy.budget), refused_enough()
        ),
        wait=tenacity.wait_exponential_jitter(multiplier=policy.initial, max=policy.max_wait, jitter=policy.initial),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(open_fn)


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call the read-only ``probe`` until ``done(result)`` or ``timeout`` seconds; return the last result."""
    if timeout <= 0:
        return probe()
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda r: not done(r)),
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(interval),
        sleep=sleep,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    return retrying(probe)
