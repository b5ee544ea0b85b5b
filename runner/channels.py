"""What the runner does with an open SSH channel: capture its output within bounds, hold a line-oriented
conversation (the run lock's), and watch the link with keepalives that need an answer.

Owns: :class:`Stream`, the bounded output capture, and the keepalive watchdog. Works on the paramiko
objects :mod:`runner.transport` hands it; imports no SSH library itself (transport stays the only one).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from runner.errors import ConnectionLost

MAX_OUTPUT = 8 * 1024 * 1024  # bytes kept per stream of one command


def why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


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
            raise ConnectionLost(f"connection lost while reading: {why(exc)}", host=self._host) from None
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


class Capture:
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


class Keepalive:
    """ssh's ServerAliveInterval/CountMax: a request the server must answer every ``interval`` seconds.

    paramiko's own keepalive asks for no reply, so it never notices a dead link; this one does: when no
    reply has come for ``interval * count`` seconds, :meth:`dead` is true and the running command ends
    as ConnectionLost instead of waiting on a link that will never answer.
    """

    def __init__(self, transport: Any, interval: int, count: int) -> None:
        self.transport = transport
        self.interval = interval
        self.count = count
        self.last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="remediate-keepalive", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.transport.is_active():
                return
            try:
                # OpenSSH answers an unknown global request with a failure: any answer proves the link.
                self.transport.global_request("keepalive@openssh.com", wait=True)
            except Exception:  # the transport is going away; run() sees that on its own
                return
            if self.transport.is_active():
                self.last = time.monotonic()

    def dead(self) -> bool:
        return time.monotonic() - self.last > self.interval * self.count

    def stop(self) -> None:
        self._stop.set()
