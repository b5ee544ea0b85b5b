"""Where and how to reach each host, as ``ssh`` would: ``ssh -G`` resolves, this module maps its answer.

Owns: the :class:`Endpoint` of a host (with its bastion chain: ``ProxyJump`` hops, each resolved by
``ssh -G`` as ssh resolves a jump host, or ``ProxyCommand``), built from ``ssh -G``'s answer with the
inventory's ``ansible_host``/``ansible_port``/``ansible_user`` given as on ssh's command line (they
win); ``%`` tokens, ``~`` and ``${ENV}`` in the values ssh -G leaves unexpanded; the algorithm lists
mapped onto what the runner's SSH library implements (:data:`LIBRARY`; nothing in common is refused);
the directives ignored for a host (``remediate hosts`` shows them); and every directive that would
change where or how ssh connects and that the runner cannot honour refused with an :class:`InputError`
at its ``file:line``, before any host is touched. Must not: open a connection or import paramiko.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import sshconfig_read as g
from runner.errors import InputError
from runner.inventory import Host
from runner.sshconfig_read import Directive, Options

CONNECT_TIMEOUT = 10.0
ALIVE_INTERVAL = 15  # ServerAliveInterval when the config sets none or 0 (ssh's "never" would wait forever)
ALIVE_COUNT = 3  # ServerAliveCountMax (ssh's default)
MAX_HOPS = 8
RESOLVE_THREADS = 16  # ssh -G runs at once when a whole fleet is checked

# What the runner's SSH library (paramiko, behind runner.transport) implements, per algorithm directive;
# tests/unit/test_ssh_g.py checks it against the installed paramiko.
LIBRARY: dict[str, tuple[str, ...]] = {
    "ciphers": (
        "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
        "aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc",
    ),
    "macs": (
        "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
        "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96",
    ),
    "kexalgorithms": (
        "mlkem768x25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521", "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group14-sha256",
    ),
    "hostkeyalgorithms": (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
        "rsa-sha2-256",
    ),
    "pubkeyacceptedalgorithms": (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
        "rsa-sha2-256", "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
    ),
}  # fmt: skip
# one algorithm under two names: OpenSSH's name -> the library's
ALIASES = {"curve25519-sha256": "curve25519-sha256@libssh.org"}
# what an algorithm a config adds is, when the library does not offer it (``remediate hosts`` and a failed
# negotiation say so)
NOT_OFFERED = "not offered by the SSH library"
KINDS = {"ssh-rsa": "SHA-1", "ssh-rsa-cert-v01@openssh.com": "SHA-1", "ssh-dss": "DSA",
         "ssh-dss-cert-v01@openssh.com": "DSA"}  # fmt: skip


def lacks(algorithm: str) -> str:
    """``algorithm`` and why it is not used: ``ssh-rsa (SHA-1): not offered by the SSH library; ...``."""
    kind = KINDS.get(algorithm) or ("FIDO" if algorithm.startswith(("sk-", "webauthn-sk-")) else "")
    head = f"{algorithm} ({kind})" if kind else algorithm
    tail = "; rsa-sha2-256/512 are used with RSA keys" if algorithm.startswith("ssh-rsa") else ""
    return f"{head}: {NOT_OFFERED}{tail}"


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
    certificate_files: tuple[str, ...] = ()
    address_family: str = "any"  # "any", "inet" or "inet6"
    bind_address: str | None = None
    compression: bool = False
    required_rsa_size: int = 1024
    # algorithm lists in ssh's order, each within LIBRARY; () is the library's own default
    ciphers: tuple[str, ...] = ()
    macs: tuple[str, ...] = ()
    kex: tuple[str, ...] = ()
    host_key_types: tuple[str, ...] = ()
    pubkey_types: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str, str], ...] = ()  # (directive, value, why) set for this host but ignored
    # (directive, algorithm): what the config adds to ssh's own list that the library does not offer
    not_offered: tuple[tuple[str, str], ...] = ()

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
        if self.ignored:
            out["ignored"] = [{"directive": d, "value": v, "why": w} for d, v, w in self.ignored]
        if self.not_offered:
            out["not_offered"] = [{"directive": d, "algorithm": a, "note": lacks(a)} for d, a in self.not_offered]
        return out


# --- tokens ---------------------------------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PATH_TOKENS = "dhijkLlnpru"  # IdentityFile, CertificateFile, IdentityAgent (ssh_config(5) TOKENS), less %C
PROXY_TOKENS = "hnpr"
At = Callable[[], str]  # the ``file:line`` of a value, asked only when it is refused


def expand(value: str, tokens: dict[str, str], allowed: str, at: At, *, path: bool = True) -> str:
    """ssh's expansion of a value: ``~`` (the login's home), ``${ENV}``, then ``%`` tokens; ``at`` gives
    the ``file:line`` of a value refused."""
    if path and value.startswith("~"):
        head, sep, rest = value[1:].partition("/")
        try:
            base = g.home() if not head else pwd.getpwnam(head).pw_dir
        except KeyError:
            raise InputError(f"no such user in {value!r}", where=at()) from None
        value = base + sep + rest

    def env(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise InputError(f"environment variable {m.group(1)} is not set", where=at())
        return os.environ[m.group(1)]

    if path:
        value = _ENV.sub(env, value)
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        t = value[i + 1] if i + 1 < len(value) else ""
        if t == "%":
            out.append("%")
        elif t and t in allowed:
            out.append(tokens[t])
        else:
            shown = f"%{t}" if t else "a lone %"
            raise InputError(
                f"token {shown} is not supported here", where=at(), hint=f"supported: %{' %'.join(allowed)}"
            )
        i += 2
    return "".join(out)


def _tokens(name: str, opts: Options) -> dict[str, str]:
    local = socket.gethostname()
    return {
        "d": g.home(),
        "h": _one(opts, "hostname", name),
        "i": str(os.getuid()),
        "j": _one(opts, "proxyjump", ""),
        "k": _one(opts, "hostkeyalias", name),
        "L": local.split(".")[0],
        "l": local,
        "n": name,
        "p": _one(opts, "port", "22"),
        "r": _one(opts, "user", ""),
        "u": pwd.getpwuid(os.getuid()).pw_name,
    }


# --- resolution -----------------------------------------------------------------------------------


def _one(opts: Options, key: str, default: str) -> str:
    values = opts.get(key)
    return values[0] if values else default


def _int(opts: Options, key: str, default: int, query: g.Query) -> int:
    value = _one(opts, key, "")
    if value in ("", "none"):
        return default
    try:
        return int(value)
    except ValueError:
        d = g.BY_KEY[key]
        raise InputError(f"{d.name} {value!r} is not a whole number", where=_where(query, key)) from None


def _jump_specs(spec_text: str, at: At) -> list[tuple[str | None, str, int | None]]:
    """ProxyJump ``[user@]host[:port]`` or ``ssh://[user@]host[:port]``, comma-separated."""
    out: list[tuple[str | None, str, int | None]] = []
    for part in spec_text.split(","):
        spec = part.strip()
        if spec.startswith("ssh://"):
            spec = spec[len("ssh://") :].rstrip("/")
        user, _, hostport = spec.rpartition("@")
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", hostport) or re.fullmatch(r"([^:]+)(?::(\d+))?", hostport)
        if m is None:
            raise InputError(f"bad ProxyJump hop {part!r}", where=at(), hint="[user@]host[:port]")
        port = int(m.group(2)) if m.group(2) else None
        out.append((user or None, m.group(1), port))
    return out


def _where(query: g.Query, key: str, value: str | None = None) -> str:
    """``file:line`` of the line that set ``key`` for this host (run only for an error: it asks ssh again)."""
    d = g.BY_KEY.get(key) or Directive(key, g.REFUSED, "")
    return g.locate(query, d, value) or str(query.config or g.default_config())


def _at(query: g.Query, key: str, value: str | None = None) -> At:
    return lambda: _where(query, key, value)


def _refuse(opts: Options, query: g.Query) -> list[tuple[str, str, str]]:
    """Raise for a refused directive ssh resolved for this host; return the ignored ones that are set."""
    base = g.baseline()
    ignored: list[tuple[str, str, str]] = []
    for key, values in opts.items():
        value = " ".join(values)
        d = g.BY_KEY.get(key)
        if d is None:
            if key in g.NOT_DIRECTIVES or base.get(key) == values:
                continue
            raise InputError(
                f"OpenSSH directive {key} {value} is not known to remediate",
                where=_where(query, key),
                hint="remove it for the hosts remediate reaches, or report it",
            )
        if d.status == g.REFUSED and (not d.allowed or value.lower() not in d.allowed):
            allowed = f" (only {' or '.join(d.allowed)})" if d.allowed else ""
            raise InputError(
                f"OpenSSH directive {d.name} {value} is not supported{allowed}: {d.why}",
                where=_where(query, key, value),
                hint="it would change where or how ssh connects; remove it for the hosts remediate reaches",
            )
        if d.status == g.IGNORED and base.get(key) != values and value.lower() not in d.allowed:
            ignored.append((d.name, value, d.why))
    return ignored


def _algorithms(opts: Options, key: str, query: g.Query) -> tuple[str, ...]:
    """ssh's list for one algorithm directive, in ssh's order, within what the library implements."""
    if key not in opts:
        return ()
    wanted = [ALIASES.get(a, a) for a in _one(opts, key, "").split(",") if a]
    got = tuple(dict.fromkeys(a for a in wanted if a in LIBRARY[key]))
    if not got:
        d = g.BY_KEY[key]
        raise InputError(
            f"{d.name} leaves no algorithm the runner's SSH library (paramiko) implements: ssh resolves it to "
            f"{_one(opts, key, '')}; paramiko offers {','.join(LIBRARY[key])}",
            where=_where(query, key),
            hint=f"add one that paramiko offers to {d.name} for the hosts remediate reaches",
        )
    return got


def _not_offered(opts: Options) -> tuple[tuple[str, str], ...]:
    """The algorithms the config adds to ssh's own lists (``+ssh-rsa``, or a list of its own) that the
    library does not implement: they are left out, silently for ssh's defaults, said for these."""
    base = g.baseline()
    out: list[tuple[str, str]] = []
    for key, offered in LIBRARY.items():
        if key not in opts:
            continue
        default = set(_one(base, key, "").split(","))
        for a in _one(opts, key, "").split(","):
            if a and a not in default and ALIASES.get(a, a) not in offered:
                out.append((g.BY_KEY[key].name, a))
    return tuple(out)


def _config_arg(path: Path | None) -> Path | None:
    """The ``-F`` file for ssh: None (ssh's own files) for the default ~/.ssh/config; /dev/null for an
    absent file (read as empty, as before any config existed)."""
    if path is None or path in (Path("~/.ssh/config").expanduser(), g.default_config()):
        return None
    return path if path.is_file() else Path(os.devnull)


class Resolver:
    """Resolves hosts (and their bastions) against one config file (None: the files ssh reads itself)."""

    def __init__(self, path: Path | None) -> None:
        self.config = _config_arg(path)

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
        cfg = self.config
        where = str(cfg or g.default_config())
        if len(seen) > MAX_HOPS:
            raise InputError(f"more than {MAX_HOPS} bastions on the way to {seen[0]}", where=where)
        if name in seen:
            raise InputError(f"ProxyJump loop: {' -> '.join([*seen, name])}", where=where)
        opts = g.ssh_g(name, cfg, hostname=address, port=port, user=user)
        query = g.Query(name, cfg, address, port, user)
        ignored = _refuse(opts, query)
        tokens = _tokens(name, opts)
        key_files = self._paths(opts, "identityfile", tokens, query)
        if opts.get("identityfile") == g.baseline().get("identityfile") and keys:
            key_files = ()  # ssh -i: the default identities only when no identity is given at all
        jump: Endpoint | None = forced_jump
        proxy: str | None = None
        if forced_jump is None:
            pj, pc = _one(opts, "proxyjump", "none"), _one(opts, "proxycommand", "none")
            if pj.lower() != "none":
                jump = self._chain(pj, (*seen, name), query)
            elif pc.lower() != "none":
                proxy = expand(pc, tokens, PROXY_TOKENS, _at(query, "proxycommand"), path=False)
        return Endpoint(
            name=name,
            address=tokens["h"],
            port=int(tokens["p"]),
            user=tokens["r"],
            key_files=tuple(keys) + key_files,
            known_hosts=self._files(opts, "userknownhostsfile"),
            strict="accept-new" if _one(opts, "stricthostkeychecking", "") == "accept-new" else "yes",
            connect_timeout=float(_int(opts, "connecttimeout", int(CONNECT_TIMEOUT), query)),
            identities_only=_one(opts, "identitiesonly", "no") == "yes",
            agent=self._agent(opts, tokens, query),
            global_known_hosts=self._files(opts, "globalknownhostsfile"),
            host_key_alias=_one(opts, "hostkeyalias", "") or None,
            hash_known_hosts=_one(opts, "hashknownhosts", "no") == "yes",
            alive_interval=_int(opts, "serveraliveinterval", 0, query) or ALIVE_INTERVAL,
            alive_count=max(1, _int(opts, "serveralivecountmax", ALIVE_COUNT, query)),
            jump=jump,
            proxy_command=proxy,
            certificate_files=self._paths(opts, "certificatefile", tokens, query),
            address_family=_one(opts, "addressfamily", "any"),
            bind_address=_one(opts, "bindaddress", "") or None,
            compression=_one(opts, "compression", "no") == "yes",
            required_rsa_size=_int(opts, "requiredrsasize", 1024, query),
            ciphers=_algorithms(opts, "ciphers", query),
            macs=_algorithms(opts, "macs", query),
            kex=_algorithms(opts, "kexalgorithms", query),
            host_key_types=_algorithms(opts, "hostkeyalgorithms", query),
            pubkey_types=_algorithms(opts, "pubkeyacceptedalgorithms", query),
            ignored=tuple(ignored),
            not_offered=_not_offered(opts),
        )

    def _paths(self, opts: Options, key: str, tokens: dict[str, str], query: g.Query) -> tuple[str, ...]:
        return tuple(expand(v, tokens, PATH_TOKENS, _at(query, key, v)) for v in opts.get(key, []) if v != "none")

    def _files(self, opts: Options, key: str) -> tuple[str, ...]:
        """Known-hosts files: ssh -G has expanded their tokens already."""
        files = " ".join(opts.get(key, [])).split()
        return tuple(os.path.expanduser(f) for f in files if f.lower() != "none")

    def _agent(self, opts: Options, tokens: dict[str, str], query: g.Query) -> str | None:
        value = _one(opts, "identityagent", "SSH_AUTH_SOCK")
        if value.lower() == "none":
            return None
        if value == "SSH_AUTH_SOCK":
            return ""  # the environment's SSH_AUTH_SOCK, as paramiko's Agent reads it
        if value.startswith("$"):  # ssh: a value starting with $ names the variable holding the path
            return os.environ.get(value[1:].strip("{}")) or None
        return expand(value, tokens, PATH_TOKENS, _at(query, "identityagent"))

    def _chain(self, spec: str, seen: tuple[str, ...], query: g.Query) -> Endpoint:
        """``ProxyJump a,b``: a is reached as its own config says; b through a; the host through b."""
        hop: Endpoint | None = None
        for user, host, port in _jump_specs(spec, _at(query, "proxyjump")):
            hop = self.endpoint(host, user=user, port=port, forced_jump=hop, seen=seen)
        assert hop is not None
        return hop


def resolve(host: Host, ssh_config: Path | None) -> Endpoint:
    """Combine inventory vars (which win, as in Ansible) with what ``ssh -G`` resolves for the host."""
    port = host.var("ansible_port")
    key = host.var("ansible_ssh_private_key_file")
    return Resolver(ssh_config).endpoint(
        host.name,
        address=str(host.var("ansible_host")) if host.var("ansible_host") else None,
        port=int(port) if port else None,
        user=str(host.var("ansible_user")) if host.var("ansible_user") else None,
        keys=(os.path.expanduser(os.path.expandvars(str(key))),) if key else (),
    )


def config_path(host: Host, override: Path | None) -> Path | None:
    """The config a host is resolved with: --ssh-config, else its ``ssh_config`` var, else None (the
    files ssh reads by default: ~/.ssh/config and /etc/ssh/ssh_config)."""
    if override is not None:
        chosen, where = override, "--ssh-config"
    elif host.var("ssh_config"):
        chosen, where = Path(str(host.var("ssh_config"))).expanduser(), f"{host.name}: ssh_config"
    else:
        return None
    if not chosen.is_file():
        # ssh -F refuses a config that is not there: so do we, rather than connect with none
        raise InputError(f"no OpenSSH config at {chosen}", where=where, hint="check the path; nothing was run")
    return chosen


def check(hosts: list[Host], override: Path | None) -> None:
    """Resolve every host now (``ssh -G`` for several at once): the first refusal, in host order, raises
    InputError before any host is touched."""
    paths = [config_path(h, override) for h in hosts]
    with ThreadPoolExecutor(max_workers=max(1, min(RESOLVE_THREADS, len(hosts)))) as pool:
        futures = [pool.submit(resolve, h, p) for h, p in zip(hosts, paths, strict=True)]
    for f in futures:
        f.result()


def lookup(name: str, path: Path | None) -> dict[str, str]:
    """What ``ssh -G`` resolves for ``name`` (first value of each option), without ``hostname`` when the
    config gives the host none of its own (so ``"hostname" in lookup(...)`` says the config knows it)."""
    opts = g.ssh_g(name, _config_arg(path))
    out = {k: v[0] for k, v in opts.items()}
    if out.get("hostname", "").lower() == name.lower():
        del out["hostname"]
    return out
