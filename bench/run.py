#!/usr/bin/env python3
"""Benchmark: `remediate check all` against the floor (raw OpenSSH) and ansible-playbook on a lab fleet.

Starts a dedicated lab (default /tmp/remediate-bench on 127.0.7.x) whose hosts record what they receive
(``REMEDIATE_LAB_RECORD=1``: lab/README.md "Records"), builds with the runner's own functions what
``remediate check`` sends each host (the holds listing, the host's settings read, the sweep's batch script
built from those settings) and times on lab1..labN, N in --sizes, in rounds of a, b, c:

  (a) floor: raw OpenSSH, one connection per host (ControlMaster) carrying those three commands, each the
      same command line with the same script on stdin; ``--forks`` hosts at once (``xargs -P``);
  (b) ``remediate check MODULES --host lab1 .. --host labN --forks F``;
  (c) ``ansible-playbook -f F``: three ``shell`` tasks per host, the same command lines with the same
      scripts on stdin (the batch is ONE task: env.sh sourced as often, the same commands as many at
      once), each task's ``failed_when`` checking its result; no facts, pipelining on (ansible-core in
      bench/.venv-ansible, installed on first use).

After each run the bench reads every host's records of it (connections, sessions and their scripts, env.sh
sourcings, the commands run and how many at once, nlserver starts) and compares them across the tools: a
row whose tools did not do the same work on the hosts, or a tool whose results show a failed command,
meets no target. Ratios are medians of per-round ratios. The "nlserver starts per host per `check all`
sweep" row comes from the hosts' nlserver records of (b) with the steps that read each start
(bench/nlserver_starts.py). Measured code (runner, playbooks, lab, bench) must be committed unless
``--allow-dirty`` (its commit is then marked ``-dirty``); ``--merge`` keeps earlier rows of this layout.

Per run: wall time, client CPU, host CPU (each host's sshd in a cpuacct cgroup), the largest RSS of any
process of the tree and the peak of the summed RSS of the tree. Also cold start (``--help``, ``list``,
``show wfserver``) and a wfserver run on one healthy host (checks only). Writes bench/results.json and
docs/performance.md, whose text is generated from the figures. The lab is stopped at the end, also on
error. Usage: ``make bench`` or ``.venv/bin/python bench/run.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import nlserver_starts  # noqa: E402

from lab import records  # noqa: E402
from lab.base import SSH_PORT, read_pidfile  # noqa: E402
from lab.hostfiles import RECORD_ENV  # noqa: E402
from runner import hold, hostfacts, hostvars, inventory, plan, playbook, transport  # noqa: E402
from runner.actions import Context, become_for  # noqa: E402
from runner.events import Event  # noqa: E402
from runner.plan import Batch  # noqa: E402
from runner.wire import Account, Result, as_sent, run_as  # noqa: E402

# the runner of this checkout (not whatever an editable install points at): ``python -m runner`` with
# PYTHONPATH set to this checkout (base_env)
REMEDIATE = [sys.executable, "-m", "runner"]
ANSIBLE_VENV = Path(os.environ.get("REMEDIATE_BENCH_ANSIBLE_VENV", str(BENCH / ".venv-ansible")))
PAGE = os.sysconf("SC_PAGE_SIZE")
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
# what a measured figure depends on: a tree that differs from its commit here is refused (or marked -dirty)
MEASURED = ("runner/", "playbooks/", "lab/", "bench/")
SETS = {"playbooks": None, "short": BENCH / "short"}  # probe set -> $REMEDIATE_PLAYBOOKS

TARGETS = {
    "c_over_b_short_n10": 10.0,  # transport-bound set: ansible-playbook over remediate, wall time
    "b_over_a_playbooks": 1.10,  # `check all`: remediate over raw OpenSSH, each N measured
    "cpu_c_over_b_playbooks": 10.0,  # `check all`: ansible-playbook's own CPU over remediate's
    "help_s": 0.20,
    "list_s": 0.30,
    "rss_n50_mb": 100.0,
    "wfserver_s": 1.0,
    "nlserver_starts": 3,  # per host per `check all` sweep, from the hosts' records
}


# --- measuring one process tree ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return out


def _tree_rss(root: int) -> int:
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        todo.extend(_children(pid))
    return total


def base_env() -> dict[str, str]:
    """The caller's environment, with byte-code caching on: an installed package has its .pyc files."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def measure(
    argv: list[str],
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    out: Path | None = None,
    sample: bool = True,
) -> dict[str, Any]:
    """Run argv to completion: wall seconds, exit code, max RSS of one process, peak tree RSS (MB)."""
    env = env if env is not None else base_env()
    sink = open(out, "wb") if out else subprocess.DEVNULL  # noqa: SIM115
    rss_file = None
    if GNU_TIME:  # a fork of this process would carry its RSS into the child's high-water mark
        fd, rss_file = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
        peak = [0]
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                stop.wait(0.05)

        thread = threading.Thread(target=sampler, daemon=True) if sample else None
        if thread:
            thread.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        stop.set()
        if thread:
            thread.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if out:
            sink.close()  # type: ignore[union-attr]
    maxrss_kb = usage.ru_maxrss
    if rss_file:
        with contextlib.suppress(OSError, ValueError, IndexError):
            maxrss_kb = int(Path(rss_file).read_text().split()[-1])
        os.unlink(rss_file)
    return {
        "wall": wall,
        "rc": proc.returncode,
        "maxrss_mb": maxrss_kb / 1024,
        "tree_rss_mb": peak[0] / 2**20 if sample else None,
        "cpu": usage.ru_utime + usage.ru_stime,
    }


def run_phases(log: Path, wall: float) -> dict[str, float] | None:
    """Where one run's wall time went, from its own audit log: before its first record and after its last
    (interpreter, imports, inventory, ssh -G, exit), connecting, the host's reads (first step.started to
    last step.finished), and the rest of the run (lock, settings, anchor). None when the log cannot say."""

    def at(e: dict[str, Any]) -> float:
        return datetime.datetime.fromisoformat(str(e["ts"]).replace("Z", "+00:00")).timestamp()

    try:
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        first, last = at(events[0]), at(events[-1])
        connected = next(at(e) for e in events if e["event"] == Event.HOST_CONNECTED)
        started = min(at(e) for e in events if e["event"] == Event.STEP_STARTED)
        finished = max(at(e) for e in events if e["event"] == Event.STEP_FINISHED)
    except (OSError, ValueError, KeyError, StopIteration, IndexError):
        return None
    inside = last - first
    return {
        "outside_s": wall - inside,
        "connect_s": connected - first,
        "reads_s": finished - started,
        "rest_s": inside - (connected - first) - (finished - started),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall"] for r in runs]
    trees = [r["tree_rss_mb"] for r in runs if r.get("tree_rss_mb") is not None]
    return {
        "runs": len(runs),
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "tree_rss_mb": max(trees) if trees else None,
        "cpu_s": statistics.median(r["cpu"] for r in runs),
        "exit_codes": sorted({r["rc"] for r in runs}),
        "walls": [round(w, 3) for w in walls],
    }


# --- the lab and the probes ------------------------------------------------------------------------


def lab(cmd: list[str], args: argparse.Namespace) -> None:
    subprocess.run([sys.executable, "-m", "lab", "--dir", args.lab_dir, "--net", args.net, *cmd], cwd=ROOT, check=True)


def recording(lab_dir: Path) -> bool:
    """Whether the lab's hosts were set up to record what they receive (lab/README.md "Records")."""
    try:
        return bool(json.loads((lab_dir / "hosts" / "lab1" / "host.json").read_text()).get("record"))
    except (OSError, ValueError):
        return False


def lab_hosts(lab_dir: Path, net: str) -> list[str]:
    from lab import Lab

    try:
        return Lab(lab_dir, net, project_inventory=False).hosts()
    except Exception:  # no lab there yet
        return []


def probes(lab_dir: Path, hosts: list[str], folder: Path | None) -> dict[str, dict[str, Any]]:
    """Per host: what ``remediate check`` sends it, in order, each built by the runner's own functions:
    the holds listing, the host's settings read (env script sourced) and the sweep's batch (exactly as
    Engine.check builds it: env script sourced once, ``parallel_reads`` commands at a time)."""
    inv = inventory.load(lab_dir / "inventory.yml")
    folder = folder or playbook.default_dir()
    books = [playbook.load_module(m, folder) for m in playbook.available(folder)]
    out: dict[str, dict[str, Any]] = {}
    for name in hosts:
        host = inv.hosts[name]
        ctx = Context(host, {}, run_id=secrets.token_hex(8))
        become = become_for(Account.CAMPAIGN, ctx)
        root = str(ctx.var("nl6_root"))
        settings = as_sent(hostfacts.script(root, host.instance), host, become)
        # the batch is built from the host's own settings as Worker.read_facts reads them (syslogd's address
        # from TRACE_ADDR ...): read once here, untimed, over the same command
        read = subprocess.run(
            ["ssh", "-F", str(lab_dir / "ssh_config"), "-o", "BatchMode=yes", name, transport.remote_command(30)],
            input=settings,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if settings_failure(read.stdout):
            raise RuntimeError(f"{name}: the settings read failed: {read.stderr.strip()[-200:]}")
        ctx.facts = hostfacts.parse(read.stdout, nl6_root=root, instance=host.instance).values
        rb = plan.read_batch([(pb.module, step) for pb in books for step in pb.checks], ctx)
        assert rb.batch is not None
        sends = [
            # Worker.read_holds, Worker.read_facts (30 s each), then Worker.read_many's batch
            ("holds", transport.remote_command(30), run_as(hold.list_script(hostvars.lock_dir(host)), become)),
            ("settings", transport.remote_command(30), settings),
            ("batch", transport.remote_command(rb.batch.timeout), rb.batch.script),
        ]
        out[name] = {
            "batch": rb.batch,
            "sends": sends,
            "checks": len(rb.todo),
            "parallel": plan.parallel_reads(ctx),
            "modules": [pb.module for pb in books],
        }
    return out


# --- what each tool's output says of its work (the same rule for all three) ---------------------------

STOPPED = (-1, 124, 137)  # a batch step's exit code when it left no record or its host-side timeout stopped it


def batch_failure(b: Batch, stdout: str, rc: int) -> str | None:
    """Why a batch's result shows that a command failed (None: every command ran to its end): the script
    exited non-zero, a command's frame is missing, or a command was stopped (exit -1, 124, 137)."""
    if rc != 0:
        return f"batch exit {rc}"
    got = plan.unbatch(b, Result(stdout, "", rc))
    if len(got) != len(b.keys):
        return f"{len(got)} of {len(b.keys)} frames"
    stopped = [k for k, r in got.items() if r.exit_code in STOPPED]
    return f"stopped: {', '.join(stopped)}" if stopped else None


def settings_failure(stdout: str) -> str | None:
    """Worker.read_facts's rule: the settings read counts when its output holds a section marker."""
    ok = any(f"{hostfacts.MARK} {m}" in stdout for m in ("env", "rc"))
    return None if ok else "settings read without a section"


# --- (a) floor ---------------------------------------------------------------------------------------


def floor_script(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]], forks: int) -> Path:
    """Raw OpenSSH: per host one connection (ControlMaster) carrying the same commands remediate sends,
    one after another, each script on stdin; at most ``forks`` hosts at once (``xargs -P``)."""
    for h in hosts:
        ssh = f"ssh -F {lab_dir}/ssh_config -o BatchMode=yes -o ControlPath={tmp}/cm-{h}"
        lines = ["#!/bin/sh", f"rm -f {tmp}/{h}.*.out"]
        for i, (_kind, remote, script) in enumerate(pr[h]["sends"]):
            (tmp / f"{h}.{i}.in").write_text(script)
            master = " -o ControlMaster=yes -o ControlPersist=yes" if i == 0 else ""
            lines.append(
                f"{ssh}{master} {h} {shlex.quote(remote)} <{tmp}/{h}.{i}.in >{tmp}/{h}.{i}.out 2>{tmp}/{h}.{i}.err"
                f"; echo $? >{tmp}/{h}.{i}.rc"
            )
        lines.append(f"{ssh} -O exit {h} 2>/dev/null")
        (tmp / f"{h}.sh").write_text("\n".join(lines) + "\n")
    path = tmp / "floor.sh"
    names = " ".join(hosts)
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' {names} | xargs -P {forks} -I@ sh {tmp}/@.sh\n")
    return path


def floor_failures(tmp: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for h in hosts:
        for i, (kind, _remote, _script) in enumerate(pr[h]["sends"]):
            try:
                text = (tmp / f"{h}.{i}.out").read_text(errors="replace")
                rc = int((tmp / f"{h}.{i}.rc").read_text())
            except (OSError, ValueError):
                out.append(f"{h} {kind}: no result")
                continue
            why = (
                batch_failure(pr[h]["batch"], text, rc)
                if kind == "batch"
                else settings_failure(text)
                if kind == "settings"
                else (f"exit {rc}" if rc else None)
            )
            if why:
                out.append(f"{h} {kind}: {why}")
    return out


def remediate_ok(audit: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> bool:
    """(b) sent each host exactly the probe set's checks: one step.started per check, no other."""
    started: dict[str, int] = {}
    for line in audit.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == Event.STEP_STARTED:
            started[event["host"]] = started.get(event["host"], 0) + 1
    return started == {h: pr[h]["checks"] for h in hosts}


# --- (c) ansible -------------------------------------------------------------------------------------


def ansible_bin() -> Path | None:
    exe = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not exe.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
            subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "--quiet", "ansible-core"], check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"bench: cannot install ansible-core ({exc}); skipping (c)", file=sys.stderr)
            return None
    return exe


# each task's failed_when: the same rule as batch_failure / settings_failure / the holds listing's exit code
ANSIBLE_FAILED = {
    "holds": "r{i}.rc != 0",
    "settings": "('@@hostfact env' not in r{i}.stdout) and ('@@hostfact rc' not in r{i}.stdout)",
    "batch": (
        "r{i}.rc != 0"
        " or (r{i}.stdout | regex_findall('(?m)^' ~ mk ~ ' X ') | length) != nk"
        " or (r{i}.stdout | regex_findall('(?m)^' ~ mk ~ ' E \\\\d+ (-1|124|137) ') | length) > 0"
    ),
}


def ansible_files(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> int:
    """Inventory and playbook for (c): per host one ``shell`` task per command remediate sends (holds,
    settings, the sweep's batch script), each the same command line with the same script on its stdin,
    so the env script is sourced as often and the batch runs its commands as many at once. Each task
    fails when its result shows a failed command (ANSIBLE_FAILED). Returns the task count per host."""
    inv = [
        "all:",
        "  vars:",
        f"    ansible_ssh_common_args: {json.dumps('-F ' + str(lab_dir / 'ssh_config'))}",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  hosts:",
    ]
    kinds = [kind for kind, _r, _s in pr[hosts[0]]["sends"]]
    for h in hosts:
        b = pr[h]["batch"]
        inv += [f"    {h}:", f"      mk: {json.dumps(b.marker)}", f"      nk: {len(b.keys)}"]
        for i, (_kind, remote, script) in enumerate(pr[h]["sends"]):
            inv += [f"      c{i}: !unsafe {json.dumps(remote)}", f"      s{i}: !unsafe {json.dumps(script)}"]
    (tmp / "inventory.yml").write_text("\n".join(inv) + "\n")
    book = ["- hosts: all", "  gather_facts: false", "  tasks:"]
    for i, kind in enumerate(kinds):
        book += [
            f"    - name: {kind}",
            f'      shell: "{{{{ c{i} }}}}"',
            "      args:",
            f'        stdin: "{{{{ s{i} }}}}"',
            "        stdin_add_newline: false",  # the script as (a) and (b) send it, byte for byte
            f"      register: r{i}",
            "      changed_when: false",
            f"      failed_when: {json.dumps(ANSIBLE_FAILED[kind].format(i=i))}",
        ]
    (tmp / "probes.yml").write_text("\n".join(book) + "\n")
    (tmp / "ansible.cfg").write_text(
        "[defaults]\nretry_files_enabled = False\nhost_key_checking = True\n"
        f"local_tmp = {tmp}/local\n"
        "[ssh_connection]\npipelining = True\n"
        f"control_path_dir = {tmp}/cp\ncontrol_path = %(directory)s/%%C\n"
    )
    return len(kinds)


def ansible_env(tmp: Path) -> dict[str, str]:
    env = base_env()
    env.update(
        ANSIBLE_CONFIG=str(tmp / "ansible.cfg"),
        ANSIBLE_HOME=str(tmp / "home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


def ansible_close(tmp: Path, lab_dir: Path) -> None:
    """Stop the ControlPersist masters of a run so every run starts cold (not timed)."""
    cp = tmp / "cp"
    for sock in cp.glob("*") if cp.is_dir() else []:
        subprocess.run(
            ["ssh", "-F", str(lab_dir / "ssh_config"), "-o", f"ControlPath={sock}", "-O", "exit", "x"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def ansible_failures(out: Path, hosts: list[str], tasks: int) -> list[str]:
    """Hosts whose recap is not ok=every task, none unreachable or failed."""
    text = out.read_text(errors="replace")
    bad = []
    for h in hosts:
        m = re.search(rf"^{h}\s+:\s+ok=(\d+)\s.*unreachable=(\d+)\s+failed=(\d+)", text, re.M)
        if not m or int(m.group(1)) != tasks or m.group(2) != "0" or m.group(3) != "0":
            bad.append(f"{h}: {m.group(0) if m else 'no recap'}")
    return bad


# --- what the hosts recorded -------------------------------------------------------------------------


def host_marks(lab_obj: Any, hosts: list[str]) -> dict[str, dict[str, int]]:
    return {h: records.offsets(lab_obj.hdir(h)) for h in hosts}


def host_work(lab_obj: Any, hosts: list[str], marks: dict[str, dict[str, int]]) -> dict[str, Any]:
    """What each host recorded of one run: connections, command sessions, env sourcings, the commands run
    through sh (normalized, sorted), the most at once, nlserver starts (argv), commands with no end."""
    out = {}
    for h in hosts:
        got = records.since(lab_obj.hdir(h), marks[h])
        out[h] = {
            "connections": got.connections,
            **records.signature(got),
            "unended": sum(1 for c in got.commands if c.end is None),
            "nonzero": sum(1 for c in got.commands if c.rc not in (0, None)),
        }
    return out


def sessions_closed(lab_obj: Any, hosts: list[str], timeout: float = 10.0) -> bool:
    """Wait until no host's sshd listener has a connection process left (all reaped: their CPU counted
    in the listener's cutime/cstime, their records written); False when one is left at ``timeout``."""
    pids = [read_pidfile(lab_obj.hdir(h) / "run" / f"sshd.{SSH_PORT}.pid") for h in hosts]
    deadline = time.monotonic() + timeout
    while any(pid and _children(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1 CPU accounting: every descendant counted, reaped or not


def host_cgroup(lab_obj: Any, host: str) -> Path | None:
    """The host's own CPU accounting group, its sshd listener in it (so every process a connection starts
    is counted, whoever reaps it); None where the machine offers none (then :func:`hosts_cpu` falls back)."""
    pid = read_pidfile(lab_obj.hdir(host) / "run" / f"sshd.{SSH_PORT}.pid")
    if not pid or not (CPUACCT / "cgroup.procs").exists():
        return None
    group = CPUACCT / f"remediate-bench-{lab_obj.net}" / host
    try:
        group.mkdir(parents=True, exist_ok=True)
        (group / "cgroup.procs").write_text(str(pid))  # again each time: a restarted sshd has a new pid
    except OSError:
        return None
    return group


def release_cgroups(net: str) -> None:
    """Remove the accounting groups of a lab that is down (empty groups only; never raises)."""
    top = CPUACCT / f"remediate-bench-{net}"
    for group in [*top.glob("*/"), top] if top.is_dir() else []:
        with contextlib.suppress(OSError):
            group.rmdir()


def hosts_cpu(lab_obj: Any, hosts: list[str]) -> float:
    """CPU seconds every process the hosts' sshd listeners started has used (its cpuacct group), summed
    over the hosts: what the clients' connections made the hosts do, commands included. Without such a
    group: the listener's own and reaped children's CPU (/proc/PID/stat utime, stime, cutime, cstime),
    which misses a session whose processes its connection did not reap."""
    total = 0.0
    for h in hosts:
        group = host_cgroup(lab_obj, h)
        if group is not None:
            with contextlib.suppress(OSError, ValueError):
                total += int((group / "cpuacct.usage").read_text()) / 1e9
                continue
        pid = read_pidfile(lab_obj.hdir(h) / "run" / f"sshd.{SSH_PORT}.pid")
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, TypeError):
            continue
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # fields 14-17 of proc(5)
    return total


# --- the runs ----------------------------------------------------------------------------------------


def nlsim_processes() -> int:
    """Lab simulator processes running on the machine (any lab's): other work sharing the cores."""
    n = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if b"nlsim" in (d / "cmdline").read_bytes():
                    n += 1
    return n


def source_state() -> tuple[str, list[str]]:
    """The commit measured (``-dirty`` when tracked files differ) and the paths that differ from it."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    return commit or "unknown", [line[3:] for line in status.splitlines()]


def machine() -> dict[str, Any]:
    def sh(cmd: str) -> str:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False)
        return (r.stdout or r.stderr).strip()

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem = sh("free -g | awk '/^Mem:/{print $2}'")
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for dist in ("fabric", "paramiko", "click", "structlog", "PyYAML"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gb": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openssh": sh("ssh -V"),
        "packages": versions,
    }


def set_env(probe_set: str) -> dict[str, str]:
    env = base_env()
    env.pop("REMEDIATE_PLAYBOOKS", None)
    if SETS[probe_set] is not None:
        env["REMEDIATE_PLAYBOOKS"] = str(SETS[probe_set])
    return env


def paired(xs: list[float], ys: list[float]) -> float | None:
    """Median of the per-round ratios ys[i] / xs[i] (rounds in which both ran); None without any."""
    ratios = [y / x for x, y in zip(xs, ys, strict=False) if x > 0]
    return statistics.median(ratios) if ratios else None


def work_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A tool's work over its runs, from the hosts' records: per host the same every run (``consistent``),
    and its figures per host (the largest over hosts and runs; ``parallel``: the most at once)."""
    per_host: dict[str, set[str]] = {}
    for r in runs:
        for h, w in r["work"].items():
            # how many connections carried the sessions is the client's transport (ansible opens a new one when
            # its ControlPersist master has expired), not work the host does: shown, not compared
            same = {k: v for k, v in w.items() if k not in ("connections", "parallel", "unended", "nonzero")}
            per_host.setdefault(h, set()).add(json.dumps(same, sort_keys=True))
    every = [w for r in runs for w in r["work"].values()]

    def most(key: str) -> int:
        return max((w[key] if isinstance(w[key], int) else len(w[key]) for w in every), default=0)

    return {
        "consistent": all(len(v) == 1 for v in per_host.values()),
        "per_host": {h: json.loads(next(iter(v))) for h, v in per_host.items()},
        "connections": most("connections"),
        "sessions": most("sessions"),
        "env_sourcings": most("env_sourcings"),
        "commands": most("commands"),
        "nlserver": most("nlserver"),
        "parallel": most("parallel"),
        "unended": sum(w["unended"] for w in every),
        "nonzero": max((w["nonzero"] for w in every), default=0),
    }


def same_work(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """How tool a's recorded work differs from tool b's (empty: the same on every host)."""
    diff = []
    if a["per_host"].keys() != b["per_host"].keys():
        return ["different hosts"]
    for h in sorted(b["per_host"]):
        x, y = a["per_host"][h], b["per_host"][h]
        for key in sorted(y):
            if x.get(key) != y[key]:
                diff.append(f"{h} {key}")
    if a["parallel"] != b["parallel"]:
        diff.append(f"at most {a['parallel']} at once, not {b['parallel']}")
    return diff


def run_fleet(
    args: argparse.Namespace,
    lab_dir: Path,
    pr: dict[str, dict[str, Any]],
    n: int,
    ansible: Path | None,
    work: Path,
    probe_set: str,
) -> dict[str, Any]:
    from lab import Lab

    lab_obj = Lab(lab_dir, args.net, project_inventory=False)
    hosts = [f"lab{i}" for i in range(1, n + 1)]
    tmp = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=work))
    script = floor_script(tmp, lab_dir, hosts, pr, args.forks)
    with_c = ansible is not None and n in args.ansible_sizes
    tasks = ansible_files(tmp, lab_dir, hosts, pr) if with_c else 0
    host_args = [a for h in hosts for a in ("--host", h)]
    modules = pr["lab1"]["modules"]
    rounds = args.runs_large if n >= 50 else args.runs
    res: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "c": []}
    failures: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    load_before = os.getloadavg()

    def timed(k: str, argv: list[str], **kw: Any) -> dict[str, Any]:
        marks = host_marks(lab_obj, hosts)
        cpu0 = hosts_cpu(lab_obj, hosts)
        r = measure(argv, **kw)
        if k == "c":
            ansible_close(tmp, lab_dir)  # the connection's last records are written when it closes
        sessions_closed(lab_obj, hosts)  # the listeners log the closes and reap their last sessions
        r["host_cpu"] = hosts_cpu(lab_obj, hosts) - cpu0
        r["work"] = host_work(lab_obj, hosts, marks)
        res[k].append(r)
        return r

    for i in range(rounds):
        r = timed("a", ["sh", str(script)])
        failures["a"] += [
            f"round {i + 1}: {f}"
            for f in floor_failures(tmp, hosts, pr) + ([] if r["rc"] == 0 else [f"exit {r['rc']}"])
        ]
        audit = tmp / f"audit-{i}.jsonl"
        r = timed(
            "b",
            # the set's own modules (not `all`: $REMEDIATE_PLAYBOOKS is searched before the shipped playbooks,
            # so `all` would add every shipped playbook to the short set)
            [
                *REMEDIATE,
                "check",
                *modules,
                *host_args,
                "--forks",
                str(args.forks),
                "-i",
                str(lab_dir / "inventory.yml"),
                "--audit-log",
                str(audit),
            ],
            out=tmp / "remediate.out",
            env=set_env(probe_set),
        )
        if r["rc"] != 0 or not remediate_ok(audit, hosts, pr):
            failures["b"].append(f"round {i + 1}: exit {r['rc']}, audit step.started per host not the set's checks")
        if i == 0:
            shutil.copy(audit, tmp / "audit-kept.jsonl")
        if with_c:
            r = timed(
                "c",
                [str(ansible), "-i", str(tmp / "inventory.yml"), "-f", str(args.forks), str(tmp / "probes.yml")],
                env=ansible_env(tmp),
                out=tmp / "ansible.out",
                cwd=tmp,
            )
            bad = ansible_failures(tmp / "ansible.out", hosts, tasks) + ([] if r["rc"] == 0 else [f"exit {r['rc']}"])
            failures["c"] += [f"round {i + 1}: {f}" for f in bad]
        print(
            f"  {probe_set} N={n} round {i + 1}: a {res['a'][-1]['wall']:.2f}s  b {res['b'][-1]['wall']:.2f}s"
            + (f"  c {res['c'][-1]['wall']:.2f}s" if with_c else "")
            + ("".join(f"  {k} NOT OK" for k in "abc" if failures[k]) or ""),
            flush=True,
        )
    out: dict[str, Any] = {
        "set": probe_set,
        "n": n,
        "rounds": rounds,
        "forks": args.forks,
        "commit": args.commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "checks_per_host": pr["lab1"]["checks"],
        "parallel_reads": pr["lab1"]["parallel"],
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    for k in "abc":
        if res[k]:
            w = work_summary(res[k])
            if w["unended"]:
                failures[k].append(f"{w['unended']} recorded commands with no end")
            if not w["consistent"]:
                failures[k].append("a host's recorded work differs between rounds")
            out[k] = {
                **summarize(res[k]),
                "host_cpu_s": statistics.median(r["host_cpu"] for r in res[k]),
                "cpus": [round(r["cpu"], 3) for r in res[k]],
                "ok": not failures[k],
                "failures": failures[k][:5],
                "work": {key: v for key, v in w.items() if key != "per_host"},
            }
            out[k]["_per_host"] = w["per_host"]
    for k in "ac":
        if k in out:
            out[k]["same_work_as_b"] = same_work(
                {**out[k]["work"], "per_host": out[k]["_per_host"]},
                {**out["b"]["work"], "per_host": out["b"]["_per_host"]},
            )
    if "b" in out:
        per_host = out["b"]["_per_host"]
        if probe_set == "playbooks":
            out["nlserver_record"] = nlserver_starts.explain(per_host, tmp / "audit-kept.jsonl")
    for k in "abc":
        out.get(k, {}).pop("_per_host", None)
    if "a" in out and "b" in out:
        out["b_over_a"] = paired(out["a"]["walls"], out["b"]["walls"])
    if "b" in out and "c" in out:
        out["c_over_b"] = paired(out["b"]["walls"], out["c"]["walls"])
        out["cpu_c_over_b"] = paired(out["b"]["cpus"], out["c"]["cpus"])
    if not args.keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def run_cold(args: argparse.Namespace, lab_dir: Path, ansible: Path | None, work: Path) -> dict[str, Any]:
    inv = str(lab_dir / "inventory.yml")
    cases: dict[str, list[str]] = {
        "remediate --help": [*REMEDIATE, "--help"],
        "remediate list": [*REMEDIATE, "list"],
        "remediate show wfserver": [*REMEDIATE, "show", "wfserver"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "python -c 'import fabric'": [sys.executable, "-c", "import fabric"],
    }
    if ansible:
        cases["ansible-playbook --version"] = [str(ansible), "--version"]
    out: dict[str, Any] = {}
    for name, argv in cases.items():
        measure(argv, sample=False)  # warm: byte-code cache and page cache, not timed
        runs = [measure(argv, sample=False) for _ in range(args.cold_runs)]
        out[name] = summarize(runs)
        print(f"  {name}: {out[name]['median_s']:.3f}s", flush=True)
    runs = []
    phases = []
    for i in range(-1, args.runs):  # run -1 warms up like the cases above and is not timed
        log = work / f"wf{i}.jsonl"
        run = measure([*REMEDIATE, "wfserver", "--host", "lab1", "-i", inv, "--audit-log", str(log)])
        if i >= 0:
            runs.append(run)
            phases.append(run_phases(log, run["wall"]))
    out["remediate wfserver --host lab1 (healthy: checks only)"] = summarize(runs)
    if all(phases):
        out["remediate wfserver --host lab1 (healthy: checks only)"]["phases"] = {
            k: statistics.median(p[k] for p in phases) for k in phases[0]
        }
    print(f"  wfserver: {out['remediate wfserver --host lab1 (healthy: checks only)']['median_s']:.3f}s", flush=True)
    return out


# --- report ------------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold = results["cold"]
    rows: list[dict[str, Any]] = []

    def add(
        name: str,
        value: float | None,
        limit: float,
        le: bool = True,
        unit: str = "",
        row: dict | None = None,
        kind: str = "",
        tools: str = "abc",
    ) -> None:
        met = None if value is None else (value <= limit if le else value >= limit)
        not_ok = [k for k in tools if row and k in row and not row[k]["ok"]]
        differ = [k for k in "ac" if k in tools and row and k in row and row[k].get("same_work_as_b")]
        if met is not None and (not_ok or differ):
            met = False  # a figure from a run that did not do its work, or not the same work, meets nothing
        rows.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "op": "<=" if le else ">=",
                "unit": unit,
                "met": met,
                "not_ok": not_ok,
                "not_same_work": differ,
                "commit": row.get("commit", "not recorded") if row else "-",
                "kind": kind,
                "set": row.get("set") if row else None,
                "n": row.get("n") if row else None,
            }
        )

    fleet = {(f["set"], f["n"]): f for f in results["fleet"]}
    row = fleet.get(("short", 10))
    add("short: c/b at N=10", (row or {}).get("c_over_b"), TARGETS["c_over_b_short_n10"], le=False, row=row, kind="c/b")
    for n in sorted(n for s, n in fleet if s == "playbooks"):
        row = fleet[("playbooks", n)]
        add(
            f"playbooks (`check all`): b/a at N={n}",
            row.get("b_over_a"),
            TARGETS["b_over_a_playbooks"],
            row=row,
            kind="b/a",
            tools="ab",
        )
        if "c" in row:
            add(
                f"playbooks (`check all`): runner CPU c/b at N={n}",
                row.get("cpu_c_over_b"),
                TARGETS["cpu_c_over_b_playbooks"],
                le=False,
                row=row,
                kind="cpu c/b",
                tools="bc",
            )
    for probe_set in results["sets"]:
        row = fleet.get((probe_set, 50))
        rss = (row or {}).get("b", {}).get("maxrss_mb")
        add(f"{probe_set}: remediate peak RSS at N=50", rss, TARGETS["rss_n50_mb"], unit="MB", row=row, tools="b")
    starts = [f for f in results["fleet"] if f.get("nlserver_record")]
    first = min(starts, key=lambda f: f["n"]) if starts else None
    add(
        "nlserver starts per host per `check all` sweep",
        max(f["nlserver_record"]["most"] for f in starts) if starts else None,
        TARGETS["nlserver_starts"],
        row=first,
        kind="nlserver",
        tools="b",
    )
    cold_commit = results.get("cold_commit", results.get("commit"))
    for name, key, limit in (
        ("remediate --help median", "remediate --help", TARGETS["help_s"]),
        ("remediate list median", "remediate list", TARGETS["list_s"]),
        (
            "wfserver on one healthy host (checks only)",
            "remediate wfserver --host lab1 (healthy: checks only)",
            TARGETS["wfserver_s"],
        ),
    ):
        entry = cold.get(key)
        crow = {"commit": cold_commit, "b": {"ok": entry["exit_codes"] == [0]}} if entry else None
        add(name, (entry or {}).get("median_s"), limit, unit="s", row=crow, kind="cold:" + key, tools="b")
    return rows


HOW_COUNTED = [
    (
        "median s / min-max s",
        "wall time of the whole command (process start to exit), median and range over the row's rounds",
    ),
    ("CPU s", "user + system CPU of the measured client process tree (wait4 rusage of its children), median"),
    (
        "host CPU s",
        "CPU every process the lab hosts' sshd listeners started used during the run (each host's sshd in a "
        "cgroup of its own, cpuacct.usage before and after), summed over the hosts, median: the work the "
        "commands made the hosts do",
    ),
    ("max RSS MB", "the largest resident set of any single process of the tree (GNU time %M), largest over the runs"),
    ("tree RSS MB", "peak of the summed RSS of the whole process tree, sampled every 50 ms (shared pages per process)"),
    (
        "host records",
        'what each host recorded of each run (lab/records.py; lab/README.md "Records"), the largest over hosts '
        "and rounds: conn = connections its sshd accepted, sess = command sessions, env = sourcings of env.sh, "
        "sh = commands run through `sh` (each command of the batch), nl = nlserver starts, "
        "at once = the most of those commands started before every earlier one had ended (from their recorded "
        "starts and ends: the batch's `parallel_reads` waves; 1 when they run one after another)",
    ),
    (
        "same work as (b)",
        "every host recorded, for this tool and for (b), the same command sessions, session "
        "scripts (each script its shell read on stdin and the command line that started it), env sourcings, "
        "commands, nlserver starts (texts with per-run random tokens masked), and the same most-at-once; "
        "otherwise the fields that differ (connections are shown, not compared: how many carried the sessions "
        "is the client's transport)",
    ),
    (
        "ok",
        "every round of that tool exited 0 and did all its work, by one rule for the three: the holds listing "
        "exited 0, the settings read printed its sections, the batch exited 0 with every command's frame and "
        "none stopped (exit -1, 124, 137); (a) from its outputs, (b) `check` exited 0 and its audit log has one "
        "step.started per check of the set on every host, (c) each task's `failed_when` applies that rule to its "
        "result and every host's recap is ok=3, none unreachable or failed; and for every tool every command a "
        "host recorded has an end, and each host recorded the same work every round",
    ),
    (
        "b/a, c/b, CPU c/b",
        "median over the row's rounds of the ratio of the two tools' figures in the same round (each round runs "
        "a, b, c one after the other, so every ratio comes from the same rounds)",
    ),
    ("cold start", "median wall time of the command over its runs, after one untimed warm-up run"),
    (
        "met",
        "the figure is within its limit, every tool of its row was ok and did the same work as (b); "
        "otherwise it meets nothing",
    ),
]


def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


NAMES = {"a": "(a) OpenSSH floor", "b": "(b) remediate check", "c": "(c) ansible-playbook"}


def records_cell(w: dict[str, Any] | None) -> str:
    if not w:
        return "-"
    return (
        f"conn {w['connections']}, sess {w['sessions']}, env {w['env_sourcings']}, sh {w['commands']}, "
        f"nl {w['nlserver']}, at once {w['parallel']}"
    )


def analysis(results: dict[str, Any]) -> list[str]:
    """The reading of the figures, every number taken from ``results`` (nothing typed by hand)."""
    out = ["## Reading the figures (generated from the numbers above)", ""]
    for f in results["fleet"]:
        where = f"{f['set']} probes, N={f['n']}"
        bits = []
        if f.get("b_over_a") is not None:
            bits.append(
                f"remediate {fmt(f['b']['median_s'])} s, floor {fmt(f['a']['median_s'])} s "
                f"(b/a {fmt(f['b_over_a'])} over {f['rounds']} rounds)"
            )
        if f.get("c_over_b") is not None:
            bits.append(
                f"ansible-playbook {fmt(f['c']['median_s'])} s (c/b {fmt(f['c_over_b'], 1)}; CPU "
                f"{fmt(f['c']['cpu_s'])} s against {fmt(f['b']['cpu_s'])} s, CPU c/b {fmt(f.get('cpu_c_over_b'), 1)})"
            )
        tools = [k for k in "abc" if k in f]
        differ = {k: f[k]["same_work_as_b"] for k in "ac" if k in f and f[k].get("same_work_as_b")}
        if differ:
            bits.append(
                "**the hosts recorded different work**: "
                + "; ".join(f"{NAMES[k]}: {', '.join(v[:4])}" for k, v in differ.items())
            )
        elif "b" in f:
            w = f["b"]["work"]
            bits.append(
                f"the hosts recorded the same work for {', '.join(NAMES[k] for k in tools)}: per host "
                f"{w['connections']} connection(s), {w['sessions']} command sessions, {w['env_sourcings']} "
                f"sourcing(s) of env.sh, {w['commands']} commands through sh, at most {w['parallel']} at once "
                f"(parallel_reads {f.get('parallel_reads', '-')}), {w['nlserver']} nlserver start(s)"
            )
        not_ok = [k for k in tools if not f[k]["ok"]]
        if not_ok:
            bits.append(
                "**not ok: "
                + "; ".join(f"{k} ({'; '.join(f[k].get('failures', [])[:2])})" for k in not_ok)
                + "** (its figures meet no target)"
            )
        load = f"load {f['load_before'][0]} before, {f['load_after'][0]} after"
        out.append(f"- {where} ({f.get('commit', 'commit not recorded')}, {load}): " + "; ".join(bits) + ".")
    commits = sorted({f.get("commit", "?") for f in results["fleet"]})
    if len(commits) > 1:
        out += ["", f"The rows come from {len(commits)} commits ({', '.join(commits)}): compare rows of one commit."]
    missed = [v for v in results["targets"] if v["met"] is False]
    unmeasured = [v["target"] for v in results["targets"] if v["met"] is None]
    out += [
        "",
        f"Targets: {sum(1 for v in results['targets'] if v['met'])} met, {len(missed)} missed, "
        f"{len(unmeasured)} not measured in this run" + (f" ({', '.join(unmeasured)})" if unmeasured else "") + ".",
    ]
    for v in missed:
        out += ["", why_missed(v, results)]
    return out


def value_text(v: dict[str, Any]) -> str:
    """A target's figure: a ratio with 3 decimals (1.104 is not 1.10), a count whole, seconds and MB as they are."""
    if v["value"] is None:
        return "-"
    if v.get("kind") == "nlserver":
        return f"{v['value']:.0f}"
    return (fmt(v["value"], 3) if not v["unit"] else fmt(v["value"])) + (f" {v['unit']}" if v["unit"] else "")


def _row(v: dict[str, Any], results: dict[str, Any]) -> dict[str, Any] | None:
    return next((f for f in results["fleet"] if f["set"] == v.get("set") and f["n"] == v.get("n")), None)


def why_missed(v: dict[str, Any], results: dict[str, Any]) -> str:
    """Why a target is missed, from the figures of its own row (every number and comparison computed)."""
    head = f"Missed: {v['target']}: {value_text(v)}, limit {v['op']} {v['limit']:g}"
    if v.get("not_ok") or v.get("not_same_work"):
        extra = []
        if v.get("not_ok"):
            extra.append(f"not ok: {', '.join(v['not_ok'])}")
        if v.get("not_same_work"):
            extra.append(f"not the same recorded work as (b): {', '.join(v['not_same_work'])}")
        head += " (" + "; ".join(extra) + ")"
    row = _row(v, results)
    cold = results.get("cold", {})
    kind = v.get("kind", "")
    if kind == "b/a" and row and "a" in row and "b" in row:
        a, b = row["a"], row["b"]
        gap = b["median_s"] - a["median_s"]
        text = (
            f"{head}. Over {row['rounds']} rounds remediate took {fmt(b['median_s'])} s and the floor "
            f"{fmt(a['median_s'])} s (medians; {fmt(gap)} s apart). Client CPU: remediate {fmt(b['cpu_s'])} s, "
            f"floor {fmt(a['cpu_s'])} s; host CPU: {fmt(b['host_cpu_s'])} s under remediate, "
            f"{fmt(a['host_cpu_s'])} s under the floor."
        )
        fab = cold.get("python -c 'import fabric'", {}).get("median_s")
        if fab is not None:
            share = gap / fab if fab > 0 else None
            text += (
                f" Importing fabric alone takes {fmt(fab)} s (cold start table): the gap is {fmt(share, 1)} times that."
            )
        limit_gap = a["median_s"] * (v["limit"] - 1)
        text += f" Meeting b/a {v['op']} {v['limit']:g} at this floor needs a gap of at most {fmt(limit_gap)} s."
        return text
    if kind == "c/b" and row and all(k in row for k in "abc"):
        a, b, c = (row[k]["median_s"] for k in "abc")
        bound = c / a if a > 0 else None
        text = (
            f"{head}. ansible-playbook took {fmt(c)} s and the floor {fmt(a)} s for the same recorded work, so a "
            f"runner exactly as fast as raw OpenSSH would reach c/b {fmt(bound, 1)}; remediate took {fmt(b)} s "
            f"({'under' if b < a else 'over'} the floor by {fmt(abs(b - a))} s)."
        )
        if bound is not None and bound < v["limit"]:
            text += f" That bound is below {v['limit']:g}: no runner reaches the target against this ansible time."
        return text
    if kind == "cpu c/b" and row and "b" in row and "c" in row:
        text = (
            f"{head}. Client CPU over {row['rounds']} rounds: ansible-playbook {fmt(row['c']['cpu_s'])} s, "
            f"remediate {fmt(row['b']['cpu_s'])} s, the floor {fmt(row['a']['cpu_s']) if 'a' in row else '-'} s "
            f"(medians)."
        )
        most = row["c"]["cpu_s"] / v["limit"]  # the most CPU a runner may use to meet the target
        text += f" Meeting c/b >= {v['limit']:g} needs the runner's client CPU at most {fmt(most)} s"
        if "a" in row and row["a"]["cpu_s"] >= most:
            text += (
                f", which the floor's OpenSSH clients alone ({fmt(row['a']['cpu_s'])} s) already use: no runner "
                "that connects with SSH reaches the target against this ansible CPU."
            )
        else:
            text += f" ({fmt(row['b']['cpu_s'] - most)} s less than remediate used)."
        return text
    if kind == "nlserver" and row:
        rec = row["nlserver_record"]
        parts = []
        for s in rec["starts"]:
            steps = s["steps"]
            shown = ", ".join(steps[:4]) + (f" and {len(steps) - 4} more" if len(steps) > 4 else "")
            parts.append(f"`nlserver {s['argv']}` (read by {len(steps)} step(s){': ' + shown if steps else ''})")
        return (
            f"{head}. {rec['host']} recorded these nlserver starts in one `check all` sweep "
            f"(run/nlserver-starts.log), each with the steps of that run's audit log whose command or "
            f"snapshot runs it: " + "; ".join(parts) + "."
        )
    if kind.startswith("cold:"):
        base = cold.get("python -c pass", {}).get("median_s")
        text = head + (f"; `python -c pass` alone takes {fmt(base, 3)} s on this machine" if base else "")
        phases = cold.get(kind.removeprefix("cold:"), {}).get("phases")
        if phases:
            text += (
                f". Of each run (medians, from its own audit log): {fmt(phases['outside_s'])} s before its first "
                f"record and after its last (interpreter, imports, inventory, ssh -G, exit), "
                f"{fmt(phases['connect_s'])} s connecting, {fmt(phases['reads_s'])} s the checks' reads on the host, "
                f"{fmt(phases['rest_s'])} s the rest (lock, settings, anchor)"
            )
        return text + "."
    return head + "."


def write_doc(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    L = [
        "# Performance",
        "",
        "Generated by `make bench` (`.venv/bin/python bench/run.py`) from `bench/results.json`, the "
        "machine-readable figures; every number and sentence below comes from them (do not edit by hand).",
        "",
        "## Machine and run",
        "",
        f"- {m['nproc']} cores, {m['cpu']}, {m['mem_gb']} GB RAM, Linux {m['kernel']}",
        f"- Python {m['python']}; {m['openssh']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- ansible-core: {results.get('ansible_version') or 'not measured'}",
        f"- load average (1/5/15 min) at start {results['load_start']}, at end {results['load_end']}; "
        f"{results.get('nlsim_at_start', 'not counted')} lab simulator processes (`nlsim`) running on the "
        "machine at the start, the bench's own lab not yet grown",
        f"- date {results['date']}; runner at commit {results['commit']} (each row and the cold start name "
        "their own); regenerate with `make bench`",
        "- commands: " + "; ".join(f"`{c}`" for c in results.get("commands", [results["command"]])),
        "",
        "## What is measured",
        "",
        f"A lab fleet (`REMEDIATE_LAB_RECORD=1 python -m lab --dir {results['lab_dir']} --net {results['net']} up "
        "--hosts N`, grown to each fleet size before its rows, so no idle host adds its background work to a "
        "smaller fleet's figures): every host a real sshd on loopback and simulated Campaign modules, each "
        'recording what it receives (lab/README.md "Records"). For each host the bench builds, with the '
        "runner's own functions, what `remediate check` sends it: the holds listing, the host's settings read "
        "(env script sourced) and the sweep's batch script (`plan.read_batch`: env script sourced once, read steps "
        "sending the same command sharing one execution, every database query in one `nlserver javascript` call, "
        "`parallel_reads` commands at a time). Two probe sets:",
        "",
        f"- **playbooks**: the read-only checks of every shipped playbook, i.e. `check all` "
        f"({results['probes'].get('playbooks', '-')} distinct commands in the batch; modules "
        f"{', '.join(results.get('modules', []))}). Many call `nlserver` (a Python simulator process on "
        "the lab host; `nlserver javascript` reads the lab's PostgreSQL) or `ss`, on the same cores as the clients;",
        f"- **short**: `bench/short/` ({results['probes'].get('short', '-')} distinct short commands: hostname, "
        "uname, df, ls ...), the transport-bound workload (`$REMEDIATE_PLAYBOOKS=bench/short`).",
        "",
        f"- **(a) floor**: raw OpenSSH: per host one connection (`ssh -F ssh_config -o BatchMode=yes -o "
        "ControlMaster=yes -o ControlPersist=yes`) carrying those three commands one after the other, each the "
        "command line remediate sends with the same script on its stdin; at most "
        f"{results.get('forks', '-')} hosts at once (`xargs -P {results.get('forks', '-')}`);",
        f"- **(b) remediate**: `python -m runner check MODULES --host lab1 ... --host labN --forks "
        f"{results.get('forks', '-')} -i inventory.yml` (the set's modules), the runner of the measured commit, a "
        "fresh audit log per run;",
        f"- **(c) ansible**: `ansible-playbook -f {results.get('forks', '-')}`, three `shell` tasks per host, each "
        "the same command line as (a) with the same script on its stdin (`stdin:`): the sweep's batch is ONE "
        "task, so ansible sources env.sh as often as (a) and (b) and runs the batch's commands as many at once; "
        "each task's `failed_when` checks its result (the batch: exit 0, every command's frame, none stopped), "
        "`gather_facts: false`, `pipelining = True`, default ssh_args (ControlMaster/ControlPersist, closed after "
        "each run so every run starts cold).",
        "",
        "After every run the bench reads each host's records of that run and compares them across the tools "
        "(columns *host records* and *same work as (b)*): a row whose tools did not make the hosts do the same "
        "work meets no target. Keeping the records costs each command run through `sh` a few process starts on "
        "the host (rec/sh runs `date` twice and `tr` once around it), whichever tool sent it; the single-host "
        "wfserver run below is measured on the same recording hosts.",
        "",
        "Each round runs a, b, c one after the other; every tool of a row runs the same number of rounds, and "
        "each ratio is the median of the per-round ratios. Fleet sizes measured: "
        + ", ".join(f"{p} N={n}" for p, n in sorted({(f["set"], f["n"]) for f in results["fleet"]}))
        + ".",
        "",
        "## How each figure is counted",
        "",
        *[f"- **{name}**: {how}." for name, how in HOW_COUNTED],
        "",
        "## Fleet sweep",
        "",
        "| probes | N | tool | rounds | median s | min-max s | CPU s | host CPU s | max RSS MB | tree RSS MB "
        "| host records (per host) | same work as (b) | ok | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in results["fleet"]:
        for k in "abc":
            if k in f:
                s = f[k]
                same = (
                    "-"
                    if k == "b"
                    else ("yes" if not s.get("same_work_as_b") else "**no**: " + ", ".join(s["same_work_as_b"][:3]))
                )
                L.append(
                    f"| {f['set']} | {f['n']} | {NAMES[k]} | {s['runs']} | {fmt(s['median_s'])} | "
                    f"{fmt(s['min_s'])}-{fmt(s['max_s'])} | {fmt(s['cpu_s'])} | {fmt(s.get('host_cpu_s'))} | "
                    f"{fmt(s['maxrss_mb'], 1)} | {fmt(s['tree_rss_mb'], 1)} | {records_cell(s.get('work'))} | "
                    f"{same} | {'yes' if s['ok'] else '**NO**'} | {f.get('commit', 'not recorded')} |"
                )
    L += [
        "",
        "| probes | N | b/a | c/b | CPU c/b | lab hosts up | load before → after | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in results["fleet"]:
        L.append(
            f"| {f['set']} | {f['n']} | {fmt(f.get('b_over_a'))} | {fmt(f.get('c_over_b'), 1)} | "
            f"{fmt(f.get('cpu_c_over_b'), 1)} | {f.get('lab_hosts', results.get('lab_hosts', '-'))} | "
            f"{f['load_before'][0]} → {f['load_after'][0]} | {f.get('date', 'not recorded')} |"
        )
    cold = results["cold"]
    L += [
        "",
        "## Cold start and a single-host run",
        "",
        f"Commit {results.get('cold_commit', results['commit'])}, {results.get('cold_date', results['date'])}.",
        "",
        "| command | median s | min-max s | max RSS MB | runs |",
        "|---|---|---|---|---|",
    ]
    for name, s in cold.items():
        L.append(
            f"| `{name}` | {fmt(s['median_s'], 3)} | {fmt(s['min_s'], 3)}-{fmt(s['max_s'], 3)} | "
            f"{fmt(s['maxrss_mb'], 1)} | {s['runs']} |"
        )
    L += ["", "## Targets", "", "| target | measured | limit | met | commit |", "|---|---|---|---|---|"]
    for v in results["targets"]:
        met = "not measured" if v["met"] is None else ("met" if v["met"] else "**missed**")
        if v.get("not_ok"):
            met += f" (not ok: {', '.join(v['not_ok'])})"
        L.append(
            f"| {v['target']} | {value_text(v)} | {v['op']} {v['limit']:g} {v['unit']} | {met} | "
            f"{v.get('commit', '-')} |"
        )
    L += ["", *analysis(results), ""]
    path.write_text("\n".join(L) + kept_sections(path))


# sections other bench scripts write into the same document, between their markers: kept as they are
KEPT_SECTIONS = (
    ("<!-- fleet-remediation: generated by bench/fleet_remediation.py -->", "<!-- /fleet-remediation -->"),
)


def kept_sections(path: Path) -> str:
    """The marked sections of `path` that another bench script owns (with their markers), to append."""
    old = path.read_text() if path.exists() else ""
    out = []
    for begin, end in KEPT_SECTIONS:
        start, stop = old.find(begin), old.find(end)
        if start != -1 and stop > start:
            out.append(old[start : stop + len(end)])
    return "".join("\n" + section + "\n" for section in out)


def save(results: dict[str, Any], args: argparse.Namespace) -> None:
    results["load_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = verdicts(results)
    Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")
    Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
    write_doc(results, Path(args.doc))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab-dir", default="/tmp/remediate-bench")
    ap.add_argument("--net", default="127.0.7")
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--ansible-sizes", default="1,10,50", help="N for which (c) runs ('' to skip ansible)")
    ap.add_argument("--runs", type=int, default=5, help="rounds (a, b, c each once) per row")
    ap.add_argument("--runs-large", type=int, default=3, help="rounds per row at N >= 50")
    ap.add_argument("--forks", type=int, default=10, help="hosts at once for every tool (remediate's --forks)")
    ap.add_argument("--sets", default="short,playbooks", help="probe sets: short, playbooks")
    ap.add_argument("--report-only", action="store_true", help="rewrite the doc from the JSON results")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="add to the JSON results (replacing the same probe set and N) instead of starting afresh",
    )
    ap.add_argument("--skip-cold", action="store_true", help="do not measure cold start")
    ap.add_argument("--cold-runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="N=1,10; 2 rounds; ansible only at N=1")
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end (reused next time)")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument(
        "--allow-dirty",
        action="store_true",
        help="measure a tree with uncommitted changes (its commit is marked -dirty); refused otherwise",
    )
    ap.add_argument("--json", default=str(BENCH / "results.json"))
    ap.add_argument("--doc", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args()
    if args.report_only:
        results = json.loads(Path(args.json).read_text())
        results["targets"] = verdicts(results)
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")
        write_doc(results, Path(args.doc))
        return 0
    commit, dirty = source_state()
    dirty = [p for p in dirty if p.startswith(MEASURED)]  # other engineers' edits elsewhere are not measured
    args.commit = commit if dirty else commit.removesuffix("-dirty")
    if dirty and not args.allow_dirty:
        print(
            f"bench: measured code has uncommitted changes ({', '.join(dirty[:5])}"
            f"{' ...' if len(dirty) > 5 else ''}): commit first (a published figure comes from one commit), "
            "or pass --allow-dirty",
            file=sys.stderr,
        )
        return 2
    if args.quick:
        args.sizes, args.ansible_sizes, args.runs, args.runs_large, args.cold_runs = "1,10", "1", 2, 2, 3
    sizes = [int(x) for x in args.sizes.split(",") if x]
    sets = [x for x in args.sets.split(",") if x]
    args.ansible_sizes = [int(x) for x in args.ansible_sizes.split(",") if x]
    lab_dir = Path(args.lab_dir)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "command": "make bench" if not sys.argv[1:] else "python bench/run.py " + shlex.join(sys.argv[1:]),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "lab_dir": str(lab_dir),
        "net": args.net,
        "lab_hosts": max(sizes),
        "runs": args.runs,
        "runs_large": args.runs_large,
        "forks": args.forks,
        "nlsim_at_start": nlsim_processes(),
        "fleet": [],
        "cold": {},
        "sets": sets,
        "probes": {},
        "commit": args.commit,
    }
    if args.merge and Path(args.json).exists():
        old = json.loads(Path(args.json).read_text())
        done = {(p, n) for p in sets for n in sizes}
        # rows kept from earlier runs keep the commit and date they were measured on
        for f in old["fleet"]:
            f.setdefault("commit", old.get("commit", "not recorded"))
            f.setdefault("date", old.get("date", "not recorded"))
        old.setdefault("cold_commit", old.get("commit"))
        old.setdefault("cold_date", old.get("date"))
        # rows of the same layout only (host records, rounds), not those of the same probe set and N
        old["fleet"] = [f for f in old["fleet"] if (f["set"], f["n"]) not in done and "rounds" in f]
        old["commit"], old["date"] = results["commit"], results["date"]
        old["commands"] = [*old.get("commands", [old.get("command")]), results["command"]]
        old["sets"] = list(dict.fromkeys([*old["sets"], *sets]))
        old["load_start"] = old.get("load_start")
        if not args.skip_cold:
            old["cold"] = {}
        for key in ("runs", "runs_large", "forks"):
            old.setdefault(f"{key}_by_command", {})[results["command"]] = results[key]
        results = old
    ansible = ansible_bin() if args.ansible_sizes else None
    if ansible:
        results["ansible_version"] = subprocess.run(
            [str(ansible), "--version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0]
    work = Path(tempfile.mkdtemp(prefix="remediate-bench-"))
    try:
        # The lab grows with N (never more hosts up than the rows being measured use): idle extra hosts
        # would add their background work to a smaller fleet's figures.
        sizes = sorted(sizes)
        print(f"bench: lab in {lab_dir} ({args.net}.x), grown to each of N={sizes}", flush=True)
        os.environ[RECORD_ENV] = "1"  # `up` writes hosts that record what they receive
        if lab_hosts(lab_dir, args.net) and not recording(lab_dir):
            lab(["down"], args)  # a lab set up without the records: the rows need them
        if len(lab_hosts(lab_dir, args.net)) < sizes[0]:
            lab(["up", "--hosts", str(sizes[0]), "--no-project-inventory"], args)
        if not args.skip_cold:
            print("bench: cold start", flush=True)
            results["cold"] = run_cold(args, lab_dir, ansible, work)
            results["cold_commit"], results["cold_date"] = (
                args.commit,
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            )
        for n in sizes:
            up = len(lab_hosts(lab_dir, args.net))
            if up < n:
                lab(["up", "--hosts", str(n), "--no-project-inventory"], args)
            print(f"bench: N={n} on a lab of {max(up, n)} hosts", flush=True)
            for probe_set in sets:
                pr = probes(lab_dir, [f"lab{i}" for i in range(1, n + 1)], SETS[probe_set])
                results.setdefault("probes", {})[probe_set] = len(pr["lab1"]["batch"].keys)
                if probe_set == "playbooks":
                    results["modules"] = pr["lab1"]["modules"]
                print(f"bench: probe set {probe_set}: {results['probes'][probe_set]} probes per host", flush=True)
                row = run_fleet(args, lab_dir, pr, n, ansible, work, probe_set)
                row["lab_hosts"] = max(up, n)
                results["fleet"].append(row)
                results["fleet"].sort(key=lambda f: (f["set"], f["n"]))
                save(results, args)  # partial results survive an interrupted run
    finally:
        if not args.keep_lab:
            lab(["down"], args)
            release_cgroups(args.net)
        shutil.rmtree(work, ignore_errors=True)
    save(results, args)
    print(f"bench: wrote {args.json} and {args.doc}")
    for v in results["targets"]:
        print(
            f"  {v['target']}: {fmt(v['value'])} {v['unit']} ({v['op']} {v['limit']:g}) "
            f"{'-' if v['met'] is None else 'met' if v['met'] else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
