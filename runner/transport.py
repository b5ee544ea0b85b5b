"""SSH to one host, safely: the only module that imports fabric or paramiko.

Owns: opening one Fabric connection per host, through its bastions (``ProxyJump``: one Fabric
``gateway=`` connection per hop; ``ProxyCommand``: paramiko's ``ProxyCommand``) as
:mod:`runner.sshconfig` resolved them (``ssh -G``), with host-key verification of every hop,
connect/auth/banner timeouts and a keepalive that notices a dead link; the TCP connection itself
(``AddressFamily``, ``BindAddress``); paramiko's algorithm lists set to ssh's; public-key
authentication as ssh makes it (``CertificateFile``, ``PubkeyAcceptedAlgorithms``, ``IdentitiesOnly``,
the agent, ``RequiredRSASize``); running commands with a timeout that is also
enforced on the host (GNU ``timeout`` kills the command's process group); translating
paramiko/invoke exceptions into one-line :mod:`runner.errors` (which hop, which address, what
happened); and keeping paramiko's own log off the terminal (``REMEDIATE_DEBUG=1`` sends it to stderr).
Must not: retry, log or print.

Fabric's defaults are unsafe (any host key accepted, none loaded, no timeouts); every one is fixed
here: unknown keys are refused unless the config says ``StrictHostKeyChecking accept-new`` (then the
key is appended to the known_hosts file, never rewriting it), and changed keys are always refused.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import sshconfig, sshconfig_read
from runner.channels import Capture, Keepalive, Stream
from runner.channels import why as _why
from runner.errors import AuthError, CommandTimeout, ConnectionLost, ConnectionRefused, HostKeyError, TransportError
from runner.sshconfig import Endpoint
from runner.wire import KILL_AFTER, STDIN_SCRIPT, Result

# seconds a command's output may still arrive after its exit status (see Session.run)
EOF_GRACE = 2.0

__all__ = ["Session", "remote_command"]


class NoBanner(TransportError):
    """TCP was accepted but no SSH banner came (a tarpit, a wrong port, an overloaded sshd)."""


class NameNotResolved(TransportError):
    """The host name has no address; trying again within seconds will not change that."""

    retryable = False


@functools.lru_cache(maxsize=16)
def _parsed_known_hosts(path: str, mtime_ns: int) -> Any:
    from paramiko.hostkeys import HostKeys

    return HostKeys(path)


_LOG_LOCK = threading.Lock()
_LOG_ROUTED = False


def _route_paramiko_log() -> None:
    """paramiko logs tracebacks (e.g. "Error reading SSH protocol banner") from its own threads:
    they go nowhere, or to stderr with REMEDIATE_DEBUG=1; what happened reaches the operator as one line."""
    global _LOG_ROUTED
    with _LOG_LOCK:
        if _LOG_ROUTED:
            return
        log = logging.getLogger("paramiko")
        log.propagate = False
        if os.environ.get("REMEDIATE_DEBUG") == "1":
            handler: logging.Handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("paramiko %(levelname)s %(name)s: %(message)s"))
            log.setLevel(logging.DEBUG)
        else:
            handler = logging.NullHandler()
        log.addHandler(handler)
        _LOG_ROUTED = True


_AGENT_LOCK = (
    threading.Lock()
)  # SSH_AUTH_SOCK is process-wide: hosts with their own IdentityAgent connect one at a time


# The shell on the host reads its script from stdin, so the script (which may hold a secret, such as
# the SOAP probe's password) never appears in a command line that `ps` shows to other users of the host.
# `cat` reads to the end first (the runner closes stdin after the script), then the script runs with
# stdin at end of file, as a command with no input would.


def remote_command(timeout: float) -> str:
    """The command line that runs a script sent on stdin, stopped by the host itself at ``timeout``
    (TERM, then KILL after KILL_AFTER seconds)."""
    seconds = max(1, int(timeout + 0.999))
    return f"timeout -k {KILL_AFTER} {seconds} sh -c {shlex.quote(STDIN_SCRIPT)}"


@dataclass
class Session:
    """One SSH connection to one host (through its bastions), reused for every command of a run."""

    endpoint: Endpoint
    fingerprint: str | None = None
    _conn: Any = field(default=None, repr=False)
    _hops: list[Any] = field(default_factory=list, repr=False)
    _alive: Keepalive | None = field(default=None, repr=False)

    def open(self) -> None:
        """Connect every hop, then the host; raise a one-line :class:`TransportError` subclass on failure."""
        _route_paramiko_log()
        chain = [*self.endpoint.hops(), self.endpoint]
        if any(ep.agent for ep in chain):
            with _AGENT_LOCK:
                self._open_chain(chain)
        else:
            self._open_chain(chain)

    def _open_chain(self, chain: list[Endpoint]) -> None:
        self.close()
        gateway: Any = None
        try:
            for i, ep in enumerate(chain):
                label = "" if ep is self.endpoint else f"bastion {ep.name}: "
                conn = _connection(ep, gateway, self.endpoint.name, label)
                with _agent_env(ep):
                    _open_hop(conn, ep, self.endpoint, chain[i - 1] if i else None)
                if ep is not self.endpoint:
                    conn.transport.set_keepalive(max(ep.alive_interval, 1))
                    self._hops.append(conn)
                gateway = conn
        except BaseException:
            self.close()
            raise
        transport = gateway.client.get_transport()
        if transport is None or not transport.is_active():
            self.close()
            raise TransportError("connection closed during set-up", host=self.endpoint.name)
        self.fingerprint = transport.get_remote_server_key().fingerprint
        self._conn = gateway
        ep = self.endpoint
        if ep.alive_interval > 0:
            self._alive = Keepalive(transport, ep.alive_interval, ep.alive_count)

    def _dead(self) -> ConnectionLost | None:
        """A ConnectionLost to raise once keepalives have gone unanswered for interval x count seconds."""
        if self._alive is None or not self._alive.dead():
            return None
        ep = self.endpoint
        hops = ep.hops()
        link = f" (through {', '.join(h.name for h in hops)})" if hops else ""
        return ConnectionLost(
            f"link to {ep.address}:{ep.port}{link} died: no answer to keepalives for "
            f"{ep.alive_interval * ep.alive_count}s (ServerAliveInterval {ep.alive_interval} x "
            f"ServerAliveCountMax {ep.alive_count})",
            host=ep.name,
        )

    def run(self, command: str, timeout: float) -> Result:
        """Run ``command`` under ``sh`` (sent on stdin, see :func:`remote_command`); raise CommandTimeout
        or ConnectionLost, never retry.

        Reads the session channel of the Fabric connection directly (not invoke's Runner, which turns
        Ctrl-C into a keystroke for the remote side and keeps waiting): an interrupt reaches the caller.
        """
        if self._conn is None:
            raise ConnectionLost("not connected", host=self.endpoint.name)
        name = self.endpoint.name
        transport = self._conn.client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionLost("connection is closed", host=name)
        start = time.monotonic()
        deadline = start + timeout + KILL_AFTER + 5
        try:
            chan = transport.open_session(timeout=self.endpoint.connect_timeout)
            chan.exec_command(remote_command(timeout))
            chan.sendall(command.encode("utf-8"))
            chan.shutdown_write()
        except Exception as exc:  # paramiko raises SSHException/EOFError/OSError once the link is gone
            raise ConnectionLost(f"cannot start command: {_why(exc)}", host=name) from None
        out, err = Capture(), Capture()
        status_at: float | None = None  # when the exit status came
        try:
            while True:
                select.select([chan], [], [], 0.25)  # the channel pipe wakes us on stdout data and on close
                while chan.recv_ready():
                    out.add(chan.recv(65536))
                while chan.recv_stderr_ready():
                    err.add(chan.recv_stderr(65536))
                if chan.exit_status_ready():
                    # sshd may send the exit status before the last output (on a busy host, the last stderr
                    # line): the output is whole at the channel's EOF. A daemon the command started may hold
                    # the channel open, so the EOF is waited for only EOF_GRACE seconds after the status.
                    status_at = status_at if status_at is not None else time.monotonic()
                    whole = chan.eof_received or chan.closed or time.monotonic() - status_at > EOF_GRACE
                    if whole and not chan.recv_ready() and not chan.recv_stderr_ready():
                        break
                    continue
                if chan.closed or not transport.is_active():
                    raise ConnectionLost("connection lost during command (no exit status)", host=name)
                dead = self._dead()
                if dead is not None:
                    raise dead
                if time.monotonic() > deadline:
                    raise CommandTimeout(f"command timed out after {timeout:g}s", host=name, timeout=timeout)
            code = chan.recv_exit_status()
        except (OSError, EOFError) as exc:
            raise ConnectionLost(f"connection lost during command: {_why(exc)}", host=name) from None
        finally:
            chan.close()
        duration = time.monotonic() - start
        if code == -1:
            raise ConnectionLost("connection lost during command (no exit status)", host=name)
        if code == 124 and duration >= timeout:
            raise CommandTimeout(
                f"command timed out after {timeout:g}s (stopped on the host)", host=name, timeout=timeout
            )
        return Result(stdout=out.text(), stderr=err.text(), exit_code=code, duration=duration)

    def stream(self, command: str) -> Stream:
        """Start ``command`` on its own channel and keep it open: a line-oriented conversation.

        For host-side state that must live exactly as long as this connection (the run lock): the
        command's stdin stays open for :meth:`Stream.send`, and it ends when the connection does.
        """
        if self._conn is None:
            raise ConnectionLost("not connected", host=self.endpoint.name)
        transport = self._conn.client.get_transport()
        try:
            chan = transport.open_session(timeout=self.endpoint.connect_timeout)
            chan.settimeout(self.endpoint.connect_timeout)
            chan.exec_command(command)
        except Exception as exc:  # paramiko raises many types once the link is gone
            raise ConnectionLost(f"cannot start command: {_why(exc)}", host=self.endpoint.name) from None
        return Stream(chan, self.endpoint.name)

    def close(self) -> None:
        """Close the host's connection, then each bastion's (last hop first); never raises."""
        if self._alive is not None:
            self._alive.stop()
            self._alive = None
        conns = ([self._conn] if self._conn is not None else []) + self._hops[::-1]
        self._conn, self._hops = None, []
        for conn in conns:
            with contextlib.suppress(Exception):  # closing a connection that is already gone
                conn.close()


class _agent_env:
    """SSH_AUTH_SOCK set to the hop's IdentityAgent while it authenticates (paramiko's Agent reads it)."""

    def __init__(self, ep: Endpoint) -> None:
        self.path = ep.agent or None
        self.saved: str | None = None

    def __enter__(self) -> None:
        if self.path:
            self.saved = os.environ.get("SSH_AUTH_SOCK")
            os.environ["SSH_AUTH_SOCK"] = self.path

    def __exit__(self, *_exc: object) -> None:
        if self.path:
            if self.saved is None:
                os.environ.pop("SSH_AUTH_SOCK", None)
            else:
                os.environ["SSH_AUTH_SOCK"] = self.saved


def _connection(ep: Endpoint, gateway: Any, target: str, label: str) -> Any:
    """A Fabric connection for one hop with our safe settings (the previous hop as its ``gateway``)."""
    import paramiko
    from fabric import Config, Connection

    kwargs: dict[str, Any] = {
        "banner_timeout": ep.connect_timeout,
        "auth_timeout": ep.connect_timeout,
        "channel_timeout": ep.connect_timeout,
        "compress": ep.compression,
        "transport_factory": functools.partial(_transport_class(), endpoint=ep),
        "auth_strategy": _auth_strategy(ep, target, label),
    }
    if ep.proxy_command:
        # ssh runs ProxyCommand with the shell; paramiko would split it itself.
        kwargs["sock"] = paramiko.ProxyCommand(shlex.join(["/bin/sh", "-c", f"exec {ep.proxy_command}"]))
    return Connection(
        host=ep.address,
        user=ep.user,
        port=ep.port,
        connect_timeout=max(1, int(ep.connect_timeout)),
        config=Config(lazy=True),
        gateway=gateway,
        connect_kwargs=kwargs,
    )


class BindFailed(TransportError):
    """The local address of BindAddress cannot be used; trying again within seconds will not change that."""

    retryable = False


def _dial(ep: Endpoint, label: str, host: str) -> socket.socket:
    """The TCP connection of a direct hop, as ssh opens it: each address of the name in turn (only IPv4 or
    IPv6 with AddressFamily), from BindAddress when set, each within ConnectTimeout."""
    family = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}.get(ep.address_family, socket.AF_UNSPEC)
    try:
        infos = socket.getaddrinfo(ep.address, ep.port, family, socket.SOCK_STREAM)
    except socket.gaierror:
        only = f" as {'IPv4' if family == socket.AF_INET else 'IPv6'} (AddressFamily {ep.address_family})"
        raise NameNotResolved(
            f"{label}cannot resolve host name {ep.address!r}{only if family != socket.AF_UNSPEC else ''}",
            host=host,
            hint="check HostName or ansible_host",
        ) from None
    last: OSError | None = None
    for af, kind, proto, _name, addr in infos:
        sock = socket.socket(af, kind, proto)
        try:
            if ep.bind_address:
                try:
                    local = socket.getaddrinfo(ep.bind_address, 0, af, kind, 0, socket.AI_PASSIVE)[0][4]
                    sock.bind(local)
                except OSError as exc:
                    raise BindFailed(
                        f"{label}cannot bind to BindAddress {ep.bind_address}: {_why(exc)}", host=host
                    ) from None
            sock.settimeout(ep.connect_timeout)
            sock.connect(addr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    assert last is not None
    raise last


@functools.lru_cache(maxsize=1)
def _transport_class() -> Any:
    """paramiko's Transport offering exactly the endpoint's algorithm lists, in ssh's order."""
    import paramiko

    class OpenSSHTransport(paramiko.Transport):
        def __init__(self, sock: Any, *, endpoint: Endpoint, **kwargs: Any) -> None:
            super().__init__(sock, **kwargs)
            ep = endpoint
            for attr, chosen in (
                ("_preferred_ciphers", ep.ciphers),
                ("_preferred_macs", ep.macs),
                ("_preferred_kex", ep.kex),
                ("_preferred_keys", ep.host_key_types),
                ("_preferred_pubkeys", tuple(dict.fromkeys(t.replace(CERT, "") for t in ep.pubkey_types))),
            ):
                if chosen:
                    setattr(self, attr, chosen)
            self.host_key_types = ep.host_key_types
            self.server_offers: dict[str, Any] = {}  # the server's KEXINIT lists, for a failed negotiation

        def _really_parse_kex_init(self, m: Any, ignore_first_byte: bool = False) -> Any:
            parsed = super()._really_parse_kex_init(m, ignore_first_byte)  # type: ignore[misc]
            self.server_offers = parsed
            return parsed

        @property
        def preferred_keys(self) -> tuple[str, ...]:
            # paramiko adds every certificate type and, in SSHClient, the type known_hosts holds: only
            # what HostKeyAlgorithms allows is offered (host certificates are never accepted).
            if not self.host_key_types:
                return tuple(super().preferred_keys)
            offered = self._filter_algorithm("keys")  # type: ignore[attr-defined]
            return tuple(k for k in offered if k in self.host_key_types)

    return OpenSSHTransport


CERT = "-cert-v01@openssh.com"


def _accepted(key: Any, ep: Endpoint) -> bool:
    """Whether PubkeyAcceptedAlgorithms lets this key (or certificate) be offered."""
    if not ep.pubkey_types:
        return True
    name = key.get_name()
    cert = name.endswith(CERT) or key.public_blob is not None
    base = name.replace(CERT, "")
    algorithms = ["rsa-sha2-512", "rsa-sha2-256"] if base == "ssh-rsa" else [base]
    return any(a + (CERT if cert else "") in ep.pubkey_types for a in algorithms)


def _public_blob(path: str) -> bytes | None:
    """The public key blob of a ``.pub`` or certificate file (a certificate: the key it certifies)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    try:
        data = Path(path).read_bytes()
        loaded = serialization.load_ssh_public_identity(data)
        public = loaded.public_key() if isinstance(loaded, serialization.SSHCertificate) else loaded
        text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return base64.b64decode(text.split()[1])
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _auth_strategy(ep: Endpoint, host: str, label: str) -> Any:
    """Public-key authentication as ssh makes it: CertificateFile certificates first (on the identity file
    or agent key they certify), then each identity file (its ``-cert.pub`` first), then the agent's keys
    (with IdentitiesOnly, only those of the identity files); PubkeyAcceptedAlgorithms and RequiredRSASize
    filter them. Every key a failure tried or skipped is named in one line."""
    import copy

    import paramiko
    from paramiko.auth_strategy import AuthFailure, AuthStrategy, InMemoryPrivateKey

    class Keys(AuthStrategy):
        def __init__(self) -> None:
            super().__init__(ssh_config=paramiko.SSHConfig())
            self.tried: list[str] = []
            self.skipped: list[str] = []
            self.agent: Any = None

        def authenticate(self, transport: Any) -> Any:
            server = transport.get_remote_server_key()
            if server.get_name() == "ssh-rsa" and server.get_bits() < ep.required_rsa_size:
                raise HostKeyError(
                    f"{label}host key of {ep.known_name} is RSA {server.get_bits()} bits, below RequiredRSASize "
                    f"{ep.required_rsa_size}",
                    host=host,
                )
            try:
                return super().authenticate(transport)
            except AuthFailure:
                refused = f"refused {', '.join(self.tried)}" if self.tried else "no key to offer"
                skipped = f"; skipped {', '.join(self.skipped)}" if self.skipped else ""
                raise paramiko.AuthenticationException(refused + skipped) from None
            finally:
                if self.agent is not None:
                    self.agent.close()

        def offer(self, key: Any, what: str) -> Any:
            if not _accepted(key, ep):
                self.skipped.append(f"{what} (not in PubkeyAcceptedAlgorithms)")
                return None
            if key.get_name().startswith("ssh-rsa") and key.get_bits() < ep.required_rsa_size:
                self.skipped.append(f"{what} (RSA below RequiredRSASize {ep.required_rsa_size})")
                return None
            self.tried.append(what)
            return InMemoryPrivateKey(ep.user, key)

        def get_sources(self) -> Any:
            certs = [(c, _public_blob(c)) for c in ep.certificate_files if os.path.isfile(c)]
            files: list[tuple[str, Any]] = []
            blobs: set[bytes] = set()
            for path in ep.key_files:
                key = self.load(path)
                if key is not None:
                    files.append((path, key))
                    blobs.add(key.asbytes())
                else:
                    blob = _public_blob(path + ".pub")
                    if blob is not None:
                        blobs.add(blob)
            agent_keys = self.agent_keys(blobs)
            for cert, certified in certs:
                for what, key in [*files, *agent_keys]:
                    if certified == key.asbytes():
                        variant = copy.copy(key)
                        variant.load_certificate(cert)
                        source = self.offer(variant, f"{os.path.basename(what)} with {os.path.basename(cert)}")
                        if source is not None:
                            yield source
            for path, key in files:
                if key.public_blob is not None:  # the identity's own -cert.pub, loaded with it
                    source = self.offer(key, f"{os.path.basename(path)}-cert.pub")
                    if source is not None:
                        yield source
                    key = copy.copy(key)
                    key.public_blob = None
                source = self.offer(key, os.path.basename(path))
                if source is not None:
                    yield source
            tried = {key.asbytes() for _p, key in files}
            for what, key in agent_keys:
                if key.asbytes() not in tried:
                    source = self.offer(key, what)
                    if source is not None:
                        yield source

        def load(self, path: str) -> Any:
            if not os.path.isfile(path):
                if path not in _default_identities():
                    self.skipped.append(f"{os.path.basename(path)} (no such file)")
                return None
            try:
                return paramiko.PKey.from_path(path)
            except (paramiko.PasswordRequiredException, TypeError):
                self.skipped.append(f"{os.path.basename(path)} (has a passphrase: add it to the agent)")
            except Exception as exc:  # unknown key types, unreadable or malformed files
                self.skipped.append(f"{os.path.basename(path)} ({_why(exc)})")
            return None

        def agent_keys(self, identity_blobs: set[bytes]) -> list[tuple[str, Any]]:
            if ep.agent is None:
                return []
            try:
                self.agent = paramiko.Agent()
            except Exception as exc:  # a stale SSH_AUTH_SOCK: ssh goes on without the agent too
                self.skipped.append(f"the agent ({_why(exc)})")
                return []
            out = []
            for key in self.agent.get_keys():
                if ep.identities_only and key.asbytes() not in identity_blobs:
                    continue
                out.append((f"agent key {key.comment or key.get_name()}", key))
            return out

    return Keys()


@functools.lru_cache(maxsize=1)
def _default_identities() -> frozenset[str]:
    """ssh's default identity files: absent ones are skipped without a word, as ssh skips them."""
    home = sshconfig_read.home()
    return frozenset(f"{home}/.ssh/{n}" for n in sshconfig_read.DEFAULT_IDENTITIES)


def _nodelay(conn: Any) -> None:
    """Send each SSH packet at once (TCP_NODELAY) on a direct TCP connection.

    A run exchanges small packets (a command, a release line, then EOF): with Nagle's algorithm the
    second of two small writes waits for the server's delayed ACK, about 40 ms a round trip.
    A hop through a bastion channel or a ProxyCommand has no TCP socket of its own and is left as is.
    """
    sock = getattr(conn.client.get_transport(), "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _load_known(client: Any, ep: Endpoint) -> None:
    """Put this hop's known_hosts entries (looked up by HostKeyAlias if set) where paramiko checks."""
    host_keys = client.get_host_keys()
    checked = ep.address if ep.port == 22 else f"[{ep.address}]:{ep.port}"
    for path in (*ep.known_hosts, *ep.global_known_hosts):
        try:
            known = _parsed_known_hosts(path, os.stat(path).st_mtime_ns)
        except OSError:
            continue
        # Only this host's entries: loading the whole file into every client is quadratic in the fleet.
        for key_type, key in (known.lookup(ep.known_name) or {}).items():
            host_keys.add(checked, key_type, key)


def _open_hop(conn: Any, ep: Endpoint, target: Endpoint, via: Endpoint | None) -> None:
    """Open one hop; every failure becomes one line saying which hop, which address, what happened."""
    import paramiko

    label = "" if ep is target else f"bastion {ep.name}: "
    _load_known(conn.client, ep)
    conn.client.set_missing_host_key_policy(_policy(ep, target.name, label))
    start = time.monotonic()
    try:
        if via is None and not ep.proxy_command:
            conn.connect_kwargs["sock"] = _dial(ep, label, target.name)
        conn.open()
        _nodelay(conn)
        return
    except (HostKeyError, NameNotResolved, BindFailed):
        conn.client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        conn.client.close()
        raise HostKeyError(
            f"{label}host key CHANGED for {ep.known_name} (got {exc.key.fingerprint})",
            host=target.name,
            hint="refusing to connect: verify the host, then fix known_hosts",
        ) from None
    except paramiko.AuthenticationException as exc:
        conn.client.close()
        raise AuthError(
            f"{label}authentication failed as {ep.user!r} at {ep.address}:{ep.port}: {_why(exc)}", host=target.name
        ) from None
    except paramiko.ChannelException as exc:
        conn.client.close()
        hop = via.name if via else "the bastion"
        raise TransportError(
            f"bastion {hop} cannot reach {ep.address}:{ep.port}: {exc.text or 'channel refused'}", host=target.name
        ) from None
    except socket.gaierror:
        conn.client.close()
        raise NameNotResolved(
            f"{label}cannot resolve host name {ep.address!r}", host=target.name, hint="check HostName or ansible_host"
        ) from None
    except Exception as exc:  # paramiko raises OSError, EOFError, SSHException and more for a bad link
        err = _connect_error(conn, ep, label, exc, time.monotonic() - start, target.name)
        conn.client.close()
        raise err from None


def _connect_error(conn: Any, ep: Endpoint, label: str, exc: Exception, elapsed: float, host: str) -> TransportError:
    import paramiko

    where = f"{ep.address}:{ep.port}"
    t = f"{ep.connect_timeout:g}s"
    inner: list[BaseException] = [exc]
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        inner = list(exc.errors.values()) or inner
    if all(isinstance(e, ConnectionRefusedError) for e in inner):
        return ConnectionRefused(f"{label}connection refused by {where}", host=host, hint="is sshd listening there?")
    if any(isinstance(e, socket.timeout | TimeoutError) for e in inner) and conn.client.get_transport() is None:
        return TransportError(f"{label}no answer from {where} within {t} (TCP connect timed out)", host=host)
    transport = conn.client.get_transport()
    if transport is not None and not transport.remote_version:
        if ep.proxy_command:
            why = _proxy_stderr(transport.sock)
            if why is not None:
                return TransportError(f"{label}ProxyCommand ended before the SSH banner: {why}", host=host)
            return NoBanner(f"{label}no SSH banner through ProxyCommand within {t}", host=host, hint=ep.proxy_command)
        if elapsed >= ep.connect_timeout * 0.9:
            return NoBanner(f"{label}no SSH banner from {where} within {t} (is this an SSH server?)", host=host)
        return TransportError(f"{label}{where} closed the connection before the SSH banner", host=host)
    if transport is not None and isinstance(exc, paramiko.ssh_exception.IncompatiblePeer):
        return TransportError(f"{label}SSH negotiation with {where} failed: {_incompatible(transport, exc)}", host=host)
    if transport is not None and not transport.is_authenticated():
        return TransportError(f"{label}SSH negotiation with {where} failed: {_why(exc)}", host=host)
    return TransportError(f"{label}cannot connect to {where}: {_why(exc)}", host=host)


# paramiko's words for what found nothing in common -> (what, the server's list, the transport's own list)
_NEGOTIATED = {
    "host key": ("host key algorithms", "server_key_algo_list", "preferred_keys"),
    "kex": ("key exchange algorithms", "kex_algo_list", "preferred_kex"),
    "ciphers": ("ciphers", "server_encrypt_algo_list", "preferred_ciphers"),
    "macs": ("MACs", "server_mac_algo_list", "preferred_macs"),
}


def _incompatible(transport: Any, exc: Exception) -> str:
    """What the server offers that the SSH library lacks, and what the library offers, for paramiko's
    ``no acceptable host key`` (or kex, ciphers, MACs)."""
    text = str(exc)
    for word, (what, theirs, ours) in _NEGOTIATED.items():
        if f"no acceptable {word}" not in text:
            continue
        server = list(getattr(transport, "server_offers", {}).get(theirs) or [])
        offered = ",".join(getattr(transport, ours, ()))
        if not server:
            return f"nothing in common in {what}; the SSH library offers {offered}"
        notes = "; ".join(sshconfig.lacks(a) for a in server if a in sshconfig.KINDS)
        why = notes or sshconfig.NOT_OFFERED
        return f"the server offers only {what} {','.join(server)}; {why}; the SSH library offers {offered}"
    return _why(exc)


def _proxy_stderr(sock: Any) -> str | None:
    """The last line a ProxyCommand printed on stderr, once it has ended (None while it runs)."""
    proc = getattr(sock, "process", None)
    if proc is None:
        return None
    try:
        proc.wait(timeout=0.5)
    except Exception:
        return None
    text = proc.stderr.read().decode("utf-8", errors="replace").strip() if proc.stderr else ""
    last = text.splitlines()[-1][:200] if text else ""
    return f"exit {proc.returncode}" + (f": {last}" if last else "")


def _policy(ep: Endpoint, host: str, label: str) -> Any:
    import paramiko

    class Refuse(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            files = ", ".join((*ep.known_hosts, *ep.global_known_hosts))
            raise HostKeyError(
                f"{label}host key for {ep.known_name} is not in {files} ({key.fingerprint})",
                host=host,
                hint="add it to known_hosts, or set StrictHostKeyChecking accept-new",
            )

    class AcceptNew(paramiko.MissingHostKeyPolicy):
        """Record a first-seen key by appending one line; never rewrite the user's file."""

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            client.get_host_keys().add(hostname, key.get_name(), key)
            path = ep.known_hosts[0]
            name = paramiko.HostKeys.hash_host(ep.known_name) if ep.hash_known_hosts else ep.known_name
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "a", encoding="ascii") as fh:
                fh.write(f"{name} {key.get_name()} {key.get_base64()}\n")

    return AcceptNew() if ep.strict == "accept-new" else Refuse()
