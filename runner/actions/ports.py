"""Port actions: a module listens on its port at its address, and no other process holds it (``ss`` +
``pdump`` + the module's own socket inodes from ``/proc``).

Where a module listens is the host's own setting where Adobe lets the site move it: syslogd at TRACE_ADDR
(``{syslogd_address}``, ``{syslogd_port}``; production/using/configuration.md), stat at stat/@port, web at
web/@httpPort (runner.hostfacts reads them). A name (TRACE_ADDR's ``localhost``) is resolved by the host
itself, so a loopback bind is found where it is; a wildcard bind counts too. A module that runs and listens
somewhere else than the check was given is undetermined, never failed: restarting it would bind the same
place again.

Owns: ``port_listening``, ``port_not_foreign`` and the helpers the syslog probe shares (:func:`port_value`,
:func:`listen_address`). Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import ArgSpec, Context, Effect, Skip, action, render
from runner.actions.modules import MODULE, PDUMP, PDUMP_FAILED, pid_in_pdump, read_pdump
from runner.outcomes import Reading, Verdict

PORT_ARGS = (
    ArgSpec("module", "enum", "the module that should own the port", required=True, choices=MODULE.choices),
    ArgSpec("port", "int", 'the port, e.g. "{syslogd_port}"', required=True, template=True, minimum=1),
    ArgSpec("proto", "enum", "the transport protocol", default="tcp", choices=("tcp", "udp")),
    ArgSpec(
        "address",
        "template",
        'where the module must listen: an IP address, or a name the host resolves, e.g. "{syslogd_address}" '
        "(localhost: 127.0.0.1 and ::1); a wildcard bind counts too",
        default="{address}",
    ),
)
IP_ADDRESS = re.compile(r"[0-9A-Fa-f.:]+")
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}")
WILDCARD_SOURCES = "src 0.0.0.0 or src [::]"


def port_value(args: Mapping[str, Any], ctx: Context) -> int:
    """The ``port`` arg, its template filled."""
    return int(render(str(args["port"]), ctx, quote=False))


def listen_address(args: Mapping[str, Any], ctx: Context) -> str:
    """Where the module must listen (an IP address or a host name), from the ``address`` arg."""
    address = render(str(args.get("address", "{address}")), ctx, quote=False).strip("[]")
    if not (IP_ADDRESS.fullmatch(address) or HOST_NAME.fullmatch(address)):
        raise Skip(f"address {address!r} of host {ctx.host.name} is neither an IP address nor a host name")
    return address


OWN_UNREADABLE = "unreadable"
SECTION = re.compile(r"^@@(addr|ss|own|mine|ps)\b ?(.*)$", re.M)


def _port_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    """pdump; the addresses the module must listen on (a name resolved by the host: ``getent``); the
    listening sockets on the port there or on a wildcard (``ss -e``: their inodes); the socket inodes
    the module's own process holds and which of its listening sockets they are (where else it listens);
    and only when a socket is not the module's, who holds it (``ss -p``, which reads every process's
    descriptors: costly on a busy host, so not on the healthy path)."""
    proto = str(args.get("proto", "tcp"))
    port = port_value(args, ctx)
    flag = "-lun" if proto == "udp" else "-ltn"
    owner = ctx.process(str(args["module"]))
    address = listen_address(args, ctx)
    # Only sockets that conflict with the module: on its address or on a wildcard address (another
    # address on the same machine, e.g. a second Campaign host, does not take the port).
    if IP_ADDRESS.fullmatch(address):
        resolve = f"a={shlex.quote(address)}"
    else:
        resolve = f"a=$(getent ahosts {shlex.quote(address)} | awk '{{print $1}}' | sort -u | tr '\\n' ' ')"
    lines = [
        f'd=$({ctx.snapshot(PDUMP)}); r=$?; printf \'%s\\n\' "$d"; [ $r = 0 ] || echo "{PDUMP_FAILED} $r"',
        f'{resolve}; echo "@@addr $a"',
        f"w='( sport = :{port} ) and ( {WILDCARD_SOURCES}'",
        'for x in $a; do case $x in *:*) w="$w or src [$x]" ;; *) w="$w or src $x" ;; esac; done; w="$w )"',
        f"echo '@@ss'; s=$(ss -H {flag}e \"$w\"); printf '%s\\n' \"$s\"",
        f"p=$(printf '%s\\n' \"$d\" | {pid_in_pdump(owner)}); own=''",
        'if [ -n "$p" ] && [ -r "/proc/$p/fd" ]; then'
        " own=$(ls -l \"/proc/$p/fd\" 2>/dev/null | sed -n 's/.*socket:\\[\\([0-9]*\\)\\].*/\\1/p' | tr '\\n' ' ');"
        ' echo "@@own $own"; else echo "@@own ' + OWN_UNREADABLE + '"; fi',
        "echo '@@mine'",
        f'[ -n "$own" ] && ss -H {flag}e | awk -v own=" $own " '
        '\'match($0, /ino:[0-9]+/) { if (index(own, " " substr($0, RSTART + 4, RLENGTH - 4) " ")) print }\'',
        "f=0; for i in $(printf '%s\\n' \"$s\" | grep -o 'ino:[0-9]*' | cut -d: -f2);"
        ' do case " $own " in *" $i "*) ;; *) f=1 ;; esac; done',
        "echo '@@ps'",
        f'[ $f = 1 ] && for q in $(ss -H {flag}p "$w" | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u);'
        ' do ps -o pid=,args= -p "$q"; done; exit 0',
    ]
    return "; ".join(lines)


_INODE = re.compile(r"\bino:(\d+)")


def _sections(out: str) -> tuple[str, dict[str, tuple[str, str]]] | None:
    """pdump's text, and each marked section's (head line, body); None when a section is missing."""
    found = list(SECTION.finditer(out))
    names = [m[1] for m in found]
    if names != ["addr", "ss", "own", "mine", "ps"]:
        return None
    sections = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(out)
        sections[match[1]] = (match[2].strip(), out[match.end() : end])
    return out[: found[0].start()], sections


def _local(line: str) -> str:
    """The local address:port column of an ``ss -H`` line."""
    return [*line.split(), "", "", "", "?"][3]


def _judge_port(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    proto = str(args.get("proto", "tcp"))
    port = port_value(args, ctx)
    address = listen_address(args, ctx)
    owner = ctx.process(str(args["module"]))
    label = f"{proto} {port}"
    parsed = _sections(out)
    if parsed is None:
        return Verdict(Reading.UNDETERMINED, f"cannot parse port check output for {label}")
    pdump_text, sections = parsed
    text, _mark, code = pdump_text.partition(f"{PDUMP_FAILED} ")
    rc_pdump = 0 if not _mark else int(code.strip()) if code.strip().isdigit() else -1
    dump = read_pdump(text, rc_pdump, err)
    if isinstance(dump, Verdict):
        return dump
    module = dump.find(owner)
    resolved = sections["addr"][0].split()
    holders: list[dict[str, Any]] = []
    for line in sections["ps"][1].strip().splitlines():
        parts = line.strip().split(None, 1)
        if parts and parts[0].isdigit():
            holders.append({"pid": int(parts[0]), "command": (parts[1] if len(parts) > 1 else "")[:200]})
    sockets = [line for line in sections["ss"][1].strip().splitlines() if line.strip()]
    elsewhere = [_local(line) for line in sections["mine"][1].strip().splitlines() if line.strip()]
    bound = bool(sockets)
    data: dict[str, Any] = {
        "port": port,
        "proto": proto,
        "address": address,
        "resolved": resolved,
        "bound": bound,
        "holders": holders,
        "module_pid": module.pid if module else None,
        "listening": elsewhere,
    }
    if not resolved:
        return Verdict(Reading.UNDETERMINED, f"{address} does not resolve on the host: cannot tell who listens", data)
    foreign = [h for h in holders if module is None or h["pid"] != module.pid]
    own = sections["own"][0]
    if module is not None and own != OWN_UNREADABLE:
        # the module's descriptors were read: a socket that is not among them is someone else's,
        # named by ss -p when the SSH user may see its process, else reported without a name
        mine = set(own.split())
        strangers = [line for line in sockets if (m := _INODE.search(line)) is None or m.group(1) not in mine]
        if strangers and not foreign:
            foreign = [{"pid": None, "command": f"a process the SSH user cannot see, on {_local(strangers[0])}"}]
        if not strangers:
            foreign = []
    data["foreign"] = foreign
    where = address if resolved == [address] else f"{address} ({', '.join(resolved)})"
    if foreign:
        desc = ", ".join(f"pid {h['pid']} ({h['command']})" if h["pid"] else h["command"] for h in foreign)
        return Verdict(Reading.FAILED, f"{label} is held by another process: {desc}", data)
    if not bound and module is not None and elsewhere:
        # The module runs and listens, elsewhere: the host's setting is not the one this check was given
        # (a port moved by TRACE_ADDR, serverConf.xml ...). A restart would bind the same place again.
        return Verdict(
            Reading.UNDETERMINED,
            f"{owner} (pid {module.pid}) listens on {proto} {', '.join(elsewhere[:4])}, not on {port} at {where}: "
            f"the host's setting differs from {args['port']} here (set it in the inventory, or fix the host's "
            "setting); a restart would not move it",
            data,
        )
    if not bound:
        return Verdict(Reading.FAILED, f"nothing listens on {label} at {where}", data)
    if module is None:
        return Verdict(Reading.FAILED, f"{label} is bound at {where} but {owner} is not in pdump", data)
    return Verdict(Reading.PASSED, f"{owner} (pid {module.pid}) listens on {label} at {where}", data)


action(
    "port_listening",
    "the module listens on its port at its address (ss; a name such as localhost is resolved on the host), and "
    "no other process holds it; running but listening elsewhere is undetermined, never a reason to restart",
    Effect.READ,
    build=_port_cmd,
    judge=_judge_port,
    args=PORT_ARGS,
    read_only=True,
    reads=(PDUMP,),
    pages=("installation/using/network-configuration.md", "production/using/general-architecture.md"),
)


def _judge_port_not_foreign(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    verdict = _judge_port(args, ctx, out, err, rc)
    if verdict.data.get("foreign"):
        return verdict
    if verdict.undetermined and not verdict.data.get("listening"):
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
    reads=(PDUMP,),
    pages=("installation/using/network-configuration.md", "production/using/general-architecture.md"),
)
