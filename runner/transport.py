"""SSH to one host, safely: the only module that imports fabric or paramiko.

Owns: resolving a host through its OpenSSH client config (Host alias, HostName, Port, User,
IdentityFile, UserKnownHostsFile, StrictHostKeyChecking), opening one Fabric connection per host with
host-key verification, connect/auth/banner timeouts and keepalive, running commands with a timeout
that is also enforced on the host (GNU ``timeout`` kills the command's process group), and
translating paramiko/invoke exceptions into :mod:`runner.errors`. Must not: retry, log or print.

Fabric's defaults are unsafe (any host key accepted, none loaded, no timeouts); every one is fixed
here: unknown keys are refused unless the config says ``StrictHostKeyChecking accept-new`` (then the
key is appended to the known_hosts file, never rewriting it), and changed keys are always refused.
"""

from __future__ import annotations

import functools
import getpass
import os
import select
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import AuthError, CommandTimeout, ConnectionLost, HostKeyError, TransportError
from runner.inventory import Host

CONNECT_TIMEOUT = 10.0
KEEPALIVE = 15
KILL_AFTER = 5  # seconds between TERM and KILL when a command times out on the host
MAX_OUTPUT = 8 * 1024 * 1024  # bytes kept per stream of one command


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one host, fully resolved."""

    name: str
    address: str
    port: int
    user: str
    key_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    strict: str = "yes"  # "yes" or "accept-new"
    connect_timeout: float = CONNECT_TIMEOUT

    def describe(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "known_hosts": list(self.known_hosts),
            "strict_host_key_checking": self.strict,
        }


@dataclass
class Result:
    """What one command did on the host."""

    stdout: str
    stderr: str
    exit_code: int
    duration: float = 0.0


def _expand(value: str) -> str:
    return os.path.expanduser(os.path.expandvars(value))


def resolve(host: Host, ssh_config: Path | None) -> Endpoint:
    """Combine inventory vars (which win, as in Ansible) with the OpenSSH config's entry for the host."""
    entry: dict[str, Any] = {}
    if ssh_config is not None and ssh_config.is_file():
        try:
            entry = dict(_parsed_ssh_config(str(ssh_config), ssh_config.stat().st_mtime_ns).lookup(host.name))
        except Exception as exc:  # paramiko raises bare exceptions for bad configs
            raise TransportError(f"cannot read OpenSSH config {ssh_config}: {exc}", host=host.name) from None
    address = str(host.var("ansible_host") or entry.get("hostname") or host.name)
    port = int(host.var("ansible_port") or entry.get("port") or 22)
    user = str(host.var("ansible_user") or entry.get("user") or getpass.getuser())
    keys: list[str] = []
    if host.var("ansible_ssh_private_key_file"):
        keys.append(_expand(str(host.var("ansible_ssh_private_key_file"))))
    keys.extend(_expand(k) for k in entry.get("identityfile", []))
    known = entry.get("userknownhostsfile")
    known_files = [_expand(k) for k in known.split()] if known else [os.path.expanduser("~/.ssh/known_hosts")]
    strict = str(entry.get("stricthostkeychecking", "yes")).lower()
    # Only accept-new relaxes anything; "no"/"off" are treated as strict on purpose.
    strict = "accept-new" if strict == "accept-new" else "yes"
    timeout = float(entry.get("connecttimeout", CONNECT_TIMEOUT))
    return Endpoint(
        name=host.name,
        address=address,
        port=port,
        user=user,
        key_files=tuple(keys),
        known_hosts=tuple(known_files),
        strict=strict,
        connect_timeout=timeout,
    )


@functools.lru_cache(maxsize=16)
def _parsed_ssh_config(path: str, mtime_ns: int) -> Any:
    """One parse per file and version per run (every host of a fleet looks itself up in it)."""
    from paramiko.config import SSHConfig

    return SSHConfig.from_path(path)


@functools.lru_cache(maxsize=16)
def _parsed_known_hosts(path: str, mtime_ns: int) -> Any:
    from paramiko.hostkeys import HostKeys

    return HostKeys(path)


def remote_command(command: str, timeout: float) -> str:
    """Wrap ``command`` so the host itself stops it at ``timeout`` (TERM, then KILL)."""
    seconds = max(1, int(timeout + 0.999))
    return f"timeout -k {KILL_AFTER} {seconds} sh -c {shlex.quote(command)}"


@dataclass
class Session:
    """One SSH connection to one host, reused for every command of a run."""

    endpoint: Endpoint
    fingerprint: str | None = None
    _conn: Any = field(default=None, repr=False)

    def open(self) -> None:
        """Connect and authenticate; raise a :class:`TransportError` subclass on failure."""
        import paramiko
        from fabric import Config, Connection

        ep = self.endpoint
        policy = _policy(ep)
        conn = Connection(
            host=ep.address,
            user=ep.user,
            port=ep.port,
            connect_timeout=int(ep.connect_timeout),
            config=Config(lazy=True),
            connect_kwargs={
                **({"key_filename": list(ep.key_files)} if ep.key_files else {}),
                "look_for_keys": not ep.key_files,
                "allow_agent": not ep.key_files,
                "banner_timeout": ep.connect_timeout,
                "auth_timeout": ep.connect_timeout,
                "channel_timeout": ep.connect_timeout,
            },
        )
        client = conn.client
        host_keys = client.get_host_keys()
        name = _key_name(ep)
        for path in ep.known_hosts:
            try:
                known = _parsed_known_hosts(path, os.stat(path).st_mtime_ns)
            except OSError:
                continue
            # Only this host's entries: loading the whole file into every client is quadratic in the fleet.
            for key_type, key in (known.lookup(name) or {}).items():
                host_keys.add(name, key_type, key)
        client.set_missing_host_key_policy(policy)
        try:
            conn.open()
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as exc:
            raise HostKeyError(
                f"host key CHANGED for {_key_name(ep)} (got {exc.key.fingerprint})",
                host=ep.name,
                hint="refusing to connect: verify the host, then fix known_hosts",
            ) from None
        except paramiko.AuthenticationException as exc:
            raise AuthError(f"authentication failed as {ep.user!r}: {exc}", host=ep.name) from None
        except (TimeoutError, OSError, EOFError, paramiko.SSHException) as exc:
            raise TransportError(f"cannot connect to {ep.address}:{ep.port}: {_why(exc)}", host=ep.name) from None
        transport = client.get_transport()
        if transport is None:
            raise TransportError("connection closed during set-up", host=ep.name)
        transport.set_keepalive(KEEPALIVE)
        self.fingerprint = transport.get_remote_server_key().fingerprint
        self._conn = conn

    def run(self, command: str, timeout: float) -> Result:
        """Run ``command`` under ``sh``; raise CommandTimeout or ConnectionLost, never retry.

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
            chan.exec_command(remote_command(command, timeout))
            chan.shutdown_write()
        except Exception as exc:  # paramiko raises SSHException/EOFError/OSError once the link is gone
            raise ConnectionLost(f"cannot start command: {_why(exc)}", host=name) from None
        out, err = _Capture(), _Capture()
        try:
            while True:
                select.select([chan], [], [], 0.25)  # the channel pipe wakes us on stdout data and on close
                while chan.recv_ready():
                    out.add(chan.recv(65536))
                while chan.recv_stderr_ready():
                    err.add(chan.recv_stderr(65536))
                if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                if chan.closed or not transport.is_active():
                    raise ConnectionLost("connection lost during command (no exit status)", host=name)
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
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


class Stream:
    """One open channel of a :class:`Session` (see :meth:`Session.stream`)."""

    def __init__(self, chan: Any, host: str) -> None:
        self._chan = chan
        self._host = host

    def readline(self) -> str:
        """The next line the command prints ('' when it ended first); waits at most the connect timeout."""
        line = b""
        try:
            while not line.endswith(b"\n"):
                chunk = self._chan.recv(1024)
                if not chunk:
                    break
                line += chunk
        except Exception as exc:  # paramiko raises many types once the link is gone
            raise ConnectionLost(f"connection lost while reading: {_why(exc)}", host=self._host) from None
        return line.decode("utf-8", errors="replace")

    def exit_code(self) -> int | None:
        """The command's exit status once it has ended, else None."""
        return int(self._chan.recv_exit_status()) if self._chan.exit_status_ready() else None

    def send_last(self, text: str, wait: float = 5.0) -> None:
        """Send a last line, close the command's stdin and wait (bounded) for it to end; never raises."""
        try:
            self._chan.sendall(text.encode("utf-8"))
            self._chan.shutdown_write()
            deadline = time.monotonic() + wait
            while not self._chan.exit_status_ready() and time.monotonic() < deadline:
                time.sleep(0.01)
        except Exception:  # noqa: S110 - the connection is going away; what the stream held dies with it
            pass
        finally:
            self._chan.close()

    def close(self) -> None:
        self._chan.close()


class _Capture:
    """Collects a stream up to MAX_OUTPUT bytes; the rest is counted, not kept."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = MAX_OUTPUT - self.size
        if room > 0:
            self.parts.append(data[:room])
            self.size += min(len(data), room)
        self.dropped += max(0, len(data) - max(room, 0))

    def text(self) -> str:
        text = b"".join(self.parts).decode("utf-8", errors="replace")
        return text + (f"\n[{self.dropped} more bytes not kept]" if self.dropped else "")


def _key_name(ep: Endpoint) -> str:
    return ep.address if ep.port == 22 else f"[{ep.address}]:{ep.port}"


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _policy(ep: Endpoint) -> Any:
    import paramiko

    class Refuse(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise HostKeyError(
                f"host key for {hostname} is not in {', '.join(ep.known_hosts)} ({key.fingerprint})",
                host=ep.name,
                hint="add it to known_hosts, or set StrictHostKeyChecking accept-new",
            )

    class AcceptNew(paramiko.MissingHostKeyPolicy):
        """Record a first-seen key by appending one line; never rewrite the user's file."""

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            client.get_host_keys().add(hostname, key.get_name(), key)
            path = ep.known_hosts[0]
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "a", encoding="ascii") as fh:
                fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")

    return AcceptNew() if ep.strict == "accept-new" else Refuse()
