"""The front web server of each lab host (Apache/IIS with Campaign's module in Adobe's pages): start, stop, probe.

Owns: run/front/front.pid per host, starting the simulator's `_front` (on <addr>:FRONT_PORT, handing every
request to the host's Tomcat on WEB_PORT), stopping it (fault front_web_down) and reading /r/test through
it. It is not a Campaign module: the watchdog and `nlserver` never see it. Must not: signal a process it
did not record.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from .base import FRONT_PORT, WEB_PORT, kill_verified, read_pidfile, write_pidfile
from .context import LabContext


def pidfile(lab: LabContext, host: str) -> Path:
    return lab.hdir(host) / "run" / "front" / "front.pid"


def listening(lab: LabContext, host: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((lab.addr(host), FRONT_PORT), timeout):
            return True
    except OSError:
        return False


def start(lab: LabContext, host: str) -> None:
    """Start the host's front web server unless it runs; wait until it accepts connections."""
    if read_pidfile(pidfile(lab, host)):
        return
    d = pidfile(lab, host).parent
    d.mkdir(parents=True, exist_ok=True)
    lab.chown(d)
    argv = lab.sim_argv("_front", lab.addr(host), str(FRONT_PORT), str(WEB_PORT))
    p = lab.popen_as(argv, d / "front.log")
    write_pidfile(pidfile(lab, host), p.pid)
    deadline = time.time() + 5
    while not listening(lab, host, 0.5) and time.time() < deadline:
        time.sleep(0.05)


def stop(lab: LabContext, host: str) -> None:
    kill_verified([pidfile(lab, host)])


def url(lab: LabContext, host: str) -> str:
    """The host's front web server as a tracking server URL (what NmsTracking_ServerUrlList lists)."""
    return f"http://{lab.addr(host)}:{FRONT_PORT}"
