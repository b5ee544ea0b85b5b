"""Campaign-aware step actions: each turns its args and a host's vars into one exact shell command and
judges the command's result.

Owns: the catalogue of actions, the arguments each accepts, the smallest effect each may be declared
with (a restart can never be declared ``read``), and the reading of host output into a verdict.
Every value put into a command is shell-quoted here. Pure: no I/O; the engine runs the commands.
"""

from __future__ import annotations

import re
import secrets
import shlex
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from runner import campaign
from runner.campaign import ParseError
from runner.inventory import Host

DEFAULT_VARS: dict[str, Any] = {
    "nlserver": "nlserver",
    "nl6_root": "/usr/local/neolane/nl6",
    "address": "127.0.0.1",
    "syslogd_port": 6666,
    "web_port": 8080,
    "web_control_port": 8005,
    "stat_port": 7777,
    "db_port": 5432,
    "workflow_start_grace": 120,
    "delivery_pending_grace": 600,  # seconds a delivery may stay Pending before a check flags it
    "export_max_age": 93600,  # seconds since an export workflow last finished (26 h: a daily export)
    "tracking_max_age": 3600,  # seconds since the Tracking workflow last ran
}
DB_VARS = ("db_host", "db_name", "db_user")


class Effect(IntEnum):
    """What a step does to a host. Dry-run runs only READ; DISRUPT needs confirmation."""

    READ = 0
    CHANGE = 1
    DISRUPT = 2

    @classmethod
    def parse(cls, text: str) -> Effect:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


class Skip(Exception):
    """The step cannot run on this host (a var it needs is missing); reported as skipped."""


@dataclass
class Verdict:
    passed: bool
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    error: bool = False  # the check could not decide (timeout, unparsable output, query error)

    @property
    def undetermined(self) -> bool:
        """Neither passed nor failed: no remediation may be based on it."""
        return self.error or bool(self.data.get("parse_error")) or bool(self.data.get("error"))

    @property
    def failed(self) -> bool:
        return not self.passed and not self.undetermined


@dataclass
class Context:
    """What an action may know about the host and the run when building its command."""

    host: Host
    options: Mapping[str, str] = field(default_factory=dict)
    earlier: Mapping[str, Verdict] = field(default_factory=dict)  # verdicts of steps already run

    def has(self, name: str) -> bool:
        return name in self.options or self.host.var(name) is not None or name in DEFAULT_VARS

    def var(self, name: str) -> Any:
        if name in self.options:
            return self.options[name]
        value = self.host.var(name)
        if value is None:
            value = DEFAULT_VARS.get(name)
        if value is None:
            raise Skip(f"the inventory gives no {name!r} for host {self.host.name}")
        return value

    @property
    def nlserver(self) -> str:
        return shlex.quote(str(self.var("nlserver")))

    def process(self, module: str) -> str:
        try:
            return campaign.process_name(module, self.host.instance)
        except ValueError:
            raise Skip(f"{module} runs per Campaign instance and host {self.host.name} has no 'instance' var") from None


def render(template: str, ctx: Context, *, quote: bool) -> str:
    """Fill ``{var}`` fields from host vars and options; each value shell-quoted when ``quote``."""
    out: list[str] = []
    for literal, name, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if spec or conv or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"unsupported template field {{{name}}}")
        value = str(ctx.var(name))
        out.append(shlex.quote(value) if quote else value)
    return "".join(out)


def template_fields(template: str) -> list[str]:
    """The ``{var}`` names of a template; anything but a plain var name is refused."""
    names = []
    for _literal, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conv or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"unsupported template field {{{name}}}: only {{var_name}} is allowed")
        names.append(name)
    return names


@dataclass(frozen=True)
class Action:
    """One kind of step: its arguments, the least effect it may be declared with, and its logic."""

    name: str
    summary: str
    min_effect: Effect
    build: Callable[[Mapping[str, Any], Context], str]
    judge: Callable[[Mapping[str, Any], Context, str, str, int], Verdict]
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    read_only: bool = False  # True: may never be declared change/disrupt (it changes nothing)


def _exit_ok(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    tail = (err.strip() or out.strip()).splitlines()[-3:]
    if rc == 0:
        return Verdict(True, "exit 0", {"output": out[-2000:]})
    return Verdict(False, f"exit {rc}: {' / '.join(tail)[:300]}" if tail else f"exit {rc}", {})


# --- module state -------------------------------------------------------------------------------


def _pdump_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    if args.get("module") and args["module"] != "watchdog":
        ctx.process(str(args["module"]))  # skip early when the instance is unknown
    return f"{ctx.nlserver} pdump"


def _judge_module_running(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    name = ctx.process(str(args["module"]))
    if rc != 0:
        return Verdict(False, f"nlserver pdump failed (exit {rc}): {err.strip()[:200]}")
    try:
        dump = campaign.parse_pdump(out)
    except ParseError as exc:
        return Verdict(False, f"cannot parse pdump output: {exc}", {"parse_error": True})
    proc = dump.find(name)
    if proc is None:
        state = "pdump says No tasks" if dump.no_tasks else f"{name} is not in pdump"
        return Verdict(False, state, {"no_tasks": dump.no_tasks, "processes": [p.name for p in dump.processes]})
    return Verdict(
        True,
        f"{name} running (pid {proc.pid}, {proc.memory_mb:g} MB)",
        {"pid": proc.pid, "processes": [p.name for p in dump.processes]},
    )


def _judge_has_tasks(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"nlserver pdump failed (exit {rc}): {err.strip()[:200]}")
    try:
        dump = campaign.parse_pdump(out)
    except ParseError as exc:
        return Verdict(False, f"cannot parse pdump output: {exc}", {"parse_error": True})
    if dump.no_tasks or not dump.processes:
        return Verdict(False, "pdump says No tasks: no Campaign process is running", {"no_tasks": True})
    names = [p.name for p in dump.processes]
    return Verdict(True, f"{len(names)} processes running", {"no_tasks": False, "processes": names})


def _missing_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} monitor -missing"


def _judge_missing(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"nlserver monitor -missing failed (exit {rc}): {err.strip()[:200]}")
    try:
        missing = campaign.parse_missing(out)
    except ParseError as exc:
        return Verdict(False, f"cannot parse monitor output: {exc}", {"parse_error": True, "missing": []})
    if missing:
        return Verdict(False, f"enabled but not running: {', '.join(missing)}", {"missing": missing})
    return Verdict(True, "every enabled module is running", {"missing": []})


# --- module control -----------------------------------------------------------------------------

_FLAGS = frozenset({"-verbose", "-noconsole", "-immediate"})


def _flags(args: Mapping[str, Any]) -> str:
    flags = args.get("flags") or []
    return "".join(f" {shlex.quote(str(f))}" for f in flags)


def _control(verb: str) -> Callable[[Mapping[str, Any], Context], str]:
    """``nlserver start|stop|restart <module>@<instance> [flags]``."""

    def build(args: Mapping[str, Any], ctx: Context) -> str:
        return f"{ctx.nlserver} {verb} {shlex.quote(ctx.process(str(args['module'])))}{_flags(args)}"

    return build


def _watchdog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} watchdog -svc -noconsole"


def _start_listed_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    source = str(args["from"])
    verdict = ctx.earlier.get(source)
    if verdict is None:
        raise Skip(f"check {source!r} has no result to start modules from")
    names = [str(n) for n in verdict.data.get("missing", [])]
    for name in names:
        if not campaign.PROCESS_NAME.match(name):
            raise Skip(f"refusing to start {name!r}: not a module@instance name")
    if not names:
        raise Skip(f"check {source!r} lists no missing module")
    return " && ".join(f"{ctx.nlserver} start {shlex.quote(n)}" for n in names)


def _reload_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    what = str(args["module"])
    if what == "stat":
        return f"{ctx.nlserver} stat -reload"
    return f"{ctx.nlserver} config -reload"


# --- network ------------------------------------------------------------------------------------


def _port_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    proto = str(args.get("proto", "tcp"))
    port = int(render(str(args["port"]), ctx, quote=False))
    flag = "-lunp" if proto == "udp" else "-ltnp"
    # Only sockets that conflict with the module: on the host's address or on a wildcard address
    # (another address on the same machine, e.g. a second Campaign host, does not take the port).
    address = str(ctx.var("address"))
    if not re.fullmatch(r"[0-9A-Fa-f.:]+", address):
        raise Skip(f"address {address!r} of host {ctx.host.name} is not an IP address")
    where = shlex.quote(f"( sport = :{port} ) and ( src {address} or src 0.0.0.0 or src [::] )")
    lines = [
        f"{ctx.nlserver} pdump",
        "echo '@@ss'",
        f"ss -H {flag} {where}",
        "echo '@@ps'",
        f"for p in $(ss -H {flag} {where} | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u);"
        ' do ps -o pid=,args= -p "$p"; done',
    ]
    return "; ".join(lines)


def _judge_port(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    proto = str(args.get("proto", "tcp"))
    port = int(render(str(args["port"]), ctx, quote=False))
    owner = ctx.process(str(args["module"]))
    label = f"{proto} {port}"
    if "@@ss" not in out or "@@ps" not in out:
        return Verdict(False, f"cannot parse port check output for {label}", {"parse_error": True})
    pdump_text, rest = out.split("@@ss", 1)
    ss_text, ps_text = rest.split("@@ps", 1)
    try:
        dump = campaign.parse_pdump(pdump_text)
    except ParseError as exc:
        return Verdict(False, f"cannot parse pdump output: {exc}", {"parse_error": True})
    module = dump.find(owner)
    holders: list[dict[str, Any]] = []
    for line in ps_text.strip().splitlines():
        parts = line.strip().split(None, 1)
        if parts and parts[0].isdigit():
            holders.append({"pid": int(parts[0]), "command": (parts[1] if len(parts) > 1 else "")[:200]})
    bound = bool(ss_text.strip())
    data: dict[str, Any] = {
        "port": port,
        "proto": proto,
        "bound": bound,
        "holders": holders,
        "module_pid": module.pid if module else None,
    }
    foreign = [h for h in holders if module is None or h["pid"] != module.pid]
    data["foreign"] = foreign
    if foreign:
        desc = ", ".join(f"pid {h['pid']} ({h['command']})" for h in foreign)
        return Verdict(False, f"{label} is held by another process: {desc}", data)
    if not bound:
        return Verdict(False, f"nothing listens on {label}", data)
    if module is None:
        return Verdict(False, f"{label} is bound but {owner} is not in pdump", data)
    return Verdict(True, f"{owner} (pid {module.pid}) listens on {label}", data)


def _judge_port_not_foreign(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    verdict = _judge_port(args, ctx, out, err, rc)
    if verdict.data.get("foreign"):
        return verdict
    if verdict.data.get("parse_error"):
        return verdict
    return Verdict(True, f"no other process holds {args.get('proto', 'tcp')} {verdict.data.get('port')}", verdict.data)


def _http_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    url = render(str(args["url"]), ctx, quote=False)
    if not re.match(r"^https?://[^\s'\"]+$", url):
        raise ValueError(f"invalid url {url!r}")
    parts = [
        "curl",
        "-sS",
        "-m",
        str(int(args.get("timeout", 5))),
        "-o",
        "-",
        "-w",
        shlex.quote(r"\n@@http %{http_code}"),
    ]
    for header in args.get("headers", []):
        parts += ["-H", shlex.quote(render(str(header), ctx, quote=False))]
    body = args.get("body")
    if body is not None:
        parts += ["-X", "POST", "--data-binary", shlex.quote(render(str(body), ctx, quote=False))]
    parts.append(shlex.quote(url))
    return " ".join(parts)


def _judge_http(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = render(str(args["url"]), ctx, quote=False)
    body, _sep, code = out.rpartition("\n@@http ")
    status = int(code.strip()) if code.strip().isdigit() else 0
    data = {"url": url, "http_status": status, "body": body[:500]}
    if rc != 0 or status == 0:
        return Verdict(False, f"GET {url} failed: {err.strip()[:200] or f'curl exit {rc}'}", data)
    want_status = int(args.get("status", 200))
    if status != want_status:
        return Verdict(False, f"{url} answered HTTP {status} (expected {want_status})", data)
    expect = args.get("expect")
    if expect and not re.search(str(expect), body):
        return Verdict(False, f"{url} answered HTTP {status} without {expect!r}: {body.strip()[:160]!r}", data)
    refuse = args.get("refuse")
    if refuse and re.search(str(refuse), body):
        match = re.search(str(refuse), body)
        found = match.group(0) if match else refuse
        return Verdict(False, f"{url} answered with {found!r}: {body.strip()[:200]!r}", data)
    return Verdict(True, f"{url} OK (HTTP {status})", data)


# --- database -----------------------------------------------------------------------------------


def _psql(ctx: Context, *, read_only: bool) -> str:
    for name in DB_VARS:
        if ctx.host.var(name) is None:
            raise Skip(f"no database access for host {ctx.host.name}: the inventory gives no {name!r}")
    env = ["PGCONNECT_TIMEOUT=5"]
    if read_only:
        env.append("PGOPTIONS='-c default_transaction_read_only=on'")
    password = ctx.host.var("db_password")
    if password is not None:
        env.append(f"PGPASSWORD={shlex.quote(str(password))}")
    return " ".join(
        [
            *env,
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "\"$(printf '\\t')\"",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            shlex.quote(str(ctx.var("db_host"))),
            "-p",
            shlex.quote(str(ctx.var("db_port"))),
            "-U",
            shlex.quote(str(ctx.var("db_user"))),
            "-d",
            shlex.quote(str(ctx.var("db_name"))),
        ]
    )


def _sql_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    read_only = bool(args.get("_read_only", True))
    query = str(args["query"])
    if args.get("template"):
        # Only numbers may be put into SQL text; anything else would be an injection vector.
        for name in template_fields(query):
            if not re.fullmatch(r"\d{1,9}", str(ctx.var(name))):
                raise Skip(f"{name} must be a whole number to be used in SQL, got {ctx.var(name)!r}")
        query = render(query, ctx, quote=False)
    return f"{_psql(ctx, read_only=read_only)} -c {shlex.quote(query)}"


def _judge_sql(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"query failed (exit {rc}): {err.strip()[:300]}", {"error": True})
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    data: dict[str, Any] = {"rows": rows[:50], "row_count": len(rows)}
    expect = str(args.get("expect", "ok"))
    describe = str(args.get("describe", "rows"))
    sample = "; ".join(" ".join(r) for r in rows[:5])
    if expect == "empty":
        if rows:
            return Verdict(False, f"{len(rows)} {describe}: {sample}"[:400], data)
        return Verdict(True, f"no {describe}", data)
    if expect == "nonempty":
        if not rows:
            return Verdict(False, f"no {describe}", data)
        return Verdict(True, f"{len(rows)} {describe}: {sample}"[:400], data)
    if expect == "zero":
        value = rows[0][0] if rows and rows[0] else ""
        if value.strip() not in ("0", ""):
            return Verdict(False, f"{value.strip()} {describe}", data)
        return Verdict(True, f"0 {describe}", data)
    return Verdict(True, f"query ran: {sample}"[:300] if rows else "query ran", data)


# --- files and logs -----------------------------------------------------------------------------


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
        return Verdict(False, f"cannot list {directory}: {err.strip()[:200] or 'no output'}", {})
    now = int(lines[0])
    newest: tuple[float, str] | None = None
    for line in lines[1:]:
        parts = line.split(" ", 2)
        if len(parts) == 3:
            newest = (float(parts[0]), parts[2])
    if newest is None:
        return Verdict(False, f"no {args.get('pattern', '*')} file in {directory}", {"newest_age": None})
    age = max(0.0, now - newest[0])
    data = {"newest": newest[1], "newest_age": round(age, 1)}
    if age > max_age:
        return Verdict(False, f"newest file {newest[1]} was written {age:.0f}s ago (limit {max_age:g}s)", data)
    return Verdict(True, f"{newest[1]} written {age:.0f}s ago", data)


def _log_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    path = render(str(args["file"]), ctx, quote=False)
    lines = int(args.get("lines", 200))
    return f"tail -n {lines} {shlex.quote(path)} | grep -E -- {shlex.quote(str(args['pattern']))} | tail -n 5"


def _judge_log(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    found = [line for line in out.splitlines() if line.strip()]
    want = str(args.get("expect", "present"))
    data = {"matches": found}
    if want == "absent":
        if found:
            return Verdict(False, f"{len(found)} matching log lines, last: {found[-1][:200]}", data)
        return Verdict(True, "no matching log line", data)
    if not found:
        return Verdict(False, f"no line matching {args['pattern']!r} in {args['file']}", data)
    return Verdict(True, f"found: {found[-1][:200]}", data)


def _shell_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return render(str(args["command"]), ctx, quote=True)


def _javascript_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    script = render(str(args["script"]), ctx, quote=False)
    instance = ctx.var("instance")
    return (
        f"f=$(mktemp) && printf '%s\\n' {shlex.quote(script)} > \"$f\" && "
        f'{ctx.nlserver} javascript -instance:{shlex.quote(str(instance))} -file "$f"; '
        'rc=$?; rm -f "$f"; exit $rc'
    )


# --- added for the module playbooks -------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# A redir/log line as the lab's trackinglogd writes it: id, timestamp, three numbers, event name.
# Adobe documents only the id prefix (e.g. 50x000000000FD7EC86) and tab separation: keep it an arg.
REDIR_LINE = (
    r"^[0-9]0x[0-9A-F]{16}\t[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"\t[0-9]+\t[0-9]+\t[0-9]+\t[a-z]+$"
)


def _ere(regex: str) -> str:
    """A POSIX ERE for grep: the ``\\t`` escapes of the pattern become real tabs."""
    return regex.replace("\\t", "\t")


def _syslog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    if not ctx.host.var("syslog_probe"):
        # Adobe does not document syslogd's record format: sending one only makes sense where it is known.
        raise Skip(
            f"host {ctx.host.name} does not set syslog_probe: true (the syslogd record format must be known "
            "for a test record; the port and process checks still run)"
        )
    port = int(render(str(args["port"]), ctx, quote=False))
    address = str(ctx.var("address"))
    path = render(str(args["file"]), ctx, quote=False)
    tag = str(args.get("tag", "remediate"))
    if not _IDENT.match(tag):
        raise ValueError(f"invalid syslog tag {tag!r}")
    wait = int(args.get("wait", 5))
    token = "remediate-syslog-probe-" + secrets.token_hex(6)
    record = f"{tag}\t$$\tinfo\t{token}"
    # bash's /dev/udp sends one datagram, as a module does; the record is then looked for in the file.
    send = f"printf '%s\\n' \"{record}\" > /dev/udp/{address}/{port}"
    return (
        f"echo @@token {token}; bash -c {shlex.quote(send)} || exit 3; i=0; "
        f"while [ $i -lt {wait * 4} ]; do grep -F -n -- {shlex.quote(token)} {shlex.quote(path)} && exit 0; "
        f"sleep 0.25; i=$((i+1)); done; exit 1"
    )


def _judge_syslog(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    port = int(render(str(args["port"]), ctx, quote=False))
    path = render(str(args["file"]), ctx, quote=False)
    token = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("@@token ")), "")
    data = {"port": port, "file": path, "token": token}
    if rc == 3:
        return Verdict(False, f"cannot send a record to udp {ctx.var('address')}:{port}: {err.strip()[:200]}", data)
    if rc != 0:
        return Verdict(
            False, f"a test record sent to udp {port} did not reach {path} within {int(args.get('wait', 5))}s", data
        )
    return Verdict(True, f"a test record sent to udp {port} reached {path}", data)


def _who_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    return f"{ctx.nlserver} pdump -who"


def _judge_who(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"nlserver pdump -who failed (exit {rc}): {err.strip()[:200]}")
    try:
        dump = campaign.parse_pdump(out, who=True)
    except ParseError as exc:
        return Verdict(False, f"cannot parse pdump -who output: {exc}", {"parse_error": True})
    sessions: list[str] = []
    in_sessions = False
    for line in dump.extra:
        if line.lower().startswith("sessions"):
            in_sessions = True
            continue
        if in_sessions and line.lower().startswith("datasource"):
            in_sessions = False
        if in_sessions and line.strip() and line.strip().lower() != "none":
            sessions.append(line.strip())
    pool = [line for line in dump.extra if line.lower().startswith("datasource")]
    data = {"sessions": sessions, "pool": pool}
    desc = "; ".join(sessions) if sessions else "no open session"
    return Verdict(
        True, f"{len(sessions)} session(s) a web restart would cut: {desc}" + (f" | {pool[0]}" if pool else ""), data
    )


def _redir_scan_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = str(args.get("pattern", "0x*.log"))
    line = _ere(str(args.get("line", REDIR_LINE)))
    return (
        f"cd {shlex.quote(directory)} || exit 2; for f in $(ls -1 -- {pattern_glob(pattern)} 2>/dev/null); do "
        f'LC_ALL=C grep -a -n -v -E -- {shlex.quote("^$|" + line)} "$f" | cut -d: -f1 | '
        f'sed "s|^|$PWD/$f:|"; done; exit 0'
    )


def pattern_glob(pattern: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.*?-]+", pattern):
        raise ValueError(f"invalid file pattern {pattern!r}")
    return pattern


def _judge_redir_scan(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    directory = render(str(args["dir"]), ctx, quote=False)
    if rc != 0:
        return Verdict(False, f"cannot read {directory}: {err.strip()[:200] or f'exit {rc}'}", {"error": True})
    bad = [ln.strip() for ln in out.splitlines() if re.match(r"^/.+:\d+$", ln.strip())]
    data = {"corrupted": bad[:200]}
    if bad:
        return Verdict(
            False,
            f"{len(bad)} corrupted tracking log line(s): {', '.join(bad[:10])}" + (" ..." if len(bad) > 10 else ""),
            data,
        )
    return Verdict(True, f"every line of {directory}/{args.get('pattern', '0x*.log')} is well-formed", data)


def _redir_quarantine_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    directory = render(str(args["dir"]), ctx, quote=False)
    pattern = pattern_glob(str(args.get("pattern", "0x*.log")))
    line = shlex.quote("^$|" + _ere(str(args.get("line", REDIR_LINE))))
    # Per file with bad lines: keep the bad lines (numbered) in <file>.rejected, rewrite the file in place
    # (same inode, so a writer holding it open keeps appending) with the good lines only.
    return (
        f"cd {shlex.quote(directory)} || exit 2; n=0; for f in $(ls -1 -- {pattern} 2>/dev/null); do "
        f'if LC_ALL=C grep -a -q -v -E -- {line} "$f"; then '
        f'LC_ALL=C grep -a -n -v -E -- {line} "$f" >> "$f.rejected" || exit 3; '
        f't=$(mktemp) || exit 3; LC_ALL=C grep -a -E -- {line} "$f" > "$t"; '
        f'cat "$t" > "$f" || exit 3; rm -f "$t"; n=$((n+1)); '
        f'echo "quarantined bad lines of $PWD/$f into $PWD/$f.rejected"; fi; done; echo "@@files $n"'
    )


def _judge_quarantine(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"exit {rc}: {err.strip()[:300]}")
    moved = [ln for ln in out.splitlines() if ln.startswith("quarantined")]
    return Verdict(True, "; ".join(moved) if moved else "no corrupted line left to quarantine", {"output": out[-2000:]})


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
        return Verdict(False, f"cannot list {directory}: {err.strip()[:200] or f'exit {rc}'}", {"error": True})
    now, count = int(lines[0]), int(lines[1].split()[1])
    oldest_age = None
    if len(lines) > 2 and lines[2].split(" ", 1)[0].replace(".", "").isdigit():
        oldest_age = max(0.0, now - float(lines[2].split(" ", 1)[0]))
    data = {"count": count, "oldest_age": round(oldest_age, 1) if oldest_age is not None else None}
    max_count = args.get("max_count")
    if max_count is not None and count > int(max_count):
        return Verdict(False, f"{count} file(s) waiting in {directory} (at most {int(max_count)} expected)", data)
    max_age = args.get("max_age")
    if max_age is not None and oldest_age is not None and oldest_age > float(max_age):
        return Verdict(
            False,
            f"{count} file(s) waiting in {directory}, the oldest for {oldest_age:.0f}s "
            f"(limit {float(max_age):g}s): nothing drains it",
            data,
        )
    return Verdict(
        True,
        f"{count} file(s) waiting in {directory}"
        + (f", the oldest for {oldest_age:.0f}s" if oldest_age is not None else ""),
        data,
    )


def _relaunch_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    source = str(args["from"])
    verb = str(args["verb"])
    if verb not in ("Start", "Restart"):
        raise ValueError(f"verb must be Start or Restart, got {verb!r}")
    verdict = ctx.earlier.get(source)
    if verdict is None:
        raise Skip(f"check {source!r} has no result to take workflows from")
    names = []
    for row in verdict.data.get("rows", []):
        name = str(row[0]).strip() if row else ""
        if not _IDENT.match(name):
            raise Skip(f"refusing to re-launch {name!r}: not a workflow internal name")
        if name not in names:
            names.append(name)
    if not names:
        raise Skip(f"check {source!r} lists no workflow to re-launch")
    script = " ".join(f'logInfo("re-launch {n} ({verb})"); xtk.workflow.{verb}("{n}");' for n in names)
    return _javascript_cmd({"script": script}, ctx)


def _dedup_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    prefix = str(args.get("backup_prefix", "NmsRecipientDedup"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", prefix):
        raise ValueError(f"invalid backup table prefix {prefix!r}")
    # A new table per run, so the restore command brings back exactly this run's rows.
    backup = f"{prefix}_{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(2)}".lower()
    psql = _psql(ctx, read_only=False)
    key = "lower(trim(sEmail))"
    # One transaction: copy every row that is not the oldest of its email into the backup table,
    # then delete exactly the rows copied. Nothing is deleted that was not backed up.
    sql = (
        "BEGIN; "  # noqa: S608 - only the validated identifier above is put into the SQL text
        f"CREATE TABLE {backup} (LIKE NmsRecipient); "
        "WITH doomed AS (SELECT r.* FROM NmsRecipient r WHERE r.sEmail IS NOT NULL AND r.sEmail <> '' AND "
        f"r.iRecipientId > (SELECT min(k.iRecipientId) FROM NmsRecipient k WHERE {key.replace('sEmail', 'k.sEmail')}"
        f" = {key.replace('sEmail', 'r.sEmail')})), "
        f"saved AS (INSERT INTO {backup} SELECT * FROM doomed RETURNING iRecipientId), "
        "gone AS (DELETE FROM NmsRecipient WHERE iRecipientId IN (SELECT iRecipientId FROM saved) "
        "RETURNING iRecipientId) "
        "SELECT (SELECT count(*) FROM saved), (SELECT count(*) FROM gone), "
        "coalesce((SELECT string_agg(iRecipientId::text, ',' ORDER BY iRecipientId) FROM "
        f"(SELECT iRecipientId FROM gone ORDER BY iRecipientId LIMIT 20) s), ''), '{backup}'; "
        "COMMIT;"
    )
    return f"{psql} -c {shlex.quote(sql)}"


def _judge_dedup(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(False, f"de-duplication rolled back (exit {rc}): {err.strip()[:300]}", {"error": True})
    rows = [line.split("\t") for line in out.splitlines() if line.count("\t") >= 3]
    if not rows or not rows[-1][0].strip().isdigit() or not _IDENT.match(rows[-1][3].strip()):
        return Verdict(False, f"cannot read the de-duplication result: {out.strip()[:200]!r}", {"error": True})
    saved, gone, ids, backup = int(rows[-1][0]), int(rows[-1][1]), rows[-1][2].strip(), rows[-1][3].strip()
    restore_sql = f"INSERT INTO NmsRecipient SELECT * FROM {backup}"  # noqa: S608 - checked identifier
    restore = (
        f"psql -h {shlex.quote(str(ctx.var('db_host')))} -p {shlex.quote(str(ctx.var('db_port')))} "
        f"-U {shlex.quote(str(ctx.var('db_user')))} -d {shlex.quote(str(ctx.var('db_name')))} "
        f"-c {shlex.quote(restore_sql)}"
    )
    data = {"backed_up": saved, "deleted": gone, "backup_table": backup, "restore": restore, "sample_ids": ids}
    if saved != gone:
        return Verdict(False, f"backed up {saved} rows but deleted {gone}: check {backup}; restore: {restore}", data)
    return Verdict(
        True,
        f"removed {gone} duplicate recipient(s) (ids {ids}{'...' if gone > 20 else ''}), "
        f"each first copied into table {backup}; restore with: {restore}",
        data,
    )


_M = frozenset({"module"})
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "module_running",
            "the module's process is listed by nlserver pdump",
            Effect.READ,
            _pdump_cmd,
            _judge_module_running,
            _M,
            read_only=True,
        ),
        Action(
            "processes_running",
            "nlserver pdump lists processes (not 'No tasks')",
            Effect.READ,
            _pdump_cmd,
            _judge_has_tasks,
            read_only=True,
        ),
        Action(
            "monitor_missing",
            "nlserver monitor -missing lists no enabled module",
            Effect.READ,
            _missing_cmd,
            _judge_missing,
            read_only=True,
        ),
        Action(
            "port_listening",
            "the module listens on its port (ss), and no other process holds it",
            Effect.READ,
            _port_cmd,
            _judge_port,
            frozenset({"module", "port"}),
            frozenset({"proto"}),
            read_only=True,
        ),
        Action(
            "port_not_foreign",
            "no process other than the module holds its port",
            Effect.READ,
            _port_cmd,
            _judge_port_not_foreign,
            frozenset({"module", "port"}),
            frozenset({"proto"}),
            read_only=True,
        ),
        Action(
            "http_probe",
            "an HTTP request on the host answers as expected",
            Effect.READ,
            _http_cmd,
            _judge_http,
            frozenset({"url"}),
            frozenset({"expect", "refuse", "status", "headers", "body", "timeout"}),
            read_only=True,
        ),
        Action(
            "sql",
            "a SQL statement through psql (read steps run in a read-only transaction)",
            Effect.READ,
            _sql_cmd,
            _judge_sql,
            frozenset({"query"}),
            frozenset({"expect", "describe", "template"}),
        ),
        Action(
            "file_fresh",
            "the newest matching file in a directory is recent",
            Effect.READ,
            _fresh_cmd,
            _judge_fresh,
            frozenset({"dir", "max_age"}),
            frozenset({"pattern"}),
            read_only=True,
        ),
        Action(
            "log_search",
            "recent lines of a log file match (or not) a pattern",
            Effect.READ,
            _log_cmd,
            _judge_log,
            frozenset({"file", "pattern"}),
            frozenset({"expect", "lines"}),
            read_only=True,
        ),
        Action(
            "start_module",
            "nlserver start <module>@<instance>",
            Effect.CHANGE,
            _control("start"),
            _exit_ok,
            _M,
            frozenset({"flags"}),
        ),
        Action(
            "stop_module",
            "nlserver stop <module>@<instance>",
            Effect.DISRUPT,
            _control("stop"),
            _exit_ok,
            _M,
            frozenset({"flags"}),
        ),
        Action(
            "restart_module",
            "nlserver restart <module>@<instance>",
            Effect.DISRUPT,
            _control("restart"),
            _exit_ok,
            _M,
            frozenset({"flags"}),
        ),
        Action(
            "start_listed",
            "nlserver start each module a monitor_missing check listed",
            Effect.CHANGE,
            _start_listed_cmd,
            _exit_ok,
            frozenset({"from"}),
        ),
        Action(
            "watchdog_start",
            "nlserver watchdog -svc -noconsole (starts every enabled module)",
            Effect.CHANGE,
            _watchdog_cmd,
            _exit_ok,
        ),
        Action("reload", "nlserver stat -reload / config -reload", Effect.CHANGE, _reload_cmd, _exit_ok, _M),
        Action(
            "javascript",
            "server-side JavaScript through nlserver javascript -instance:<I> -file",
            Effect.CHANGE,
            _javascript_cmd,
            _exit_ok,
            frozenset({"script"}),
        ),
        Action(
            "shell",
            "a plain shell command (the exception: prefer a Campaign-aware action)",
            Effect.READ,
            _shell_cmd,
            _exit_ok,
            frozenset({"command"}),
        ),
        Action(
            "syslog_roundtrip",
            "send a marked test record to syslogd's udp port and find it in the log file",
            Effect.READ,
            _syslog_cmd,
            _judge_syslog,
            frozenset({"port", "file"}),
            frozenset({"tag", "wait"}),
            read_only=True,
        ),
        Action(
            "web_sessions",
            "nlserver pdump -who: the sessions and DB pool a web restart would cut",
            Effect.READ,
            _who_cmd,
            _judge_who,
            read_only=True,
        ),
        Action(
            "redir_scan",
            "every line of the redir/log tracking files is well-formed (bad ones as file:line)",
            Effect.READ,
            _redir_scan_cmd,
            _judge_redir_scan,
            frozenset({"dir"}),
            frozenset({"pattern", "line"}),
            read_only=True,
        ),
        Action(
            "redir_quarantine",
            "move corrupted redir/log lines into <file>.rejected (numbered), keep the rest",
            Effect.DISRUPT,
            _redir_quarantine_cmd,
            _judge_quarantine,
            frozenset({"dir"}),
            frozenset({"pattern", "line"}),
        ),
        Action(
            "backlog",
            "files waiting in a directory: at most max_count, none older than max_age seconds",
            Effect.READ,
            _backlog_cmd,
            _judge_backlog,
            frozenset({"dir"}),
            frozenset({"pattern", "max_count", "max_age"}),
            read_only=True,
        ),
        Action(
            "workflow_relaunch",
            "xtk.workflow.Start/Restart, through nlserver javascript, of each workflow a sql "
            "check listed (first column)",
            Effect.CHANGE,
            _relaunch_cmd,
            _exit_ok,
            frozenset({"from", "verb"}),
        ),
        Action(
            "recipient_dedup",
            "in one transaction: copy every NmsRecipient row that is not the oldest of its "
            "email into a new backup table, then delete exactly those rows",
            Effect.DISRUPT,
            _dedup_cmd,
            _judge_dedup,
            frozenset(),
            frozenset({"backup_prefix"}),
        ),
    )
}
