"""Helpers shared by the lab tests."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import Lab


def poll(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.2) -> Any:
    """Return the first truthy fn() before the deadline, else fail with the last value."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def ssh(lab: Lab, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-F", str(lab.dir / "ssh_config"), "-o", "BatchMode=yes", host, command],
                          capture_output=True, text=True, timeout=timeout)


def nl(lab: Lab, host: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run the host's nlserver as the lab login user (as the runner would over SSH)."""
    return lab.run_as([str(lab.hdir(host) / "nl6/bin/nlserver"), *args], check=False, timeout=timeout)


def log_path(lab: Lab, host: str, rel: str) -> Path:
    return lab.hdir(host) / "nl6" / "var" / rel
