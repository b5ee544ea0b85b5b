"""The one bounded wait of the test suites: poll a real condition until it holds or a deadline passes.

Owns: ``wait_until``. Must not: sleep for a fixed time in place of a condition (callers name what they wait for).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``predicate`` until it returns a truthy value and return that value.

    Raises AssertionError naming ``what`` (the condition waited for), the timeout and the last value seen
    when the condition does not hold within ``timeout`` seconds. The predicate runs at least once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            shown = repr(value)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise AssertionError(f"timed out after {timeout}s waiting for: {what} (last value: {shown})")
        time.sleep(interval)
