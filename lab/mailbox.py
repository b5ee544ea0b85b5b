"""The lab's POP3 server and its bounce mailboxes (one account per host instance).

Owns: pop3/ in the lab directory (accounts, mail/<account>/*.eml, the server's pid file), starting and
stopping the server (`_pop3` of the simulator, on <net>.251:1110), each instance's 'defaultPopAccount'
external account row, and writing or counting bounce mails. Must not: signal a process it did not record.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from pathlib import Path

from .base import POP3_PORT, kill_verified, read_pidfile, write_pidfile
from .context import LabContext


def _dir(lab: LabContext) -> Path:
    return lab.dir / "pop3"


def pidfile(lab: LabContext) -> Path:
    return _dir(lab) / "pop3.pid"


def account(host: str, instance: str) -> str:
    return f"{host}-{instance}"


def reachable(lab: LabContext, timeout: float = 2.0) -> bool:
    """Whether the POP3 server accepts a connection and greets with +OK."""
    try:
        with socket.create_connection((lab.pop3_addr, POP3_PORT), timeout) as s:
            return s.recv(64).startswith(b"+OK")
    except OSError:
        return False


def start(lab: LabContext) -> None:
    """Start the server unless it runs; wait until it answers."""
    d = _dir(lab)
    (d / "mail").mkdir(parents=True, exist_ok=True)
    for path in (d, d / "mail"):
        os.chmod(path, 0o755)
        lab.chown(path)
    if read_pidfile(pidfile(lab)):
        return
    p = lab.popen_as(lab.sim_argv("_pop3", lab.pop3_addr, str(POP3_PORT), str(d)), d / "pop3.log")
    write_pidfile(pidfile(lab), p.pid)
    deadline = time.time() + 5
    while not reachable(lab, 0.5) and time.time() < deadline:
        time.sleep(0.05)


def stop(lab: LabContext) -> None:
    kill_verified([pidfile(lab)])


def add_accounts(lab: LabContext, host: str) -> None:
    """A mailbox per instance of the host, and its 'defaultPopAccount' external account in the instance's DB."""
    d = _dir(lab)
    d.mkdir(parents=True, exist_ok=True)
    for instance in lab.instances(host):
        name, password = account(host, instance), secrets.token_hex(8)
        with open(d / "accounts", "a") as f:
            f.write(f"{name}:{password}\n")
        box = d / "mail" / name
        box.mkdir(parents=True, exist_ok=True)
        lab.chown(box)
        lab.psql(
            "DELETE FROM NmsExtAccount WHERE sName='defaultPopAccount';"
            "INSERT INTO NmsExtAccount (iExtAccountId, sName, sLabel, iType, sServer, iPort, sAccount, sPassword) "
            f"VALUES (1, 'defaultPopAccount', 'Bounce mails', 0, '{lab.pop3_addr}', {POP3_PORT}, '{name}', "
            f"'{password}')",
            db=lab.db_name(host, instance),
        )
    os.chmod(d / "accounts", 0o600)
    lab.chown(d / "accounts")


def mailbox(lab: LabContext, host: str, instance: str | None = None) -> Path:
    return _dir(lab) / "mail" / account(host, instance or lab.instances(host)[0])


def bounces(lab: LabContext, host: str, count: int) -> None:
    """Drop `count` bounce mails (hard bounces, 550 5.1.1) into the host's main bounce mailbox."""
    box = mailbox(lab, host)
    for k in range(count):
        lab.write(
            box / f"bounce-{int(time.time() * 1000)}-{k}.eml",
            "From: MAILER-DAEMON@mx.example.net\nTo: bounce@lab\nSubject: Undelivered Mail Returned to Sender\n"
            f"\n550 5.1.1 <user{k + 1}@example.com>: Recipient address rejected: User unknown\n",
        )


def waiting(lab: LabContext, host: str) -> int:
    """Mails waiting in the host's main bounce mailbox."""
    return len(list(mailbox(lab, host).glob("*.eml")))
