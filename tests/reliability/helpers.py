"""Reliability suite helpers: faults on the lab's sshd (by pid), the host lock, custom playbooks, audit waits.

Owns: what the fault and bad-input tests do to a lab host beyond ``lab.break_``. Must not: hold fixtures
(those are in this suite's conftest) or start the CLI (``tests.support.cli.Runner`` does).
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import Lab
from lab.core import read_pidfile
from runner import inventory
from runner.worker import lock_name
from tests.support.cli import read_events
from tests.support.wait import wait_until


def wait_event(path: Path, pred: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
    """The first event of the audit log at ``path`` for which ``pred`` holds, waiting up to ``timeout`` s."""
    return wait_until(lambda: next((e for e in read_events(path) if pred(e)), None), timeout, what, interval=0.1)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def descendants(pid: int) -> list[int]:
    todo, seen = children(pid), []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def sshd_listener(lab: Lab, host: str, port: int = 2222) -> int:
    pid = read_pidfile(lab.hdir(host) / "run" / f"sshd.{port}.pid")
    assert pid, f"{host}: the lab's sshd listener is not running"
    return pid


def drop_ssh_connections(lab: Lab, host: str) -> list[int]:
    """Kill the per-connection sshd processes of a lab host (children of its listener), by pid."""
    victims = []
    for child in children(sshd_listener(lab, host)):
        victims += [child, *descendants(child)]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return victims


def lock_file(lab: Lab, host: str, module: str) -> Path:
    """The run lock of ``module`` on a lab host, named as the runner names it (one per module process),
    in the default lock_dir (<nl6_root>/var/remediate/locks)."""
    inv_host = inventory.load(Path(lab.dir) / "inventory.yml").hosts[host]
    return lab.hdir(host) / "nl6" / "var" / "remediate" / "locks" / f"{lock_name(module, inv_host)}.lock"


def lock_is_free(lab: Lab, host: str, module: str) -> bool:
    """True when nobody holds the host lock (flock -n succeeds as the lab's login user)."""
    path = lock_file(lab, host, module)
    if not path.exists():
        return True
    return lab.run_as(["flock", "-n", "-x", str(path), "true"], check=False, timeout=10).returncode == 0


def write_playbook(
    directory: Path, module: str, remediation: str, *, checks: str | None = None, verification: str | None = None
) -> Path:
    """A custom playbook (REMEDIATE_PLAYBOOKS) with a failing check, the given remediation, and a passing verification."""  # noqa: E501
    directory.mkdir(parents=True, exist_ok=True)
    checks = (
        checks
        or """\
        - id: always_fails
          effect: read
          action: shell
          args: {command: "false"}
        """
    )
    verification = (
        verification
        or """\
        - id: afterwards
          effect: read
          action: shell
          args: {command: "true"}
        """
    )
    text = (
        f"module: {module}\ntitle: reliability test playbook\nscope: test\nsymptom: test\nchecks:\n"
        + textwrap.indent(textwrap.dedent(checks), "  ")
        + "remediation:\n"
        + textwrap.indent(textwrap.dedent(remediation), "  ")
        + "verification:\n"
        + textwrap.indent(textwrap.dedent(verification), "  ")
    )
    (directory / f"{module}.yml").write_text(text)
    return directory


# volatile fields of the lab's DB view: they move with the clock, not with what a run did
DB_CLOCK_FIELDS = ("hours_since_last_run",)


def db_view(lab: Lab, host: str) -> dict[str, Any]:
    """The host's database view for comparison; fails, naming the error, when it could not be read.

    ``lab.status`` gives an unreadable database as ``db_error`` and a view equal to nothing; a comparison
    must not silently pass or fail on it, so this says so first.
    """
    return stable_db(lab.status(host), host)


def stable_db(status: dict[str, Any], host: str) -> dict[str, Any]:
    """``status["db"]`` without the clock-driven fields; AssertionError when ``db_error`` is set."""
    assert "db_error" in status, f"{host}: lab.status gave no db_error key: cannot tell a read view from a failed one"
    if status["db_error"] is not None:
        raise AssertionError(f"{host}: the database view could not be read, nothing to compare: {status['db_error']}")
    db = dict(status["db"])
    workflows = db.get("workflows") or {}
    db["workflows"] = {
        name: {k: v for k, v in wf.items() if k not in DB_CLOCK_FIELDS} for name, wf in workflows.items()
    }
    return db
