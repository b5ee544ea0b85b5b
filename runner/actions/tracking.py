"""Tracking actions: the tracking logs (``redir/log``) judged by Adobe's expression and corrupted lines set
aside, and the Tracking workflow stopped (and awaited) before that.

Adobe (delivery/using/about-message-tracking.md, "The tracking workflow is failing"): a well-formed line
matches the page's ``sed -nE`` expression (``campaign_formats.REDIR_LINE_ERE``); the procedure is to stop the
Tracking workflow, delete the corrupted line(s) and restart the workflow. The runner keeps the lines in
``<file>.rejected`` (numbered) instead of deleting them, and refuses to move anything when more than the
``quarantine_max_share`` of a file's lines (at least one line per file), or every line of a file, would go:
then the expression or the file is wrong, not a line.

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner import campaign_formats
from runner.actions import querydef
from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, action, render
from runner.actions.files import GLOB, pattern_glob
from runner.outcomes import Reading, Verdict

REDIR_ARGS = (
    ArgSpec("dir", "template", "the tracking log directory, {nl6_root}/var/{instance}/redir/log", required=True),
    ArgSpec("pattern", "str", "the tracking log file names", default="0x*.log", pattern=GLOB),
)
PPM = 1_000_000


def _ere() -> str:
    """Adobe's expression for ``grep -E`` (real tabs), with empty lines allowed (they carry nothing)."""
    return "^$|" + campaign_formats.REDIR_LINE_GREP


def share_ppm(ctx: Context) -> int:
    """``quarantine_max_share`` in parts per million (integer arithmetic in the host's shell)."""
    share = float(ctx.var("quarantine_max_share"))
    if not 0 <= share <= 1:
        raise Skip(f"quarantine_max_share {share!r} is not between 0 and 1")
    return round(share * PPM)


def allowed(total: int, ppm: int) -> int:
    """How many corrupted lines of a file of ``total`` lines may be set aside: the share, at least one."""
    return max(1, total * ppm // PPM)


def refused(bad: int, total: int, ppm: int) -> bool:
    """Too many corrupted lines (or all of them) for a line to be the problem."""
    return bad > 0 and (bad >= total or bad > allowed(total, ppm))


def _counts(pattern: str) -> str:
    """Shell: set ``L`` to the expression, then per tracking log ``@@file <path> <lines> <corrupted>``
    (non-empty lines only); the loop body stays open for the caller."""
    return (
        f"L={shlex.quote(_ere())}; for f in $(ls -1 -- {pattern} 2>/dev/null); do "
        "t=$(LC_ALL=C grep -a -c -v -e '^$' \"$f\"); "
        'b=$(LC_ALL=C grep -a -c -v -E -- "$L" "$f"); '
        'echo "@@file $PWD/$f $t $b"'
    )


def _scan_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = pattern_glob(str(args.get("pattern", "0x*.log")))
    quoted = shlex.quote(directory)
    return (
        f"[ -d {quoted} ] || {{ echo @@absent; exit 0; }}; cd {quoted} || exit 2; "
        + _counts(pattern)
        + '; [ "$b" -gt 0 ] && LC_ALL=C grep -a -n -v -E -- "$L" "$f" | cut -d: -f1 | head -n 50 | '
        'sed "s|^|$PWD/$f:|"; done; exit 0'
    )


def _files(out: str) -> list[tuple[str, int, int]]:
    found = []
    for raw in out.splitlines():
        parts = raw.split(" ")
        if len(parts) == 4 and parts[0] == "@@file" and parts[2].isdigit() and parts[3].isdigit():
            found.append((parts[1], int(parts[2]), int(parts[3])))
    return found


def _judge_scan(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    directory = render(str(args["dir"]), ctx, quote=False)
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"cannot read {directory}: {err.strip()[:200] or f'exit {rc}'}")
    if out.strip() == "@@absent":
        return Verdict(
            Reading.NOT_APPLICABLE,
            f"{directory} does not exist: not a redirection server (log-files.md: the redir directory only "
            "exists on redirection servers), no tracking log to read here",
        )
    files = _files(out)
    bad = [ln.strip() for ln in out.splitlines() if re.match(r"^/.+:\d+$", ln.strip())]
    ppm = share_ppm(ctx)
    data: dict[str, Any] = {"corrupted": bad[:200], "files": [list(f) for f in files]}
    too_many = [(path, total, n) for path, total, n in files if refused(n, total, ppm)]
    if too_many:
        shown = ", ".join(f"{path}: {n} of {total} lines" for path, total, n in too_many[:5])
        return Verdict(
            Reading.UNDETERMINED,
            f"{shown} do not match Adobe's expression: more than quarantine_max_share ({ppm / PPM:.2%}, at least "
            "one line) or every line of a file, so the expression or the file is wrong, not a line; nothing will "
            "be set aside",
            {**data, "refused": [list(f) for f in too_many]},
        )
    if bad:
        count = sum(n for _p, _t, n in files)
        listed = ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
        return Verdict(Reading.FAILED, f"{count} corrupted tracking log line(s): {listed}", data)
    total = sum(t for _p, t, _n in files)
    return Verdict(
        Reading.PASSED,
        f"all {total} line(s) of {len(files)} tracking log file(s) in {directory} match Adobe's expression",
        data,
    )


action(
    "redir_scan",
    "every line of the redir/log tracking files matches Adobe's expression (bad ones as file:line); more than "
    "quarantine_max_share of a file's lines, or all of them, is undetermined (the expression or the file is "
    "wrong); no redir directory: not applicable",
    Effect.READ,
    build=_scan_cmd,
    judge=_judge_scan,
    args=REDIR_ARGS,
    read_only=True,
    pages=("delivery/using/about-message-tracking.md",),
)


def _quarantine_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = pattern_glob(str(args.get("pattern", "0x*.log")))
    ppm = share_ppm(ctx)
    # First every file is judged, and nothing moves if one has too many corrupted lines. Then, per file,
    # the corrupted lines of what was there (its size s) go numbered into <file>.rejected, and the file is
    # rewritten in place (same inode: a writer holding it open keeps appending) with the good lines plus
    # whatever was appended after s.
    return (
        f"cd {shlex.quote(directory)} || exit 2; r=; "
        + _counts(pattern)
        + f'; if [ "$b" -gt 0 ]; then a=$((t * {ppm} / {PPM})); [ "$a" -lt 1 ] && a=1; '
        'if [ "$b" -ge "$t" ] || [ "$b" -gt "$a" ]; then echo "@@refused $PWD/$f $b $t"; r=1; fi; fi; done; '
        '[ -n "$r" ] && exit 4; n=0; '
        f"for f in $(ls -1 -- {pattern} 2>/dev/null); do "
        'LC_ALL=C grep -a -q -v -E -- "$L" "$f" || continue; s=$(stat -c %s -- "$f") || exit 3; '
        'head -c "$s" -- "$f" | LC_ALL=C grep -a -n -v -E -- "$L" >> "$f.rejected" || exit 3; '
        't=$(mktemp) || exit 3; head -c "$s" -- "$f" | LC_ALL=C grep -a -E -- "$L" > "$t"; '
        'tail -c "+$((s + 1))" -- "$f" >> "$t"; cat "$t" > "$f" || exit 3; rm -f "$t"; n=$((n + 1)); '
        'echo "@@moved $PWD/$f $PWD/$f.rejected"; done; echo "@@files $n"'
    )


def _judge_quarantine(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    refusals = [ln.split(" ")[1:] for ln in out.splitlines() if ln.startswith("@@refused ")]
    if rc == 4 and refusals:
        shown = ", ".join(f"{r[0]}: {r[1]} of {r[2]} lines" for r in refusals if len(r) == 3)
        return Verdict(
            Reading.FAILED,
            f"refused, nothing was moved: {shown} do not match Adobe's expression (more than quarantine_max_share "
            f"{share_ppm(ctx) / PPM:.2%}, at least one line, or every line): the expression or the file is wrong, "
            "not a line",
            {"refused": refusals},
        )
    if rc != 0:
        return Verdict(Reading.FAILED, f"exit {rc}: {err.strip()[:300]}")
    moved = [ln.split(" ", 2)[1:] for ln in out.splitlines() if ln.startswith("@@moved ")]
    if not moved:
        return Verdict(Reading.PASSED, "no corrupted line left to set aside", {"moved": []})
    text = "; ".join(f"corrupted lines of {m[0]} set aside in {m[1]}" for m in moved if len(m) == 2)
    return Verdict(Reading.PASSED, text, {"moved": moved})


action(
    "redir_quarantine",
    "move the redir/log lines that do not match Adobe's expression into <file>.rejected (numbered), keep the "
    "rest in place; refuses, moving nothing, above quarantine_max_share of a file's lines (at least one) or "
    "when every line of a file is flagged",
    Effect.DISRUPT,
    build=_quarantine_cmd,
    judge=_judge_quarantine,
    args=REDIR_ARGS,
    pages=("delivery/using/about-message-tracking.md",),
)


def _workflow(args: Mapping[str, Any], ctx: Context) -> str:
    name = render(str(args["workflow"]), ctx, quote=False)
    if not IDENT.match(name):
        raise Skip(f"{name!r} is not a workflow internal name")
    return name


def _state_query(name: str) -> dict[str, Any]:
    return {"schema": "xtk:workflow", "select": ["@state"], "where": [f"@internalName = '{name}'"]}


def _stop_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    name = _workflow(args, ctx)
    wait = int(args.get("wait", 120))
    key, fragment = querydef.fragment(_state_query(name), ctx)
    stop = querydef.script_command(f'logInfo("stop {name}"); xtk.workflow.Stop("{name}");', ctx)
    # Stopping is asynchronous (workflow/using/starting-a-workflow.md): wait for @state 20 (stopped).
    stopped = shlex.quote(f"{querydef.MARK} {key} row\t{int(campaign_formats.WorkflowState.STOPPED)}$")
    poll = querydef.script_command(fragment, ctx)
    return (
        f"( {stop} ) || exit $?; end=$(( $(date +%s) + {wait} )); while :; do "
        f"if ( {poll} ) | grep -q -E -- {stopped}; then echo '@@stopped'; exit 0; fi; "
        '[ "$(date +%s)" -ge "$end" ] && break; sleep 2; done; echo \'@@running\'; exit 4'
    )


def _judge_stop(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    name = _workflow(args, ctx)
    if rc == 0 and "@@stopped" in out:
        return Verdict(Reading.PASSED, f"workflow {name} stopped (@state 20)")
    if rc == 4:
        return Verdict(
            Reading.FAILED,
            f"workflow {name} was asked to stop and did not reach @state 20 within {args.get('wait', 120)}s",
        )
    tail = (err.strip() or out.strip()).splitlines()[-2:]
    return Verdict(Reading.FAILED, f"xtk.workflow.Stop({name!r}) failed: exit {rc}: {' / '.join(tail)[:200]}")


action(
    "workflow_stop",
    "xtk.workflow.Stop through nlserver javascript, then wait until the workflow reads @state 20 (stopping is "
    "asynchronous)",
    Effect.DISRUPT,
    build=_stop_cmd,
    judge=_judge_stop,
    args=[
        ArgSpec("workflow", "template", "the workflow's internal name, e.g. {tracking_workflow}", required=True),
        ArgSpec("wait", "int", "seconds to wait for @state 20", default=120, minimum=1),
    ],
    pages=("workflow/using/starting-a-workflow.md",),
)
