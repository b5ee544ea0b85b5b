"""Foreign processes the lab starts to inject faults: a port squatter and a connection-dropping proxy.

Owns: `squat` (holds a port under the name rsyslog-fwd) and `proxy` (TCP proxy in front of sshd that
closes the first N connections). Must not: import anything outside the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import NoReturn

from .common import set_comm


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    os._exit(0)


def squat(proto: str, addr: str, port: str) -> NoReturn:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.bind((addr, int(port)))
    set_comm("rsyslog-fwd")
    signal.signal(signal.SIGTERM, _exit_on_term)
    while True:
        if proto == "udp":
            s.recvfrom(65535)
        else:
            time.sleep(3600)


def _pump(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


def proxy(listen_addr: str, listen_port: str, target_port: str, drops: str) -> NoReturn:
    """TCP proxy in front of sshd that drops the first `drops` connections."""
    set_comm("sshd-proxy")
    signal.signal(signal.SIGTERM, _exit_on_term)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((listen_addr, int(listen_port)))
    ls.listen(64)
    left = int(drops)
    while True:
        c, _ = ls.accept()
        if left > 0:
            left -= 1
            c.close()
            continue
        try:
            u = socket.create_connection((listen_addr, int(target_port)), 5)
        except OSError:
            c.close()
            continue
        threading.Thread(target=_pump, args=(c, u), daemon=True).start()
        threading.Thread(target=_pump, args=(u, c), daemon=True).start()
