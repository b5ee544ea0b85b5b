"""A lab started from any checkout: one the lab user cannot read (a mode-700 directory under /root), a
failed `up` that stops what it started, a lab directory another checkout holds (refused, or replaced
with --replace), a lab whose checkout was removed (replaced by the next `up`, saying so) and `make
lab-down` from another checkout. Each test runs its own lab on a spare net (the session lab's, second
octet + 1, or env REMEDIATE_LAB_SPARE_NET)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import NET
from labtools import nl

from lab import Lab, LabError, postgres
from lab.base import proc_state, read_pidfile, starttime

# one pytest-xdist worker runs the whole file: one spare address block for its labs
pytestmark = pytest.mark.xdist_group("test_lab_checkout")

REPO = Path(__file__).resolve().parents[2]
_octets = NET.split(".")
SPARE_NET = os.environ.get("REMEDIATE_LAB_SPARE_NET") or f"127.{(int(_octets[1]) + 1) % 256}.{_octets[2]}"


def lab_cmd(checkout: Path, labdir: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`python -m lab --dir labdir --net SPARE_NET ARGS` run from `checkout` (its own `lab` package)."""
    return subprocess.run(
        [sys.executable, "-m", "lab", "--dir", str(labdir), "--net", SPARE_NET, *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k not in ("REMEDIATE_LAB_DIR", "REMEDIATE_LAB_NET", "PYTHONPATH")},
    )


def lab_processes(labdir: Path) -> list[str]:
    """Every live process whose command line names the lab directory (sshd -f, postgres -D, the simulator)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(labdir).encode() in cmd:
            shown = cmd.replace(b"\0", b" ").decode(errors="replace")[:160]
            found.append(f"{proc.name}: {shown}")
    return found


@pytest.fixture()
def labdir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="remediate-lab-checkout-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    Lab(d, SPARE_NET, project_inventory=False).down()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture()
def private_checkout() -> Iterator[Path]:
    """A copy of the checkout's lab package in a mode-700 directory owned by root (the lab user cannot read it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the lab user (neolane) must be another user than the checkout's owner")
    base = Path(tempfile.mkdtemp(prefix="remediate-private-", dir="/root"))
    os.chown(base, 0, 0)
    os.chmod(base, 0o700)
    copy = base / "x"
    shutil.copytree(REPO / "lab", copy / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", copy / "pyproject.toml")
    yield copy
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def clones() -> Iterator[Callable[[], Path]]:
    """Make copies of the checkout as a new user's clone has them for the lab: lab/, pyproject.toml, the
    Makefile and an inventory/ directory, but no .venv (each in its own /tmp directory, removed after)."""
    made: list[Path] = []

    def clone() -> Path:
        base = Path(tempfile.mkdtemp(prefix="remediate-clone-", dir="/tmp"))
        made.append(base)
        os.chmod(base, 0o755)
        copy = base / "remediate"
        shutil.copytree(REPO / "lab", copy / "lab", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "Makefile"):
            shutil.copy2(REPO / name, copy / name)
        (copy / "inventory").mkdir()
        return copy

    yield clone
    for base in made:
        shutil.rmtree(base, ignore_errors=True)


def recorded(lab: Lab) -> list[tuple[int, int | None]]:
    """(pid, start time) of every live process the lab recorded, PostgreSQL's postmaster included."""
    pids = [pid for pid in map(read_pidfile, lab.pidfiles()) if pid]
    pids += [pid for pid in [postgres.pg_pid(lab)] if pid]
    return [(pid, starttime(pid)) for pid in pids]


def running(processes: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """Those of `processes` still running: same pid and start time, and not a zombie awaiting its reaper."""
    return [(pid, t) for pid, t in processes if starttime(pid) == t and proc_state(pid) != "Z"]


def test_a_lab_whose_checkout_was_removed_is_replaced_and_any_checkout_stops_it(
    clones: Callable[[], Path], labdir: Path
) -> None:
    # a new user's first `make demo`: the lab is started from a clone (which writes its inventory/lab.yml)
    first = clones()
    r = lab_cmd(first, labdir, "up", "--hosts", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    lab = Lab(labdir, SPARE_NET, project_inventory=False)
    assert (first / "inventory" / "lab.yml").exists()
    old = recorded(lab)
    assert len(old) >= 4 and running(old) == old, old  # watchdog, modules, sshd, pop3, postmaster

    # ... then `rm -rf` of that clone: the lab still runs, and says its checkout no longer exists
    shutil.rmtree(first.parent)
    assert running(old) == old
    r = lab_cmd(REPO, labdir, "status")
    assert r.returncode == 0 and f"started from {first} (version 0.1.0); that checkout no longer exists" in r.stdout

    # `make demo` in a fresh clone: its `up` stops that lab by its recorded pids, removes it, starts its own
    r = lab_cmd(REPO, labdir, "up", "--hosts", "1", "--no-project-inventory")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"replaced the lab started from {first}, a checkout that no longer exists" in r.stdout, r.stdout
    assert running(old) == [], f"still running: {running(old)}"
    assert json.loads((labdir / "lab.json").read_text())["checkout"] == str(REPO)
    st = lab.status("lab1")
    assert all(st["healthy"].values()), {k: v for k, v in st["healthy"].items() if not v}
    new = recorded(lab)
    assert not {pid for pid, _ in old} & {pid for pid, _ in new}

    # `make lab-down` from yet another checkout (a clone with no .venv) stops it, naming whose lab it was
    other = clones()
    r = subprocess.run(
        ["make", "-s", "lab-down", f"PYTHON={sys.executable}"],
        cwd=other,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAKEFLAGS")},
            "REMEDIATE_LAB_DIR": str(labdir),
            "REMEDIATE_LAB_NET": SPARE_NET,
        },
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"process(es) stopped (the lab in {labdir}, started from {REPO})" in r.stdout, r.stdout
    assert not (other / ".venv").exists()
    assert running(new) == [], f"still running: {running(new)}"
    assert lab_processes(labdir) == []
    assert not (labdir / "lab.json").exists()


def test_lab_from_a_checkout_the_lab_user_cannot_read(private_checkout: Path, labdir: Path) -> None:
    r = lab_cmd(private_checkout, labdir, "up", "--hosts", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    lab = Lab(labdir, SPARE_NET, project_inventory=False)
    assert lab.run_as(["test", "-x", str(private_checkout)], check=False).returncode != 0  # really unreadable
    state = json.loads((labdir / "lab.json").read_text())
    assert state["checkout"] == str(private_checkout) and state["version"] == "0.1.0"  # no .git: pyproject's
    st = lab.status("lab1")
    assert all(st["healthy"].values()), {k: v for k, v in st["healthy"].items() if not v}
    assert st["db"]["recipients"] == 200  # schema.sql loaded, fed by root over stdin
    script = labdir / "hosts/lab1/run/count.js"
    lab.write(script, 'logInfo("n " + sqlGetInt("SELECT count(*) FROM NmsRecipient"));\n')
    r = nl(lab, "lab1", "javascript", "-instance:prod", "-file", str(script))
    assert r.returncode == 0 and r.stdout.rstrip().endswith("n 200"), r.stdout + r.stderr
    r = lab_cmd(private_checkout, labdir, "status")
    assert r.returncode == 0 and f"started from {private_checkout} (version 0.1.0)" in r.stdout, r.stdout

    # the same lab directory from another checkout: refused, naming the checkout that started it
    pids = {m: p["pid"] for m, p in st["processes"].items()}
    r = lab_cmd(REPO, labdir, "up", "--hosts", "1")
    assert r.returncode != 0 and str(private_checkout) in r.stderr and "--replace" in r.stderr, r.stderr
    assert {m: p["pid"] for m, p in lab.status("lab1")["processes"].items()} == pids  # left running as it was

    # --replace: stopped, removed and started again from this checkout, and it says so
    r = lab_cmd(REPO, labdir, "up", "--hosts", "1", "--replace", "--no-project-inventory")
    assert r.returncode == 0, r.stderr
    assert f"replaced the lab started from {private_checkout}" in r.stdout, r.stdout
    assert json.loads((labdir / "lab.json").read_text())["checkout"] == str(REPO)
    st = lab.status("lab1")
    assert all(st["healthy"].values()) and not set(pids.values()) & {p["pid"] for p in st["processes"].values()}
    r = lab_cmd(REPO, labdir, "status")
    assert f"started from {REPO} (version " in r.stdout, r.stdout
    assert lab_cmd(REPO, labdir, "down").returncode == 0
    assert lab_processes(labdir) == []


def test_failed_up_stops_what_it_started(labdir: Path) -> None:
    lab = Lab(labdir, SPARE_NET, project_inventory=False)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind((f"{SPARE_NET}.2", 2222))  # lab2's sshd port is taken: up fails after lab1 has started
    squatter.listen(1)
    try:
        with pytest.raises(LabError, match="lab2: sshd"):
            lab.up(2)
    finally:
        squatter.close()
    stopped = json.loads((labdir / "up-failed.json").read_text())["stopped"]
    files = [Path(s["pidfile"]).name for s in stopped]
    # what it had started: lab1's watchdog (and the modules it had forked so far) and sshd, the POP3
    # server, PostgreSQL (lab2's sshd could not bind and exited)
    assert {"watchdog.pid", "sshd.2222.pid", "pop3.pid", "postmaster.pid"} <= set(files), files
    assert files.count("sshd.2222.pid") == 1 and "lab1" in next(s["pidfile"] for s in stopped if "sshd" in s["pidfile"])
    for s in stopped:
        # gone, or a zombie waiting for its reaper (pid 1 adopted the postmaster when pg_ctl exited)
        assert starttime(s["pid"]) != s["starttime"] or proc_state(s["pid"]) == "Z", f"{s} still runs"
    assert lab_processes(labdir) == []
