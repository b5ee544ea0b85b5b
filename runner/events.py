"""The audit log's vocabulary: every event a run records, named once. Pure: imports only outcomes.

Owns: :class:`Event` (``noun.past_participle``, a public schema that people ``jq``) and the rule that
names the event of a step record. Every emitter, the console and the audit views use these members,
never a string literal.
Must not: write anything (that is :mod:`runner.audit`).
"""

from __future__ import annotations

from enum import StrEnum

from runner.outcomes import StepStatus


class Event(StrEnum):
    """One kind of audit record."""

    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    HOST_CONNECTED = "host.connected"
    HOST_UNREACHABLE = "host.unreachable"
    HOST_REFUSED = "host.refused"  # the OpenSSH config changed under the run: nothing touched
    HOST_PRECONDITION_FAILED = "host.precondition_failed"  # reached, but the run lock cannot be held
    HOST_RETRYING = "host.retrying"
    HOST_SKIPPED = "host.skipped"  # not attempted (rolling remediation stopped before it)
    HOST_FINISHED = "host.finished"
    BATCH_STARTED = "batch.started"  # a batch of a rolling remediation (the first is the canary)
    BATCH_FINISHED = "batch.finished"
    BATCH_SENT = "batch.sent"  # one read batch's script, byte for byte as the host received it, and its steps
    READ_SENT = "read.sent"  # one of the run's own reads (holds, settings, how a module stopped), as sent
    LOCK_ACQUIRED = "lock.acquired"
    LOCK_REFUSED = "lock.refused"
    LOCK_STALE = "lock.stale"
    STEP_STARTED = "step.started"
    STEP_FINISHED = "step.finished"
    STEP_SKIPPED = "step.skipped"
    STEP_PLANNED = "step.planned"  # dry-run: what would have run
    CONFIRMATION_GIVEN = "confirmation.given"
    CONFIRMATION_DECLINED = "confirmation.declined"
    CONFIRMATION_REFUSED = "confirmation.refused"  # disruptive, and no terminal to ask on
    ANCHOR_WRITTEN = "anchor.written"
    ANCHOR_FAILED = "anchor.failed"
    HOLD_PLACED = "hold.placed"  # remediate hold: a module left alone on purpose, who and why
    HOLD_RELEASED = "hold.released"
    HOLD_HONOURED = "hold.honoured"  # a run did not touch a held module
    SETTINGS_READ = "settings.read"  # the host's own settings (TRACE_ADDR, serverConf.xml ...) and their sources
    HOST_SETTING_MISMATCH = "host.setting_mismatch"  # an inventory var says otherwise than the host: it is used
    NOTIFY_SENT = "notify.sent"  # a notifier (config file) accepted a message about the run
    NOTIFY_FAILED = "notify.failed"  # a notifier did not accept it: reported, never changes the exit code
    SILENCE_CREATED = "silence.created"  # an Alertmanager silence for a disruptive step (its id, matchers, end)
    SILENCE_EXPIRED = "silence.expired"  # that silence expired when verification ended
    SILENCE_FAILED = "silence.failed"  # Alertmanager did not answer: the step went on (or, silence_required, refused)
    BUNDLE_COLLECTED = "bundle.collected"  # a host's evidence bundle (remediate collect; before a disruptive step)
    BUNDLE_FAILED = "bundle.failed"  # no evidence bundle could be written: the run went on


STEP_RECORDS = frozenset({Event.STEP_FINISHED, Event.STEP_SKIPPED, Event.STEP_PLANNED})  # one per step and host


def step_record(outcome: StepStatus) -> Event:
    """The event that records a step's outcome: skipped, planned (dry-run), or finished."""
    if outcome is StepStatus.SKIPPED:
        return Event.STEP_SKIPPED
    if outcome is StepStatus.WOULD_RUN:
        return Event.STEP_PLANNED
    return Event.STEP_FINISHED
