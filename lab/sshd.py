"""The real OpenSSH sshd of each lab host (runs as the login user, no privilege separation).

Owns: sshd_config.<port>, starting sshd on a port with a host key and recording its pid, stopping it
by that pid. Must not: stop an sshd the lab did not record.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from .base import SSH_PORT, LabError, kill_verified, read_pidfile, write_pidfile
from .context import LabContext
from .templates import SSHD_CONFIG

SESSION_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/games"  # sshd's PATH for a login user (Debian)

HOST_KEY = "ssh_host_ed25519_key"


def listening(addr: str, port: int) -> bool:
    """Whether a TCP connection to addr:port is accepted within half a second."""
    try:
        with socket.create_connection((addr, port), 0.5):
            return True
    except OSError:
        return False


def held_by(addr: str, port: int, pid: int) -> bool:
    """Whether `pid` holds the listening TCP socket addr:port (from `ss`: a foreign listener does not count)."""
    r = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, timeout=10)
    return any(f" {addr}:{port} " in f" {ln} " and f"pid={pid}," in ln for ln in r.stdout.splitlines())


def sshd_conf(lab: LabContext, host: str, port: int, key: str, extra: str = "") -> Path:
    h = lab.hdir(host)
    conf = h / "ssh" / f"sshd_config.{port}"
    text = SSHD_CONFIG.format(addr=lab.addr(host), port=port, key=h / "ssh" / key, h=h, user=lab.user) + extra
    if lab.info(host).get("record"):  # lab/records.py: each connection and each command session in the log,
        # and rec/sh first on the session's PATH (sshd's own PATH for the login user after it); sshd takes the
        # first SetEnv line only, so PATH joins NL6_ROOT on it
        text = text.replace("LogLevel ERROR", "LogLevel VERBOSE").replace(
            f"SetEnv NL6_ROOT={h}/nl6", f"SetEnv NL6_ROOT={h}/nl6 PATH={h}/rec:{SESSION_PATH}"
        )
    lab.write(conf, text, 0o644)
    return conf


def sshd_start(lab: LabContext, host: str, port: int = SSH_PORT, key: str = HOST_KEY, extra: str = "") -> None:
    """Start the host's sshd on `port` serving `key` (nothing when the recorded one still runs);
    `extra` sshd_config lines are added to the lab's."""
    run = lab.hdir(host) / "run"
    pf = run / f"sshd.{port}.pid"
    if read_pidfile(pf):
        return
    conf = sshd_conf(lab, host, port, key, extra)
    p = lab.popen_as(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], run / f"sshd.{port}.log")
    write_pidfile(pf, p.pid)
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            raise LabError(f"{host}: sshd exited with {p.returncode}, see {run}/sshd.{port}.log")
        if listening(lab.addr(host), port) and held_by(lab.addr(host), port, p.pid):
            return
        time.sleep(0.05)
    raise LabError(f"{host}: sshd not listening on {lab.addr(host)}:{port} (see {run}/sshd.{port}.log)")


def sshd_stop(lab: LabContext, host: str, port: int) -> None:
    kill_verified([lab.hdir(host) / "run" / f"sshd.{port}.pid"])


def ca_sshd_start(lab: LabContext, host: str, port: int, ca_public_key: str) -> str:
    """A second sshd of the host (same host key, same login, same environment) on `port` that also
    trusts user certificates signed by `ca_public_key` (TrustedUserCAKeys), for tests of OpenSSH
    certificate authorities; stopped by :func:`sshd_stop`. Returns its known_hosts line."""
    h = lab.hdir(host)
    ca = h / "ssh" / f"trusted_user_ca.{port}.pub"
    lab.write(ca, ca_public_key.strip() + "\n", 0o644)
    sshd_start(lab, host, port, extra=f"TrustedUserCAKeys {ca}\n")
    pub = (h / "ssh" / f"{HOST_KEY}.pub").read_text().split()
    return f"[{lab.addr(host)}]:{port} {pub[0]} {pub[1]}"


ROOT_SSHD_CONFIG = """# sshd of lab host {host} for root logins (runs as root, with privilege separation)
ListenAddress {addr}:{port}
HostKey {key}
PidFile none
AuthorizedKeysFile {h}/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers root
PermitRootLogin prohibit-password
X11Forwarding no
PrintMotd no
PrintLastLog no
LogLevel ERROR
"""


def root_sshd_start(lab: LabContext, host: str, port: int) -> str:
    """A second sshd on the host's address that lets root in with the lab's key (as sites whose
    operators log in as root). Only a lab run as root can start one (LabError otherwise). Returns its
    known_hosts line; it is stopped by its pid with the lab (``lab down``) or :func:`sshd_stop`."""
    if not lab.root:
        raise LabError("a root-login sshd needs a lab run as root")
    h = lab.hdir(host)
    run = h / "run"
    pf = run / f"sshd.{port}.pid"
    pub = (h / "ssh" / f"{HOST_KEY}.pub").read_text().split()
    line = f"[{lab.addr(host)}]:{port} {pub[0]} {pub[1]}"
    if read_pidfile(pf):
        return line
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    conf = h / "ssh" / f"sshd_config.{port}"
    text = ROOT_SSHD_CONFIG.format(host=host, addr=lab.addr(host), port=port, key=h / "ssh" / HOST_KEY, h=h)
    lab.write(conf, text, 0o644)
    with (run / f"sshd.{port}.log").open("ab") as log:
        p = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], stdout=log, stderr=log)
    write_pidfile(pf, p.pid)
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            raise LabError(f"{host}: root sshd exited with {p.returncode}, see {run}/sshd.{port}.log")
        if listening(lab.addr(host), port) and held_by(lab.addr(host), port, p.pid):
            return line
        time.sleep(0.05)
    raise LabError(f"{host}: root sshd not listening on {lab.addr(host)}:{port} (see {run}/sshd.{port}.log)")
