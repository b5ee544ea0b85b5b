"""Outcomes of a run: per-step and per-host results, host statuses and the exit code. Pure.

Owns: the vocabulary of outcomes (step: passed, failed, skipped, ran, would_run, not_run, declined,
timeout, unknown; host: healthy, remediated, would_remediate, failed, unreachable, not_confirmed,
locked, unknown), the JSON document of ``--output json``, and the exit-code rule (first of 5, 1, 3, 4, 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_OK, EXIT_UNHEALTHY, EXIT_INPUT, EXIT_UNREACHABLE, EXIT_DECLINED, EXIT_UNKNOWN = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

HOST_EXIT = {
    "healthy": EXIT_OK,
    "remediated": EXIT_OK,
    "would_remediate": EXIT_OK,
    "failed": EXIT_UNHEALTHY,
    "unreachable": EXIT_UNREACHABLE,
    "not_confirmed": EXIT_DECLINED,
    "locked": EXIT_DECLINED,
    "unknown": EXIT_UNKNOWN,
    "interrupted": EXIT_INTERRUPTED,
}
PRECEDENCE = (EXIT_INTERRUPTED, EXIT_UNKNOWN, EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_DECLINED, EXIT_OK)


@dataclass
class StepOutcome:
    id: str
    phase: str
    effect: str
    title: str
    command: str | None
    outcome: str
    message: str = ""
    exit_code: int | None = None
    duration: float | None = None
    module: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "module": self.module,
            "phase": self.phase,
            "effect": self.effect,
            "title": self.title,
            "command": self.command,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 3) if self.duration is not None else None,
            "outcome": self.outcome,
            "message": self.message,
        }


@dataclass
class HostOutcome:
    host: str
    status: str = "unknown"
    message: str = ""
    steps: list[StepOutcome] = field(default_factory=list)
    host_key: str | None = None
    found: list[str] = field(default_factory=list)  # failed checks, as messages
    done: list[str] = field(default_factory=list)  # changing commands that ran
    modules: dict[str, str] = field(default_factory=dict)  # check sweep: module -> healthy|problem|...

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "host": self.host,
            "status": self.status,
            "message": self.message,
            "host_key": self.host_key,
            "found": self.found,
            "done": self.done,
            "steps": [s.as_dict() for s in self.steps],
        }
        if self.modules:
            out["modules"] = self.modules
        return out


def exit_code(hosts: list[HostOutcome], *, interrupted: bool = False) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    codes = {HOST_EXIT.get(h.status, EXIT_UNKNOWN) for h in hosts}
    return next((c for c in PRECEDENCE if c in codes), EXIT_OK)


def document(run_id: str, module: str, dry_run: bool, hosts: list[HostOutcome], code: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "module": module,
        "dry_run": dry_run,
        "exit_code": code,
        "hosts": {h.host: h.as_dict() for h in hosts},
    }
