"""End-to-end fixtures: a session Campaign lab (real sshd, real PostgreSQL) and the real CLI.

The lab runs in its own directory and address block (127.0.4.x by default) so it never meets a demo
lab or the lab's own tests. Every test gets a fresh audit log and runs ``remediate`` as a subprocess
with no terminal, exactly as CI and cron would; state is asserted through ``lab.status()``, which
reads /proc, sockets, files and the database, not the runner's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import Lab, temporary_lab

ROOT = Path(__file__).resolve().parents[2]
NET = os.environ.get("REMEDIATE_E2E_NET", "127.0.4")
HOSTS = 3
REMEDIATE = [sys.executable, "-m", "runner"]


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with temporary_lab("remediate-e2e-", NET, HOSTS) as the_lab:
        yield the_lab


@pytest.fixture()
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


class Runner:
    """Runs the real CLI against the lab; keeps the last result for assertions."""

    def __init__(self, lab: Lab, audit_log: Path, workdir: Path) -> None:
        self.lab = lab
        self.audit_log = audit_log
        self.workdir = workdir

    @property
    def inventory(self) -> Path:
        return Path(self.lab.dir) / "inventory.yml"

    def __call__(self, *args: str, inventory: Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = 240, audit: bool = True) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR")}
        full_env.update({"PYTHONPATH": str(ROOT), "REMEDIATE_AUDIT_LOG": str(self.audit_log)})
        full_env.update(env or {})
        argv = [*REMEDIATE, *args]
        if args and args[0] not in ("list", "show", "audit", "triage", "validate") and "-i" not in args:
            argv += ["-i", str(inventory or self.inventory)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.workdir,
                              env=full_env, stdin=subprocess.DEVNULL, check=False)

    def json(self, *args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        res = self(*args, "--output", "json", **kw)
        try:
            return res.returncode, json.loads(res.stdout)
        except ValueError:
            raise AssertionError(f"not JSON (exit {res.returncode}):\n{res.stdout}\n{res.stderr}") from None

    def events(self) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]


@pytest.fixture()
def remediate(lab: Lab, audit_log: Path, tmp_path: Path) -> Runner:
    return Runner(lab, audit_log, tmp_path)


@pytest.fixture()
def host(lab: Lab) -> Iterator[str]:
    """lab1, healed before and after the test, so each test starts from a healthy host."""
    lab.heal("lab1")
    wait_for(lambda: healthy(lab, "lab1"), 30, "lab1 healthy before the test")
    yield "lab1"
    lab.heal("lab1")


def healthy(lab: Lab, name: str) -> bool:
    st = lab.status(name)
    return not st["missing"] and all(p["alive"] for p in st["processes"].values())


def pid_of(lab: Lab, name: str, process: str) -> int | None:
    proc = lab.status(name)["processes"].get(process)
    return proc["pid"] if proc and proc["alive"] else None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(interval)
