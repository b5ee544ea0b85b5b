"""Run playbooks on hosts: per-host workers, a bounded pool for read phases, rolling remediation.

Owns: the stages of a run — connect (retried), checks (one batched round trip per host, hosts in
parallel up to ``forks``), remediation (host by host; disruptive steps need confirmation; a changing
command is never retried; the rolling stops at the first host whose verification fails after a
disruptive step), verification (polled within the playbook's bound) — and the audit event written
before and after each command. Per-host failures are data in the outcome, never an abort of the other
hosts. Must not: print or prompt (confirmation is a callback from the CLI).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import plan, retry, transport
from runner.actions import DEFAULT_VARS, Context, Effect, Verdict
from runner.audit import AuditLog
from runner.errors import CommandTimeout, ConnectionLost, TransportError
from runner.inventory import Host
from runner.playbook import Playbook, Step
from runner.report import HostOutcome, StepOutcome
from runner.transport import Result, Session


@dataclass(frozen=True)
class ConfirmRequest:
    """Everything an operator needs to decide on one disruptive step."""

    host: str
    module: str
    step: str
    title: str
    command: str
    failed_checks: tuple[str, ...]
    interrupts: str
    context: tuple[str, ...] = ()  # findings of the checks the step asks to show (e.g. sessions it cuts)


Confirm = Callable[[ConfirmRequest], bool | None]  # True yes, False no, None: cannot ask (no terminal)


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


@dataclass
class _HostRun:
    host: Host
    ctx: Context
    outcome: HostOutcome
    session: Session | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    needs_remediation: bool = False
    disrupted: bool = False


class Engine:
    """One run of one or more playbooks against selected hosts."""

    def __init__(self, hosts: Sequence[Host], audit: AuditLog, config: RunConfig) -> None:
        self.hosts = list(hosts)
        self.audit = audit
        self.config = config

    # -- connection -------------------------------------------------------------------------------
    def _ssh_config_for(self, host: Host) -> Path | None:
        if self.config.ssh_config is not None:
            return self.config.ssh_config
        value = host.var("ssh_config")
        return Path(value).expanduser() if value else Path("~/.ssh/config").expanduser()

    def _connect(self, run: _HostRun, module: str) -> bool:
        try:
            endpoint = transport.resolve(run.host, self._ssh_config_for(run.host))
            session = Session(endpoint)

            def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
                self.audit.emit(
                    "host.retrying",
                    host=run.host.name,
                    module=module,
                    attempt=attempt,
                    message=str(exc),
                    wait=round(wait, 2),
                )

            retry.connect(session.open, self.config.connect_policy, on_retry=on_retry)
        except TransportError as exc:
            run.outcome.status = "unreachable"
            run.outcome.message = exc.render()
            self.audit.emit(
                "host.unreachable", host=run.host.name, module=module, message=exc.render(), error=type(exc).__name__
            )
            return False
        run.session = session
        run.outcome.host_key = session.fingerprint
        self.audit.emit(
            "host.connected",
            host=run.host.name,
            module=module,
            host_key=session.fingerprint,
            address=endpoint.address,
            port=endpoint.port,
            user=endpoint.user,
        )
        return True

    # -- read phases ------------------------------------------------------------------------------
    def _read(self, run: _HostRun, module: str, steps: Sequence[Step], *, record: bool = True) -> dict[str, Verdict]:
        """Run one playbook's read steps in one batch; return their verdicts (skipped steps are absent)."""
        found = self._read_many(run, [(module, s) for s in steps], record=record)
        return {sid: v for (_m, sid), v in found.items()}

    def _read_many(
        self, run: _HostRun, steps: Sequence[tuple[str, Step]], *, record: bool = True
    ) -> dict[tuple[str, str], Verdict]:
        """Run read steps (of one or several playbooks) in one round trip to the host."""
        assert run.session is not None
        out: dict[tuple[str, str], Verdict] = {}
        todo: list[tuple[str, plan.Planned]] = []
        for module, step in steps:
            planned = plan.build(step, run.ctx)
            if planned.command is None:
                if record:
                    self._record(run, module, step, None, "skipped", planned.skip or "", None, None)
            else:
                todo.append((module, planned))
        if not todo:
            return out
        if record:
            for module, p in todo:
                self.audit.emit(
                    "step.started",
                    host=run.host.name,
                    module=module,
                    step=p.key,
                    phase=p.step.phase,
                    effect=str(p.step.effect),
                    command=p.command,
                )
        b, keys = plan.shared_batch(
            [(f"{m}/{p.key}", p.command or "", p.step.timeout) for m, p in todo], plan.env_prefix(run.ctx)
        )
        results = self._run_batch(run, b)
        for module, p in todo:
            res = results.get(keys[f"{module}/{p.key}"])
            if res is None:
                verdict = Verdict(
                    False, "did not run: the connection or the batch stopped before this step", error=True
                )
            elif res.exit_code == 124:
                verdict = Verdict(False, f"timed out after {p.step.timeout:g}s (stopped on the host)", error=True)
            else:
                verdict = plan.judge(p.step, run.ctx, res)
            out[(module, p.key)] = verdict
            if record:
                outcome = "passed" if verdict.passed else "error" if verdict.undetermined else "failed"
                self._record(
                    run,
                    module,
                    p.step,
                    p.command,
                    outcome,
                    verdict.message,
                    res.exit_code if res else None,
                    res.duration if res else None,
                )
        return out

    def _run_batch(self, run: _HostRun, b: plan.Batch) -> dict[str, Result]:
        assert run.session is not None
        try:
            res = run.session.run(b.script, b.timeout)
        except (ConnectionLost, CommandTimeout) as exc:
            # Read steps are safe to run again: reconnect once and repeat the batch.
            self.audit.emit("host.retrying", host=run.host.name, message=f"read batch: {exc.render()}")
            run.session.close()
            try:
                retry.connect(run.session.open, self.config.connect_policy)
                res = run.session.run(b.script, b.timeout)
            except (TransportError, ConnectionLost, CommandTimeout):
                return {}
        return plan.unbatch(b, res)

    def _record(
        self,
        run: _HostRun,
        module: str,
        step: Step,
        command: str | None,
        outcome: str,
        message: str,
        exit_code: int | None,
        duration: float | None,
    ) -> StepOutcome:
        so = StepOutcome(
            id=step.id,
            phase=step.phase,
            effect=str(step.effect),
            title=step.title,
            command=command,
            outcome=outcome,
            message=message,
            exit_code=exit_code,
            duration=duration,
            module=module,
        )
        run.outcome.steps.append(so)
        event = (
            "step.skipped" if outcome == "skipped" else "step.planned" if outcome == "would_run" else "step.finished"
        )
        self.audit.emit(
            event,
            host=run.host.name,
            module=module,
            step=step.id,
            phase=step.phase,
            effect=str(step.effect),
            command=command,
            exit_code=exit_code,
            duration=round(duration, 3) if duration is not None else None,
            outcome=outcome,
            message=message,
            dry_run=self.config.dry_run or None,
        )
        return so

    # -- a playbook run ---------------------------------------------------------------------------
    def run(self, playbook: Playbook) -> list[HostOutcome]:
        runs = [_HostRun(h, Context(h, dict(self.config.options)), HostOutcome(h.name)) for h in self.hosts]
        try:
            self._parallel(runs, lambda r: self._check_host(r, playbook))
            stop_reason: str | None = None
            for r in runs:
                if r.outcome.status in ("unreachable",) or not r.needs_remediation:
                    continue
                if stop_reason is not None:
                    r.outcome.status = "failed"
                    r.outcome.message = f"not attempted: {stop_reason}"
                    self.audit.emit("host.skipped", host=r.host.name, module=playbook.module, message=r.outcome.message)
                    continue
                self._remediate_host(r, playbook)
                if r.outcome.status == "failed" and r.disrupted:
                    stop_reason = f"rolling remediation stopped after {r.host.name} failed"
        finally:
            for r in runs:
                if r.session is not None:
                    r.session.close()
        for r in runs:
            self.audit.emit(
                "host.finished",
                host=r.host.name,
                module=playbook.module,
                outcome=r.outcome.status,
                message=r.outcome.message,
            )
        return [r.outcome for r in runs]

    def _parallel(self, runs: list[_HostRun], work: Callable[[_HostRun], None]) -> None:
        if len(runs) == 1 or self.config.forks <= 1:
            for r in runs:
                work(r)
            return
        with ThreadPoolExecutor(max_workers=min(self.config.forks, len(runs))) as pool:
            for future in [pool.submit(work, r) for r in runs]:
                future.result()

    @staticmethod
    def _lock_dir(host: Host) -> str:
        """Where the run lock lives on the host: ``lock_dir``, else beside the Campaign install."""
        explicit = host.var("lock_dir")
        if explicit:
            return str(explicit)
        root = host.var("nl6_root") or DEFAULT_VARS["nl6_root"]
        return f"{root}/var/remediate/locks"

    def _lock(self, run: _HostRun, module: str) -> bool:
        """Hold the host-side lock for this module for the whole run (not for dry-runs)."""
        assert run.session is not None
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        owner = f"run {self.audit.run_id} by {self.audit.operator_name} on {socket.gethostname()} since {since}"
        try:
            acquired, other = run.session.hold_lock(self._lock_dir(run.host), module, owner)
        except ConnectionLost as exc:
            run.outcome.status = "unreachable"
            run.outcome.message = exc.render()
            self.audit.emit("host.unreachable", host=run.host.name, module=module, message=exc.render())
            return False
        if not acquired:
            run.outcome.status = "locked"
            run.outcome.message = f"{module} on this host is locked by {other}; nothing was run"
            self.audit.emit("lock.refused", host=run.host.name, module=module, message=run.outcome.message)
            return False
        if other:
            self.audit.emit(
                "lock.stale",
                host=run.host.name,
                module=module,
                message=f"took over a lock left by a run that ended without releasing it: {other}",
            )
        self.audit.emit("lock.acquired", host=run.host.name, module=module)
        return True

    def _check_host(self, run: _HostRun, playbook: Playbook) -> None:
        if not self._connect(run, playbook.module):
            return
        if not self.config.dry_run and not self._lock(run, playbook.module):
            return
        run.verdicts = self._read(run, playbook.module, playbook.checks)
        run.ctx.earlier = run.verdicts
        failed = plan.failed_checks(run.verdicts)
        unsure = plan.undetermined_checks(run.verdicts)
        run.outcome.found = [f"{sid}: {run.verdicts[sid].message}" for sid in failed + unsure]
        if unsure and not failed:
            run.outcome.status = "failed"
            run.outcome.message = "cannot diagnose: " + "; ".join(
                f"{sid}: {run.verdicts[sid].message}" for sid in unsure
            )
            return
        if not failed and not self.config.force and not self._explicit_option(playbook):
            run.outcome.status = "healthy"
            run.outcome.message = "every check passed"
            return
        run.needs_remediation = True

    def _explicit_option(self, playbook: Playbook) -> bool:
        """An option set away from its default is an explicit request to remediate (e.g. log precision)."""
        return any(self.config.options.get(name, opt.default) != opt.default for name, opt in playbook.options.items())

    def _remediate_host(self, run: _HostRun, playbook: Playbook) -> None:
        module = playbook.module
        failed = tuple(plan.failed_checks(run.verdicts))
        steps = plan.selected(playbook, run.verdicts, self.config.options)
        if not steps:
            run.outcome.status = "failed"
            run.outcome.message = "checks failed and no remediation step applies: " + "; ".join(run.outcome.found)
            return
        ran_any = False
        for step in steps:
            planned = plan.build(step, run.ctx)
            if planned.command is None:
                self._record(run, module, step, None, "skipped", planned.skip or "", None, None)
                continue
            if self.config.dry_run:
                self._record(run, module, step, planned.command, "would_run", "dry-run: not run", None, None)
                continue
            if step.effect is Effect.DISRUPT and not self._confirmed(run, playbook, step, planned.command, failed):
                return
            run.disrupted = run.disrupted or step.effect is Effect.DISRUPT
            if not self._change(run, module, step, planned):
                return
            ran_any = True
        if self.config.dry_run:
            for step in playbook.verification:
                planned = plan.build(step, run.ctx)
                self._record(
                    run, module, step, planned.command, "would_run", "dry-run: verification after the fix", None, None
                )
            run.outcome.status = "would_remediate"
            run.outcome.message = f"would run {len([s for s in run.outcome.steps if s.outcome == 'would_run'])} steps"
            return
        if not ran_any:
            run.outcome.status = "failed"
            run.outcome.message = "no remediation step could run: " + "; ".join(
                s.message for s in run.outcome.steps if s.outcome == "skipped"
            )
            return
        self._verify(run, playbook)

    def _confirmed(self, run: _HostRun, playbook: Playbook, step: Step, command: str, failed: tuple[str, ...]) -> bool:
        context = tuple(f"{sid}: {run.verdicts[sid].message}" for sid in step.show if sid in run.verdicts)
        fields: dict[str, Any] = {
            "host": run.host.name,
            "module": playbook.module,
            "step": step.id,
            "command": command,
            "failed_checks": list(failed),
            "context": list(context) or None,
        }
        if self.config.yes:
            self.audit.emit("confirmation.given", via="--yes", **fields)
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
        )
        answer = self.config.confirm(request)
        if answer is True:
            self.audit.emit("confirmation.given", via="prompt", **fields)
            return True
        run.outcome.status = "not_confirmed"
        if answer is None:
            run.outcome.message = f"{step.id} is disruptive and there is no terminal to confirm it (use --yes)"
            self.audit.emit("confirmation.refused", message=run.outcome.message, **fields)
        else:
            run.outcome.message = f"{step.id} declined by the operator"
            self.audit.emit("confirmation.declined", **fields)
        self._record(run, playbook.module, step, command, "declined", run.outcome.message, None, None)
        return False

    def _change(self, run: _HostRun, module: str, step: Step, planned: plan.Planned) -> bool:
        """Run one changing command exactly once; its started record is on disk before it runs."""
        assert run.session is not None and planned.command is not None
        self.audit.emit(
            "step.started",
            host=run.host.name,
            module=module,
            step=step.id,
            phase=step.phase,
            effect=str(step.effect),
            command=planned.command,
            reason=self.config.reason,
        )
        start = time.monotonic()
        try:
            res = run.session.run(plan.full_command(planned, run.ctx), step.timeout)
        except (CommandTimeout, ConnectionLost) as exc:
            # It may have half-run: report the outcome as unknown and never send it again.
            run.outcome.status = "unknown"
            run.outcome.message = f"{step.id}: {exc.what}; outcome unknown, not retried"
            outcome = "timeout" if isinstance(exc, CommandTimeout) else "unknown"
            self._record(
                run, module, step, planned.command, outcome, run.outcome.message, None, time.monotonic() - start
            )
            return False
        verdict = plan.judge(step, run.ctx, res)
        self._record(
            run,
            module,
            step,
            planned.command,
            "ran" if verdict.passed else "failed",
            verdict.message,
            res.exit_code,
            res.duration,
        )
        run.outcome.done.append(planned.command)
        if not verdict.passed:
            run.outcome.status = "failed"
            run.outcome.message = f"{step.id} failed: {verdict.message}"
            return False
        return True

    def _verify(self, run: _HostRun, playbook: Playbook) -> None:
        pending = list(playbook.verification)
        start = time.monotonic()
        final: dict[str, Verdict] = {}

        def probe() -> list[Step]:
            nonlocal pending
            verdicts = self._read(run, playbook.module, pending, record=False)
            elapsed = time.monotonic() - start
            still: list[Step] = []
            for step in pending:
                verdict = verdicts.get(step.id)
                if verdict is None:  # skipped
                    continue
                final[step.id] = verdict
                if not verdict.passed and step.poll is not None and elapsed < step.poll.timeout:
                    still.append(step)
            pending = still
            return still

        longest = max((s.poll.timeout for s in playbook.verification if s.poll), default=0.0)
        interval = min((s.poll.interval for s in playbook.verification if s.poll), default=1.0)
        retry.poll(probe, lambda still: not still, timeout=longest, interval=interval)
        # Record each verification once, with its final verdict.
        for step in playbook.verification:
            planned = plan.build(step, run.ctx)
            if step.id not in final:
                self._record(run, playbook.module, step, None, "skipped", planned.skip or "skipped", None, None)
                continue
            v = final[step.id]
            self._record(
                run,
                playbook.module,
                step,
                planned.command,
                "passed" if v.passed else "failed",
                v.message,
                None,
                time.monotonic() - start,
            )
        bad = [f"{sid}: {v.message}" for sid, v in final.items() if not v.passed]
        if bad:
            run.outcome.status = "failed"
            run.outcome.message = "verification failed: " + "; ".join(bad)
        else:
            run.outcome.status = "remediated"
            run.outcome.message = "remediated and verified"

    # -- the read-only sweep ----------------------------------------------------------------------
    def check(self, playbooks: Sequence[Playbook]) -> list[HostOutcome]:
        """Run the checks of every playbook on every host: one connection and one batch per host."""
        runs = [_HostRun(h, Context(h, {}), HostOutcome(h.name)) for h in self.hosts]
        label = "check" if len(playbooks) != 1 else playbooks[0].module

        def sweep(run: _HostRun) -> None:
            if not self._connect(run, label):
                return
            verdicts = self._read_many(run, [(pb.module, s) for pb in playbooks for s in pb.checks])
            problems = []
            for pb in playbooks:
                mine = {s.id: verdicts[(pb.module, s.id)] for s in pb.checks if (pb.module, s.id) in verdicts}
                failed = [f"{sid}: {v.message}" for sid, v in mine.items() if not v.passed]
                if failed:
                    real = any(v.failed for v in mine.values())
                    run.outcome.modules[pb.module] = "problem" if real else "error"
                    run.outcome.found.extend(f"{pb.module}: {f}" for f in failed)
                    problems.append(pb.module)
                else:
                    run.outcome.modules[pb.module] = "healthy" if mine else "skipped"
            run.outcome.status = "failed" if problems else "healthy"
            run.outcome.message = f"problems in {', '.join(problems)}" if problems else "every check passed"

        try:
            self._parallel(runs, sweep)
        finally:
            for r in runs:
                if r.session is not None:
                    r.session.close()
        for r in runs:
            self.audit.emit(
                "host.finished", host=r.host.name, module=label, outcome=r.outcome.status, message=r.outcome.message
            )
        return [r.outcome for r in runs]
