"""The watchdog process and detached spawning of simulator processes.

Owns: starting every enabled module that is neither running nor marked stopped, restarting one that
died (at most once a second per module), and stopping its children on SIGTERM. Must not: import
anything outside the standard library; restart a module marked stopped (run/stopped/<name>).
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import NoReturn

from .common import HOST_DIR, NL6, PROC, RUN, enabled_modules, log, pidfile, reset_log, rm, running, set_comm
from .modules import module_process
from .pids import write_pidfile

ENTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__main__.py")


def spawn(args: list[str]) -> None:
    """Start a detached simulator process (own session, stdio on a log file, cwd in the host dir)."""
    os.makedirs(os.path.join(RUN, "out"), exist_ok=True)
    with open(os.path.join(RUN, "out", "{}.out".format(args[0].strip("_"))), "ab") as out:
        subprocess.Popen(
            [sys.executable, "-I", "-S", ENTRY, *args],
            cwd=HOST_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
            env=dict(os.environ, NL6_ROOT=NL6),
        )


def _stopped(name: str) -> bool:
    return os.path.exists(os.path.join(RUN, "stopped", name))


def _reap(children: dict[str, int]) -> None:
    """Forget the children that exited, logging those that were not stopped on purpose."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for n, p in list(children.items()):
            if p == pid:
                del children[n]
                if not _stopped(n):
                    log("warning", f"Process '{n}' ({pid}) ended unexpectedly, restarting it")


def _stop_children(children: dict[str, int]) -> None:
    for pid in children.values():
        for sig in (signal.SIGTERM, signal.SIGCONT):
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
    deadline = time.time() + 4
    while children and time.time() < deadline:
        for n, pid in list(children.items()):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    del children[n]
            except ChildProcessError:
                del children[n]
        time.sleep(0.05)
    for pid in children.values():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def watchdog_main() -> NoReturn:
    PROC.name = "watchdog"
    set_comm("watchdog")
    os.chdir(HOST_DIR)
    for p in glob.glob(os.path.join(RUN, "stopped", "*")):
        rm(p)
    children: dict[str, int] = {}
    last_start: dict[str, float] = {}
    stopping: list[int] = []

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.append(1)

    signal.signal(signal.SIGTERM, on_term)
    write_pidfile(pidfile("watchdog"), os.getpid())
    log("info", "Watchdog started")
    while not stopping:
        _reap(children)
        live = running()
        for name in enabled_modules():
            if name in children or name in live or _stopped(name):
                continue
            if time.time() - last_start.get(name, 0) < 1.0:
                continue
            last_start[name] = time.time()
            pid = os.fork()
            if pid == 0:
                reset_log()
                try:
                    module_process(name)
                finally:
                    os._exit(1)
            children[name] = pid
        time.sleep(0.3)
    log("info", "Watchdog stopping")
    _stop_children(children)
    rm(pidfile("watchdog"))
    os._exit(0)
