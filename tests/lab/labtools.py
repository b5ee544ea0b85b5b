"""Helpers shared by the lab tests (the wait itself is ``tests.support.wait.wait_until``)."""

from __future__ import annotations

import inspect
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import Lab
from tests.support.wait import wait_until


def poll(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.2, what: str | None = None) -> Any:
    """``tests.support.wait.wait_until`` with the lab tests' defaults; ``what`` defaults to the predicate's source."""
    return wait_until(fn, timeout, what or _describe(fn), interval)


def _describe(fn: Callable[[], Any]) -> str:
    try:
        return inspect.getsource(fn).strip()
    except (OSError, TypeError):
        return repr(fn)


def ssh(lab: Lab, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(lab.dir / "ssh_config"), "-o", "BatchMode=yes", host, command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def nl(lab: Lab, host: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run the host's nlserver as the lab login user (as the runner would over SSH)."""
    return lab.run_as([str(lab.hdir(host) / "nl6/bin/nlserver"), *args], check=False, timeout=timeout)


def log_path(lab: Lab, host: str, rel: str) -> Path:
    """A file under the host's var/ tree (its XTK_VAR_DIR where customer.sh moves it, else nl6/var)."""
    return lab.var_dir(host) / rel
