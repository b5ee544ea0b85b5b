"""What a host receives and what it answers: the one place a step's text is wrapped for the host.

Owns: :class:`Result` (what one command did on the host), :data:`KILL_AFTER` (the host-side grace
between TERM and KILL), and :func:`sourced`, the Campaign environment sourced before a command
(non-interactive SSH does not source it). The planner wraps every command sent on its own with it,
and a read batch sources it once for all its steps, so the audit records exactly the text the host
receives. Pure: imports nothing from the rest of the package.
Must not: connect or run (that is :mod:`runner.transport`), or choose what to send (:mod:`runner.plan`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

KILL_AFTER = 5  # seconds between TERM and KILL when a command times out on the host


@dataclass
class Result:
    """What one command did on the host."""

    stdout: str
    stderr: str
    exit_code: int
    duration: float = 0.0


def env_line(env: object) -> str:
    """The line that sources the host's Campaign environment script (empty when there is none)."""
    return f". {shlex.quote(str(env))}" if env else ""


def sourced(command: str, env: object) -> str:
    """``command`` run after the host's Campaign environment script ``env`` (as is, without one)."""
    line = env_line(env)
    return f"{line} && {command}" if line else command
