"""Run playbooks on hosts: per-host workers, a bounded pool for read phases, rolling remediation.

Owns: the stages of a run — connect, checks (hosts in parallel up to ``forks``), remediation (host by
host; disruptive steps need confirmation; the rolling stops at the first host whose verification fails
after a disruptive step), verification (polled within the playbook's bound) — and the check sweep.
Per-host failures are data in the outcome, never an abort of the other hosts. What happens on one
host (connection, lock, batches, a changing command run once, records) is :mod:`runner.worker`.
Must not: print or prompt (confirmation is a callback from the CLI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from runner import collect, hold, hostvars, plan, retry, rolling
from runner.actions import Context, Effect
from runner.audit import AuditLog
from runner.errors import CommandTimeout, ConnectionLost, TransportError
from runner.events import Event
from runner.inventory import Host
from runner.outcomes import HostStatus, ModuleVerdict, Reading, StepStatus, Verdict
from runner.playbook import Playbook, Step
from runner.report import HostOutcome
from runner.transport import Session
from runner.wire import Result, run_as
from runner.worker import HostRun, Read, Worker, lock_name, new_session


@dataclass(frozen=True)
class ConfirmRequest:
    """Everything an operator needs to decide on one step that needs confirmation: a disruptive one, or
    one that starts a module the host lists as not running (it may have been stopped on purpose)."""

    host: str
    module: str
    step: str
    title: str
    command: str
    failed_checks: tuple[str, ...]
    interrupts: str
    context: tuple[str, ...] = ()  # findings of the checks the step asks to show (e.g. sessions it cuts)
    starts: tuple[str, ...] = ()  # a start: the stopped modules it would start (``*``: every enabled one)


Confirm = Callable[[ConfirmRequest], bool | None]  # True yes, False no, None: cannot ask (no terminal)


class Waiting(Protocol):
    """Tells the CLI what a host waits for while a long step or a verification poll runs (a live line
    on a terminal). Not audit events: a tick is no fact worth keeping."""

    def begin(self, host: str, what: str, limit: float) -> None:
        """``host`` waits for ``what``, at most ``limit`` seconds."""

    def end(self, host: str) -> None:
        """The wait of ``host`` is over."""


class NoOneWatching:
    """The default :class:`Waiting`: nobody is told (no terminal, JSON output, tests)."""

    def begin(self, host: str, what: str, limit: float) -> None:
        pass

    def end(self, host: str) -> None:
        pass


class RunObserver(Protocol):
    """Told of a run's turning points the audit log does not carry (notifications: :mod:`runner.notify`;
    alert silences: :mod:`runner.silence`). Never raises for a failure of its own."""

    def disruption_planned(self, module: str, hosts: Sequence[str], steps: Sequence[str]) -> None:
        """Checks are done and disruptive ``steps`` are planned on ``hosts``."""

    def disrupting(self, host: Host, module: str, step: Step, bound: float) -> str | None:
        """``step`` (disruptive, confirmed) is about to run; the host's remaining steps and verification
        last at most ``bound`` seconds. A reason to refuse the step, else None."""

    def settled(self, host: Host, module: str) -> None:
        """The host's remediation is over (verification passed or failed, or it stopped earlier)."""


@dataclass
class RunConfig:
    dry_run: bool = False
    force: bool = False
    yes: bool = False
    forks: int = 10
    reason: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    ssh_config: Path | None = None
    connect_policy: retry.ConnectPolicy = field(default_factory=retry.ConnectPolicy)
    confirm: Confirm = lambda _req: None
    waiting: Waiting = field(default_factory=NoOneWatching)
    verbose: bool = False  # step records carry the first lines of what the host answered
    rollout: rolling.Rollout = field(default_factory=rolling.Rollout)
    incident: str | None = None  # --incident: in every audit record of the run and the host anchors
    observers: Sequence[RunObserver] = ()  # notifications and alert silences (runner.notify, runner.silence)
    collect_dir: Path | None = None  # where the evidence bundle before each disruptive step goes (None: none)
    # How a host's session is made: the real SSH session by default; tests hand in an in-memory one.
    session_factory: Callable[[Host, Path | None], Session] | None = None


class Engine:
    """One run of one or more playbooks against selected hosts."""

    def __init__(self, hosts: Sequence[Host], audit: AuditLog, config: RunConfig) -> None:
        self.hosts = list(hosts)
        self.audit = audit
        self.config = config
        self.worker = Worker(audit, config)
        self._asking = threading.Lock()

    # -- connection -------------------------------------------------------------------------------
    # -- a playbook run ---------------------------------------------------------------------------
    def _context(self, host: Host, options: Mapping[str, str]) -> Context:
        return Context(host, dict(options), run_id=self.audit.run_id)

    def run(self, playbook: Playbook) -> list[HostOutcome]:
        runs = [HostRun(h, self._context(h, self.config.options), HostOutcome(h.name)) for h in self.hosts]
        try:
            self._parallel(runs, lambda r: self._check_host(r, playbook))
            todo = [r for r in runs if r.outcome.status is not HostStatus.UNREACHABLE and r.needs_remediation]
            if todo:
                self._roll(todo, playbook, selected=len(runs))
        finally:
            for r in runs:
                if r.lock is not None and r.session is not None:
                    self.worker.anchor(r, playbook.module)
            self.worker.close(runs)
        for r in runs:
            self.audit.emit(
                Event.HOST_FINISHED,
                host=r.host.name,
                module=playbook.module,
                outcome=r.outcome.status,
                message=r.outcome.message,
                batch=r.outcome.batch,
            )
        return [r.outcome for r in runs]

    def _roll(self, todo: list[HostRun], playbook: Playbook, *, selected: int) -> None:
        """Remediate in batches (:mod:`runner.rolling`): the first is the canary, hosts of one batch run in
        parallel up to ``forks``, and a batch whose failures pass the threshold stops the run."""
        disrupting = {
            s.id: None
            for r in todo
            for s in plan.steps_to_run(playbook, r.verdicts, self.config.options, force=self.config.force)
            if s.effect is Effect.DISRUPT
        }
        disruptive = bool(disrupting)
        if disruptive and not self.config.dry_run:
            for observer in self.config.observers:
                observer.disruption_planned(playbook.module, [r.host.name for r in todo], list(disrupting))
        serial, threshold = rolling.defaults(self.config.rollout, disruptive=disruptive)
        batches = rolling.plan_batches(todo, serial, selected)
        module = playbook.module
        for number, batch in enumerate(batches, 1):
            names = [r.host.name for r in batch]
            self.audit.emit(Event.BATCH_STARTED, module=module, batch=number, hosts=names, canary=number == 1 or None)
            for r in batch:
                r.outcome.batch = number
            self._parallel(batch, lambda r: self._remediate_observed(r, playbook))
            failed = [r.host.name for r in batch if r.outcome.status in (HostStatus.FAILED, HostStatus.UNKNOWN)]
            stop = rolling.stops(len(failed), len(batch), threshold) and number < len(batches)
            self.audit.emit(Event.BATCH_FINISHED, module=module, batch=number, failed=failed, stopped=stop or None)
            if not stop:
                if number < len(batches) and self.config.rollout.pause > 0:
                    time.sleep(self.config.rollout.pause)
                continue
            reason = (
                f"batch {number} ({', '.join(names)}) had {len(failed)} failed of {len(batch)}, more than "
                f"the {threshold:g}% allowed"
            )
            for later in (r for b in batches[number:] for r in b):
                later.outcome.status = HostStatus.NOT_STARTED
                later.outcome.message = f"not started: {reason}"
                self.audit.emit(Event.HOST_SKIPPED, host=later.host.name, module=module, message=later.outcome.message)
            return

    def _parallel(self, runs: list[HostRun], work: Callable[[HostRun], None]) -> None:
        if len(runs) == 1 or self.config.forks <= 1:
            for r in runs:
                work(r)
            return
        with ThreadPoolExecutor(max_workers=min(self.config.forks, len(runs))) as pool:
            for future in [pool.submit(work, r) for r in runs]:
                future.result()

    def _check_host(self, run: HostRun, playbook: Playbook) -> None:
        if not self.worker.connect(run, playbook.module):
            return
        if not self.config.dry_run and not self.worker.lock(run, playbook.module):
            return
        self.worker.read_holds(run)
        if not self.worker.read_facts(run, playbook.module):
            return
        run.verdicts = {sid: r.verdict for sid, r in self.worker.read(run, playbook.module, playbook.checks).items()}
        run.ctx.earlier = run.verdicts
        absent = plan.absent_gate(playbook, run.verdicts)
        if absent is not None:
            run.outcome.status = HostStatus.NOT_APPLICABLE
            run.outcome.message = f"{playbook.module} does not apply to this host: {absent}"
            return
        deciding = plan.judged(playbook, run.verdicts)
        failed = plan.failed_checks(deciding)
        unsure = plan.undetermined_checks(deciding)
        reported = _reported(playbook, run.verdicts)
        run.outcome.found = [f"{sid}: {run.verdicts[sid].message}" for sid in failed + unsure] + reported
        if unsure and not failed:
            run.outcome.status = HostStatus.FAILED
            run.outcome.message = "undetermined: " + "; ".join(f"{sid}: {run.verdicts[sid].message}" for sid in unsure)
            return
        if not failed and not self.config.force and not self._explicit_option(playbook):
            run.outcome.status = HostStatus.HEALTHY
            run.outcome.message = "every check passed" + ("; reported: " + "; ".join(reported) if reported else "")
            return
        run.needs_remediation = True

    def _explicit_option(self, playbook: Playbook) -> bool:
        """An option set away from its default is an explicit request to remediate (e.g. log precision)."""
        return any(self.config.options.get(name, opt.default) != opt.default for name, opt in playbook.options.items())

    def _remediate_observed(self, run: HostRun, playbook: Playbook) -> None:
        try:
            self._remediate_host(run, playbook)
        finally:
            for observer in self.config.observers:
                observer.settled(run.host, playbook.module)

    def _observed_disruption(self, run: HostRun, playbook: Playbook, step: Step, steps: list[Step]) -> bool:
        """Tell the observers a confirmed disruptive step is about to run (an alert silence is created);
        False when one refuses it: the host ends ``not_confirmed``, nothing of the step is sent."""
        rest = steps[steps.index(step) :]
        bound = sum(s.timeout for s in rest) + max((s.poll.timeout for s in playbook.verification if s.poll), default=0)
        for observer in self.config.observers:
            refusal = observer.disrupting(run.host, playbook.module, step, bound)
            if refusal is not None:
                run.outcome.status = HostStatus.NOT_CONFIRMED
                run.outcome.message = refusal
                self.worker.record(run, playbook.module, step, None, StepStatus.DECLINED, refusal, None, None)
                return False
        return True

    def _remediate_host(self, run: HostRun, playbook: Playbook) -> None:
        module = playbook.module
        failed = tuple(plan.failed_checks(plan.judged(playbook, run.verdicts)))
        steps = plan.steps_to_run(playbook, run.verdicts, self.config.options, force=self.config.force)
        if not steps:
            if not failed:  # --force or an option asked to act, and no step applies to a healthy host
                run.outcome.status = HostStatus.HEALTHY
                run.outcome.message = "every check passed; no remediation step applies with these options"
                return
            run.outcome.status = HostStatus.FAILED
            run.outcome.message = "checks failed and no remediation step applies: " + "; ".join(run.outcome.found)
            return
        ran_any = False
        for step in steps:
            if self._held(run, module, step):
                return
            planned = plan.build_alone(step, run.ctx)
            if planned.command is None:
                self.worker.record(run, module, step, None, StepStatus.SKIPPED, planned.skip or "", None, None)
                continue
            touched = plan.touched(step, run.ctx)
            starts = () if step.effect is Effect.DISRUPT else touched
            # A start of a module that is not running (an admin may have stopped it on purpose: monitor
            # -missing also lists modules shut down) is confirmed like a disruptive step, with what the host
            # says about how it stopped (its last log lines, the watchdog's state).
            story = self._stop_story(run, step) if starts else ()
            if self.config.dry_run:
                message = "dry-run: not run"
                if step.effect is Effect.DISRUPT and self.config.collect_dir is not None:
                    message += f"; {collect.DRY_RUN_NOTE}"
                if starts:
                    message += f"; would ask to confirm starting {hold.what_starts(starts)}: " + " | ".join(story)
                self.worker.record(run, module, step, planned.command, StepStatus.WOULD_RUN, message, None, None)
                continue
            if (step.effect is Effect.DISRUPT or starts) and not self._confirmed(
                run, playbook, step, planned.command, failed, starts, story
            ):
                return
            if step.effect is Effect.DISRUPT and not self._observed_disruption(run, playbook, step, steps):
                return  # refused (a silence that is required could not be made): no bundle for a step not run
            if step.effect is Effect.DISRUPT and self.config.collect_dir is not None:  # evidence before the fix
                collect.before_disruption(self.worker, run, module, step.id, self.config.collect_dir)
            run.disrupted = run.disrupted or step.effect is Effect.DISRUPT
            if not self.worker.change(run, module, step, planned):
                return
            ran_any = True
        if self.config.dry_run:
            run.ctx.attempt = 1  # what the first verification probe would send
            for step in playbook.verification:
                planned = plan.build(step, run.ctx)
                message = "dry-run: verification after the fix"
                self.worker.record(run, module, step, planned.command, StepStatus.WOULD_RUN, message, None, None)
            run.outcome.status = HostStatus.WOULD_REMEDIATE
            would = [s for s in run.outcome.steps if s.outcome is StepStatus.WOULD_RUN]
            run.outcome.message = f"would run {len(would)} steps"
            return
        if not ran_any:
            run.outcome.status = HostStatus.FAILED
            run.outcome.message = "no remediation step could run: " + "; ".join(
                s.message for s in run.outcome.steps if s.outcome is StepStatus.SKIPPED
            )
            return
        self._verify(run, playbook)

    def _stop_story(self, run: HostRun, step: Step) -> tuple[str, ...]:
        """What the host says about how the modules a start would start came to stop (read-only)."""
        command = plan.evidence(step, run.ctx)
        return self.worker.read_lines(run, command) if command is not None else ()

    def _held(self, run: HostRun, module: str, step: Step) -> bool:
        """Whether an operator's hold stops this step (it would start, stop or restart a held module).

        Nothing of the step is sent, ``--force --yes`` included; the host ends ``held``, naming who, why,
        since and until, and how to release it.
        """
        blocked = hold.blocking(run.holds, plan.touched(step, run.ctx), datetime.now(UTC))
        if not blocked:
            return False
        why = "; ".join(h.describe() for h in blocked)
        message = f"{step.id} not run: {why} (release with: remediate release {module} --host {run.host.name})"
        self.worker.record(run, module, step, None, StepStatus.SKIPPED, message, None, None)
        for blocking in blocked:
            self.audit.emit(
                Event.HOLD_HONOURED, host=run.host.name, module=module, step=step.id, hold=blocking.as_dict()
            )
        run.outcome.status = HostStatus.HELD
        run.outcome.message = f"held, nothing changed: {why}"
        return True

    def _confirmed(
        self,
        run: HostRun,
        playbook: Playbook,
        step: Step,
        command: str,
        failed: tuple[str, ...],
        starts: tuple[str, ...] = (),
        story: tuple[str, ...] = (),
    ) -> bool:
        context = story + tuple(f"{sid}: {run.verdicts[sid].message}" for sid in step.show if sid in run.verdicts)
        fields: dict[str, Any] = {
            "host": run.host.name,
            "module": playbook.module,
            "step": step.id,
            "command": command,
            "failed_checks": list(failed),
            "context": list(context) or None,
        }
        if self.config.yes:
            self.audit.emit(Event.CONFIRMATION_GIVEN, via="--yes", **fields)
            return True
        request = ConfirmRequest(
            host=run.host.name,
            module=playbook.module,
            step=step.id,
            title=step.title,
            command=command,
            failed_checks=tuple(run.outcome.found) or ("none (--force)",),
            interrupts=step.interrupts or "",
            context=context,
            starts=starts,
        )
        with self._asking:  # hosts of one batch run in parallel: one question at a time
            answer = self.config.confirm(request)
        if answer is True:
            self.audit.emit(Event.CONFIRMATION_GIVEN, via="prompt", **fields)
            return True
        run.outcome.status = HostStatus.NOT_CONFIRMED
        if answer is None:
            what = "starts a module that is not running" if starts else "is disruptive"
            run.outcome.message = f"{step.id} {what} and there is no terminal to confirm it (use --yes)"
            self.audit.emit(Event.CONFIRMATION_REFUSED, message=run.outcome.message, **fields)
        else:
            run.outcome.message = f"{step.id} declined by the operator"
            self.audit.emit(Event.CONFIRMATION_DECLINED, **fields)
        self.worker.record(run, playbook.module, step, command, StepStatus.DECLINED, run.outcome.message, None, None)
        return False

    def _verify(self, run: HostRun, playbook: Playbook) -> None:
        """Probe the verification steps until they pass or their poll bound ends; record each once.

        Each probe builds and sends its commands once; the record holds the last probe's command,
        exactly as it was sent (a probe may differ from the one before, e.g. a fresh test record).
        """
        pending = list(playbook.verification)
        start = time.monotonic()
        final: dict[str, Read] = {}

        def probe() -> list[Step]:
            nonlocal pending
            run.ctx.attempt += 1
            reads = self.worker.read(run, playbook.module, pending, record=False)
            elapsed = time.monotonic() - start
            still: list[Step] = []
            for step in pending:
                read = reads.get(step.id)
                if read is None:  # skipped
                    continue
                if read.verdict.not_applicable and plan.settles(step):
                    # After a fix, a module that shows nowhere is not "not enabled here": it was just
                    # started and does not show yet. (Other not-applicable readings, e.g. no init script
                    # on this host, stay what they are.)
                    absent = Verdict(Reading.FAILED, f"not back yet: {read.verdict.message}", read.verdict.data)
                    read = replace(read, verdict=absent)
                final[step.id] = read
                if not read.verdict.clear and step.poll is not None and elapsed < step.poll.timeout:
                    still.append(step)
            pending = still
            return still

        longest = max((s.poll.timeout for s in playbook.verification if s.poll), default=0.0)
        interval = min((s.poll.interval for s in playbook.verification if s.poll), default=1.0)
        first = next((s for s in playbook.verification if s.poll), None)
        if first is not None:
            self.config.waiting.begin(run.host.name, f"{first.title}", longest)
        try:
            retry.poll(probe, lambda still: not still, timeout=longest, interval=interval)
        finally:
            self.config.waiting.end(run.host.name)
        elapsed = time.monotonic() - start
        for step in playbook.verification:
            if step.id in final:
                self.worker.record_read(run, playbook.module, final[step.id], elapsed)
            else:
                skip = plan.build(step, run.ctx).skip or "skipped"
                self.worker.record(run, playbook.module, step, None, StepStatus.SKIPPED, skip, None, None)
        bad = [f"{sid}: {r.verdict.message}" for sid, r in final.items() if not r.verdict.clear]
        if bad:
            run.outcome.status = HostStatus.FAILED
            run.outcome.message = "verification failed: " + "; ".join(bad)
        else:
            run.outcome.status = HostStatus.REMEDIATED
            run.outcome.message = "remediated and verified"

    # -- the read-only sweep ----------------------------------------------------------------------
    def check(self, playbooks: Sequence[Playbook]) -> list[HostOutcome]:
        """Run the checks of every playbook on every host: one connection and one batch per host."""
        runs = [HostRun(h, self._context(h, {}), HostOutcome(h.name)) for h in self.hosts]
        label = "check" if len(playbooks) != 1 else playbooks[0].module

        def sweep(run: HostRun) -> None:
            start = time.monotonic()
            try:
                look(run)
            finally:
                run.outcome.duration = round(time.monotonic() - start, 3)
                run.outcome.checked_at = round(time.time(), 3)

        def look(run: HostRun) -> None:
            if not self.worker.connect(run, label):
                return
            self.worker.read_holds(run)
            if not self.worker.read_facts(run, label):
                return
            reads = self.worker.read_many(run, [(pb.module, s) for pb in playbooks for s in pb.checks])
            problems = []
            for pb in playbooks:
                every = {s.id: reads[(pb.module, s.id)].verdict for s in pb.checks if (pb.module, s.id) in reads}
                if plan.absent_gate(pb, every) is not None:
                    run.outcome.modules[pb.module] = ModuleVerdict.SKIPPED
                    continue
                mine = plan.judged(pb, every)
                failed = [f"{sid}: {v.message}" for sid, v in mine.items() if not v.passed]
                if failed:
                    real = any(v.failed for v in mine.values())
                    run.outcome.modules[pb.module] = ModuleVerdict.PROBLEM if real else ModuleVerdict.UNDETERMINED
                    run.outcome.found.extend(f"{pb.module}: {f}" for f in failed + _starts_asked(pb, every, run.ctx))
                    problems.append(pb.module)
                else:
                    run.outcome.modules[pb.module] = ModuleVerdict.HEALTHY if mine else ModuleVerdict.SKIPPED
            run.outcome.status = HostStatus.FAILED if problems else HostStatus.HEALTHY
            run.outcome.message = f"problems in {', '.join(problems)}" if problems else "every check passed"

        try:
            self._parallel(runs, sweep)
        finally:
            self.worker.close(runs)
        for r in runs:
            self.audit.emit(
                Event.HOST_FINISHED, host=r.host.name, module=label, outcome=r.outcome.status, message=r.outcome.message
            )
        return [r.outcome for r in runs]


def _reported(playbook: Playbook, verdicts: Mapping[str, Verdict]) -> list[str]:
    """What the checks that only inform found (they never fail a host nor select a step): said in the
    host's findings and beside a healthy outcome."""
    return [
        f"{s.id}: {verdicts[s.id].message}"
        for s in playbook.checks
        if s.inform and s.id in verdicts and not verdicts[s.id].passed and not verdicts[s.id].not_applicable
    ]


def _starts_asked(playbook: Playbook, verdicts: Mapping[str, Verdict], ctx: Context) -> list[str]:
    """What ``remediate check`` says of a remedy that would start a module that is not running: a run asks
    first (an admin may have stopped it on purpose; ``monitor -missing`` lists modules shut down too)."""
    seen = replace(ctx, earlier=verdicts)
    out = []
    for step in plan.steps_to_run(playbook, verdicts, {}):
        starts = () if step.effect is Effect.DISRUPT else plan.touched(step, seen)
        if starts:
            out.append(
                f"{step.id}: starting {hold.what_starts(starts)} is asked for first (it may have been stopped on "
                f"purpose); remediate {playbook.module} --host {ctx.host.name} --dry-run shows its last log lines"
            )
    return out


class Holds:
    """``remediate hold`` and ``release``: write or remove a module's hold on each host, in the Campaign
    account, beside its run lock. Hosts in parallel; each its own outcome and audit record."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def place(self, module: str, reason: str, until: datetime | None) -> list[HostOutcome]:
        now = datetime.now(UTC)
        audit = self.engine.audit

        def one(run: HostRun) -> None:
            process = lock_name(module, run.host)
            line = hold.record(process, audit.operator_name, reason, now, until, audit.run_id)
            script = hold.place_script(hostvars.lock_dir(run.host), process, line)
            res = self._send(run, module, script)
            if res is None:
                return
            file = f"{hostvars.lock_dir(run.host)}/{hold.file_name(process)}"
            until_text = hold.stamp(until) if until is not None else None
            shown = hold.Hold(process, audit.operator_name, reason, hold.stamp(now), until_text, file)
            run.outcome.status = HostStatus.HELD
            run.outcome.message = shown.describe() + (" (replaces the hold before it)" if "PREV" in res.stdout else "")
            run.outcome.holds = [shown.as_dict()]
            audit.emit(Event.HOLD_PLACED, host=run.host.name, module=module, hold=shown.as_dict(), reason=reason)

        return self._each(module, one)

    def release(self, module: str, reason: str | None) -> list[HostOutcome]:
        audit = self.engine.audit

        def one(run: HostRun) -> None:
            process = lock_name(module, run.host)
            res = self._send(run, module, hold.release_script(hostvars.lock_dir(run.host), process))
            if res is None:
                return
            run.outcome.status = HostStatus.RELEASED
            was = hold.released(res.stdout)
            run.outcome.message = f"{process} released" if was else f"{process} had no hold: nothing to release"
            audit.emit(
                Event.HOLD_RELEASED, host=run.host.name, module=module, process=process, existed=was, reason=reason
            )

        return self._each(module, one)

    def _send(self, run: HostRun, module: str, script: str) -> Result | None:
        assert run.session is not None
        try:
            res = run.session.run(run_as(script, run.become), 30)
        except (CommandTimeout, ConnectionLost) as exc:
            run.outcome.status = HostStatus.UNKNOWN
            run.outcome.message = f"{exc.render()}; whether the hold changed is unknown (not retried)"
            return None
        if res.exit_code != 0:
            run.outcome.status = HostStatus.FAILED
            why = (res.stderr.strip() or res.stdout.strip() or f"exit {res.exit_code}")[:200]
            run.outcome.message = f"the hold file in {hostvars.lock_dir(run.host)} cannot be written: {why}"
            return None
        return res

    def _each(self, module: str, work: Callable[[HostRun], None]) -> list[HostOutcome]:
        engine = self.engine
        runs = [HostRun(h, engine._context(h, {}), HostOutcome(h.name)) for h in engine.hosts]

        def step(run: HostRun) -> None:
            if engine.worker.connect(run, module):
                work(run)

        try:
            engine._parallel(runs, step)
        finally:
            engine.worker.close(runs)
        for r in runs:
            engine.audit.emit(
                Event.HOST_FINISHED,
                host=r.host.name,
                module=module,
                outcome=r.outcome.status,
                message=r.outcome.message,
            )
        return [r.outcome for r in runs]


def read_settings(engine: Engine, label: str = "hosts") -> list[HostRun]:
    """``remediate hosts --host``: connect to each host and read its holds and its own settings, as a run
    reads them (the same audit records: a mismatch with the inventory included); nothing is changed."""

    def one(run: HostRun) -> None:
        if engine.worker.connect(run, label):
            engine.worker.read_holds(run)
            engine.worker.read_facts(run, label)

    runs = [HostRun(h, engine._context(h, {}), HostOutcome(h.name)) for h in engine.hosts]
    try:
        engine._parallel(runs, one)
    finally:
        engine.worker.close(runs)
    return runs


def read_each(
    hosts: Sequence[Host],
    command_for: Callable[[Host], str],
    config: RunConfig,
) -> dict[str, Result | str]:
    """Run one read-only command on each host (hosts in parallel, each connection retried as for a run).

    No lock, no audit events: for tools that only look (``audit verify --anchors``). Per host: the
    result, or why the host could not be read (never counted as a match by the caller).
    """

    def one(host: Host) -> Result | str:
        try:
            session = new_session(host, config)
            retry.connect(session.open, config.connect_policy)
        except TransportError as exc:
            return exc.render()
        try:
            return session.run(command_for(host), 30)
        except (CommandTimeout, ConnectionLost) as exc:
            return exc.render()
        finally:
            session.close()

    if not hosts:
        return {}
    with ThreadPoolExecutor(max_workers=min(max(config.forks, 1), len(hosts))) as pool:
        results = list(pool.map(one, hosts))
    return {h.name: r for h, r in zip(hosts, results, strict=True)}
