"""File and log actions: the newest file in a directory is recent, a log has (or lacks) a line, files are
not piling up in a directory, and a path exists (the tracking logs' actions are in ``tracking``).

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import ArgSpec, Context, Effect, action, render
from runner.outcomes import Reading, Verdict

GLOB = r"[A-Za-z0-9_.*?-]+"  # a file pattern that may go unquoted into ``ls``
DIR = ArgSpec("dir", "template", "the directory, e.g. {export_dir} or {var_dir}/{instance}/redir/log", required=True)


def pattern_glob(pattern: str) -> str:
    if not re.fullmatch(GLOB, pattern):
        raise ValueError(f"invalid file pattern {pattern!r}")
    return pattern


def _fresh_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = str(args.get("pattern", "*"))
    return (
        f"date +%s; find {shlex.quote(directory)} -maxdepth 1 -type f -name {shlex.quote(pattern)}"
        " -printf '%T@ %s %p\\n' | sort -n | tail -n 3"
    )


def _judge_fresh(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    directory = render(str(args["dir"]), ctx, quote=False)
    max_age = float(args["max_age"])
    lines = out.strip().splitlines()
    if rc != 0 or not lines or not lines[0].strip().isdigit():
        return Verdict(Reading.UNDETERMINED, f"cannot list {directory}: {err.strip()[:200] or 'no output'}")
    now = int(lines[0])
    newest: tuple[float, str] | None = None
    for line in lines[1:]:
        parts = line.split(" ", 2)
        if len(parts) == 3:
            newest = (float(parts[0]), parts[2])
    if newest is None:
        return Verdict(Reading.FAILED, f"no {args.get('pattern', '*')} file in {directory}", {"newest_age": None})
    age = max(0.0, now - newest[0])
    data = {"newest": newest[1], "newest_age": round(age, 1)}
    if age > max_age:
        return Verdict(Reading.FAILED, f"newest file {newest[1]} was written {age:.0f}s ago (limit {max_age:g}s)", data)
    return Verdict(Reading.PASSED, f"{newest[1]} written {age:.0f}s ago", data)


action(
    "file_fresh",
    "the newest matching file in a directory is recent",
    Effect.READ,
    build=_fresh_cmd,
    judge=_judge_fresh,
    args=[
        DIR,
        ArgSpec("max_age", "float", "seconds since the newest file was written", required=True, minimum=0),
        ArgSpec("pattern", "str", "a find -name pattern", default="*"),
    ],
    read_only=True,
    pages=("installation/using/the-server-configuration-file.md",),
)


def _log_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    path = render(str(args["file"]), ctx, quote=False)
    lines = int(args.get("lines", 200))
    # An unreadable log is no evidence either way (exit 2): without the test, 'absent' would pass on it.
    quoted, pattern = shlex.quote(path), shlex.quote(str(args["pattern"]))
    return f"[ -r {quoted} ] || exit 2; tail -n {lines} {quoted} | grep -E -- {pattern} | tail -n 5"


def _judge_log(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"cannot read {args['file']}: {err.strip()[:200] or f'exit {rc}'}")
    found = [line for line in out.splitlines() if line.strip()]
    want = str(args.get("expect", "present"))
    data = {"matches": found}
    if want == "absent":
        if found:
            return Verdict(Reading.FAILED, f"{len(found)} matching log lines, last: {found[-1][:200]}", data)
        return Verdict(Reading.PASSED, "no matching log line", data)
    if not found:
        return Verdict(Reading.FAILED, f"no line matching {args['pattern']!r} in {args['file']}", data)
    return Verdict(Reading.PASSED, f"found: {found[-1][:200]}", data)


action(
    "log_search",
    "recent lines of a log file match (or not) a pattern",
    Effect.READ,
    build=_log_cmd,
    judge=_judge_log,
    args=[
        ArgSpec("file", "template", "the log file", required=True),
        ArgSpec("pattern", "str", "a grep -E regex", required=True),
        ArgSpec(
            "expect",
            "enum",
            "whether a matching line must be present or absent",
            default="present",
            choices=("present", "absent"),
        ),
        ArgSpec("lines", "int", "how many last lines of the file to search", default=200, minimum=1),
    ],
    read_only=True,
    pages=("production/using/log-files.md",),
)


def _backlog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = pattern_glob(str(args.get("pattern", "*")))
    find = f"find {shlex.quote(directory)} -maxdepth 1 -type f -name {shlex.quote(pattern)}"
    return (
        f'[ -d {shlex.quote(directory)} ] || exit 2; date +%s; echo "@@count $({find} | wc -l)"; '
        f"{find} -printf '%T@ %p\\n' | sort -n | head -n 1"
    )


def _judge_backlog(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    directory = render(str(args["dir"]), ctx, quote=False)
    lines = out.strip().splitlines()
    if rc != 0 or len(lines) < 2 or not lines[0].strip().isdigit() or not lines[1].startswith("@@count "):
        return Verdict(Reading.UNDETERMINED, f"cannot list {directory}: {err.strip()[:200] or f'exit {rc}'}")
    now, count = int(lines[0]), int(lines[1].split()[1])
    oldest_age = None
    if len(lines) > 2 and lines[2].split(" ", 1)[0].replace(".", "").isdigit():
        oldest_age = max(0.0, now - float(lines[2].split(" ", 1)[0]))
    data = {"count": count, "oldest_age": round(oldest_age, 1) if oldest_age is not None else None}
    max_count = args.get("max_count")
    if max_count is not None and count > int(max_count):
        return Verdict(
            Reading.FAILED, f"{count} file(s) waiting in {directory} (at most {int(max_count)} expected)", data
        )
    max_age = args.get("max_age")
    if max_age is not None and oldest_age is not None and oldest_age > float(max_age):
        return Verdict(
            Reading.FAILED,
            f"{count} file(s) waiting in {directory}, the oldest for {oldest_age:.0f}s "
            f"(limit {float(max_age):g}s): nothing drains it",
            data,
        )
    return Verdict(
        Reading.PASSED,
        f"{count} file(s) waiting in {directory}"
        + (f", the oldest for {oldest_age:.0f}s" if oldest_age is not None else ""),
        data,
    )


action(
    "backlog",
    "files waiting in a directory: at most max_count, none older than max_age seconds",
    Effect.READ,
    build=_backlog_cmd,
    judge=_judge_backlog,
    args=[
        DIR,
        ArgSpec("pattern", "str", "a file name pattern", default="*", pattern=GLOB),
        ArgSpec("max_count", "int", "most files that may wait", minimum=0),
        ArgSpec("max_age", "float", "most seconds the oldest file may wait", minimum=0),
    ],
    read_only=True,
    pages=("installation/using/the-server-configuration-file.md",),
)


def _present_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    path = render(str(args["path"]), ctx, quote=False)
    return f"if [ -e {shlex.quote(path)} ]; then echo present; else echo absent; fi"


def _judge_present(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    path = render(str(args["path"]), ctx, quote=False)
    answer = out.strip()
    if rc != 0 or answer not in ("present", "absent"):
        return Verdict(Reading.UNDETERMINED, f"cannot tell whether {path} exists: {err.strip()[:200] or answer[:80]!r}")
    if answer == "absent":
        return Verdict(
            Reading.NOT_APPLICABLE, f"{path} does not exist: {args.get('absent_means', 'not applicable here')}"
        )
    return Verdict(Reading.PASSED, f"{path} exists")


action(
    "path_present",
    "a path exists; where it does not, what depends on it does not apply to this host (e.g. redir/ exists only on "
    "redirection servers)",
    Effect.READ,
    build=_present_cmd,
    judge=_judge_present,
    read_only=True,
    args=[
        ArgSpec("path", "template", "the path, e.g. {var_dir}/{instance}/redir", required=True),
        ArgSpec("absent_means", "str", "what its absence means, for the message", default="not applicable here"),
    ],
    pages=("production/using/log-files.md", "delivery/using/about-message-tracking.md"),
)
