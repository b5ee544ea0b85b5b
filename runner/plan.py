"""Playbook + host (+ check verdicts) → the exact commands a run sends. Pure: no I/O.

Owns: building each step's command for one host (dry-run, ``show`` and the real run build the same
text; what a run's own id makes unique — a probe token, a backup table name — differs from one run to
the next), putting every database query of one batch into one ``nlserver javascript`` call, the
read-phase batch script that runs many read steps in one round trip, parsing that batch's output back
into per-step results, and the ``when:`` rules that pick remediation steps.
Must not: connect, run, log or prompt.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from runner.actions import ACTIONS, Context, Skip
from runner.actions.base import AccountRefused, become_for
from runner.outcomes import Verdict
from runner.playbook import Playbook, Step
from runner.wire import KILL_AFTER, Account, Result, env_line, run_as, sourced


@dataclass
class Planned:
    """One step made concrete for one host: its exact command, or why it is skipped."""

    step: Step
    command: str | None
    skip: str | None = None

    @property
    def key(self) -> str:
        return self.step.id


def build(step: Step, ctx: Context) -> Planned:
    action = ACTIONS[step.action]
    try:
        return Planned(step, action.build(step.args, replace(ctx, effect=step.effect)))
    except Skip as exc:
        return Planned(step, None, str(exc))
    except ValueError as exc:  # a host value the action cannot put into a command safely
        return Planned(step, None, f"cannot build the command for host {ctx.host.name}: {exc}")


def merge_calls(planned: Sequence[Planned], ctx: Context) -> list[Planned]:
    """The steps of one batch whose action merges (e.g. every ``query``: one ``nlserver javascript``
    call) send that action's single merged command; other steps are returned unchanged."""
    groups: dict[str, list[int]] = {}
    for index, p in enumerate(planned):
        if p.command is not None and ACTIONS[p.step.action].merge is not None:
            groups.setdefault(p.step.action, []).append(index)
    out = list(planned)
    for name, members in groups.items():
        merge = ACTIONS[name].merge
        if len(members) < 2 or merge is None:
            continue
        command = merge([planned[i].step.args for i in members], ctx)
        for i in members:
            out[i] = Planned(planned[i].step, command)
    return out


def touched(step: Step, ctx: Context) -> tuple[str, ...]:
    """The Campaign processes the step would start, stop or restart on this host (``*``: every one)."""
    try:
        return ACTIONS[step.action].touches(step.args, ctx)
    except (Skip, ValueError):
        return ()  # the step cannot be built here either: it will be skipped


def evidence(step: Step, ctx: Context) -> str | None:
    """The read command whose output says how what the step starts came to stop (None: none)."""
    source = ACTIONS[step.action].evidence
    if source is None:
        return None
    try:
        return source(step.args, ctx)
    except (Skip, ValueError):
        return None


def settles(step: Step) -> bool:
    """What the step reads shows only some time after a change (see :class:`runner.actions.Action`)."""
    return ACTIONS[step.action].settles


def judge(step: Step, ctx: Context, result: Result) -> Verdict:
    return ACTIONS[step.action].judge(step.args, ctx, result.stdout, result.stderr, result.exit_code)


def build_alone(step: Step, ctx: Context) -> Planned:
    """A step sent on its own (a change): its command as the host receives it, in the account its
    action needs (:func:`runner.actions.base.become_for`), the Campaign environment sourced first.
    Dry-run, the confirmation prompt, the audit and the run all show this very text."""
    planned = build(step, ctx)
    if planned.command is None:
        return planned
    try:
        become = become_for(ACTIONS[step.action].account(step.args, ctx), ctx)
    except AccountRefused as exc:
        return Planned(step, None, str(exc))
    return Planned(step, run_as(sourced(planned.command, ctx.host.var("nlserver_env")), become))


def absent_gate(playbook: Playbook, verdicts: Mapping[str, Verdict]) -> str | None:
    """Why the playbook does not apply to this host (a gate check found its module absent), or None."""
    for step in playbook.checks:
        verdict = verdicts.get(step.id)
        if step.gate and verdict is not None and verdict.not_applicable:
            return verdict.message
    return None


def judged(playbook: Playbook, verdicts: Mapping[str, Verdict]) -> dict[str, Verdict]:
    """The verdicts that decide: checks that only inform, and checks that do not apply, are left out."""
    inform = {s.id for s in playbook.checks if s.inform}
    return {sid: v for sid, v in verdicts.items() if sid not in inform and not v.not_applicable}


def failed_checks(verdicts: Mapping[str, Verdict]) -> list[str]:
    """Checks that found a problem (not those that could not decide)."""
    return [sid for sid, v in verdicts.items() if v.failed]


def undetermined_checks(verdicts: Mapping[str, Verdict]) -> list[str]:
    return [sid for sid, v in verdicts.items() if v.undetermined]


def steps_to_run(
    playbook: Playbook, verdicts: Mapping[str, Verdict], options: Mapping[str, str], *, force: bool = False
) -> list[Step]:
    """The remediation steps whose ``when:`` holds for these check verdicts, options and ``--force``."""
    out = []
    for step in playbook.remediation:
        when = step.when
        if when is not None:
            if when.failed and not any(sid in verdicts and verdicts[sid].failed for sid in when.failed):
                continue
            if when.passed and not all(sid in verdicts and verdicts[sid].clear for sid in when.passed):
                continue
            if any(sid in verdicts and verdicts[sid].failed for sid in when.not_failed):
                continue
            if any(options.get(name) != value for name, value in when.option):
                continue
            if when.force and not force:
                continue
        out.append(step)
    return out


def resolve_options(playbook: Playbook, given: Mapping[str, str]) -> dict[str, str]:
    from runner.errors import InputError, did_you_mean

    out = {name: opt.default for name, opt in playbook.options.items()}
    for name, value in given.items():
        opt = playbook.options.get(name)
        if opt is None:
            known = ", ".join(playbook.options) or "none"
            raise InputError(
                f"the {playbook.module} playbook has no option {name!r}",
                where="--option",
                hint=did_you_mean(name, playbook.options, f"options: {known}"),
            )
        if value not in opt.choices:
            raise InputError(f"option {name} must be one of {', '.join(opt.choices)}, got {value!r}", where="--option")
        out[name] = value
    return out


# --- batching read steps: one remote script, one round trip ----------------------------------------

STEP_OUTPUT = 1024 * 1024  # bytes of stdout kept per read step (stderr: 1/16 of it); the rest stays on the host


@dataclass(frozen=True)
class Batch:
    script: str
    marker: str
    keys: tuple[str, ...]
    timeout: float


def batch(items: Sequence[tuple[str, str, float]], env: str, parallel: int = 1) -> Batch:
    """One ``sh`` script running each (key, command, timeout) under its own host-side timeout.

    Steps run ``parallel`` at a time (in waves: a wave's frames are printed once all of its steps have
    ended, in order); 1 runs them one after another. Each step's stdout and stderr are framed by lines
    holding a random marker, so no host output can forge a frame. The env script is sourced once, in
    the script's shell. No step's text is ever in a command line on the host: each is written to a
    file of the batch's private directory through a here-document and run from there (and the runner
    sends the batch itself on stdin), so `ps` never shows a secret a step holds.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be 1 or more, got {parallel}")
    marker = "@@rmd" + secrets.token_hex(8)
    lines = ["d=$(mktemp -d) || exit 97", "trap 'rm -rf \"$d\"' EXIT"]
    if env:
        lines.append(f"{env} || exit 98")
    # st I SECONDS: run step I under the host's timeout, its exit code and milliseconds in $d/rI
    lines.append(
        f'st() {{ s=$(date +%s%N); timeout -k {KILL_AFTER} "$2" sh "$d/c$1" >"$d/o$1" 2>"$d/e$1" </dev/null;'
        ' rc=$?; e=$(date +%s%N); echo "$rc $(((e-s)/1000000))" >"$d/r$1"; }'
    )
    # fr I: step I's frames (an exit code of -1 when it left no record: it was stopped mid-way)
    lines.append(
        f'fr() {{ printf \'\\n{marker} O %s\\n\' "$1"; head -c {STEP_OUTPUT} "$d/o$1";'
        f' printf \'\\n{marker} E %s %s\\n\' "$1" "$(cat "$d/r$1" 2>/dev/null || echo \'-1 0\')";'
        f' head -c {STEP_OUTPUT // 16} "$d/e$1"; printf \'\\n{marker} X %s\\n\' "$1"; }}'
    )
    total = 0.0
    indexed = list(enumerate(items))
    for first in range(0, len(indexed), parallel):
        wave = indexed[first : first + parallel]
        for index, (_key, command, _timeout) in wave:
            if marker in command:
                raise ValueError("a step's command holds the batch marker")
            lines.append(f"cat >\"$d/c{index}\" <<'{marker}'\n{command}\n{marker}")
        seconds = [max(1, int(timeout + 0.999)) for _i, (_k, _c, timeout) in wave]
        if len(wave) == 1:
            lines.append(f"st {wave[0][0]} {seconds[0]}")
        else:
            lines.append(" ".join(f"st {index} {sec} &" for (index, _item), sec in zip(wave, seconds, strict=True)))
            lines.append("wait")
        lines.append("; ".join(f"fr {index}" for index, _item in wave))
        total += max(seconds) + KILL_AFTER
    return Batch(
        script="\n".join(lines),
        marker=marker,
        keys=tuple(k for k, _c, _t in items),
        timeout=total,
    )


@dataclass(frozen=True)
class ReadBatch:
    """The read steps of one round trip, made concrete for one host."""

    todo: list[tuple[str, Planned]]  # (module, step with its command), in order
    skipped: list[tuple[str, Planned]]  # (module, step with why it is skipped)
    batch: Batch | None  # None when nothing is left to send
    keys: dict[str, str]  # "<module>/<step key>" -> the batch key of its result


def read_batch(steps: Sequence[tuple[str, Step]], ctx: Context) -> ReadBatch:
    """Every command of these read steps built once (queries merged into one ``nlserver javascript``),
    and the one script that runs them: exactly what a run sends to this host for them."""
    built = [(module, build(step, ctx)) for module, step in steps]
    merged = merge_calls([p for _m, p in built], ctx)
    todo = [(m, p) for (m, _b), p in zip(built, merged, strict=True) if p.command is not None]
    skipped = [(m, p) for (m, _b), p in zip(built, merged, strict=True) if p.command is None]
    if not todo:
        return ReadBatch(todo, skipped, None, {})
    try:  # reads run in the Campaign account (nlserver, files under the install)
        become = become_for(Account.CAMPAIGN, ctx)
    except AccountRefused as exc:
        return ReadBatch([], skipped + [(m, Planned(p.step, None, str(exc))) for m, p in todo], None, {})
    b, keys = shared_batch(
        [(f"{m}/{p.key}", str(p.command), p.step.timeout) for m, p in todo],
        env_line(ctx.host.var("nlserver_env")),
        parallel_reads(ctx),
    )
    return ReadBatch(todo, skipped, replace(b, script=run_as(b.script, become)), keys)


def parallel_reads(ctx: Context) -> int:
    """How many read commands of a batch run at once on this host (the ``parallel_reads`` host var)."""
    return int(ctx.var("parallel_reads"))


def shared_batch(items: Sequence[tuple[str, str, float]], env: str, parallel: int = 1) -> tuple[Batch, dict[str, str]]:
    """A batch in which read steps sending the very same command share one execution.

    They read the host at the same moment (pdump is asked once for a whole sweep), and each is still
    judged and audited on its own. Returns the batch and, per item key, the batch key of its result.
    """
    unique: dict[str, float] = {}
    for _key, command, timeout in items:
        unique[command] = max(unique.get(command, 0.0), timeout)
    keys = {command: f"c{index}" for index, command in enumerate(unique)}
    b = batch([(keys[c], c, t) for c, t in unique.items()], env, parallel)
    return b, {key: keys[command] for key, command, _t in items}


def unbatch(b: Batch, result: Result) -> dict[str, Result]:
    """Split a batch's output back into one Result per step; a missing frame means it did not run."""
    out: dict[str, Result] = {}
    current: int | None = None
    part = ""
    buf: list[str] = []
    stdout = ""
    code = -1
    millis = 0
    for line in result.stdout.split("\n"):
        if line.startswith(b.marker + " "):
            fields = line.split()
            kind, index = fields[1], int(fields[2])
            text = "\n".join(buf)
            if kind == "O":
                current, part, buf = index, "out", []
                continue
            if current != index:
                continue
            if kind == "E":
                stdout = text[:-1] if text.endswith("\n") else text
                code = int(fields[3]) if len(fields) > 3 and fields[3].lstrip("-").isdigit() else -1
                millis = int(fields[4]) if len(fields) > 4 and fields[4].isdigit() else 0
                part, buf = "err", []
            elif kind == "X":
                stderr = text[:-1] if text.endswith("\n") else text
                out[b.keys[index]] = Result(stdout=stdout, stderr=stderr, exit_code=code, duration=millis / 1000)
                current, part, buf = None, "", []
            continue
        if current is not None and part:
            buf.append(line)
    return out
