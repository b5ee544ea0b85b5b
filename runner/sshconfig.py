"""OpenSSH client config, read as ``ssh`` reads it: where and how to reach each host.

Owns: tokenizing ``ssh_config`` files while tracking ``file:line`` through ``Include`` (globs, relative
paths under ``~/.ssh``, loops refused), ``Host`` and ``Match host/originalhost/user/localuser/all``
blocks, first-value-wins, ``%`` tokens and ``${ENV}`` in the directives that take them, and the
:class:`Endpoint` of a host (with its bastion chain: ``ProxyJump`` or ``ProxyCommand``). Every
directive that would change where or how ``ssh`` connects and that the runner does not honour is
refused with an :class:`InputError` naming it and its ``file:line``, before any host is touched.
Must not: open a connection, run a command (``Match exec`` and ``LocalCommand`` are refused, never
run), or import paramiko.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.inventory import Host
from runner.sshconfig_read import (
    _TOKENS,
    _percent,
)
from runner.sshconfig_read import (
    ALIVE_COUNT as ALIVE_COUNT,
)
from runner.sshconfig_read import (
    ALIVE_INTERVAL as ALIVE_INTERVAL,
)
from runner.sshconfig_read import (
    CONNECT_TIMEOUT as CONNECT_TIMEOUT,
)
from runner.sshconfig_read import (
    HARMLESS as HARMLESS,
)
from runner.sshconfig_read import (
    HONOURED as HONOURED,
)
from runner.sshconfig_read import (
    MAX_HOPS as MAX_HOPS,
)
from runner.sshconfig_read import (
    MAX_INCLUDE_DEPTH as MAX_INCLUDE_DEPTH,
)
from runner.sshconfig_read import (
    ONLY_VALUES as ONLY_VALUES,
)
from runner.sshconfig_read import (
    REFUSED as REFUSED,
)
from runner.sshconfig_read import (
    Setting as Setting,
)
from runner.sshconfig_read import (
    lookup as lookup,
)
from runner.sshconfig_read import (
    match_patterns as match_patterns,
)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one host (or one bastion on the way to it), fully resolved."""

    name: str
    address: str
    port: int
    user: str
    key_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    strict: str = "yes"  # "yes" or "accept-new"
    connect_timeout: float = CONNECT_TIMEOUT
    identities_only: bool = False
    agent: str | None = ""  # "" the environment's agent; None no agent; else a socket path
    global_known_hosts: tuple[str, ...] = ()
    host_key_alias: str | None = None
    hash_known_hosts: bool = False
    alive_interval: int = ALIVE_INTERVAL
    alive_count: int = ALIVE_COUNT
    jump: Endpoint | None = None  # the bastion this host is reached through (ProxyJump)
    proxy_command: str | None = None  # the command whose stdio is the connection (ProxyCommand)
    origin: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def known_name(self) -> str:
        """The name this host's key is looked up and recorded under in known_hosts."""
        if self.host_key_alias:
            return self.host_key_alias
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    def hops(self) -> list[Endpoint]:
        """The bastions in the order they are connected (first hop first), without this host."""
        out: list[Endpoint] = []
        hop = self.jump
        while hop is not None:
            out.insert(0, hop)
            hop = hop.jump
        return out

    def path(self) -> str:
        """How this host is reached: ``direct``, ``via b1 -> b2`` or ``via ProxyCommand``."""
        hops = self.hops()
        first = hops[0] if hops else self
        lead = ["ProxyCommand"] if first.proxy_command else []
        names = lead + [h.name for h in hops]
        return "via " + " -> ".join(names) if names else "direct"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "known_hosts": list(self.known_hosts),
            "strict_host_key_checking": self.strict,
            "path": self.path(),
        }
        if self.host_key_alias:
            out["host_key_alias"] = self.host_key_alias
        hops = self.hops()
        if hops:
            out["via"] = [{"name": h.name, "address": h.address, "port": h.port, "user": h.user} for h in hops]
        first = hops[0] if hops else self
        if first.proxy_command:
            out["proxy_command"] = first.proxy_command
        return out


# --- tokens ---------------------------------------------------------------------------------------


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _env(value: str, where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise InputError(f"environment variable {m.group(1)} is not set", where=where)
        return os.environ[m.group(1)]

    return _ENV.sub(sub, value)


def _path(value: str, tokens: dict[str, str], where: str, key: str) -> str:
    return os.path.expanduser(_env(_percent(value, tokens, _TOKENS[key], where), where))


# --- resolution -----------------------------------------------------------------------------------


def _yes(s: Setting | None, default: bool = False) -> bool:
    return default if s is None else s.args[0].lower() in ("yes", "true")


def _int(s: Setting | None, default: int, key: str, low: int = 0) -> int:
    if s is None:
        return default
    try:
        value = int(s.args[0])
    except ValueError:
        raise InputError(f"{key} must be a whole number, got {s.args[0]!r}", where=s.where) from None
    if value < low:
        raise InputError(f"{key} must be at least {low}", where=s.where)
    return value


def _jump_specs(s: Setting) -> list[tuple[str | None, str, int | None]]:
    """ProxyJump ``[user@]host[:port]`` or ``ssh://[user@]host[:port]``, comma-separated."""
    out: list[tuple[str | None, str, int | None]] = []
    for part in ",".join(s.args).split(","):
        spec = part.strip()
        if spec.startswith("ssh://"):
            spec = spec[len("ssh://") :].rstrip("/")
        if not spec:
            raise InputError("empty ProxyJump hop", where=s.where)
        user, _, hostport = spec.rpartition("@")
        port: int | None = None
        host = hostport
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", hostport) or re.fullmatch(r"([^:]+)(?::(\d+))?", hostport)
        if m is None:
            raise InputError(f"bad ProxyJump hop {part!r}", where=s.where, hint="[user@]host[:port]")
        host = m.group(1)
        if m.group(2):
            port = int(m.group(2))
            if not 0 < port < 65536:
                raise InputError(f"bad port in ProxyJump hop {part!r}", where=s.where)
        out.append((user or None, host, port))
    return out


class Resolver:
    """Resolves hosts (and their bastions) against one config file."""

    def __init__(self, path: Path | None, *, home: Path | None = None, local_user: str | None = None) -> None:
        self.path = path if path is not None and path.is_file() else None
        self.home = home or Path.home()
        self.local_user = local_user or getpass.getuser()

    def entry(self, name: str) -> dict[str, Setting]:
        if self.path is None:
            return {}
        return lookup(name, self.path, home=self.home, local_user=self.local_user)

    def endpoint(
        self,
        name: str,
        *,
        address: str | None = None,
        port: int | None = None,
        user: str | None = None,
        keys: tuple[str, ...] = (),
        forced_jump: Endpoint | None = None,
        seen: tuple[str, ...] = (),
    ) -> Endpoint:
        """The endpoint for ``name``: explicit values win over the config's, as on ssh's command line."""
        if len(seen) > MAX_HOPS:
            raise InputError(f"more than {MAX_HOPS} bastions on the way to {seen[0]}", where=self._where())
        if name in seen:
            chain = " -> ".join([*seen, name])
            raise InputError(f"ProxyJump loop: {chain}", where=self._where())
        e = self.entry(name)
        where = {k: s.where for k, s in e.items()}
        hn = e.get("hostname")
        addr = address or (_percent(hn.args[0], {"h": name}, _TOKENS["hostname"], hn.where) if hn else name)
        the_port = port or _int(e.get("port"), 22, "Port", 1)
        if the_port > 65535:
            raise InputError("Port must be 1-65535", where=where.get("port"))
        the_user = user or (e["user"].args[0] if "user" in e else self.local_user)
        tokens = {
            "h": addr,
            "n": name,
            "p": str(the_port),
            "r": the_user,
            "u": self.local_user,
            "l": socket.gethostname().split(".")[0],
            "L": socket.gethostname(),
            "d": str(self.home),
            "i": str(os.getuid()),
            "k": e["hostkeyalias"].args[0] if "hostkeyalias" in e else addr,
        }
        keyfiles = list(keys)
        if "identityfile" in e:
            s = e["identityfile"]
            keyfiles += [_path(a, tokens, s.where, "identityfile") for a in s.args if a.lower() != "none"]
        known = e.get("userknownhostsfile")
        known_files = (
            tuple(_path(a, tokens, known.where, "userknownhostsfile") for a in known.args if a.lower() != "none")
            if known
            else (os.path.join(self.home, ".ssh", "known_hosts"),)
        )
        gk = e.get("globalknownhostsfile")
        global_files = (
            tuple(os.path.expanduser(a) for a in gk.args if a.lower() != "none")
            if gk
            else ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
        )
        strict_s = e.get("stricthostkeychecking")
        strict = strict_s.args[0].lower() if strict_s else "yes"
        # Only accept-new relaxes anything; "no"/"off"/"ask" are treated as strict on purpose.
        strict = "accept-new" if strict == "accept-new" else "yes"
        agent_s = e.get("identityagent")
        agent: str | None = ""  # the environment's SSH_AUTH_SOCK, as paramiko's Agent reads it
        if agent_s is not None:
            value = agent_s.args[0]
            if value.lower() == "none":
                agent = None
            elif value.startswith("$"):  # ssh: a value starting with $ names the variable holding the path
                agent = os.environ.get(value[1:].strip("{}")) or None
            elif value != "SSH_AUTH_SOCK":
                agent = _path(value, tokens, agent_s.where, "identityagent")
        timeout_s = e.get("connecttimeout")
        timeout = float(_int(timeout_s, int(CONNECT_TIMEOUT), "ConnectTimeout", 1)) if timeout_s else CONNECT_TIMEOUT
        jump: Endpoint | None = forced_jump
        proxy: str | None = None
        if forced_jump is None:
            pj, pc = e.get("proxyjump"), e.get("proxycommand")
            if pj is not None and pj.args[0].lower() != "none":
                jump = self._chain(pj, (*seen, name))
            elif pc is not None and pc.raw.lower() != "none":
                proxy = _percent(pc.raw, tokens, _TOKENS["proxycommand"], pc.where)
        return Endpoint(
            name=name,
            address=addr,
            port=the_port,
            user=the_user,
            key_files=tuple(keyfiles),
            known_hosts=known_files,
            strict=strict,
            connect_timeout=timeout,
            identities_only=_yes(e.get("identitiesonly")),
            agent=agent,
            global_known_hosts=global_files,
            host_key_alias=e["hostkeyalias"].args[0] if "hostkeyalias" in e else None,
            hash_known_hosts=_yes(e.get("hashknownhosts")),
            alive_interval=_int(e.get("serveraliveinterval"), ALIVE_INTERVAL, "ServerAliveInterval"),
            alive_count=_int(e.get("serveralivecountmax"), ALIVE_COUNT, "ServerAliveCountMax", 1),
            jump=jump,
            proxy_command=proxy,
            origin=where,
        )

    def _chain(self, s: Setting, seen: tuple[str, ...]) -> Endpoint:
        """``ProxyJump a,b``: a is reached as its own config says; b through a; the host through b."""
        hop: Endpoint | None = None
        for user, host, port in _jump_specs(s):
            hop = self.endpoint(host, user=user, port=port, forced_jump=hop, seen=seen)
        assert hop is not None
        return hop

    def _where(self) -> str | None:
        return str(self.path) if self.path else None


def resolve(host: Host, ssh_config: Path | None) -> Endpoint:
    """Combine inventory vars (which win, as in Ansible) with the OpenSSH config's entry for the host."""
    port = host.var("ansible_port")
    key = host.var("ansible_ssh_private_key_file")
    return Resolver(ssh_config).endpoint(
        host.name,
        address=str(host.var("ansible_host")) if host.var("ansible_host") else None,
        port=int(port) if port else None,
        user=str(host.var("ansible_user")) if host.var("ansible_user") else None,
        keys=(os.path.expanduser(os.path.expandvars(str(key))),) if key else (),
    )


def config_path(host: Host, override: Path | None) -> Path:
    """The config a host is resolved with: --ssh-config, else its ``ssh_config`` var, else ~/.ssh/config."""
    if override is not None:
        chosen, where = override, "--ssh-config"
    elif host.var("ssh_config"):
        chosen, where = Path(str(host.var("ssh_config"))).expanduser(), f"{host.name}: ssh_config"
    else:
        return Path("~/.ssh/config").expanduser()  # absent: read as empty, as ssh does
    if not chosen.is_file():
        # ssh -F refuses a config that is not there: so do we, rather than connect with none
        raise InputError(f"no OpenSSH config at {chosen}", where=where, hint="check the path; nothing was run")
    return chosen


def check(hosts: list[Host], override: Path | None) -> None:
    """Resolve every host now: the first refused directive raises InputError before any host is touched."""
    for h in hosts:
        resolve(h, config_path(h, override))
