"""Actions that read a Campaign instance's configuration: where its mta finds the statistics server.

Adobe (installation/using/email-deliverability.md, the-server-configuration-file.md): mta asks a stat
server before sending, at ``mta/@statServerAddress`` ("<dns or ip>[:<port>]", port 7777 when absent; mta
does not start when it is empty); instances on one machine may share one stat server, and a stat server
may run on another machine. A stat module runs where ``stat/@autoStart`` enables it
(``config-<instance>.xml`` overriding ``serverConf.xml``).

Owns: the ``stat_server`` action: its command (the instance's config files, ``pdump``, the udp sockets
``ss`` lists, the host's own names and addresses) and its judge (local or remote, enabled for this
instance or shared, listening or not). Pure: no I/O. Never starts anything: a stat server that is not
this instance's own is reported, never started here.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner import campaign, campaign_formats
from runner.actions.base import ArgSpec, Context, Effect, action
from runner.actions.modules import PDUMP
from runner.campaign_formats import InstanceConfig, ParseError
from runner.outcomes import Reading, Verdict

MARK = "@@statsrv"
SECTIONS = ("serverconf", "instance", "pdump", "ss", "names")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", "*"})  # noqa: S104 - addresses ss prints, nothing is bound here
ASPECTS = ("server", "address", "listening")


def _stat_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    instance = str(ctx.var("instance"))
    conf = f"{ctx.var('nl6_root')}/conf"
    parts = []
    for section, path in (("serverconf", f"{conf}/serverConf.xml"), ("instance", f"{conf}/config-{instance}.xml")):
        parts.append(f"echo '{MARK} {section}'; cat {shlex.quote(path)}; r=$?; echo; echo \"{MARK} rc $r\"")
    parts.append(f"echo '{MARK} pdump'; {ctx.snapshot(PDUMP)}; r=$?; echo; echo \"{MARK} rc $r\"")
    parts.append(f"echo '{MARK} ss'; ss -H -lun; r=$?; echo \"{MARK} rc $r\"")
    parts.append(f"echo '{MARK} names'; hostname; hostname -f; ip -o addr show; echo '{MARK} rc 0'")
    return "; ".join(parts)


def _sections(out: str) -> dict[str, tuple[str, int]]:
    """Each section's text and the exit code of the command that printed it."""
    found: dict[str, tuple[str, int]] = {}
    pattern = re.compile(rf"^{MARK} ({'|'.join(SECTIONS)})\n(.*?)^{MARK} rc (\d+)$", re.M | re.S)
    for match in pattern.finditer(out):
        found[match[1]] = (match[2], int(match[3]))
    return found


@dataclass(frozen=True)
class StatSetup:
    """What the host says about the stat server of one instance."""

    address: tuple[str, int] | None  # mta/@statServerAddress, port filled in
    own_enabled: bool  # stat@<instance> has autoStart
    mta_enabled: bool
    local: bool  # the address names this host
    listening: list[str]  # udp sockets on the stat port that the address reaches ("127.0.0.1:7777")
    stats: dict[str, int]  # stat processes pdump lists on this host -> pid


def _enabled(module: str, server: InstanceConfig | None, instance: InstanceConfig) -> bool:
    if module in instance.auto_start:
        return True
    return server is not None and module in server.auto_start and module not in instance.disabled


def _local_names(text: str, address: str) -> set[str]:
    """The host's names and addresses: hostname, hostname -f, each address ``ip -o addr`` shows, ``address``."""
    names = {address.lower(), *LOOPBACK_NAMES}
    lines = text.splitlines()
    for line in lines[:2]:
        if line.strip() and " " not in line.strip():
            names.add(line.strip().lower())
            names.add(line.strip().lower().split(".")[0])
    for match in re.finditer(r"\binet6? ([0-9A-Fa-f.:]+)/\d+", text):
        names.add(match[1].lower())
    return names


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _reachable_sockets(ss_text: str, host: str, port: int, names: set[str]) -> list[str]:
    """The udp sockets bound on ``port`` that a datagram to ``host`` would reach on this machine."""
    wanted = {host.strip("[]").lower()} if _is_ip(host) else {n for n in names if _is_ip(n)}
    out = []
    for line in ss_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        addr, _sep, bound_port = fields[3].rpartition(":")
        addr = addr.strip("[]").split("%")[0].lower()
        if bound_port == str(port) and (addr in WILDCARDS or addr in wanted):
            out.append(fields[3])
    return out


def read_setup(out: str, ctx: Context) -> StatSetup | str:
    """The stat setup from the command's output, or why it cannot be read."""
    sections = _sections(out)
    if set(sections) != set(SECTIONS):
        return f"output incomplete (sections read: {', '.join(sections) or 'none'})"
    instance = str(ctx.var("instance"))
    text, rc = sections["instance"]
    if rc != 0:
        return f"config-{instance}.xml cannot be read (exit {rc}): {text.strip()[:200]}"
    try:
        own = campaign_formats.parse_instance_config(text)
        server_text, server_rc = sections["serverconf"]
        server = campaign_formats.parse_instance_config(server_text) if server_rc == 0 else None
        address = own.stat_server
        if address is None and server is not None and server.stat_server is not None:
            address = server.stat_server
    except ParseError as exc:
        return f"the instance's configuration cannot be read: {exc}"
    pdump_text, pdump_rc = sections["pdump"]
    if pdump_rc != 0:
        return f"nlserver pdump failed (exit {pdump_rc})"
    try:
        dump = campaign.parse_pdump(pdump_text)
    except ParseError as exc:
        return f"cannot parse pdump output: {exc}"
    ss_text, ss_rc = sections["ss"]
    if ss_rc != 0:
        return f"ss failed (exit {ss_rc}): {ss_text.strip()[:200]}"
    names = _local_names(sections["names"][0], str(ctx.var("address")))
    local = address is not None and address[0].strip("[]").lower() in names
    listening = _reachable_sockets(ss_text, address[0], address[1], names) if address and local else []
    stats = {p.name: p.pid for p in dump.processes if p.name.startswith("stat@")}
    return StatSetup(
        address,
        _enabled("stat", server, own),
        _enabled("mta", server, own),
        local,
        listening,
        stats,
    )


def _judge_stat(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """Where this instance's mta finds stat, and whether that stat is there; see the module docstring."""
    setup = read_setup(out, ctx)
    if isinstance(setup, str):
        return Verdict(Reading.UNDETERMINED, f"stat server: {setup}")
    own = ctx.process("stat")
    where = f"{setup.address[0]}:{setup.address[1]}" if setup.address else ""
    data: dict[str, Any] = {
        "stat_server": where or None,
        "local": setup.local,
        "own_enabled": setup.own_enabled,
        "mta_enabled": setup.mta_enabled,
        "listening": setup.listening,
        "stat_processes": setup.stats,
    }
    if not setup.mta_enabled and not setup.own_enabled:
        return Verdict(
            Reading.NOT_APPLICABLE, "neither mta nor stat is enabled for this instance: no stat server to check", data
        )
    if setup.address is None and setup.mta_enabled:
        return Verdict(
            Reading.FAILED,
            "mta/@statServerAddress is empty: mta does not start without it (email-deliverability.md); "
            "set it in config-<instance>.xml",
            data,
        )
    if args.get("aspect", "server") == "address":
        return Verdict(Reading.PASSED, f"mta/@statServerAddress = {where or '(empty; mta not enabled)'}", data)
    if args.get("aspect") == "listening":
        pid = setup.stats.get(own)
        if setup.own_enabled and pid is not None and setup.local and not setup.listening:
            return Verdict(Reading.FAILED, f"{own} (pid {pid}) runs but nothing listens on udp {where}", data)
        return Verdict(
            Reading.PASSED, f"not the case that {own} runs here without listening on {where or 'its port'}", data
        )
    if setup.own_enabled:
        pid = setup.stats.get(own)
        if pid is None:
            return Verdict(
                Reading.FAILED, f"{own} is enabled (autoStart) and not running; mta asks {where or 'it'}", data
            )
        if setup.local and not setup.listening:
            return Verdict(Reading.FAILED, f"{own} (pid {pid}) runs but nothing listens on udp {where}", data)
        tail = f"; mta asks {where}" + (
            "" if setup.local else " (another host: not probed, its protocol is undocumented)"
        )
        return Verdict(Reading.PASSED, f"{own} runs here (pid {pid}){tail}", data)
    if setup.address is None or not setup.mta_enabled:
        return Verdict(
            Reading.NOT_APPLICABLE, f"{own} is not enabled for this instance and its mta is not either", data
        )
    if not setup.local:
        return Verdict(
            Reading.NOT_APPLICABLE,
            f"{own} is not enabled here; mta asks the stat server on another host, {where} (reported, never "
            "started here; not probed: its protocol is undocumented)",
            data,
        )
    if setup.listening:
        shared = ", ".join(f"{n} (pid {p})" for n, p in sorted(setup.stats.items())) or "a process"
        return Verdict(
            Reading.NOT_APPLICABLE,
            f"{own} is not enabled for this instance; mta asks {where}, served on this host by {shared}: shared "
            "with another instance (email-deliverability.md), nothing to do here",
            data,
        )
    return Verdict(
        Reading.FAILED,
        f"mta asks {where} on this host but nothing listens there, and {own} is not enabled for this instance: "
        "start the stat of the instance that serves it (not started here)",
        data,
    )


action(
    "stat_server",
    "where the instance's mta finds its statistics server (mta/@statServerAddress in config-<instance>.xml): "
    "this instance's own stat, a stat shared with another instance on this host, or a remote one (reported, "
    "never started here)",
    Effect.READ,
    build=_stat_cmd,
    judge=_judge_stat,
    read_only=True,
    reads=(PDUMP,),
    args=[
        ArgSpec(
            "aspect",
            "enum",
            "server: the stat server is there and listens; address: only that mta/@statServerAddress is set "
            "where mta is enabled; listening: fails only when this instance's own stat runs here and nothing "
            "listens at the address (the one case a restart fits)",
            default="server",
            choices=ASPECTS,
        )
    ],
    pages=("installation/using/configuring-campaign-server.md", "installation/using/the-server-configuration-file.md"),
)
