"""The lab's POP3 server: the bounce mailboxes inMail polls (one account per host instance).

Owns: `pop3_server` (RFC 1939 subset: USER, PASS, STAT, LIST, UIDL, RETR, DELE, NOOP, RSET, QUIT, CAPA)
serving `<dir>/mail/<account>/*.eml`, with passwords read from `<dir>/accounts` (`account:password` lines,
read at each login so that new hosts need no restart). A DELE'd message is removed at QUIT, as RFC 1939
says. Must not: import anything outside the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socketserver
from types import FrameType
from typing import NoReturn

from .common import set_comm


def _accounts(base: str) -> dict[str, str]:
    out = {}
    with contextlib.suppress(OSError), open(os.path.join(base, "accounts")) as f:
        for line in f:
            name, _, password = line.rstrip("\n").partition(":")
            if name:
                out[name] = password
    return out


class _Session(socketserver.StreamRequestHandler):
    base = ""

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("latin-1", "replace") + b"\r\n")

    def handle(self) -> None:
        self._say("+OK lab POP3 server ready")
        user, box = "", ""
        messages: list[str] = []
        deleted: set[int] = set()
        while True:
            raw = self.rfile.readline(1024)
            if not raw:
                return
            cmd, _, arg = raw.decode("latin-1").strip().partition(" ")
            cmd = cmd.upper()
            if cmd == "QUIT":
                for k in deleted:
                    with contextlib.suppress(OSError):
                        os.unlink(messages[k])
                self._say("+OK bye")
                return
            if cmd == "CAPA":
                self._say("+OK\r\nUSER\r\nUIDL\r\n.")
            elif cmd == "USER":
                user = arg
                self._say("+OK")
            elif cmd == "PASS":
                if not user or _accounts(self.base).get(user) != arg:
                    self._say("-ERR [AUTH] invalid login or password")
                    continue
                box = os.path.join(self.base, "mail", user)
                os.makedirs(box, exist_ok=True)
                messages = sorted(os.path.join(box, n) for n in os.listdir(box) if n.endswith(".eml"))
                self._say(f"+OK {len(messages)} messages")
            elif not box:
                self._say("-ERR log in first")
            elif cmd == "NOOP":
                self._say("+OK")
            elif cmd == "RSET":
                deleted.clear()
                self._say("+OK")
            elif cmd == "STAT":
                live = [m for k, m in enumerate(messages) if k not in deleted]
                self._say(f"+OK {len(live)} {sum(os.path.getsize(m) for m in live)}")
            elif cmd in ("LIST", "UIDL"):
                self._say("+OK")
                for k, m in enumerate(messages):
                    if k not in deleted:
                        self._say(f"{k + 1} {os.path.getsize(m) if cmd == 'LIST' else os.path.basename(m)}")
                self._say(".")
            elif cmd in ("RETR", "DELE") and arg.isdigit() and 0 < int(arg) <= len(messages):
                k = int(arg) - 1
                if k in deleted:
                    self._say("-ERR message deleted")
                elif cmd == "DELE":
                    deleted.add(k)
                    self._say("+OK")
                else:
                    with open(messages[k], "rb") as f:
                        body = f.read().decode("latin-1").replace("\r\n", "\n")
                    self._say("+OK")
                    for line in body.split("\n"):
                        self._say("." + line if line.startswith(".") else line)
                    self._say(".")
            else:
                self._say("-ERR unknown command")


def pop3_server(addr: str, port: str, base: str) -> NoReturn:
    """Serve the mailboxes under `base` on `addr`:`port` until SIGTERM."""
    set_comm("lab-pop3")

    def stop(signum: int, frame: FrameType | None) -> None:
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    _Session.base = base
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer((addr, int(port)), _Session) as server:
        server.serve_forever()
    os._exit(0)
