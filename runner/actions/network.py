"""Network actions: a module holds its port (``ss`` + ``pdump``), an HTTP endpoint answers (``curl`` on
the host), and syslogd carries a test record from its udp port to its log file.

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O; the syslog probe
token comes from the run id and attempt, so one run builds the same command each time.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, action, render
from runner.actions.modules import MODULE, pid_in_pdump, read_pdump
from runner.outcomes import Reading, Verdict

PORT_ARGS = (
    ArgSpec("module", "enum", "the module that should own the port", required=True, choices=MODULE.choices),
    ArgSpec("port", "int", 'the port, e.g. "{syslogd_port}"', required=True, template=True, minimum=1),
    ArgSpec("proto", "enum", "the transport protocol", default="tcp", choices=("tcp", "udp")),
)
RUN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _port(args: Mapping[str, Any], ctx: Context) -> int:
    return int(render(str(args["port"]), ctx, quote=False))


OWN_UNREADABLE = "unreadable"


def _port_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    """pdump; the listening sockets on the port (``ss -e``: their inodes); the socket inodes the module's
    own process holds; and only when a socket is not the module's, who holds it (``ss -p``, which reads
    every process's descriptors: costly on a busy host, so not on the healthy path)."""
    proto = str(args.get("proto", "tcp"))
    port = _port(args, ctx)
    flag = "-lun" if proto == "udp" else "-ltn"
    owner = ctx.process(str(args["module"]))
    # Only sockets that conflict with the module: on the host's address or on a wildcard address
    # (another address on the same machine, e.g. a second Campaign host, does not take the port).
    address = str(ctx.var("address"))
    if not re.fullmatch(r"[0-9A-Fa-f.:]+", address):
        raise Skip(f"address {address!r} of host {ctx.host.name} is not an IP address")
    where = shlex.quote(f"( sport = :{port} ) and ( src {address} or src 0.0.0.0 or src [::] )")
    lines = [
        f"d=$({ctx.nlserver} pdump); printf '%s\\n' \"$d\"",
        f"echo '@@ss'; s=$(ss -H {flag}e {where}); printf '%s\\n' \"$s\"",
        f"p=$(printf '%s\\n' \"$d\" | {pid_in_pdump(owner)}); own=''",
        'if [ -n "$p" ] && [ -r "/proc/$p/fd" ]; then'
        " own=$(ls -l \"/proc/$p/fd\" 2>/dev/null | sed -n 's/.*socket:\\[\\([0-9]*\\)\\].*/\\1/p' | tr '\\n' ' ');"
        ' echo "@@own $own"; else echo "@@own ' + OWN_UNREADABLE + '"; fi',
        "f=0; for i in $(printf '%s\\n' \"$s\" | grep -o 'ino:[0-9]*' | cut -d: -f2);"
        ' do case " $own " in *" $i "*) ;; *) f=1 ;; esac; done',
        "echo '@@ps'",
        f'[ $f = 1 ] && for q in $(ss -H {flag}p {where} | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u);'
        ' do ps -o pid=,args= -p "$q"; done; exit 0',
    ]
    return "; ".join(lines)


_INODE = re.compile(r"\bino:(\d+)")


def _judge_port(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    proto = str(args.get("proto", "tcp"))
    port = _port(args, ctx)
    owner = ctx.process(str(args["module"]))
    label = f"{proto} {port}"
    if "@@ss" not in out or "@@ps" not in out or "@@own " not in out:
        return Verdict(Reading.UNDETERMINED, f"cannot parse port check output for {label}")
    pdump_text, rest = out.split("@@ss", 1)
    ss_text, rest = rest.split("@@own ", 1)
    own_text, ps_text = rest.split("@@ps", 1)
    dump = read_pdump(pdump_text, 0, err)
    if isinstance(dump, Verdict):
        return dump
    module = dump.find(owner)
    holders: list[dict[str, Any]] = []
    for line in ps_text.strip().splitlines():
        parts = line.strip().split(None, 1)
        if parts and parts[0].isdigit():
            holders.append({"pid": int(parts[0]), "command": (parts[1] if len(parts) > 1 else "")[:200]})
    sockets = [line for line in ss_text.strip().splitlines() if line.strip()]
    bound = bool(sockets)
    data: dict[str, Any] = {
        "port": port,
        "proto": proto,
        "bound": bound,
        "holders": holders,
        "module_pid": module.pid if module else None,
    }
    foreign = [h for h in holders if module is None or h["pid"] != module.pid]
    own = own_text.strip()
    if module is not None and own != OWN_UNREADABLE:
        # the module's descriptors were read: a socket that is not among them is someone else's,
        # named by ss -p when the SSH user may see its process, else reported without a name
        mine = set(own.split())
        strangers = [line for line in sockets if (m := _INODE.search(line)) is None or m.group(1) not in mine]
        if strangers and not foreign:
            where = [*strangers[0].split(), "", "", "", "?"][3]
            foreign = [{"pid": None, "command": f"a process the SSH user cannot see, on {where}"}]
        if not strangers:
            foreign = []
    data["foreign"] = foreign
    if foreign:
        desc = ", ".join(f"pid {h['pid']} ({h['command']})" if h["pid"] else h["command"] for h in foreign)
        return Verdict(Reading.FAILED, f"{label} is held by another process: {desc}", data)
    if not bound:
        return Verdict(Reading.FAILED, f"nothing listens on {label}", data)
    if module is None:
        return Verdict(Reading.FAILED, f"{label} is bound but {owner} is not in pdump", data)
    return Verdict(Reading.PASSED, f"{owner} (pid {module.pid}) listens on {label}", data)


action(
    "port_listening",
    "the module listens on its port (ss), and no other process holds it",
    Effect.READ,
    build=_port_cmd,
    judge=_judge_port,
    args=PORT_ARGS,
    read_only=True,
)


def _judge_port_not_foreign(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    verdict = _judge_port(args, ctx, out, err, rc)
    if verdict.data.get("foreign"):
        return verdict
    if verdict.undetermined:
        return verdict
    return Verdict(
        Reading.PASSED, f"no other process holds {args.get('proto', 'tcp')} {verdict.data.get('port')}", verdict.data
    )


action(
    "port_not_foreign",
    "no process other than the module holds its port",
    Effect.READ,
    build=_port_cmd,
    judge=_judge_port_not_foreign,
    args=PORT_ARGS,
    read_only=True,
)


def curl_command(url: str, timeout: int, headers: Sequence[str] = (), body: str | None = None) -> str:
    """``curl`` on the host: the body, then a ``@@http <status>`` line (:func:`split_http` reads it back).

    A request body goes through ``printf`` (a shell builtin) on curl's stdin, so it is not in curl's argv.
    """
    if not re.match(r"^https?://[^\s'\"]+$", url):
        raise ValueError(f"invalid url {url!r}")
    parts = ["curl", "-sS", "-m", str(int(timeout)), "-o", "-", "-w", shlex.quote(r"\n@@http %{http_code}")]
    for header in headers:
        parts += ["-H", shlex.quote(header)]
    if body is not None:
        parts += ["-X", "POST", "--data-binary", "@-"]
    parts.append(shlex.quote(url))
    command = " ".join(parts)
    return command if body is None else f"printf '%s' {shlex.quote(body)} | {command}"


def split_http(out: str) -> tuple[str, int]:
    """The answer's body and HTTP status (0: no HTTP answer) from :func:`curl_command`'s output."""
    body, _sep, code = out.rpartition("\n@@http ")
    return body, int(code.strip()) if code.strip().isdigit() else 0


def _http_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    url = render(str(args["url"]), ctx, quote=False)
    headers = [render(str(h), ctx, quote=False) for h in args.get("headers", [])]
    body = args.get("body")
    text = None if body is None else render(str(body), ctx, quote=False)
    return curl_command(url, int(args.get("timeout", 5)), headers, text)


def _judge_http(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    url = render(str(args["url"]), ctx, quote=False)
    body, status = split_http(out)
    data = {"url": url, "http_status": status, "body": body[:500]}
    if rc != 0 or status == 0:
        return Verdict(Reading.FAILED, f"GET {url} failed: {err.strip()[:200] or f'curl exit {rc}'}", data)
    want_status = int(args.get("status", 200))
    if status != want_status:
        return Verdict(Reading.FAILED, f"{url} answered HTTP {status} (expected {want_status})", data)
    expect = args.get("expect")
    if expect and not re.search(str(expect), body):
        return Verdict(Reading.FAILED, f"{url} answered HTTP {status} without {expect!r}: {body.strip()[:160]!r}", data)
    refuse = args.get("refuse")
    if refuse and re.search(str(refuse), body):
        match = re.search(str(refuse), body)
        found = match.group(0) if match else refuse
        return Verdict(Reading.FAILED, f"{url} answered with {found!r}: {body.strip()[:200]!r}", data)
    return Verdict(Reading.PASSED, f"{url} OK (HTTP {status})", data)


action(
    "http_probe",
    "an HTTP request on the host answers as expected",
    Effect.READ,
    build=_http_cmd,
    judge=_judge_http,
    args=[
        ArgSpec("url", "template", "http(s) URL, e.g. http://{address}:{web_port}/r/test", required=True),
        ArgSpec("expect", "str", "a regex the body must match"),
        ArgSpec("refuse", "str", "a regex the body must not match (e.g. a SOAP fault)"),
        ArgSpec("status", "int", "the HTTP status expected", default=200, minimum=100),
        ArgSpec("headers", "list[str]", "request headers ('Name: value')", default=[], template=True),
        ArgSpec("body", "template", "a request body: sends a POST"),
        ArgSpec("timeout", "int", "curl's time limit in seconds", default=5, minimum=1),
    ],
    read_only=True,
)


def probe_token(ctx: Context) -> str:
    """The syslog test record's token: unique per run and attempt, the same each time it is built."""
    run = ctx.run_id or "norun"
    if not RUN_TOKEN.fullmatch(run):
        raise ValueError(f"run id {run!r} cannot go into a probe record")
    return f"remediate-syslog-probe-{run}-{int(ctx.attempt)}"


def _syslog_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    if not ctx.host.var("syslog_probe"):
        # Adobe does not document syslogd's record format: sending one only makes sense where it is known.
        raise Skip(
            f"host {ctx.host.name} does not set syslog_probe: true (the syslogd record format must be known "
            "for a test record; the port and process checks still run)"
        )
    port = _port(args, ctx)
    address = str(ctx.var("address"))
    path = render(str(args["file"]), ctx, quote=False)
    tag = str(args.get("tag", "remediate"))
    if not IDENT.match(tag):
        raise ValueError(f"invalid syslog tag {tag!r}")
    wait = int(args.get("wait", 5))
    token = probe_token(ctx)
    record = f"{tag}\t$$\tinfo\t{token}"
    # bash's /dev/udp sends one datagram, as a module does; the record is then looked for in the file.
    send = f"printf '%s\\n' \"{record}\" > /dev/udp/{address}/{port}"
    return (
        f"echo @@token {token}; bash -c {shlex.quote(send)} || exit 3; i=0; "
        f"while [ $i -lt {wait * 4} ]; do grep -F -n -- {shlex.quote(token)} {shlex.quote(path)} && exit 0; "
        f"sleep 0.25; i=$((i+1)); done; exit 1"
    )


def _judge_syslog(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    port = _port(args, ctx)
    path = render(str(args["file"]), ctx, quote=False)
    token = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("@@token ")), "")
    data = {"port": port, "file": path, "token": token}
    if rc == 3:
        return Verdict(
            Reading.FAILED, f"cannot send a record to udp {ctx.var('address')}:{port}: {err.strip()[:200]}", data
        )
    if rc != 0:
        return Verdict(
            Reading.FAILED,
            f"a test record sent to udp {port} did not reach {path} within {int(args.get('wait', 5))}s",
            data,
        )
    return Verdict(Reading.PASSED, f"a test record sent to udp {port} reached {path}", data)


action(
    "syslog_roundtrip",
    "send a marked test record to syslogd's udp port and find it in the log file",
    Effect.READ,
    build=_syslog_cmd,
    judge=_judge_syslog,
    args=[
        ArgSpec("port", "int", 'syslogd\'s udp port, e.g. "{syslogd_port}"', required=True, template=True, minimum=1),
        ArgSpec("file", "template", "the log file the record must reach", required=True),
        ArgSpec("tag", "str", "the record's tag", default="remediate", pattern=r"[A-Za-z_][A-Za-z0-9_]{0,62}"),
        ArgSpec("wait", "int", "seconds to wait for the record", default=5, minimum=1),
    ],
    read_only=True,
)


# --- a server the host must reach ---------------------------------------------------------------

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")


def _endpoint(args: Mapping[str, Any], ctx: Context) -> tuple[str, int]:
    var = str(args["server_var"])
    value = ctx.host.var(var)
    if value is None:
        raise Skip(f"the inventory gives no {var!r} (host:port) for host {ctx.host.name}: not checked")
    match = _HOST_PORT.match(str(value))
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{var} must be host:port, got {value!r}")
    return match["host"].strip("[]"), int(match["port"])


def _banner_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    host, port = _endpoint(args, ctx)
    wait = int(args.get("timeout", 5))
    # bash's /dev/tcp, from the Campaign host itself: the path the module takes, not the operator's.
    script = f'exec 3<>/dev/tcp/{host}/{port} || exit 3; IFS= read -r -t {wait} line <&3; printf "%s\\n" "$line"'
    return f"timeout {wait + 1} bash -c {shlex.quote(script)}"


def _judge_banner(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    host, port = _endpoint(args, ctx)
    where = f"{host}:{port}"
    banner = out.strip().splitlines()[0] if out.strip() else ""
    data = {"server": where, "banner": banner[:200]}
    if rc == 3 or (rc != 0 and not banner):
        why = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {rc}"
        return Verdict(Reading.FAILED, f"cannot reach {where} from the host: {why}", data)
    expect = str(args.get("expect", ""))
    if expect and not re.search(expect, banner):
        return Verdict(Reading.FAILED, f"{where} answered {banner[:120]!r}, not {expect!r}", data)
    return Verdict(Reading.PASSED, f"{where} answers from the host: {banner[:120]}", data)


action(
    "tcp_banner",
    "a server named by a host var (host:port) is reachable from the host and greets as expected (e.g. POP3 +OK)",
    Effect.READ,
    build=_banner_cmd,
    judge=_judge_banner,
    read_only=True,
    args=[
        ArgSpec("server_var", "str", "the host var holding host:port, e.g. pop3_server", required=True),
        ArgSpec("expect", "str", r"a regex the greeting line must match, e.g. ^\+OK", default=""),
        ArgSpec("timeout", "int", "seconds to wait for the greeting", default=5, minimum=1),
    ],
)
