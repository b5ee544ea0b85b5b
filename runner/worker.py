"""One host's side of a run: its connection, its lock, its batched reads, its changing commands.

Owns: connecting (retried) and recording the host key, the run lock, running read steps in one batch
per round trip (each command built once and the same text sent, judged and audited), running a
changing command exactly once with its ``step.started`` record on disk first, and the step records.
Must not: choose which steps run, ask for confirmation, or print (that is :mod:`runner.execute` and
the CLI).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import anchor, campaign, hold, hostfacts, hostvars, plan, retry, sshconfig
from runner.actions import AccountRefused, Context, become_for
from runner.audit import AuditLog
from runner.errors import CommandTimeout, ConnectionLost, InputError, PreconditionError, TransportError
from runner.events import Event, step_record
from runner.hold import Hold
from runner.inventory import Host
from runner.lock import HostLock
from runner.outcomes import HostStatus, Reading, StepStatus, Verdict
from runner.playbook import Step
from runner.report import HostOutcome, StepOutcome
from runner.transport import Session
from runner.wire import DIRECT, Account, Become, Result, as_sent, run_as

if TYPE_CHECKING:
    from runner.execute import RunConfig


@dataclass(frozen=True)
class Read:
    """One read step as it ran: the exact command sent, its verdict, and the host's answer."""

    step: Step
    command: str
    verdict: Verdict
    result: Result | None
    snapshots: Mapping[str, str] = field(default_factory=dict)  # replayed snapshot -> the command that took it

    @property
    def status(self) -> StepStatus:
        if self.verdict.not_applicable:
            return StepStatus.SKIPPED
        if self.verdict.passed:
            return StepStatus.PASSED
        return StepStatus.UNDETERMINED if self.verdict.undetermined else StepStatus.FAILED


@dataclass
class HostRun:
    host: Host
    ctx: Context
    outcome: HostOutcome
    session: Session | None = None
    lock: HostLock | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    needs_remediation: bool = False
    disrupted: bool = False
    become: Become = DIRECT  # how the session reaches the Campaign account (set once connected)
    holds: list[Hold] = field(default_factory=list)  # operators' holds read on the host
    facts: hostfacts.HostFacts | None = None  # the host's own settings (read once, right after connecting)


def ssh_config_for(host: Host, config: RunConfig) -> Path | None:
    """``--ssh-config``, else the host's ``ssh_config`` var, else ``~/.ssh/config``."""
    if config.ssh_config is not None:
        return config.ssh_config
    value = host.var("ssh_config")
    return Path(value).expanduser() if value else Path("~/.ssh/config").expanduser()


def new_session(host: Host, config: RunConfig) -> Session:
    """The (not yet opened) session to one host: the real SSH one, or the one the config's factory makes."""
    if config.session_factory is not None:
        return config.session_factory(host, ssh_config_for(host, config))
    return Session(sshconfig.resolve(host, ssh_config_for(host, config)))


def lock_name(module: str, host: Host) -> str:
    """One lock per module process: ``wfserver@prod`` and ``wfserver@prod2`` (two instances on one
    machine) are independent; ``web@default`` is one for every instance. Playbooks of utilities
    (export, import, tracking) lock per instance too."""
    try:
        return campaign.process_name(module, host.instance)
    except ValueError:
        return f"{module}@{host.instance}" if host.instance else module


class Worker:
    """The per-host operations of one run, shared by every host of it (each call names its host)."""

    def __init__(self, audit: AuditLog, config: RunConfig) -> None:
        self.audit = audit
        self.config = config
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # the run's start, for its anchors

    def _give_up(self, run: HostRun, module: str, status: HostStatus, event: Event, message: str, **extra: Any) -> bool:
        """End this host's run before anything was run on it: its outcome and one audit event; False."""
        run.outcome.status = status
        run.outcome.message = message
        self.audit.emit(event, host=run.host.name, module=module, message=message, **extra)
        return False

    def connect(self, run: HostRun, module: str) -> bool:
        try:
            session = new_session(run.host, self.config)
            endpoint = session.endpoint

            def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
                self.audit.emit(
                    Event.HOST_RETRYING,
                    host=run.host.name,
                    module=module,
                    attempt=attempt,
                    message=str(exc),
                    wait=round(wait, 2),
                    policy=self.config.connect_policy.describe(),
                )

            retry.connect(session.open, self.config.connect_policy, on_retry=on_retry)
        except InputError as exc:  # the OpenSSH config changed under the run: refuse this host, touch nothing
            return self._give_up(run, module, HostStatus.FAILED, Event.HOST_REFUSED, exc.render())
        except TransportError as exc:
            return self._give_up(
                run, module, HostStatus.UNREACHABLE, Event.HOST_UNREACHABLE, exc.render(), error=type(exc).__name__
            )
        run.session = session
        run.outcome.host_key = session.fingerprint
        run.ctx.ssh_user = endpoint.user
        self.audit.emit(
            Event.HOST_CONNECTED,
            host=run.host.name,
            module=module,
            host_key=session.fingerprint,
            address=endpoint.address,
            port=endpoint.port,
            user=endpoint.user,
        )
        try:  # every playbook reads Campaign: its account must be reachable before anything is sent
            run.become = become_for(Account.CAMPAIGN, run.ctx)
        except AccountRefused as exc:
            return self._give_up(run, module, HostStatus.FAILED, Event.HOST_REFUSED, f"{exc}; nothing was run")
        return True

    # -- read phases ------------------------------------------------------------------------------
    def read(self, run: HostRun, module: str, steps: Sequence[Step], *, record: bool = True) -> dict[str, Read]:
        """Run one playbook's read steps in one batch; return what each sent and found (skipped: absent)."""
        found = self.read_many(run, [(module, s) for s in steps], record=record)
        return {sid: r for (_m, sid), r in found.items()}

    def read_many(
        self, run: HostRun, steps: Sequence[tuple[str, Step]], *, record: bool = True
    ) -> dict[tuple[str, str], Read]:
        """Run read steps (of one or several playbooks) in one round trip to the host.

        Each command is built once here; the same text is sent, judged, audited and returned.
        """
        assert run.session is not None
        out: dict[tuple[str, str], Read] = {}
        reads = plan.read_batch(steps, run.ctx)
        if record:
            for module, planned in reads.skipped:
                self.record(run, module, planned.step, None, StepStatus.SKIPPED, planned.skip or "", None, None)
        todo = [(module, planned, str(planned.command)) for module, planned in reads.todo]
        if reads.batch is None:
            return out
        # the snapshots each step's command replays, each with the command the batch took it by
        taken = {
            f"{module}/{p.key}": {name: reads.snapshots[name] for name in reads.reads.get(f"{module}/{p.key}", ())}
            for module, p, _c in todo
        }
        if record:
            for module, p, command in todo:
                extra = {"snapshots": mine} if (mine := taken[f"{module}/{p.key}"]) else {}
                self.step_event(Event.STEP_STARTED, run, module, p.step, command=command, **extra)
        results = self._run_batch(run, reads.batch, [(module, p.step.id) for module, p, _c in todo])
        keys = reads.keys
        for module, p, command in todo:
            res = results.get(keys[f"{module}/{p.key}"])
            if res is None:
                verdict = Verdict(
                    Reading.UNDETERMINED, "did not run: the connection or the batch stopped before this step"
                )
            elif res.exit_code == 124:
                verdict = Verdict(Reading.UNDETERMINED, f"timed out after {p.step.timeout:g}s (stopped on the host)")
            else:
                verdict = plan.judge(p.step, run.ctx, res)
            read = Read(p.step, command, verdict, res, taken[f"{module}/{p.key}"])
            out[(module, p.key)] = read
            if record:
                self.record_read(run, module, read)
        return out

    def record_read(self, run: HostRun, module: str, read: Read, duration: float | None = None) -> None:
        if self.config.verbose and read.result is not None:
            answer = (read.result.stdout.strip() or read.result.stderr.strip())[:600]
            message = read.verdict.message + (f"\n{answer}" if answer else "")
            read = replace(read, verdict=Verdict(read.verdict.reading, message, read.verdict.data))
        self.record(
            run,
            module,
            read.step,
            read.command,
            read.status,
            read.verdict.message,
            read.result.exit_code if read.result else None,
            duration if duration is not None else read.result.duration if read.result else None,
            snapshots=read.snapshots,
        )

    def _run_batch(self, run: HostRun, batch: plan.Batch, carried: Sequence[tuple[str, str]]) -> dict[str, Result]:
        """Send one read batch (``carried``: the (module, step id) of each step it holds) and split its answer;
        each sending is recorded first (``batch.sent``) with the very script the host receives."""
        assert run.session is not None
        modules = list(dict.fromkeys(module for module, _s in carried))

        def sent() -> None:
            self.audit.emit(
                Event.BATCH_SENT,
                host=run.host.name,
                module=modules[0] if len(modules) == 1 else None,
                command=batch.script,
                steps=[f"{module}/{step}" for module, step in carried],
            )

        sent()
        try:
            res = run.session.run(batch.script, batch.timeout)
        except (ConnectionLost, CommandTimeout) as exc:
            # Read steps are safe to run again: reconnect once and repeat the batch (with the lock
            # taken again first when the run held one: it died with the old connection).
            self.audit.emit(Event.HOST_RETRYING, host=run.host.name, message=f"read batch: {exc.render()}")
            run.session.close()
            try:
                retry.connect(run.session.open, self.config.connect_policy)
                if run.lock is not None:
                    if not run.lock.acquire(self._owner()).acquired:
                        return {}
                    self.audit.emit(
                        Event.LOCK_ACQUIRED,
                        host=run.host.name,
                        message="taken again on the new connection",
                        command=run.lock.sent,
                    )
                sent()
                res = run.session.run(batch.script, batch.timeout)
            except (TransportError, ConnectionLost, CommandTimeout, PreconditionError):
                return {}
        return plan.unbatch(batch, res)

    def record(
        self,
        run: HostRun,
        module: str,
        step: Step,
        command: str | None,
        outcome: StepStatus,
        message: str,
        exit_code: int | None,
        duration: float | None,
        *,
        snapshots: Mapping[str, str] | None = None,
    ) -> StepOutcome:
        step_outcome = StepOutcome(
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
            snapshots=dict(snapshots or {}),
        )
        run.outcome.steps.append(step_outcome)
        self.step_event(
            step_record(outcome),
            run,
            module,
            step,
            command=command,
            exit_code=exit_code,
            duration=round(duration, 3) if duration is not None else None,
            outcome=outcome,
            message=message,
            dry_run=self.config.dry_run or None,
        )
        return step_outcome

    def step_event(self, event: Event, run: HostRun, module: str, step: Step, **fields: Any) -> None:
        """One audit record about one step on one host: the step's own fields, then ``fields``."""
        self.audit.emit(
            event,
            host=run.host.name,
            module=module,
            step=step.id,
            phase=step.phase,
            effect=str(step.effect),
            **fields,
        )

    @staticmethod
    def close(runs: Sequence[HostRun]) -> None:
        for r in runs:
            if r.lock is not None:
                r.lock.release()
            if r.session is not None:
                r.session.close()

    def anchor(self, run: HostRun, module: str) -> None:
        """Append this run's chain head and summary (:mod:`runner.anchor`) to the host's anchor file, through
        the run's own connection.

        Written once, never retried (an append that may have half-run is not repeated); a failure is
        recorded and changes nothing about the host's outcome.
        """
        assert run.session is not None
        path = anchor.anchor_file(run.host)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        head = self.audit.head
        summary = {
            "started": self.started,
            "ended": stamp,
            "reason": self.config.reason,
            "incident": self.config.incident,
            "log": anchor.log_id(self.audit.path),
            "log_host": socket.gethostname(),
        }
        line = anchor.record(
            self.audit.run_id,
            stamp,
            self.audit.operator_name,
            module,
            run.outcome.status,
            head,
            self.audit.redact(summary),
        )
        sent = run_as(anchor.append_command(path, line, anchor.keep(run.host)), run.become)
        where = {"host": run.host.name, "module": module, "file": path, "command": sent}
        try:
            res = run.session.run(sent, 30)
        except (CommandTimeout, ConnectionLost) as exc:
            self.audit.emit(Event.ANCHOR_FAILED, message=exc.render(), **where)
            return
        if res.exit_code != 0:
            why = (res.stderr.strip() or f"exit {res.exit_code}")[:200]
            self.audit.emit(Event.ANCHOR_FAILED, message=why, **where)
            return
        self.audit.emit(Event.ANCHOR_WRITTEN, head=head, **where)

    def read_lines(self, run: HostRun, command: str, *, limit: int = 20) -> tuple[str, ...]:
        """A read-only command's output lines, in the Campaign account, for a person to read (at most
        ``limit`` lines of 200 characters); why it could not be read otherwise. Never raises."""
        assert run.session is not None
        sent = as_sent(command, run.host, run.become)
        self.audit.emit(Event.READ_SENT, host=run.host.name, read="stop evidence", command=sent)
        try:
            res = run.session.run(sent, 30)
        except (CommandTimeout, ConnectionLost) as exc:
            return (f"could not be read: {exc.render()}",)
        lines = [line.rstrip()[:200] for line in res.stdout.splitlines() if line.strip()]
        return tuple(lines[-limit:]) or (f"nothing to read (exit {res.exit_code})",)

    def read_facts(self, run: HostRun, module: str) -> bool:
        """Read the host's own settings (:mod:`runner.hostfacts`) once, in the Campaign account with its
        environment: they fill the vars the inventory leaves unset; an inventory var that says otherwise
        is recorded (``host.setting_mismatch``) and used. A read that fails as a whole ends the host
        (nothing run): a step must not act on a port or path the host may have moved."""
        assert run.session is not None
        root = str(run.ctx.var("nl6_root"))
        command = as_sent(hostfacts.script(root, run.host.instance), run.host, run.become)
        self.audit.emit(Event.READ_SENT, host=run.host.name, module=module, read="settings", command=command)
        try:
            res = run.session.run(command, 30)
        except (CommandTimeout, ConnectionLost) as exc:
            why = f"the host's settings could not be read ({exc.render()}); nothing was run"
            return self._give_up(run, module, HostStatus.FAILED, Event.HOST_PRECONDITION_FAILED, why)
        found = hostfacts.parse(res.stdout, nl6_root=root, instance=run.host.instance)
        if not any(marker in res.stdout for marker in (f"{hostfacts.MARK} env", f"{hostfacts.MARK} rc")):
            tail = (res.stderr.strip() or f"exit {res.exit_code}")[-200:]
            why = f"the host's settings could not be read ({tail}); nothing was run"
            return self._give_up(run, module, HostStatus.FAILED, Event.HOST_PRECONDITION_FAILED, why)
        run.facts = found
        run.ctx.facts = found.values
        settings = {name: {"value": f.value, "source": f.source} for name, f in found.facts.items()}
        self.audit.emit(
            Event.SETTINGS_READ, host=run.host.name, module=module, settings=settings, problems=found.problems or None
        )
        run.outcome.settings.extend(f"not read: {problem}" for problem in found.problems)
        for mismatch in hostfacts.mismatches(run.host.vars, found):
            run.outcome.settings.append(mismatch.describe())
            self.audit.emit(
                Event.HOST_SETTING_MISMATCH,
                host=run.host.name,
                module=module,
                message=mismatch.describe(),
                **mismatch.as_dict(),
            )
        return True

    def read_holds(self, run: HostRun) -> list[Hold]:
        """The operators' holds on this host (beside its run locks), read in the Campaign account.

        Fail safe: a listing that fails, times out or is cut off is one hold on every module.
        """
        assert run.session is not None
        directory = hostvars.lock_dir(run.host)
        sent = run_as(hold.list_script(directory), run.become)
        self.audit.emit(Event.READ_SENT, host=run.host.name, read="holds", command=sent)
        try:
            res = run.session.run(sent, 30)
        except (CommandTimeout, ConnectionLost) as exc:  # kept on the run: the engine reads run.holds
            holds = [hold.Hold(hold.EVERY, "", "", "", None, directory, problem=f"cannot be listed: {exc.render()}")]
        else:
            holds = hold.parse_list(directory, res.stdout, res.exit_code)
        run.holds = holds
        now = datetime.now(UTC)
        run.outcome.holds = [h.as_dict() for h in holds if not h.expired(now)]
        return holds

    def _owner(self) -> str:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return f"run {self.audit.run_id} by {self.audit.operator_name} on {socket.gethostname()} since {since}"

    def lock(self, run: HostRun, module: str) -> bool:
        """Hold the host-side lock for this module for the whole run (not for dry-runs)."""
        assert run.session is not None
        lock = HostLock(
            run.session, run.host.name, hostvars.lock_dir(run.host), lock_name(module, run.host), run.become
        )
        try:
            taken = lock.acquire(self._owner())
        except ConnectionLost as exc:
            return self._give_up(run, module, HostStatus.UNREACHABLE, Event.HOST_UNREACHABLE, exc.render())
        except PreconditionError as exc:
            return self._give_up(run, module, HostStatus.FAILED, Event.HOST_PRECONDITION_FAILED, exc.render())
        if not taken.acquired:
            why = f"{module} on this host is locked by {taken.other}; nothing was run"
            return self._give_up(run, module, HostStatus.LOCKED, Event.LOCK_REFUSED, why)
        run.lock = lock
        if taken.other:
            self.audit.emit(
                Event.LOCK_STALE,
                host=run.host.name,
                module=module,
                message=f"took over a lock left by a run that ended without releasing it: {taken.other}",
            )
        self.audit.emit(Event.LOCK_ACQUIRED, host=run.host.name, module=module, command=lock.sent)
        return True

    def change(self, run: HostRun, module: str, step: Step, planned: plan.Planned) -> bool:
        """Run one changing command exactly once; its started record is on disk before it runs."""
        assert run.session is not None and planned.command is not None
        self.step_event(Event.STEP_STARTED, run, module, step, command=planned.command, reason=self.config.reason)
        start = time.monotonic()
        self.config.waiting.begin(run.host.name, step.title, step.timeout)
        try:
            res = run.session.run(planned.command, step.timeout)
        except (CommandTimeout, ConnectionLost) as exc:
            self.config.waiting.end(run.host.name)
            # It may have half-run: report the outcome as unknown and never send it again.
            run.outcome.status = HostStatus.UNKNOWN
            run.outcome.message = f"{step.id}: {exc.what}; outcome unknown, not retried"
            outcome = StepStatus.TIMEOUT if isinstance(exc, CommandTimeout) else StepStatus.UNKNOWN
            elapsed = time.monotonic() - start
            self.record(run, module, step, planned.command, outcome, run.outcome.message, None, elapsed)
            return False
        self.config.waiting.end(run.host.name)
        verdict = plan.judge(step, run.ctx, res)
        status = StepStatus.RAN if verdict.clear else StepStatus.FAILED
        self.record(run, module, step, planned.command, status, verdict.message, res.exit_code, res.duration)
        run.outcome.done.append(planned.command)
        if not verdict.clear:
            run.outcome.status = HostStatus.FAILED
            run.outcome.message = f"{step.id} failed: {verdict.message}"
            return False
        return True
