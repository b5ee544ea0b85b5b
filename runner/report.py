"""Outcomes of a run: per-step and per-host results. Pure.

Owns: the result records the engine fills (:class:`StepOutcome`, :class:`HostOutcome`) and the run's
exit code from its hosts, and the two message forms the outputs read back from a check's message: a
warning (:func:`warning`: a check that passed short of a problem, e.g. a process above Adobe's
maxProcessMemoryWarningMb) and a measured value (:func:`measure`: a process's memory, an indicator of
``nlserver monitor``). The words themselves (host statuses, step outcomes, module verdicts, exit
codes) are defined once, in :mod:`runner.outcomes`. Must not: format anything: every ``--output``
format, the JSON document included, is a renderer of :mod:`runner.render`.
"""

from __future__ import annotations

import re
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
    snapshots: dict[str, str] = field(default_factory=dict)  # readings the command replays -> what took them


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


# --- what a check's message carries for the outputs -------------------------------------------------

WARNING_MARK = "warning: "  # a passed check whose message starts so found something short of a problem


def warning(text: str) -> str:
    """The message of a check that passed with a warning (it is no problem, no reason to act)."""
    return WARNING_MARK + text


def is_warning(step: StepOutcome) -> bool:
    return step.outcome == StepStatus.PASSED and step.message.startswith(WARNING_MARK)


def warnings(outcome: HostOutcome) -> list[tuple[str, str]]:
    """(module, message) of every check of the host that passed with a warning."""
    return [
        (step.module or "", _MEASURE.sub("", step.message[len(WARNING_MARK) :]).strip())
        for step in outcome.steps
        if is_warning(step)
    ]


# ``[metric "subject"=12.5 warning=1600 alert=1800]``: a value a check measured, in its message
_MEASURE = re.compile(r'\[(?P<metric>[a-z_]+) "(?P<subject>[^"\]]*)"=(?P<value>-?\d+(?:\.\d+)?)(?P<rest>[^\]]*)\]')
_LIMIT = re.compile(r" (warning|alert|max)=(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Measure:
    """One value a check measured: its metric (``process_memory_mb``, ``monitor_indicator``), what it is
    of (a process, an indicator), the value and the limits the check compared it with."""

    host: str
    module: str
    metric: str
    subject: str
    value: float
    limits: dict[str, float]


def measure(metric: str, subject: str, value: float, **limits: float | None) -> str:
    """The text a check puts in its message for a value it measured (:func:`measures` reads it back)."""
    shown = "".join(f" {name}={limit:g}" for name, limit in limits.items() if limit is not None)
    name = subject.replace('"', "'").replace("]", ")")
    return f'[{metric} "{name}"={value:g}{shown}]'


def measures(outcome: HostOutcome) -> list[Measure]:
    """Every value the host's check steps measured, in order."""
    out = []
    for step in outcome.steps:
        if step.phase != "check":
            continue
        for found in _MEASURE.finditer(step.message):
            limits = {name: float(v) for name, v in _LIMIT.findall(found["rest"])}
            out.append(
                Measure(
                    outcome.host, step.module or "", found["metric"], found["subject"], float(found["value"]), limits
                )
            )
    return out
