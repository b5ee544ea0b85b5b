"""Outcomes of a run: per-step and per-host results. Pure.

Owns: the result records the engine fills (:class:`StepOutcome`, :class:`HostOutcome`) and the run's
exit code from its hosts. The words themselves (host statuses, step outcomes, module verdicts, exit
codes) are defined once, in :mod:`runner.outcomes`. Must not: format anything: every ``--output``
format, the JSON document included, is a renderer of :mod:`runner.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    holds: list[dict[str, object]] = field(default_factory=list)  # operators' holds read on the host
    batch: int | None = None  # the batch of the rolling remediation this host was in (1: the canary)
    settings: list[str] = field(default_factory=list)  # inventory vars the host says otherwise; settings not read


def exit_code(hosts: list[HostOutcome], *, interrupted: bool = False) -> ExitCode:
    return run_exit_code([HostStatus(outcome.status) for outcome in hosts], interrupted=interrupted)
