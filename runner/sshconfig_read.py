"""OpenSSH client config files, read as ``ssh`` reads them: the directives that apply to one host name.

Owns: which directives the runner honours, accepts as harmless, or refuses (the tables), tokenizing
``ssh_config`` files while tracking ``file:line`` through ``Include`` (globs, relative paths under
``~/.ssh``, loops refused), ``Host`` and ``Match host/originalhost/user/localuser/all`` blocks, and
first-value-wins. Must not: expand tokens, resolve bastions (that is :mod:`runner.sshconfig`), run
anything (``Match exec`` is refused, never run), or import paramiko.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from runner.errors import InputError

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
