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
import glob
import os
import re
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.inventory import Host

CONNECT_TIMEOUT = 10.0
ALIVE_INTERVAL = 15  # ServerAliveInterval when the config sets none (ssh's default 0 would wait forever)
ALIVE_COUNT = 3  # ServerAliveCountMax (ssh's default)
MAX_INCLUDE_DEPTH = 16  # ssh's READCONF_MAX_DEPTH
MAX_HOPS = 8

# Directives the runner honours (read by resolve()).
HONOURED = frozenset(
    {
        "host", "match", "include", "hostname", "port", "user", "identityfile", "identitiesonly",
        "identityagent", "userknownhostsfile", "globalknownhostsfile", "stricthostkeychecking",
        "hostkeyalias", "proxyjump", "proxycommand", "connecttimeout", "serveraliveinterval",
        "serveralivecountmax", "hashknownhosts",
    }
)  # fmt: skip

# Directives accepted and ignored, each with why ignoring it changes neither where nor how we connect.
HARMLESS: dict[str, str] = {
    "addkeystoagent": "the runner never adds keys to an agent",
    "batchmode": "the runner never prompts: it always runs as ssh does in batch mode",
    "checkhostip": "an extra IP check in known_hosts; the host name check is always made",
    "clearallforwardings": "the runner opens no forwarding",
    "compression": "payload compression only",
    "connectionattempts": "connection retries are the runner's own bounded policy",
    "controlpersist": "meaningless without ControlMaster, which is refused",
    "escapechar": "interactive sessions only",
    "exitonforwardfailure": "the runner opens no forwarding",
    "fingerprinthash": "how fingerprints are displayed",
    "forwardagent": "the runner never forwards an agent (safer than yes)",
    "forwardx11": "the runner opens no X11 channel",
    "forwardx11timeout": "the runner opens no X11 channel",
    "forwardx11trusted": "the runner opens no X11 channel",
    "localforward": "the runner opens no forwarding",
    "remoteforward": "the runner opens no forwarding",
    "dynamicforward": "the runner opens no forwarding",
    "gssapiauthentication": "an extra authentication method the runner does not try",
    "gssapidelegatecredentials": "the runner does not use GSSAPI",
    "hostbasedauthentication": "an extra authentication method the runner does not try",
    "ignoreunknown": "honoured: unknown directives it names are ignored, as ssh does",
    "ipqos": "packet priority only",
    "kbdinteractiveauthentication": "the runner never prompts",
    "challengeresponseauthentication": "the runner never prompts",
    "passwordauthentication": "the runner never prompts for a password",
    "numberofpasswordprompts": "the runner never prompts",
    "preferredauthentications": "the runner uses public keys only",
    "pubkeyauthentication": "the runner uses public keys only",
    "loglevel": "ssh's own log verbosity",
    "requesttty": "the runner never asks for a terminal",
    "sendenv": "the runner sends no environment",
    "setenv": "the runner sends no environment",
    "tcpkeepalive": "kernel keepalive; ServerAliveInterval is the runner's liveness check",
    "updatehostkeys": "the runner never rewrites known_hosts entries",
    "visualhostkey": "display only",
    "xauthlocation": "the runner opens no X11 channel",
    "canonicaldomains": "only used by CanonicalizeHostname yes, which is refused",
    "canonicalizefallbacklocal": "only used by CanonicalizeHostname yes, which is refused",
    "canonicalizemaxdots": "only used by CanonicalizeHostname yes, which is refused",
    "canonicalizepermittedcnames": "only used by CanonicalizeHostname yes, which is refused",
    "streamlocalbindmask": "the runner opens no forwarding",
    "streamlocalbindunlink": "the runner opens no forwarding",
    "obscurekeystroketiming": "interactive sessions only",
    "enablesshkeysign": "host-based authentication only",
    "stdinnull": "the ssh program's own stdin",
    "forkafterauthentication": "the ssh program's own process handling",
    "usekeychain": "macOS agent convenience",
}

# Directives accepted only with these values (any other value changes where or how ssh connects).
ONLY_VALUES: dict[str, tuple[str, ...]] = {
    "addressfamily": ("any",),
    "bindaddress": (),
    "bindinterface": (),
    "canonicalizehostname": ("no", "false"),
    "controlmaster": ("no", "false"),
    "controlpath": ("none",),
    "permitlocalcommand": ("no", "false"),
    "proxyusefdpass": ("no", "false"),
    "remotecommand": ("none",),
    "sessiontype": ("default",),
    "tunnel": ("no", "false"),
    "verifyhostkeydns": ("no", "false"),
    "nohostauthenticationforlocalhost": ("no", "false"),
}

# Directives refused whatever their value, and why.
REFUSED: dict[str, str] = {
    "localcommand": "runs a local command",
    "knownhostscommand": "runs a command to decide the host key",
    "tunneldevice": "tun devices are not supported",
    "ciphers": "algorithm restrictions are not applied by the runner's SSH library",
    "macs": "algorithm restrictions are not applied by the runner's SSH library",
    "kexalgorithms": "algorithm restrictions are not applied by the runner's SSH library",
    "hostkeyalgorithms": "algorithm restrictions are not applied by the runner's SSH library",
    "pubkeyacceptedalgorithms": "algorithm restrictions are not applied by the runner's SSH library",
    "pubkeyacceptedkeytypes": "algorithm restrictions are not applied by the runner's SSH library",
    "hostbasedacceptedalgorithms": "algorithm restrictions are not applied by the runner's SSH library",
    "casignaturealgorithms": "certificates are not supported",
    "requiredrsasize": "key size policy is not applied by the runner's SSH library",
    "certificatefile": "certificates are not supported",
    "pkcs11provider": "hardware tokens are not supported",
    "securitykeyprovider": "hardware tokens are not supported",
    "revokedhostkeys": "revoked host key lists are not checked",
    "rekeylimit": "rekeying limits are not applied",
    "tag": "Match tagged is not supported",
    "protocol": "SSH protocol 1 settings are not supported",
}

# Directives that take % tokens (and ${ENV} / ~), with the tokens ssh allows there.
_PATH_TOKENS = "%dhiklLnpru"
_TOKENS: dict[str, str] = {
    "hostname": "%h",
    "proxycommand": "%hnpr",
    "identityfile": _PATH_TOKENS,
    "identityagent": _PATH_TOKENS,
    "userknownhostsfile": _PATH_TOKENS,
}
_MULTI = frozenset({"identityfile"})  # every value is kept; for every other directive the first wins
_MATCH_REFUSED = {
    "exec": "runs a local command",
    "canonical": "needs CanonicalizeHostname, which is refused",
    "final": "needs a second configuration pass, which is not supported",
    "localnetwork": "depends on the local interfaces",
    "tagged": "needs Tag, which is refused",
}


@dataclass(frozen=True)
class Setting:
    """One directive's value as ssh would use it, and where it was written."""

    args: tuple[str, ...]
    raw: str  # the rest of the line, verbatim (ProxyCommand keeps its quoting)
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


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


# --- reading files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    number: int
    keyword: str  # lower case
    args: tuple[str, ...]
    raw: str
    spelled: str  # as written, for messages


def _split(text: str, where: str) -> tuple[str, ...]:
    """ssh's argv_split: whitespace-separated words, "double" and 'single' quotes, # starts a comment."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < len(text) and text[i + 1] in '"\\':
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
        elif c in " \t":
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        elif c == "#" and not in_word:
            break
        elif c in "\"'":
            quote, in_word = c, True
        elif c == "\\" and i + 1 < len(text):
            i += 1
            cur.append(text[i])
            in_word = True
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise InputError("unterminated quote", where=where)
    if in_word:
        words.append("".join(cur))
    return tuple(words)


_KEYWORD = re.compile(r"\s*([^\s=]+)(?:\s*=\s*|\s+|$)(.*)$")


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int) -> tuple[_Line, ...]:
    """One file's directive lines (cached per file version: a fleet looks every host up in it)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read OpenSSH config: {exc.strerror}", path=path) from None
    out: list[_Line] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _KEYWORD.match(line)
        if m is None:  # pragma: no cover - the pattern matches any non-blank line
            continue
        raw = m.group(2).strip()
        args = _split(raw, f"{path}:{number}")
        out.append(_Line(number, m.group(1).lower(), args, raw, m.group(1)))
    return tuple(out)


def _lines(path: str) -> tuple[_Line, ...]:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise InputError(f"cannot read OpenSSH config: {exc.strerror}", path=path) from None
    return _read(path, mtime)


# --- patterns -------------------------------------------------------------------------------------


def _match_one(name: str, pattern: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, name, flags=re.DOTALL) is not None


def match_patterns(name: str, patterns: list[str]) -> bool:
    """ssh's pattern list: true when a pattern matches and no negated (!) pattern does."""
    hit = False
    for p in patterns:
        if p.startswith("!"):
            if _match_one(name, p[1:]):
                return False
        elif _match_one(name, p):
            hit = True
    return hit


# --- evaluation -----------------------------------------------------------------------------------


class _Lookup:
    """One pass over the config for one host name, as ssh's readconf makes it."""

    def __init__(self, name: str, home: Path, local_user: str) -> None:
        self.name = name.lower()
        self.home = home
        self.local_user = local_user
        self.found: dict[str, list[Setting]] = {}
        self.stack: list[str] = []
        self.active = True

    def first(self, key: str) -> Setting | None:
        values = self.found.get(key)
        return values[0] if values else None

    def run(self, path: str) -> dict[str, list[Setting]]:
        self._file(path, never=False, depth=0)
        return self.found

    def _file(self, path: str, never: bool, depth: int) -> None:
        real = os.path.realpath(path)
        self.stack.append(real)
        try:
            for ln in _lines(path):
                self._line(path, ln, never, depth)
        finally:
            self.stack.pop()

    def _line(self, path: str, ln: _Line, never: bool, depth: int) -> None:
        where = f"{path}:{ln.number}"
        key = ln.keyword
        if key == "host":
            if not ln.args:
                raise InputError("Host needs at least one pattern", where=where)
            self.active = not never and match_patterns(self.name, list(ln.args))
            return
        if key == "match":
            self.active = not never and self._match(ln, where)
            return
        if key == "include":
            self._include(path, ln, where, never or not self.active, depth)
            return
        known = key in HONOURED or key in HARMLESS or key in ONLY_VALUES or key in REFUSED
        if not known:
            ignore = self.first("ignoreunknown")
            if ignore is not None and match_patterns(key, [p.lower() for a in ignore.args for p in a.split(",")]):
                return
            raise InputError(f"unknown OpenSSH directive {ln.spelled!r}", where=where, hint="remove it")
        if not self.active or never:
            return
        if not ln.args:
            raise InputError(f"{ln.spelled} needs a value", where=where)
        if key in REFUSED:
            raise InputError(
                f"OpenSSH directive {ln.spelled} is not supported: {REFUSED[key]}",
                where=where,
                hint="remove it for the hosts remediate reaches",
            )
        if key in ONLY_VALUES and ln.args[0].lower() not in ONLY_VALUES[key]:
            allowed = " or ".join(ONLY_VALUES[key]) or "unset"
            raise InputError(
                f"OpenSSH directive {ln.spelled} {ln.raw} is not supported (only {allowed})",
                where=where,
                hint="it would change where or how ssh connects; remove it for these hosts",
            )
        setting = Setting(ln.args, ln.raw, path, ln.number)
        if key in ("proxyjump", "proxycommand") and (self.first("proxyjump") or self.first("proxycommand")):
            return  # ssh: whichever of the two comes first wins
        if key in _MULTI or key not in self.found:
            self.found.setdefault(key, []).append(setting)

    def _match(self, ln: _Line, where: str) -> bool:
        words = list(ln.args)
        if not words:
            raise InputError("Match needs criteria", where=where)
        result = True
        i = 0
        while i < len(words):
            word = words[i]
            negate = word.startswith("!")
            crit = word[1:].lower() if negate else word.lower()
            i += 1
            if crit == "all":
                continue
            if crit in _MATCH_REFUSED:
                if result:
                    raise InputError(
                        f"Match {crit} is not supported: {_MATCH_REFUSED[crit]}",
                        where=where,
                        hint="use Host or Match host for the hosts remediate reaches",
                    )
                i += 0 if crit in ("canonical", "final") else 1
                continue
            if crit not in ("host", "originalhost", "user", "localuser"):
                raise InputError(f"unknown Match criterion {crit!r}", where=where)
            if i >= len(words):
                raise InputError(f"Match {crit} needs an argument", where=where)
            patterns = [p for p in words[i].split(",") if p]
            i += 1
            if crit == "host":
                hostname = self.first("hostname")
                subject = _percent(hostname.args[0], {"h": self.name}, "%h", where) if hostname else self.name
                hit = match_patterns(subject.lower(), [p.lower() for p in patterns])
            elif crit == "originalhost":
                hit = match_patterns(self.name, [p.lower() for p in patterns])
            elif crit == "user":
                user = self.first("user")
                hit = match_patterns(user.args[0] if user else self.local_user, patterns)
            else:
                hit = match_patterns(self.local_user, patterns)
            if hit == negate:
                result = False
        return result

    def _include(self, path: str, ln: _Line, where: str, never: bool, depth: int) -> None:
        if not ln.args:
            raise InputError("Include needs a file", where=where)
        if depth + 1 > MAX_INCLUDE_DEPTH:
            raise InputError(f"Include nested deeper than {MAX_INCLUDE_DEPTH} files", where=where)
        saved = self.active
        for arg in ln.args:
            pattern = os.path.expanduser(arg) if arg.startswith("~") else arg
            if not os.path.isabs(pattern):
                pattern = str(self.home / ".ssh" / pattern)
            for target in sorted(glob.glob(pattern)):
                if os.path.isdir(target):
                    continue
                if os.path.realpath(target) in self.stack:
                    raise InputError(f"Include loop: {target} is already being read", where=where)
                self._file(target, never, depth + 1)
                self.active = saved  # a Host or Match inside an included file ends with it


def lookup(name: str, path: Path, *, home: Path | None = None, local_user: str | None = None) -> dict[str, Setting]:
    """The config entry ssh would use for ``name``: first value of each directive (IdentityFile: all)."""
    found = _Lookup(name, home or Path.home(), local_user or getpass.getuser()).run(str(path))
    out = {k: v[0] for k, v in found.items()}
    if "identityfile" in found:
        files = tuple(a for s in found["identityfile"] for a in s.args)
        first = found["identityfile"][0]
        out["identityfile"] = Setting(files, " ".join(files), first.path, first.line)
    return out


# --- tokens ---------------------------------------------------------------------------------------


def _percent(value: str, tokens: dict[str, str], allowed: str, where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(value):
            raise InputError(f"a lone % at the end of {value!r}", where=where)
        t = value[i + 1]
        if t == "%":
            out.append("%")
        elif t in allowed[1:] and t in tokens:
            out.append(tokens[t])
        else:
            raise InputError(f"token %{t} is not supported here", where=where, hint=f"supported: {allowed}")
        i += 2
    return "".join(out)


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
        return override
    value = host.var("ssh_config")
    return Path(str(value)).expanduser() if value else Path("~/.ssh/config").expanduser()


def check(hosts: list[Host], override: Path | None) -> None:
    """Resolve every host now: the first refused directive raises InputError before any host is touched."""
    for h in hosts:
        resolve(h, config_path(h, override))
