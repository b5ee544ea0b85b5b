"""What real networks do, on loopback: jump hosts, tarpits, links that die, direct paths that are closed.

Owns: a bare sshd host for network tests (host key, authorized_keys, started through `lab.sshd`), a
tarpit (accepts TCP, never writes), a TCP relay that can be cut (it stops forwarding but keeps both
sockets open, as a dead link does), and one iptables rule that refuses direct connections to a port
from every uid but one (so a host is reachable only through a jump host's sshd). Must not: flush or
edit any iptables rule but the one it added (removed by its exact spec), or stop a process it did not
start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from .base import LabError
from .context import LabContext
from .sshd import HOST_KEY, sshd_start, sshd_stop


def ssh_host(ctx: LabContext, host: str, port: int, authorized: str) -> str:
    """Start a bare sshd for `host` (ctx.addr(host):port) letting `authorized` in; its host key line."""
    h = ctx.hdir(host)
    for d in (h, h / "ssh", h / "run"):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        ctx.chown(d)
    key = h / "ssh" / HOST_KEY
    if not key.exists():
        ctx.run_as(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host, "-f", str(key)])
    ctx.write(h / "ssh" / "authorized_keys", authorized.strip() + "\n", 0o600)
    sshd_start(ctx, host, port)
    return " ".join((h / "ssh" / f"{HOST_KEY}.pub").read_text().split()[:2])


def ssh_host_stop(ctx: LabContext, host: str, port: int) -> None:
    sshd_stop(ctx, host, port)


class _Listener:
    """A TCP listener on (addr, port) handing each accepted connection to :meth:`handle` in a thread."""

    def __init__(self, addr: str, port: int) -> None:
        self.sock = socket.create_server((addr, port), backlog=64)
        self.held: list[socket.socket] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        self.held.append(conn)  # held open, never answered

    def close(self) -> None:
        """Stop listening at once: a close() alone leaves the port listening while the accepting thread is
        blocked in accept() on it (the next listener on the same address would fail to bind)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.acceptor.join(5)
        self.sock.close()
        for c in self.held:
            c.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Tarpit(_Listener):
    """A listener that accepts every connection and never sends a byte (no SSH banner)."""


class Relay(_Listener):
    """A TCP relay from (addr, port) to `target`; :meth:`cut` makes every link it carries go silent.

    A cut link forwards nothing in either direction but keeps both sockets open, as a dead network
    path does (no RST, no FIN): only a keepalive can tell.
    """

    def __init__(self, addr: str, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.cut_event = threading.Event()
        super().__init__(addr, port)

    def handle(self, conn: socket.socket) -> None:
        if self.cut_event.is_set():
            super().handle(conn)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            conn.close()
            return
        self.held += [conn, upstream]
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if not self.cut_event.is_set():
                    dst.close()
                return
            if self.cut_event.is_set():
                continue  # swallowed: the link is dead
            try:
                dst.sendall(data)
            except OSError:
                return

    def cut(self) -> None:
        self.cut_event.set()


def iptables_unusable() -> str | None:
    """Why the owner-match rule cannot be used here (None when it can)."""
    if os.geteuid() != 0:
        return "iptables rules need root"
    if shutil.which("iptables") is None:
        return "iptables is not installed (scripts/install-system-deps.sh installs it)"
    r = subprocess.run(["iptables", "-w", "5", "-S", "OUTPUT"], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"iptables does not work here: {r.stderr.strip()[:200]}"
    return None


class OnlyFromUid:
    """REJECT (TCP reset) connections to addr:port from every uid but `uid`, in the OUTPUT chain.

    With the jump host's sshd running as `uid`, the target is reachable only through that sshd.
    The rule is removed by its exact spec; nothing else in the table is touched.
    """

    def __init__(self, addr: str, port: int, uid: int) -> None:
        self.spec = [
            "OUTPUT", "-p", "tcp", "-d", addr, "--dport", str(port),
            "-m", "owner", "!", "--uid-owner", str(uid),
            "-m", "comment", "--comment", "remediate-test-only-via-bastion",
            "-j", "REJECT", "--reject-with", "tcp-reset",
        ]  # fmt: skip
        self.added = False

    def __enter__(self) -> OnlyFromUid:
        r = subprocess.run(["iptables", "-w", "5", "-I", *self.spec], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise LabError(f"iptables -I {' '.join(self.spec)}: {r.stderr.strip()[:300]}")
        self.added = True
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        if self.added:
            subprocess.run(["iptables", "-w", "5", "-D", *self.spec], capture_output=True, text=True, check=False)
            self.added = False


def net_context(dir: Path, net: str) -> LabContext:
    """A LabContext on `net` rooted at `dir` (made readable by the login user), for :func:`ssh_host`."""
    dir.mkdir(parents=True, exist_ok=True)
    os.chmod(dir, 0o755)
    ctx = LabContext(dir, net, project_inventory=False)
    ctx.chown(dir)
    return ctx
