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
from dataclasses import dataclass, field, replace

from runner.actions import ACTIONS, SNAPSHOTS, AccountRefused, Context, Skip, become_for
from runner.outcomes import Verdict
from runner.playbook import Playbook, Step
from runner.wire import KILL_AFTER, Account, Result, as_sent, env_line, run_as


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
    return Planned(step, as_sent(planned.command, ctx.host, become))


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


SNAP_DIR = "RMD_SNAP"  # the variable naming the batch's directory, where each snapshot's reading lies


def replay(name: str, filtered: str | None = None) -> str:
    """The shell text that prints the batch's reading of snapshot ``name`` as the command printed it: its
    stdout (through ``filtered``, a filter, when given), its stderr and its exit code (255 when the
    snapshot left no exit code: it did not run to its end). A brace group, so it goes wherever a command
    goes (``$(...)``, a pipeline, ``;``) and leaves the step's shell running."""
    path = f"${SNAP_DIR}/s_{name}"
    show = f'{filtered} <"{path}.o"' if filtered else f'cat "{path}.o"'
    return f'{{ {show}; cat "{path}.e" >&2; read rmd_rc rmd_ms <"{path}.r" || rmd_rc=255; (exit "$rmd_rc"); }}'


def batch(
    items: Sequence[tuple[str, str, float]],
    env: str,
    parallel: int = 1,
    snapshots: Sequence[tuple[str, str, float]] = (),
) -> Batch:
    """One ``sh`` script running each (key, command, timeout) under its own host-side timeout.

    ``snapshots`` (name, command, timeout) run first, each once, their output kept in the batch's
    directory (``$RMD_SNAP/s_<name>.o``, ``.e``, ``.r``) for the steps to replay (:func:`replay`).

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
    total = 0.0
    if snapshots:
        lines.append(f'{SNAP_DIR}="$d"; export {SNAP_DIR}')
        # sn NAME SECONDS: take snapshot NAME once, into $d/s_NAME.o .e .r (exit code, milliseconds)
        lines.append(
            f'sn() {{ s=$(date +%s%N); timeout -k {KILL_AFTER} "$2" sh "$d/s_$1.c" >"$d/s_$1.o" 2>"$d/s_$1.e"'
            ' </dev/null; rc=$?; e=$(date +%s%N); echo "$rc $(((e-s)/1000000))" >"$d/s_$1.r"; }'
        )
        for first in range(0, len(snapshots), parallel):
            taking = snapshots[first : first + parallel]
            for name, command, _timeout in taking:
                if marker in command:
                    raise ValueError("a snapshot's command holds the batch marker")
                lines.append(f"cat >\"$d/s_{name}.c\" <<'{marker}'\n{command}\n{marker}")
            waits = [max(1, int(limit + 0.999)) for _n, _c, limit in taking]
            lines.append(" ".join(f"sn {name} {sec} &" for (name, _c, _t), sec in zip(taking, waits, strict=True)))
            lines.append("wait")
            total += max(waits) + KILL_AFTER
    # fr I: step I's frames (an exit code of -1 when it left no record: it was stopped mid-way)
    lines.append(
        f'fr() {{ printf \'\\n{marker} O %s\\n\' "$1"; head -c {STEP_OUTPUT} "$d/o$1";'
        f' printf \'\\n{marker} E %s %s\\n\' "$1" "$(cat "$d/r$1" 2>/dev/null || echo \'-1 0\')";'
        f' head -c {STEP_OUTPUT // 16} "$d/e$1"; printf \'\\n{marker} X %s\\n\' "$1"; }}'
    )
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
    snapshots: dict[str, str] = field(default_factory=dict)  # snapshot taken once -> its command
    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "<module>/<step key>" -> snapshots replayed


def snapshot_plan(steps: Sequence[Step]) -> dict[str, tuple[str, str | None]]:
    """For each snapshot these steps' actions read: (the snapshot the batch takes for it, the filter its
    replay goes through). A snapshot that another one read by the batch serves (``Snapshot.serves``) is
    not taken on its own."""
    wanted = list(dict.fromkeys(name for step in steps for name in ACTIONS[step.action].reads))
    out: dict[str, tuple[str, str | None]] = {}
    for name in wanted:
        by = next((other for other in wanted if name in SNAPSHOTS[other].serves), None)
        out[name] = (by, SNAPSHOTS[by].serves[name]) if by is not None else (name, None)
    return out


def _with_snapshots(
    steps: Sequence[tuple[str, Step]], ctx: Context
) -> tuple[list[tuple[str, Planned]], list[tuple[str, str, float]], dict[str, tuple[str, ...]]]:
    """Each step built to replay the snapshots its action reads, and the snapshots to take once: (name,
    command built from the parts of the steps that replay it, timeout); per step, the snapshots it replays."""
    routes = snapshot_plan([step for _m, step in steps])
    replays = {name: replay(by, filtered) for name, (by, filtered) in routes.items()}
    built: list[tuple[str, Planned]] = []
    parts: dict[str, list[str]] = {}
    limits: dict[str, float] = {}  # a snapshot's time limit: the longest of its readers' own
    uses: dict[str, tuple[str, ...]] = {}
    for module, step in steps:
        action = ACTIONS[step.action]
        mine = {name: replays[name] for name in action.reads}
        part: str | None = None
        planned = build(step, replace(ctx, snapshots=mine))
        if planned.command is not None and action.part is not None:
            try:
                part = action.part(step.args, replace(ctx, effect=step.effect))
            except Skip as exc:
                planned = Planned(step, None, str(exc))
            except ValueError as exc:
                planned = Planned(step, None, f"cannot build the command for host {ctx.host.name}: {exc}")
        built.append((module, planned))
        if planned.command is None:
            continue
        used = tuple(dict.fromkeys(routes[n][0] for n, text in mine.items() if text in str(planned.command)))
        uses[f"{module}/{planned.key}"] = used
        for taken in used:
            parts.setdefault(taken, []).extend([part] if part is not None else [])
            limits[taken] = max(limits.get(taken, 0.0), step.timeout)
    snaps: list[tuple[str, str, float]] = []
    refused: dict[str, str] = {}
    for name, got in parts.items():
        try:
            snaps.append((name, SNAPSHOTS[name].command(list(dict.fromkeys(got)), ctx), limits[name]))
        except (Skip, ValueError) as exc:  # its readers cannot run here either
            refused[name] = str(exc)
    for index, (module, planned) in enumerate(built):
        why = next((refused[n] for n in uses.get(f"{module}/{planned.key}", ()) if n in refused), None)
        if planned.command is not None and why is not None:
            built[index] = (module, Planned(planned.step, None, why))
            del uses[f"{module}/{planned.key}"]
    return built, snaps, uses


def read_batch(steps: Sequence[tuple[str, Step]], ctx: Context) -> ReadBatch:
    """Every command of these read steps built once, and the one script that runs them: exactly what a
    run sends to this host for them. What several steps read of the host (``nlserver pdump``, ``monitor
    -missing``, one ``nlserver javascript`` for every query: :class:`runner.actions.base.Snapshot`) is
    read once, before the steps, and each step replays it."""
    built, snaps, uses = _with_snapshots(steps, ctx)
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
        snaps,
    )
    return ReadBatch(
        todo, skipped, replace(b, script=run_as(b.script, become)), keys, {n: c for n, c, _t in snaps}, uses
    )


def parallel_reads(ctx: Context) -> int:
    """How many read commands of a batch run at once on this host (the ``parallel_reads`` host var)."""
    return int(ctx.var("parallel_reads"))


def shared_batch(
    items: Sequence[tuple[str, str, float]],
    env: str,
    parallel: int = 1,
    snapshots: Sequence[tuple[str, str, float]] = (),
) -> tuple[Batch, dict[str, str]]:
    """A batch in which read steps sending the very same command share one execution.

    They read the host at the same moment (pdump is asked once for a whole sweep), and each is still
    judged and audited on its own. Returns the batch and, per item key, the batch key of its result.
    """
    unique: dict[str, float] = {}
    for _key, command, timeout in items:
        unique[command] = max(unique.get(command, 0.0), timeout)
    keys = {command: f"c{index}" for index, command in enumerate(unique)}
    b = batch([(keys[c], c, t) for c, t in unique.items()], env, parallel, snapshots)
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
