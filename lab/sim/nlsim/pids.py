"""Process identity from /proc and the lab's pid files.

Owns: the pid file format `pid starttime [state]` (a third word means "not ready yet"), the start-time
check that makes a recorded pid safe to signal, and the verified stop of recorded processes. The lab
orchestrator imports this module (through `lab.base`); the simulator imports it relatively.
Must not: import anything outside the standard library; signal a pid whose start time no longer matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

PathLike = str | os.PathLike[str]


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
        return data[data.rindex(")") + 2 :].split()
    except (OSError, ValueError):
        return None


def starttime(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (ValueError, IndexError):
        return None


def proc_state(pid: int) -> str | None:
    """The one-letter state of `pid` (R, S, T, Z, ...), or None when there is no such process."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def write_pidfile(path: PathLike, pid: int, state: str = "") -> None:
    """Record `pid` with its start time (and `state` while it is not ready) in `path`, atomically."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    st = starttime(pid)
    for _ in range(50):  # a child just started by Popen may not be readable in /proc yet
        if st:
            break
        time.sleep(0.01)
        st = starttime(pid)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{pid} {st or 0} {state}".rstrip() + "\n")
    os.replace(tmp, path)


def read_pidfile_entry(path: PathLike) -> tuple[int, bool] | None:
    """(pid, ready) when `path` names a live process with the recorded start time, else None."""
    try:
        with open(path) as f:
            parts = f.read().split()
        pid, st = int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    if not st or starttime(pid) != st:
        return None
    return pid, len(parts) < 3


def read_pidfile(path: PathLike) -> int | None:
    """The pid recorded in `path` if that very process (same start time) is still alive."""
    entry = read_pidfile_entry(path)
    return entry[0] if entry else None


def _gone(pid: int, st: int) -> bool:
    """Whether the process recorded as (pid, st) no longer exists; a zombie child of ours is reaped here."""
    if starttime(pid) != st:
        return True
    if proc_state(pid) == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # only succeeds for our own child; others are reaped by their parent
        return starttime(pid) != st
    return False


def kill_verified(paths: Iterable[PathLike], timeout: float = 5.0, immediate: bool = False) -> list[int]:
    """Stop the processes recorded in `paths` that are still the ones recorded, then remove the pid files.

    SIGTERM + SIGCONT (a SIGSTOPped process must see the SIGTERM), SIGKILL for those still running after
    `timeout`; `immediate` sends SIGKILL at once. Waits (within `timeout`) until each process has left
    /proc, not merely exited, so a caller sees no trace of it afterwards. Returns the pids signalled.
    """
    paths = list(paths)
    victims: dict[int, int] = {}
    for p in paths:
        pid = read_pidfile(p)
        if pid and pid != os.getpid():
            victims[pid] = starttime(pid) or 0
    sigs = (signal.SIGKILL,) if immediate else (signal.SIGTERM, signal.SIGCONT)
    for pid in victims:
        for sig in sigs:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
    deadline = time.time() + timeout
    while time.time() < deadline and not all(_gone(p, s) for p, s in victims.items()):
        time.sleep(0.05)
    killed = {pid: st for pid, st in victims.items() if starttime(pid) == st and proc_state(pid) != "Z"}
    for pid in killed:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 2.0  # a SIGKILLed process can still show in /proc for a moment on a busy host
    while killed and time.time() < deadline and not all(_gone(p, s) for p, s in killed.items()):
        time.sleep(0.05)
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
    return list(victims)
