"""What OpenSSH itself says about a host: ``ssh -G``, the table of every ``ssh_config(5)`` directive, and
where in the config files a directive was written.

Owns: running ``ssh -G`` (``-F`` when a config file is given; ``-o``/``-p``/``-l`` for what the inventory
fixes) and reading its answer, ssh's own rejection of a config turned into an :class:`InputError` at
``file:line``, the answer ssh would give when it is not installed and no config file applies, the
classification of every directive (honoured, ignored and why, refused unless a value) with the
README table generated from it (``python -m runner.sshconfig_read --write``), and a light scan of
the config files (``Include`` followed) that only finds the ``file:line`` of a directive ssh -G
resolved, within the Host and Match blocks ssh says it applied (``ssh -G -vvv``, run only then).
Must not: decide how to connect (that is :mod:`runner.sshconfig`), import paramiko, or evaluate
``Host``/``Match`` itself (ssh does, ``Match exec`` included).
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from runner.errors import InputError

SSH = "ssh"
SSH_G_TIMEOUT = 30.0  # a Match exec command that hangs must not hang the run
MAX_INCLUDE_DEPTH = 16  # ssh's READCONF_MAX_DEPTH
SYSTEM_CONFIG = "/etc/ssh/ssh_config"
INSTALL_HINT = (
    "install the OpenSSH client: apt-get install openssh-client (Debian, Ubuntu), dnf install openssh-clients "
    "(RHEL); without any OpenSSH config file, hosts are reached with ssh's defaults and the inventory's vars"
)

Options = dict[str, list[str]]  # ssh -G's answer: lower-case key -> the value of each of its lines


# --- the directives of ssh_config(5) ---------------------------------------------------------------

HONOURED, IGNORED, REFUSED = "honoured", "ignored", "refused"


@dataclass(frozen=True)
class Directive:
    name: str
    status: str  # HONOURED, IGNORED, or REFUSED (unless ssh -G shows one of ``allowed``)
    why: str
    # REFUSED: the values (as ssh -G prints them) that are accepted; IGNORED: values not worth showing
    allowed: tuple[str, ...] = ()
    key: str = ""  # the key ssh -G prints it under, when it is not the lower-case name (an alias)

    @property
    def g_key(self) -> str:
        return self.key or self.name.lower()


_BY_SSH = "evaluated by `ssh -G`"
_NO_FWD = "the runner opens no forwarding"
_NO_X11 = "the runner opens no X11 channel"
_NO_PROMPT = "the runner never prompts"
_KEYS_ONLY = "the runner authenticates with public keys (and certificates) only"
_NO_GSS = "GSSAPI (Kerberos) is not used: " + _KEYS_ONLY
_CANON = "evaluated by `ssh -G`: the runner connects to the name it gives"
_ALGOS = (
    "ssh's resolved list (`+`, `-`, `^` applied) in ssh's order, less what the runner's SSH library lacks; "
    "nothing in common is refused, naming what the library offers"
)
_MUX = "ssh's own connection sharing (a master process and socket): the runner holds one connection per host"

DIRECTIVES: tuple[Directive, ...] = (
    Directive("Host", HONOURED, _BY_SSH + " (patterns, `!` negation)"),
    Directive("Match", HONOURED, _BY_SSH + ", every criterion, `exec` included (run locally, as ssh runs it)"),
    Directive("AddKeysToAgent", IGNORED, "the runner never adds keys to an agent"),
    Directive("AddressFamily", HONOURED, "only IPv4 (`inet`) or IPv6 (`inet6`) addresses are tried"),
    Directive("BatchMode", IGNORED, "the runner always runs as ssh does in batch mode: it never prompts"),
    Directive("BindAddress", HONOURED, "the TCP connection's local address (not with ProxyCommand, as in ssh)"),
    Directive("BindInterface", REFUSED, "binding to an interface is not implemented: use BindAddress"),
    Directive("CanonicalDomains", HONOURED, _CANON),
    Directive("CanonicalizeFallbackLocal", HONOURED, _CANON),
    Directive("CanonicalizeHostname", HONOURED, _CANON),
    Directive("CanonicalizeMaxDots", HONOURED, _CANON),
    Directive("CanonicalizePermittedCNAMEs", HONOURED, _CANON),
    Directive(
        "CASignatureAlgorithms", IGNORED, "host certificates are not accepted: host keys are checked in known_hosts"
    ),
    Directive("CertificateFile", HONOURED, "loaded onto its private key (identity file or agent) and offered first"),
    Directive("ChannelTimeout", IGNORED, "every command of the runner has its own timeout"),
    Directive("CheckHostIP", IGNORED, "an extra check of the IP address; the host key is always checked"),
    Directive("Ciphers", HONOURED, _ALGOS),
    Directive("ClearAllForwardings", IGNORED, _NO_FWD),
    Directive("Compression", HONOURED, "zlib compression is requested"),
    Directive("ConnectionAttempts", IGNORED, "connection retries are the runner's own bounded policy"),
    Directive("ConnectTimeout", HONOURED, "TCP connect, SSH banner and authentication, each attempt (default 10 s)"),
    Directive("ControlMaster", IGNORED, _MUX),
    Directive("ControlPath", IGNORED, _MUX),
    Directive("ControlPersist", IGNORED, _MUX),
    Directive("DynamicForward", IGNORED, _NO_FWD),
    Directive("EnableEscapeCommandline", IGNORED, "interactive sessions only"),
    Directive("EnableSSHKeysign", IGNORED, "host-based authentication is not used"),
    Directive("EscapeChar", IGNORED, "interactive sessions only"),
    Directive("ExitOnForwardFailure", IGNORED, _NO_FWD),
    Directive("FingerprintHash", IGNORED, "how ssh displays fingerprints"),
    Directive("ForkAfterAuthentication", IGNORED, "the ssh program's own process handling"),
    Directive("ForwardAgent", IGNORED, "the runner never forwards an agent"),
    Directive("ForwardX11", IGNORED, _NO_X11),
    Directive("ForwardX11Timeout", IGNORED, _NO_X11),
    Directive("ForwardX11Trusted", IGNORED, _NO_X11),
    Directive("GatewayPorts", IGNORED, _NO_FWD),
    Directive("GlobalKnownHostsFile", HONOURED, "host keys are looked up there too"),
    Directive("GSSAPIAuthentication", IGNORED, _NO_GSS),
    Directive("GSSAPIClientIdentity", IGNORED, _NO_GSS),
    Directive("GSSAPIDelegateCredentials", IGNORED, _NO_GSS),
    Directive("GSSAPIKeyExchange", IGNORED, _NO_GSS),
    Directive("GSSAPIKexAlgorithms", IGNORED, _NO_GSS),
    Directive("GSSAPIRenewalForcesRekey", IGNORED, _NO_GSS),
    Directive("GSSAPIServerIdentity", IGNORED, _NO_GSS),
    Directive("GSSAPITrustDns", IGNORED, _NO_GSS),
    Directive("HashKnownHosts", HONOURED, "a host key recorded by `StrictHostKeyChecking accept-new` is hashed"),
    Directive("HostbasedAcceptedAlgorithms", IGNORED, "host-based authentication is not used"),
    Directive("HostbasedKeyTypes", IGNORED, "host-based authentication is not used", key="hostbasedacceptedalgorithms"),
    Directive("HostbasedAuthentication", IGNORED, "host-based authentication is not used"),
    Directive("HostKeyAlgorithms", HONOURED, _ALGOS + " (certificate host key types are not offered)"),
    Directive("HostKeyAlias", HONOURED, "the name host keys are looked up and recorded under"),
    Directive("Hostname", HONOURED, "the address connected to"),
    Directive("IdentitiesOnly", HONOURED, "no agent key but those of the identity files"),
    Directive("IdentityAgent", HONOURED, "`none` disables the agent; a socket path is used as `SSH_AUTH_SOCK`"),
    Directive(
        "IdentityFile",
        HONOURED,
        "RSA, ECDSA and Ed25519 keys (a key with a passphrase only through the agent); sk-, XMSS, DSA keys are skipped",
    ),
    Directive("IgnoreUnknown", HONOURED, _BY_SSH),
    Directive("Include", HONOURED, _BY_SSH),
    Directive("IPQoS", IGNORED, "packet priority only"),
    Directive("KbdInteractiveAuthentication", IGNORED, _NO_PROMPT),
    Directive("KbdInteractiveDevices", IGNORED, _NO_PROMPT),
    Directive("ChallengeResponseAuthentication", IGNORED, _NO_PROMPT, key="kbdinteractiveauthentication"),
    Directive("KexAlgorithms", HONOURED, _ALGOS),
    Directive(
        "KnownHostsCommand", REFUSED, "runs a command to find host keys: the runner reads known_hosts files only"
    ),
    Directive("LocalCommand", IGNORED, "runs only with PermitLocalCommand yes, which is refused"),
    Directive("LocalForward", IGNORED, _NO_FWD),
    Directive("LogLevel", IGNORED, "ssh's own log"),
    Directive("LogVerbose", IGNORED, "ssh's own log"),
    Directive("MACs", HONOURED, _ALGOS),
    Directive(
        "NoHostAuthenticationForLocalhost", REFUSED, "would skip the host key check: the runner always checks", ("no",)
    ),
    Directive("NumberOfPasswordPrompts", IGNORED, _NO_PROMPT),
    Directive("ObscureKeystrokeTiming", IGNORED, "interactive sessions only"),
    Directive("PasswordAuthentication", IGNORED, _KEYS_ONLY),
    Directive("PermitLocalCommand", REFUSED, "runs a local command after connecting", ("no",)),
    Directive("PermitRemoteOpen", IGNORED, _NO_FWD),
    Directive("PKCS11Provider", REFUSED, "hardware tokens are not supported by the runner's SSH library"),
    Directive("Port", HONOURED, "the port connected to"),
    Directive("PreferredAuthentications", IGNORED, _KEYS_ONLY),
    Directive("ProxyCommand", HONOURED, "run with /bin/sh, tokens %h %n %p %r %%; its stdio is the connection"),
    Directive("ProxyJump", HONOURED, "each hop resolved by `ssh -G` and its host key checked as the target's"),
    Directive("ProxyUseFdpass", REFUSED, "a ProxyCommand passing back a socket is not supported", ("no",)),
    Directive(
        "PubkeyAcceptedAlgorithms",
        HONOURED,
        "keys and certificates of other types are not offered; " + _ALGOS.split("; ")[1],
    ),
    Directive(
        "PubkeyAcceptedKeyTypes", HONOURED, "the old name of PubkeyAcceptedAlgorithms", key="pubkeyacceptedalgorithms"
    ),
    Directive("PubkeyAuthentication", IGNORED, _KEYS_ONLY),
    Directive("RefuseConnection", REFUSED, "the config refuses this host, as ssh would", ("no",)),
    Directive("RekeyLimit", REFUSED, "the runner's SSH library rekeys on its own fixed limits", ("0 0",)),
    Directive("RemoteCommand", REFUSED, "the runner runs its own commands (ssh refuses both at once)"),
    Directive("RemoteForward", IGNORED, _NO_FWD),
    Directive("RequestTTY", IGNORED, "the runner never asks for a terminal"),
    Directive("RequiredRSASize", HONOURED, "smaller RSA host keys are refused and smaller RSA identities skipped"),
    Directive("RevokedHostKeys", REFUSED, "revoked host key lists are not checked by the runner"),
    Directive("SecurityKeyProvider", IGNORED, "only for FIDO (sk-) keys, which the runner's SSH library cannot use"),
    Directive("SendEnv", IGNORED, "the runner sends no environment"),
    Directive("ServerAliveCountMax", HONOURED, "keepalives unanswered before the link counts as dead"),
    Directive(
        "ServerAliveInterval",
        HONOURED,
        "keepalive period; 0 (ssh's default: never) is taken as 15 s, so a dead link ends",
    ),
    Directive("SessionType", REFUSED, "`none` or `subsystem` would run no command", ("default",)),
    Directive("SetEnv", IGNORED, "the runner sends no environment"),
    Directive("StdinNull", IGNORED, "the ssh program's own stdin"),
    Directive("StreamLocalBindMask", IGNORED, _NO_FWD),
    Directive("StreamLocalBindUnlink", IGNORED, _NO_FWD),
    Directive("StrictHostKeyChecking", HONOURED, "only `accept-new` relaxes anything: `no`, `off` and `ask` are `yes`"),
    Directive("SyslogFacility", IGNORED, "ssh's own log"),
    Directive("Tag", HONOURED, _BY_SSH + " (for `Match tagged`)"),
    Directive("TCPKeepAlive", IGNORED, "kernel keepalive; ServerAliveInterval is the runner's liveness check"),
    Directive("Tunnel", REFUSED, "tun devices are not supported", ("false", "no")),
    Directive("TunnelDevice", IGNORED, "only used with Tunnel, which is refused"),
    # ssh turns it off itself with a UserKnownHostsFile: only "ask" is worth showing as ignored
    Directive("UpdateHostKeys", IGNORED, "the runner never rewrites known_hosts entries", ("true", "false")),
    Directive("User", HONOURED, "the login"),
    Directive("UserKnownHostsFile", HONOURED, "host keys are looked up there; accept-new appends to the first"),
    Directive("VerifyHostKeyDNS", REFUSED, "SSHFP records in DNS are not checked", ("false", "no")),
    Directive("VisualHostKey", IGNORED, "display only"),
    Directive("WarnWeakCrypto", IGNORED, "ssh's own warnings"),
    Directive("XAuthLocation", IGNORED, _NO_X11),
)

BY_KEY: dict[str, Directive] = {}
for _d in DIRECTIVES:
    BY_KEY.setdefault(_d.g_key, _d)
BY_NAME: dict[str, Directive] = {d.name.lower(): d for d in DIRECTIVES}
# what ssh -G prints that is not a directive, or is resolved into other keys
NOT_DIRECTIVES = frozenset({"host"})


def directives_section() -> str:
    """The README table of every directive (``python -m runner.sshconfig_read --write``)."""
    lines = ["| directive | runner | what the runner does |", "|---|---|---|"]
    for d in sorted(DIRECTIVES, key=lambda d: d.name.lower()):
        why = d.why
        if d.status == REFUSED:
            why = (f"refused unless {' or '.join(d.allowed)}: " if d.allowed else "refused when set: ") + why
        cell = why.replace("|", "\\|")
        lines.append(f"| `{d.name}` | {d.status} | {cell} |")
    return "\n".join(lines)


# --- ssh -G ---------------------------------------------------------------------------------------


def home() -> str:
    """The home directory ssh uses for ``~`` and ``%d``: the login's, from the password database."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # pragma: no cover - a uid without a passwd entry
        return os.path.expanduser("~")


def default_config() -> Path:
    return Path(home()) / ".ssh" / "config"


def config_files(config: Path | None) -> list[Path]:
    """The files ssh reads: the given one (``-F``), else ~/.ssh/config and /etc/ssh/ssh_config."""
    if config is not None:
        return [config]
    return [p for p in (default_config(), Path(SYSTEM_CONFIG)) if p.is_file()]


def _stamp(config: Path | None) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in config_files(config):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def ssh_g(
    name: str,
    config: Path | None,
    *,
    hostname: str | None = None,
    port: int | None = None,
    user: str | None = None,
) -> Options:
    """What ``ssh [-F config] -G name`` answers, with inventory values given as on ssh's command line
    (they win over the config, as there). ``config`` None: the files ssh reads by default."""
    return _ssh_g(name, config, hostname, port, user, _stamp(config))


@lru_cache(maxsize=4096)
def _ssh_g(
    name: str,
    config: Path | None,
    hostname: str | None,
    port: int | None,
    user: str | None,
    _stamp: object,
) -> Options:
    if shutil.which(SSH) is None:
        if config_files(config):
            where = str(config or config_files(None)[0])
            raise InputError("the OpenSSH client (ssh) is not installed: hosts are resolved with `ssh -G`",
                             where=where, hint=INSTALL_HINT)  # fmt: skip
        return fallback(name, hostname, port, user)
    argv = Query(name, config, hostname, port, user).argv()
    try:
        r = subprocess.run(  # noqa: S603 - the ssh client, with names from the inventory as arguments
            argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SSH_G_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"`{shlex.join(argv)}` did not answer within {SSH_G_TIMEOUT:g} s",
            where=str(config or "ssh -G"),
            hint="a Match exec command that does not end?",
        ) from None
    if r.returncode != 0:
        raise rejected(r.stderr, config, argv)
    return parse(r.stdout)


def parse(text: str) -> Options:
    out: Options = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key:
            out.setdefault(key.lower(), []).append(value.strip())
    return out


_REJECT = re.compile(r"^(?P<path>.+?):? line (?P<line>\d+): (?P<what>.+)$")


def rejected(stderr: str, config: Path | None, argv: list[str]) -> InputError:
    """ssh's own message for a config it rejects, at the ``file:line`` it names."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("Pseudo-terminal")]
    for ln in lines:
        m = _REJECT.match(ln)
        if m:
            return InputError(
                f"ssh rejects this config: {m['what']}",
                where=f"{m['path']}:{m['line']}",
                hint="`ssh -G` refuses it too; nothing was run",
            )
    what = "; ".join(lines[:3]) or "no message"
    old_ssh = any("illegal option" in ln or "unknown option" in ln for ln in lines)
    return InputError(
        f"`{shlex.join(argv)}` failed: {what}",
        where=str(config) if config else None,
        hint="remediate needs OpenSSH 6.8 or later for ssh -G"
        if old_ssh
        else "ssh refuses this config; nothing was run",
    )


@lru_cache(maxsize=1)
def baseline() -> Options:
    """ssh's built-in defaults (``ssh -F /dev/null -G``): what a config that sets nothing resolves to."""
    if shutil.which(SSH) is None:
        return fallback("example.invalid", None, None, None)
    return _ssh_g("example.invalid", Path(os.devnull), None, None, None, ())


DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa")


def fallback(name: str, hostname: str | None, port: int | None, user: str | None) -> Options:
    """What ssh -G answers when no config file exists (used only when ssh is not installed)."""
    login = pwd.getpwuid(os.getuid()).pw_name
    return {
        "host": [name],
        "hostname": [hostname or name.lower()],
        "port": [str(port or 22)],
        "user": [user or login],
        "identityfile": [f"~/.ssh/{n}" for n in DEFAULT_IDENTITIES],
        "userknownhostsfile": [f"{home()}/.ssh/known_hosts {home()}/.ssh/known_hosts2"],
        "globalknownhostsfile": ["/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"],
        "stricthostkeychecking": ["ask"],
        "connecttimeout": ["none"],
        "serveraliveinterval": ["0"],
        "serveralivecountmax": ["3"],
    }


# --- where a directive was written ----------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """What ``ssh -G`` was asked for one host: the name and the values given as on ssh's command line."""

    name: str
    config: Path | None
    hostname: str | None = None
    port: int | None = None
    user: str | None = None

    def argv(self, *flags: str) -> list[str]:
        """The ``ssh -G`` command line of this query (``flags`` after ``-G``, e.g. ``-vvv``)."""
        argv = [SSH, "-G", *flags]
        if self.config is not None:
            argv += ["-F", str(self.config)]
        if self.hostname:
            argv += ["-o", "HostName=" + self.hostname.replace("%", "%%")]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-l", self.user]
        return [*argv, "--", self.name]


@dataclass(frozen=True)
class Written:
    keyword: str  # lower case
    value: str
    path: str
    line: int
    block: tuple[str, int] | None = None  # the Host or Match line (real path, line) it is under; None: none

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


_LINE = re.compile(r"\s*([^\s=#]+)(?:\s*=\s*|\s+)(.*)$")


def scan(config: Path | None) -> list[Written]:
    """Every directive line of the files ssh reads, ``Include`` followed, in order, each with the Host or
    Match line it is under; Host and Match are not evaluated here (ssh -G did that)."""
    out: list[Written] = []
    for path in config_files(config):
        base = Path(SYSTEM_CONFIG).parent if str(path) == SYSTEM_CONFIG else Path(home()) / ".ssh"
        _scan_file(path, base, out, set(), 0, None)
    return out


def _scan_file(
    path: Path, base: Path, out: list[Written], seen: set[str], depth: int, block: tuple[str, int] | None
) -> None:
    real = os.path.realpath(path)
    if real in seen or depth > MAX_INCLUDE_DEPTH:
        return
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for number, raw in enumerate(text.splitlines(), 1):
        m = _LINE.match(raw)
        if m is None:
            continue
        keyword, value = m.group(1).lower(), m.group(2).split(" #")[0].strip()
        if keyword in ("host", "match"):
            block = (real, number)
        out.append(Written(keyword, value, str(path), number, block))
        if keyword == "include":
            for arg in value.split():
                pattern = os.path.expanduser(arg.strip("\"'"))
                if not os.path.isabs(pattern):
                    pattern = str(base / pattern)
                for target in sorted(glob.glob(pattern)):
                    if os.path.isfile(target):
                        _scan_file(Path(target), base, out, seen | {real}, depth + 1, block)


_READING = re.compile(r"debug1: Reading configuration data (?P<path>.+)$")
_AT_LINE = re.compile(r"debug\d: (?P<path>.+) line (?P<line>\d+): (?P<what>.*)$")


def applied(query: Query) -> frozenset[tuple[str, int]] | None:
    """The Host and Match lines (real path, line) whose options ssh applied for this host, as ssh itself
    reports them (``ssh -G -vvv``); None when ssh cannot say. Run only to locate a directive."""
    return _applied(query, _stamp(query.config))


@lru_cache(maxsize=256)
def _applied(query: Query, _stamp: object) -> frozenset[tuple[str, int]] | None:
    if shutil.which(SSH) is None:
        return None
    argv = query.argv("-vvv")
    try:
        r = subprocess.run(  # noqa: S603 - the ssh client, as ssh_g runs it, verbose
            argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SSH_G_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        return None
    return blocks_applied(r.stderr, scan(query.config))


def blocks_applied(log: str, lines: list[Written]) -> frozenset[tuple[str, int]]:
    """Read ssh's verbose log: ``line N: Applying options for`` names a Host line; a Match line is named
    only by its criteria (``Match all`` not at all), so each ``checking match for`` is the next Match line
    of the file being read (ssh evaluates every one, in order), and ``match found`` applies it."""
    matches: dict[str, list[int]] = {}
    for w in lines:
        if w.keyword == "match" and w.block is not None:
            matches.setdefault(w.block[0], []).append(w.block[1])
    out: set[tuple[str, int]] = set()
    stack: list[list[Any]] = []  # [real path, last line known] of the files being read, innermost last
    current: tuple[str, int] | None = None
    for raw in log.splitlines():
        ln = raw.strip()
        if m := _READING.match(ln):
            stack.append([os.path.realpath(m["path"]), 0])
        elif m := _AT_LINE.match(ln):
            real, number = os.path.realpath(m["path"]), int(m["line"])
            while len(stack) > 1 and stack[-1][0] != real:
                stack.pop()
            if stack and stack[-1][0] == real:
                stack[-1][1] = number
            if m["what"].startswith("Applying options for"):
                out.add((real, number))
        elif ln.startswith("debug2: checking match for"):
            current = None
            while stack:
                real, after = stack[-1]
                following = [n for n in matches.get(real, []) if n > after]
                if following:
                    current = (real, following[0])
                    stack[-1][1] = following[0]
                    break
                stack.pop()
        elif ln == "debug2: match found" and current is not None:
            out.add(current)
    return frozenset(out)


def locate(query: Query, directive: Directive, value: str | None = None) -> str | None:
    """``file:line`` of the line that set ``directive`` for this host: within the Host and Match blocks ssh
    applied (and outside any block), the first line of the directive whose value is ``value``, else its
    first line (ssh keeps the first value it obtains; a value ssh normalises, ``1G``, is found by its
    keyword); when ssh cannot say which blocks applied, the first line holding the value anywhere."""
    names = {directive.name.lower(), directive.g_key} | {
        d.name.lower() for d in DIRECTIVES if d.g_key == directive.g_key
    }
    lines = [w for w in scan(query.config) if w.keyword in names]
    if not lines:
        return None
    want = _norm(value) if value is not None else None
    blocks = applied(query)
    if blocks is not None:
        inside = [w for w in lines if w.block is None or w.block in blocks]
        if inside:
            same = [w for w in inside if want is not None and _norm(w.value) == want]
            return (same or inside)[0].where
    for w in lines:
        if want is not None and _norm(w.value) == want:
            return w.where
    return lines[0].where


def _norm(value: str) -> str:
    return " ".join(value.replace('"', "").split()).lower()


# --- the README table -----------------------------------------------------------------------------

README_PATH = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = "python -m runner.sshconfig_read --write"
BEGIN = f"<!-- ssh_config:begin (generated by `{COMMAND}`) -->"
END = "<!-- ssh_config:end -->"


def readme_text(current: str) -> str:
    start, stop = current.find(BEGIN), current.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"README.md has no {BEGIN} ... {END} section")
    return current[: start + len(BEGIN)] + "\n" + directives_section() + "\n" + current[stop:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.sshconfig_read", description="the ssh_config table")
    parser.add_argument("--write", action="store_true", help="rewrite the README's ssh_config table")
    parser.add_argument("--check", action="store_true", help="exit 1 when it is stale")
    opts = parser.parse_args(argv)
    current = README_PATH.read_text()
    if opts.write:
        README_PATH.write_text(readme_text(current))
    elif opts.check and readme_text(current) != current:
        sys.stderr.write(f"README.md: the ssh_config table is stale (regenerate with {COMMAND})\n")
        return 1
    elif not opts.check:
        sys.stdout.write(directives_section() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
