"""Outcomes of a run: per-step and per-host results, and the ``--output json`` document. Pure.

Owns: the result records the engine fills (:class:`StepOutcome`, :class:`HostOutcome`), the JSON
document, and the run's exit code from its hosts. The words themselves (host statuses, step outcomes,
module verdicts, exit codes) are defined once, in :mod:`runner.outcomes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.outcomes import ExitCode, HostStatus, ModuleVerdict, StepStatus, run_exit_code


@dataclass
class StepOutcome:
    id: str
    phase: str
    effect: str
    title: str
    command: str | None
    outcome: StepStatus
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
            "outcome": str(self.outcome),
            "message": self.message,
        }


@dataclass
class HostOutcome:
    host: str
    status: HostStatus = HostStatus.PENDING
    message: str = ""
    steps: list[StepOutcome] = field(default_factory=list)
    host_key: str | None = None
    found: list[str] = field(default_factory=list)  # failed checks, as messages
    done: list[str] = field(default_factory=list)  # changing commands that ran
    modules: dict[str, ModuleVerdict] = field(default_factory=dict)  # check sweep: module -> verdict
    duration: float | None = None  # seconds the run spent on this host (check sweep)
    checked_at: float | None = None  # Unix time the host was done (check sweep)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "host": self.host,
            "status": str(self.status),
            "message": self.message,
            "host_key": self.host_key,
            "found": self.found,
            "done": self.done,
            "steps": [s.as_dict() for s in self.steps],
        }
        if self.modules:
            out["modules"] = {name: str(v) for name, v in self.modules.items()}
        return out


def exit_code(hosts: list[HostOutcome], *, interrupted: bool = False) -> ExitCode:
    return run_exit_code([HostStatus(h.status) for h in hosts], interrupted=interrupted)


def document(run_id: str, module: str, dry_run: bool, hosts: list[HostOutcome], code: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "module": module,
        "dry_run": dry_run,
        "exit_code": int(code),
        "hosts": {h.host: h.as_dict() for h in hosts},
    }
