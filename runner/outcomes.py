"""The words a run reports, and its exit codes: one definition each. Pure: imports nothing.

Owns: what a read step found (:class:`Reading` inside :class:`Verdict`), the host statuses, the step
outcomes, the module verdicts of the check sweep, the run statuses of ``run.finished``, and the exit
codes with the rule that picks one for several hosts. Every other
module (engine, report, CLI colours, JSON output) uses these enums; their values are the public
strings of the audit log and of ``--output json``.
Must not: import anything from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

UNDETERMINED = "undetermined"  # the one public word for "could not decide", in every output


class Reading(StrEnum):
    """What one step found on one host: exactly one of four readings."""

    PASSED = "passed"  # nothing wrong
    FAILED = "failed"  # a problem was found
    UNDETERMINED = UNDETERMINED  # could not decide (timeout, unparsable output, query error): never acted on
    NOT_APPLICABLE = "not_applicable"  # what the step looks at is not on this host (a module not enabled here)

    @classmethod
    def of(cls, ok: bool) -> Reading:
        """PASSED when ``ok``, else FAILED: for judges whose answer is a yes or no."""
        return cls.PASSED if ok else cls.FAILED


@dataclass(frozen=True)
class Verdict:
    """What a step found: its reading, a one-line message, and the data behind it.

    Every reader asks the verdict (``passed``, ``failed``, ``undetermined``, ``not_applicable``,
    ``clear``), never a flag of its own.
    """

    reading: Reading
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.reading is Reading.PASSED

    @property
    def failed(self) -> bool:
        return self.reading is Reading.FAILED

    @property
    def undetermined(self) -> bool:
        return self.reading is Reading.UNDETERMINED

    @property
    def not_applicable(self) -> bool:
        return self.reading is Reading.NOT_APPLICABLE

    @property
    def clear(self) -> bool:
        """Nothing stands in the way: it passed, or it does not apply to this host."""
        return self.reading in (Reading.PASSED, Reading.NOT_APPLICABLE)


class HostStatus(StrEnum):
    """Where one host stands at the end of a run (``pending`` until the run has decided)."""

    PENDING = "pending"  # nothing decided yet: the run has not reached a conclusion for this host
    HEALTHY = "healthy"  # every check passed (nothing was changed)
    REMEDIATED = "remediated"  # a fix ran and its verification passed
    WOULD_REMEDIATE = "would_remediate"  # dry-run: a fix would have run
    FAILED = "failed"  # still unhealthy, a fix failed, or the checks could not decide
    UNREACHABLE = "unreachable"  # could not connect, authenticate, or verify the host key
    NOT_CONFIRMED = "not_confirmed"  # a disruptive step was declined or could not be confirmed
    LOCKED = "locked"  # another run holds this module's lock on the host
    HELD = "held"  # an operator's hold on a module the fix would touch: nothing was changed (or: hold placed)
    RELEASED = "released"  # remediate release: the hold is gone (or there was none)
    NOT_STARTED = "not_started"  # a rolling run stopped before this host's batch (an earlier batch failed)
    UNKNOWN = "unknown"  # a changing command timed out or its connection dropped: not re-run
    NOT_APPLICABLE = "not_applicable"  # the module is not on this host (not enabled, not this server's role)


class StepStatus(StrEnum):
    """What happened to one step on one host."""

    PASSED = "passed"  # a read step whose verdict is good
    FAILED = "failed"  # a read step that found a problem, or a changing step that failed
    UNDETERMINED = UNDETERMINED  # a read step that could not decide (timeout, unparsable output, query error)
    SKIPPED = "skipped"  # not applicable on this host (a var it needs is missing, not enabled, nothing to act on)
    RAN = "ran"  # a changing step that ran and succeeded
    WOULD_RUN = "would_run"  # dry-run: a changing step that would have run
    DECLINED = "declined"  # a disruptive step the operator declined, or that could not be confirmed
    TIMEOUT = "timeout"  # a changing step that timed out: its outcome is unknown, it is not re-run
    UNKNOWN = "unknown"  # a changing step whose connection dropped mid-command


class ModuleVerdict(StrEnum):
    """One module on one host in the read-only sweep (``remediate check``)."""

    HEALTHY = "healthy"
    PROBLEM = "problem"  # a check found a problem
    UNDETERMINED = UNDETERMINED  # no check found a problem, but at least one could not decide
    SKIPPED = "skipped"  # every check was skipped, or the module is not on this host


class RunStatus(StrEnum):
    """How a run ended, as ``run.finished`` records it."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    AUDIT_FAILED = "audit_failed"


class ExitCode(IntEnum):
    """The process exit codes (README, "Exit codes")."""

    OK = 0
    UNHEALTHY = 1
    INPUT = 2
    UNREACHABLE = 3
    DECLINED = 4
    UNKNOWN = 5
    INTERRUPTED = 130


HOST_EXIT: dict[HostStatus, ExitCode] = {
    HostStatus.PENDING: ExitCode.UNKNOWN,  # a host the run never concluded on is not a success
    HostStatus.HEALTHY: ExitCode.OK,
    HostStatus.REMEDIATED: ExitCode.OK,
    HostStatus.WOULD_REMEDIATE: ExitCode.OK,
    HostStatus.FAILED: ExitCode.UNHEALTHY,
    HostStatus.UNREACHABLE: ExitCode.UNREACHABLE,
    HostStatus.NOT_CONFIRMED: ExitCode.DECLINED,
    HostStatus.LOCKED: ExitCode.DECLINED,
    HostStatus.HELD: ExitCode.DECLINED,
    HostStatus.RELEASED: ExitCode.OK,
    HostStatus.NOT_STARTED: ExitCode.UNHEALTHY,
    HostStatus.UNKNOWN: ExitCode.UNKNOWN,
    HostStatus.NOT_APPLICABLE: ExitCode.OK,
}
# With several hosts, the first of these that applies is the run's code.
PRECEDENCE = (
    ExitCode.INTERRUPTED,
    ExitCode.UNKNOWN,
    ExitCode.UNHEALTHY,
    ExitCode.UNREACHABLE,
    ExitCode.DECLINED,
    ExitCode.OK,
)


def run_exit_code(statuses: list[HostStatus], *, interrupted: bool = False) -> ExitCode:
    """The exit code of a run from its hosts' statuses (first of 130, 5, 1, 3, 4, 0)."""
    if interrupted:
        return ExitCode.INTERRUPTED
    codes = {HOST_EXIT[s] for s in statuses}
    return next((c for c in PRECEDENCE if c in codes), ExitCode.OK)
