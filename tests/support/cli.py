"""The one driver of the real ``remediate`` CLI for the end-to-end and reliability suites.

Owns: ``Runner`` (the CLI as a subprocess with no terminal, the lab's inventory, a per-test audit log),
``read_events`` (an audit log read while a run may still be writing it) and ``finish`` (wait for a
background run). Must not: parse the runner's report for host state (tests read ``lab.status``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lab import Lab
from tests.support.forkserver import SERVER

ROOT = Path(__file__).resolve().parents[2]
REMEDIATE = [sys.executable, "-m", "runner"]
# subcommands that take no inventory: the driver adds ``-i <lab inventory>`` to every other command
NO_INVENTORY = ("list", "show", "audit", "triage", "validate")


def _forkable(env: dict[str, str]) -> bool:
    """A run the fork server can stand for: the interpreter would start as the server did."""
    if os.environ.get("REMEDIATE_TEST_EXEC") == "1" or env.get("REMEDIATE_TEST_EXEC") == "1":
        return False
    keys = {k for k in (*env, *os.environ) if k.startswith(("PYTHON", "LANG", "LC_"))}
    return env.get("PYTHONPATH") == str(ROOT) and all(
        env.get(k) == os.environ.get(k) for k in keys if k != "PYTHONPATH"
    )


def read_events(path: Path) -> list[dict[str, Any]]:
    """The audit log's events so far: [] before it exists, a partly written last line skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for a background run; kill it and fail if it is still running after ``timeout`` seconds."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"runner still running after {timeout}s:\n{out}\n{err}") from None
    return proc.returncode, out, err


class Runner:
    """Runs the real CLI against a lab with a fresh audit log; the audit log is read back for assertions."""

    def __init__(self, lab: Lab, audit_log: Path, workdir: Path) -> None:
        self.lab = lab
        self.audit_log = audit_log
        self.workdir = workdir

    @property
    def inventory(self) -> Path:
        return Path(self.lab.dir) / "inventory.yml"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a run: the caller's, minus inventory and colour settings, plus this audit log."""
        env = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR")}
        env.update({"PYTHONPATH": str(ROOT), "REMEDIATE_AUDIT_LOG": str(self.audit_log)})
        env.update(extra)
        return env

    def argv(self, args: tuple[str, ...], inventory: Path | None = None) -> list[str]:
        argv = [*REMEDIATE, *args]
        if args and args[0] not in NO_INVENTORY and "-i" not in args:
            argv += ["-i", str(inventory or self.inventory)]
        return argv

    def __call__(
        self, *args: str, inventory: Path | None = None, env: dict[str, str] | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        """``remediate ARGS`` to completion, stdin closed, output captured.

        The run is a forked child of the worker's warm fork server (``tests.support.forkserver``: its own
        process, environment and directory, without Python's start-up), unless its environment changes
        how the interpreter starts; then, and with ``REMEDIATE_TEST_EXEC=1``, ``python -m runner`` itself.
        """
        argv, run_env = self.argv(args, inventory), self.env(**(env or {}))
        if _forkable(run_env) and SERVER.available():
            code, out, err = SERVER.run(argv[len(REMEDIATE) :], run_env, str(self.workdir), timeout)
            return subprocess.CompletedProcess(argv, code, out, err)
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
            env=run_env,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def json(self, *args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        """``remediate ARGS --output json`` → (exit code, the parsed document)."""
        res = self(*args, "--output", "json", **kw)
        try:
            return res.returncode, json.loads(res.stdout)
        except ValueError:
            raise AssertionError(f"not JSON (exit {res.returncode}):\n{res.stdout}\n{res.stderr}") from None

    def start(
        self, *args: str, audit_log: Path | None = None, inventory: Path | None = None, **env: str
    ) -> subprocess.Popen[str]:
        """``remediate ARGS`` in the background (no terminal), for signals and concurrent runs."""
        if audit_log is not None:
            env["REMEDIATE_AUDIT_LOG"] = str(audit_log)
        return subprocess.Popen(
            self.argv(args, inventory),
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
        )

    def events(self) -> list[dict[str, Any]]:
        """Every event of the audit log; fails when the log is missing or empty (the run wrote nothing)."""
        if not self.audit_log.exists():
            raise AssertionError(f"no audit log at {self.audit_log}: the run wrote no event")
        events = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        if not events:
            raise AssertionError(f"the audit log {self.audit_log} is empty: the run wrote no event")
        return events

    def events_so_far(self) -> list[dict[str, Any]]:
        """The events written so far by a run still going ([] before its first event), for ``wait_until``."""
        return read_events(self.audit_log)

    def assert_no_audit_log(self) -> None:
        """Nothing ran, nothing was even logged: the audit log was never created."""
        assert not self.audit_log.exists(), f"an audit log was written: {self.audit_log.read_text()[:500]}"
