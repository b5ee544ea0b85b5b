"""Network actions: an HTTP endpoint answers (``curl`` on the host), syslogd carries a test record from its
udp port to its log file (at TRACE_ADDR's address and port, as the host sets them), and a server the host
must reach greets it. Whether a module holds its port is :mod:`runner.actions.ports`.

Owns: the commands and judges of these actions and their argument specs. Pure: no I/O; the syslog probe
token comes from the run id and attempt, so one run builds the same command each time.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, action, render
from runner.actions.ports import listen_address, port_value
from runner.outcomes import Reading, Verdict

RUN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
    pages=("production/using/monitoring-processes.md",),
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
    port = port_value(args, ctx)
    address = listen_address(args, ctx)
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
    port = port_value(args, ctx)
    path = render(str(args["file"]), ctx, quote=False)
    token = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("@@token ")), "")
    data = {"port": port, "file": path, "token": token}
    if rc == 3:
        return Verdict(
            Reading.FAILED, f"cannot send a record to udp {listen_address(args, ctx)}:{port}: {err.strip()[:200]}", data
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
        ArgSpec("address", "template", 'where syslogd listens, e.g. "{syslogd_address}"', default="{address}"),
        ArgSpec("tag", "str", "the record's tag", default="remediate", pattern=r"[A-Za-z_][A-Za-z0-9_]{0,62}"),
        ArgSpec("wait", "int", "seconds to wait for the record", default=5, minimum=1),
    ],
    read_only=True,
    pages=("production/using/configuration.md",),
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


# How the Bounce mails account talks to its server (installation/using/external-accounts.md, "Encryption":
# By default, POP3 + STARTTLS, POP3, POP3S). POP3 and STARTTLS greet in plain text first (STARTTLS upgrades
# after the greeting); POP3S speaks TLS from the first byte, so its greeting is read through openssl.
PLAIN, TLS, UNKNOWN = "plain", "tls", "unknown"
NO_OPENSSL = 4


def _pop3_mode(port: int, ctx: Context) -> str:
    """plain, tls, or unknown (plain is tried; no greeting then means the probe cannot tell)."""
    encryption = ctx.host.var("pop3_encryption")
    if encryption in ("pop3", "starttls"):
        return PLAIN
    if encryption == "pop3s" or (encryption is None and port == 995):
        return TLS
    return PLAIN if encryption is None and port == 110 else UNKNOWN


def _banner_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    host, port = _endpoint(args, ctx)
    wait = int(args.get("timeout", 5))
    if args.get("protocol") == "pop3" and ctx.host.var("pop3_oauth"):
        raise Skip(
            f"cannot probe the POP3 mailbox of host {ctx.host.name}: it uses Microsoft OAuth 2.0 (pop3_oauth), "
            "and whether inMail gets in cannot be told from the host without its token; not a reason to act"
        )
    # bash's /dev/tcp, from the Campaign host itself: the path the module takes, not the operator's.
    connect = f"exec 3<>/dev/tcp/{host}/{port} || exit 3"
    if args.get("protocol") == "pop3" and _pop3_mode(port, ctx) == TLS:
        # TCP first (so "unreachable" means it), then the greeting after the TLS handshake; QUIT ends the
        # session politely. Certificates are not judged here: only that the mailbox answers.
        sni = "" if re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:]+", host) else f" -servername {host}"
        script = (
            f"command -v openssl >/dev/null 2>&1 || exit {NO_OPENSSL}; {connect}; exec 3>&-; "
            f"printf 'QUIT\\r\\n' | openssl s_client -connect {host}:{port}{sni} -quiet 2>/dev/null | head -n 1"
        )
    else:
        script = f'{connect}; IFS= read -r -t {wait} line <&3; printf "%s\\n" "$line"'
    return f"timeout {wait + 1} bash -c {shlex.quote(script)}"


def _judge_banner(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    host, port = _endpoint(args, ctx)
    where = f"{host}:{port}"
    banner = out.strip().splitlines()[0].strip() if out.strip() else ""
    pop3 = args.get("protocol") == "pop3"
    mode = _pop3_mode(port, ctx) if pop3 else PLAIN
    data = {"server": where, "banner": banner[:200], "tls": mode == TLS}
    if pop3 and rc == NO_OPENSSL:
        return Verdict(Reading.UNDETERMINED, f"cannot probe {where} over TLS (POP3S): openssl is not on the host", data)
    if rc == 3:
        why = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {rc}"
        return Verdict(Reading.FAILED, f"cannot reach {where} from the host: {why}", data)
    over = " over TLS" if mode == TLS else ""
    if not banner:
        if pop3 and mode != PLAIN:  # it accepted the connection but said nothing this probe can read
            hint = "" if mode == TLS else " (if the mailbox uses POP3S, set pop3_encryption: pop3s)"
            return Verdict(
                Reading.UNDETERMINED,
                f"cannot probe {where}: it accepts connections but no POP3 greeting came{over}{hint}",
                data,
            )
        why = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {rc}"
        return Verdict(Reading.FAILED, f"cannot reach {where} from the host: {why}", data)
    expect = str(args.get("expect", ""))
    if expect and not re.search(expect, banner):
        if pop3 and mode != TLS and not banner.isprintable():  # TLS bytes where a plain greeting was expected
            return Verdict(
                Reading.UNDETERMINED,
                f"cannot probe {where}: it does not greet in plain text (set pop3_encryption: pop3s if it is POP3S)",
                data,
            )
        return Verdict(Reading.FAILED, f"{where} answered {banner[:120]!r}{over}, not {expect!r}", data)
    return Verdict(Reading.PASSED, f"{where} answers from the host{over}: {banner[:120]}", data)


action(
    "tcp_banner",
    "a server named by a host var (host:port) is reachable from the host and greets as expected (e.g. POP3 +OK); "
    "protocol pop3 speaks TLS where the mailbox does (pop3_encryption, port 995) and cannot probe OAuth",
    Effect.READ,
    build=_banner_cmd,
    judge=_judge_banner,
    read_only=True,
    args=[
        ArgSpec("server_var", "str", "the host var holding host:port, e.g. pop3_server", required=True),
        ArgSpec("expect", "str", r"a regex the greeting line must match, e.g. ^\+OK", default=""),
        ArgSpec("timeout", "int", "seconds to wait for the greeting", default=5, minimum=1),
        ArgSpec(
            "protocol",
            "enum",
            "pop3: the bounce mailbox (TLS per pop3_encryption or port 995; OAuth: cannot probe); "
            "tcp: a plain greeting",
            default="tcp",
            choices=("tcp", "pop3"),
        ),
    ],
    pages=("installation/using/external-accounts.md",),
)
