#!/usr/bin/env python3
"""Benchmark: `remediate check all` against the floor (raw OpenSSH) and ansible-playbook on a lab fleet.

Starts a dedicated lab (default /tmp/remediate-bench on 127.0.7.x), takes the exact read-only probe
commands of the sweep from the playbooks themselves (one batch script per host, as the engine builds
it), and times on lab1..labN, N in --sizes:

  (a) floor: raw OpenSSH, one ``ssh`` per host running the sweep's batch script, hosts in parallel;
  (b) ``remediate check all --host lab1 .. --host labN``;
  (c) ``ansible-playbook``: one ``shell`` task per distinct command of that same batch (the very
      commands (a) and (b) send, the host's env script sourced in each), forks N, no facts,
      pipelining on (ansible-core in bench/.venv-ansible, installed on first use).

Every row records, per tool, how many commands each host ran (``commands_per_host``: the same for the
three tools), whether every run of that tool was ``ok``, and the commit and date it was measured on; a
target counts as met only when every tool of its row was ``ok``. A run that writes the tracked results
must start from a clean tree (``git status`` empty) unless ``--allow-dirty`` (then its commit is marked
``-dirty``); ``--merge`` keeps the rows of earlier runs with their own commit and date.

Per run: wall time, the largest RSS of any process of the tree (wait4 rusage) and the peak of the
summed RSS of the whole process tree (sampled from /proc every 50 ms). Also cold start (``--help``,
``list``, ``show wfserver``) and a wfserver run on one healthy host (checks only).
Writes bench/results.json and docs/performance.md, whose analysis is generated from the figures. The
lab is stopped at the end, also on error. Usage: ``make bench`` or ``.venv/bin/python bench/run.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
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

from runner import inventory, plan, playbook, transport  # noqa: E402
from runner.actions import Context  # noqa: E402
from runner.wire import Result, sourced  # noqa: E402

# the runner of this checkout (not whatever an editable install points at): ``python -m runner`` with
# PYTHONPATH set to this checkout (base_env)
REMEDIATE = [sys.executable, "-m", "runner"]
ANSIBLE_VENV = Path(os.environ.get("REMEDIATE_BENCH_ANSIBLE_VENV", str(BENCH / ".venv-ansible")))
PAGE = os.sysconf("SC_PAGE_SIZE")
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
SETS = {"playbooks": None, "short": BENCH / "short"}  # probe set -> $REMEDIATE_PLAYBOOKS

TARGETS = {
    "b_over_a_n1": 2.5,
    "b_over_a_n10": 1.25,
    "b_over_a_n50": 1.25,
    "c_over_b_n10": 10.0,
    "help_s": 0.20,
    "list_s": 0.30,
    "rss_n50_mb": 100.0,
    "wfserver_s": 1.0,
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


def lab_hosts(lab_dir: Path, net: str) -> list[str]:
    from lab import Lab

    try:
        return Lab(lab_dir, net, project_inventory=False).hosts()
    except Exception:  # no lab there yet
        return []


def probes(lab_dir: Path, hosts: list[str], folder: Path | None) -> dict[str, dict[str, Any]]:
    """Per host: the sweep's batch (exactly as Engine.check builds it) and each probe's full command."""
    inv = inventory.load(lab_dir / "inventory.yml")
    folder = folder or playbook.default_dir()
    books = [playbook.load_module(m, folder) for m in playbook.available(folder)]
    out: dict[str, dict[str, Any]] = {}
    for name in hosts:
        host = inv.hosts[name]
        ctx = Context(host, {})
        # the very script remediate sends for `check` (queries merged into one nlserver javascript call)
        rb = plan.read_batch([(pb.module, step) for pb in books for step in pb.checks], ctx)
        assert rb.batch is not None
        # the batch's distinct commands, each with the env script sourced: what ansible runs, one task each
        distinct = list(dict.fromkeys(sourced(str(p.command), ctx.host.var("nlserver_env")) for _m, p in rb.todo))
        assert len(distinct) == len(rb.batch.keys), (len(distinct), len(rb.batch.keys))
        out[name] = {
            "batch": rb.batch,
            "remote": transport.remote_command(rb.batch.timeout),
            "distinct": distinct,
            "checks": len(rb.todo),
            "modules": [pb.module for pb in books],
        }
    return out


# --- (a) floor ---------------------------------------------------------------------------------------


def floor_script(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> Path:
    lines = ["#!/bin/bash"]
    for h in hosts:
        # as remediate does: the remote command line reads the batch script from stdin
        (tmp / f"{h}.sh").write_text(pr[h]["batch"].script)
        lines.append(
            f"ssh -F {lab_dir}/ssh_config -o BatchMode=yes {h} {shlex.quote(pr[h]['remote'])}"
            f" <{tmp}/{h}.sh >{tmp}/{h}.out 2>{tmp}/{h}.err &"
        )
    lines.append("wait")
    path = tmp / "floor.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def floor_ok(tmp: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> bool:
    for h in hosts:
        b = pr[h]["batch"]
        got = plan.unbatch(b, Result((tmp / f"{h}.out").read_text(errors="replace"), "", 0))
        if len(got) != len(b.keys):
            return False
    return True


def remediate_ok(audit: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> bool:
    """(b) sent each host exactly the probe set's checks: one step.started per check, no other."""
    started: dict[str, int] = {}
    for line in audit.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "step.started":
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


def ansible_files(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Inventory and playbook for (c): per host, one task per distinct command of its batch.

    Returns the number of tasks each host runs (its distinct commands), for the ``ok`` check.
    """
    inv = [
        "all:",
        "  vars:",
        f"    ansible_ssh_common_args: {json.dumps('-F ' + str(lab_dir / 'ssh_config'))}",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  hosts:",
    ]
    for h in hosts:
        inv.append(f"    {h}:")
        for i, command in enumerate(pr[h]["distinct"]):
            inv.append(f"      d{i}: !unsafe {json.dumps(command)}")
    (tmp / "inventory.yml").write_text("\n".join(inv) + "\n")
    book = ["- hosts: all", "  gather_facts: false", "  tasks:"]
    for i in range(max(len(pr[h]["distinct"]) for h in hosts)):
        book += [
            f"    - name: command {i}",
            f'      shell: "{{{{ d{i} }}}}"',
            f"      when: d{i} is defined",
            "      changed_when: false",
            "      failed_when: false",
        ]
    (tmp / "probes.yml").write_text("\n".join(book) + "\n")
    (tmp / "ansible.cfg").write_text(
        "[defaults]\nretry_files_enabled = False\nhost_key_checking = True\n"
        f"local_tmp = {tmp}/local\n"
        "[ssh_connection]\npipelining = True\n"
        f"control_path_dir = {tmp}/cp\ncontrol_path = %(directory)s/%%C\n"
    )
    return {h: len(pr[h]["distinct"]) for h in hosts}


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


def ansible_ok(out: Path, tasks: dict[str, int]) -> bool:
    """Every host ran each of its tasks (ok=its distinct commands), none unreachable or failed."""
    text = out.read_text(errors="replace")
    for h, n in tasks.items():
        m = re.search(rf"^{h}\s+:\s+ok=(\d+)\s.*unreachable=(\d+)\s+failed=(\d+)", text, re.M)
        if not m or int(m.group(1)) != n or m.group(2) != "0" or m.group(3) != "0":
            return False
    return True


# --- the runs ----------------------------------------------------------------------------------------


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


def run_fleet(
    args: argparse.Namespace,
    lab_dir: Path,
    pr: dict[str, dict[str, Any]],
    n: int,
    ansible: Path | None,
    work: Path,
    probe_set: str,
) -> dict[str, Any]:
    hosts = [f"lab{i}" for i in range(1, n + 1)]
    tmp = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=work))
    script = floor_script(tmp, lab_dir, hosts, pr)
    tasks = ansible_files(tmp, lab_dir, hosts, pr) if ansible else {}
    host_args = [a for h in hosts for a in ("--host", h)]
    modules = pr["lab1"]["modules"]
    res: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "c": []}
    ok = {"a": True, "b": True, "c": True}
    large = n >= 50 and probe_set == "playbooks"
    slow_runs = (args.slow_runs_large if large else args.slow_runs) if n in args.ansible_sizes else 0
    load_before = os.getloadavg()
    for i in range(args.runs):
        r = measure(["bash", str(script)])
        ok["a"] &= r["rc"] == 0 and floor_ok(tmp, hosts, pr)
        res["a"].append(r)
        audit = tmp / f"audit-{i}.jsonl"
        r = measure(
            # the set's own modules (not `all`: $REMEDIATE_PLAYBOOKS is searched before the shipped playbooks,
            # so `all` would add every shipped playbook to the short set)
            [
                *REMEDIATE,
                "check",
                *modules,
                *host_args,
                "-i",
                str(lab_dir / "inventory.yml"),
                "--audit-log",
                str(audit),
            ],
            out=tmp / "remediate.out",
            env=set_env(probe_set),
        )
        ok["b"] &= r["rc"] == 0 and remediate_ok(audit, hosts, pr)
        res["b"].append(r)
        if ansible and i < slow_runs:
            r = measure(
                [str(ansible), "-i", str(tmp / "inventory.yml"), "-f", str(n), str(tmp / "probes.yml")],
                env=ansible_env(tmp),
                out=tmp / "ansible.out",
                cwd=tmp,
            )
            ansible_close(tmp, lab_dir)
            ok["c"] &= r["rc"] == 0 and ansible_ok(tmp / "ansible.out", tasks)
            res["c"].append(r)
        print(
            f"  {probe_set} N={n} run {i + 1}: a {res['a'][-1]['wall']:.2f}s  b {res['b'][-1]['wall']:.2f}s"
            + (f"  c {res['c'][-1]['wall']:.2f}s" if ansible and i < slow_runs else ""),
            flush=True,
        )
    per_host = {h: len(pr[h]["batch"].keys) for h in hosts}  # distinct commands: the batch (a), (b) send
    out: dict[str, Any] = {
        "set": probe_set,
        "n": n,
        "commit": args.commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "checks_per_host": pr["lab1"]["checks"],
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    for k in "abc":
        if res[k]:
            # (a) and (b) send each host's batch of distinct commands; (c) runs one task per distinct command
            commands = per_host if k in "ab" else tasks
            out[k] = {**summarize(res[k]), "ok": ok[k], "commands_per_host": sorted(set(commands.values()))}
    if "a" in out and "b" in out:
        out["b_over_a"] = out["b"]["median_s"] / out["a"]["median_s"]
    if "b" in out and "c" in out:
        out["c_over_b"] = out["c"]["median_s"] / out["b"]["median_s"]
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
    for i in range(-1, args.runs):  # run -1 warms up like the cases above and is not timed
        run = measure([*REMEDIATE, "wfserver", "--host", "lab1", "-i", inv, "--audit-log", str(work / f"wf{i}.jsonl")])
        if i >= 0:
            runs.append(run)
    out["remediate wfserver --host lab1 (healthy: checks only)"] = summarize(runs)
    print(f"  wfserver: {out['remediate wfserver --host lab1 (healthy: checks only)']['median_s']:.3f}s", flush=True)
    return out


# --- report ------------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold = results["cold"]
    rows = []

    def add(
        name: str, value: float | None, limit: float, le: bool = True, unit: str = "", row: dict | None = None
    ) -> None:
        met = None if value is None else (value <= limit if le else value >= limit)
        not_ok = [k for k in "abc" if row and k in row and not row[k]["ok"]]
        if met is not None and not_ok:
            met = False  # a figure from a run that did not do its work meets nothing
        rows.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "op": "<=" if le else ">=",
                "unit": unit,
                "met": met,
                "not_ok": not_ok,
                "commit": row.get("commit", "not recorded") if row else "-",
            }
        )

    for probe_set in results["sets"]:
        fleet = {f["n"]: f for f in results["fleet"] if f["set"] == probe_set}
        for n, lim in ((1, TARGETS["b_over_a_n1"]), (10, TARGETS["b_over_a_n10"]), (50, TARGETS["b_over_a_n50"])):
            add(f"{probe_set}: b/a at N={n}", fleet.get(n, {}).get("b_over_a"), lim, row=fleet.get(n))
        row10 = fleet.get(10)
        add(f"{probe_set}: c/b at N=10", (row10 or {}).get("c_over_b"), TARGETS["c_over_b_n10"], le=False, row=row10)
        row50 = fleet.get(50)
        rss = (row50 or {}).get("b", {}).get("maxrss_mb")
        add(f"{probe_set}: remediate peak RSS at N=50", rss, TARGETS["rss_n50_mb"], unit="MB", row=row50)
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
        row = {"commit": cold_commit, "b": {"ok": entry["exit_codes"] == [0]}} if entry else None
        add(name, (entry or {}).get("median_s"), limit, unit="s", row=row)
    return rows


HOW_COUNTED = [
    (
        "median s / min-max s",
        "wall time of the whole command (process start to exit), median and range over the row's runs",
    ),
    ("CPU s", "user + system CPU of the measured process tree (wait4 rusage of its children), median"),
    ("max RSS MB", "the largest resident set of any single process of the tree (GNU time %M), largest over the runs"),
    ("tree RSS MB", "peak of the summed RSS of the whole process tree, sampled every 50 ms (shared pages per process)"),
    ("commands/host", "distinct commands each host ran: the batch script of (a) and (b), one task each in (c)"),
    (
        "ok",
        "every run of that tool exited 0 and did all its work: (a) every frame of every host's batch came "
        "back, (b) `check` exited 0 and its audit log has one step.started per check of the set on every host "
        "(no other playbook ran), (c) every host ok=its task count, none unreachable or failed",
    ),
    ("b/a, c/b", "ratio of the medians of the same row (same N, same probes, interleaved runs)"),
    ("cold start", "median wall time of the command over its runs, after one untimed warm-up run"),
    ("met", "the figure is within its limit and every tool of its row was ok; a row that was not ok meets nothing"),
]


def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def analysis(results: dict[str, Any]) -> list[str]:
    """The reading of the figures, every number taken from ``results`` (nothing typed by hand)."""
    out = ["## Reading the figures (generated from the numbers above)", ""]
    for f in results["fleet"]:
        where = f"{f['set']} probes, N={f['n']}"
        bits = []
        if f.get("b_over_a") is not None:
            faster = "faster than" if f["b_over_a"] < 1 else "slower than"
            bits.append(
                f"remediate took {fmt(f['b']['median_s'])} s against the floor's {fmt(f['a']['median_s'])} s "
                f"(b/a {fmt(f['b_over_a'])}: {faster} raw OpenSSH)"
            )
        if f.get("c_over_b") is not None:
            bits.append(f"ansible-playbook took {fmt(f['c']['median_s'])} s (c/b {fmt(f['c_over_b'], 1)})")
        cmds = {k: f[k].get("commands_per_host") for k in "abc" if k in f}
        same = len({json.dumps(v) for v in cmds.values()}) == 1
        if None in cmds.values():
            bits.append("commands per host not recorded (a run from before they were)")
        elif same:
            bits.append(f"every tool ran the same {', '.join(map(str, cmds['b']))} distinct commands per host")
        else:
            bits.append("**commands per host differ between tools**: " + json.dumps(cmds))
        not_ok = [k for k in "abc" if k in f and not f[k]["ok"]]
        if not_ok:
            bits.append(f"**not ok: {', '.join(not_ok)}** (its figures meet no target)")
        load = f"load {f['load_before'][0]} before, {f['load_after'][0]} after"
        out.append(f"- {where} ({f.get('commit', 'commit not recorded')}, {load}): " + "; ".join(bits) + ".")
    cpu = [(f["set"], f["n"], f["a"]["cpu_s"], f["b"]["cpu_s"]) for f in results["fleet"] if "a" in f and "b" in f]
    if cpu:
        out += [
            "",
            "CPU of the client side per row (median CPU s of the measured tree, floor vs remediate): "
            + "; ".join(f"{p} N={n}: {fmt(x)} vs {fmt(y)}" for p, n, x, y in cpu)
            + ". The floor starts one OpenSSH client per host at once; remediate runs at most `--forks` "
            "hosts at a time in one process.",
        ]
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


def why_missed(v: dict[str, Any], results: dict[str, Any]) -> str:
    """Why a target is missed and what would close it, from the row's own figures."""
    m = re.fullmatch(r"(\w+): c/b at N=(\d+)", v["target"])
    row = next((f for f in results["fleet"] if m and f["set"] == m.group(1) and f["n"] == int(m.group(2))), None)
    if m is None or row is None or "a" not in row or "c" not in row:
        return f"Missed: {v['target']} ({fmt(v['value'])} {v['unit']}, limit {v['op']} {v['limit']:g})."
    a, b, c = (row[k]["median_s"] for k in "abc")
    bound = c / a
    text = (
        f"Why {v['target']} is missed: ansible-playbook took {fmt(c)} s and the floor {fmt(a)} s for the same "
        f"commands on the same hosts, so a runner exactly as fast as raw OpenSSH would reach c/b {fmt(bound, 1)}; "
        f"remediate took {fmt(b)} s ({'under' if b < a else 'over'} the floor by {fmt(abs(b - a))} s)."
    )
    if bound < v["limit"]:
        cpu_b, cpu_c = row["b"]["cpu_s"], row["c"]["cpu_s"]
        return text + (
            " The time is the work on the hosts (the Campaign commands the checks run), which every tool does "
            "alike, not the runner's own: in the lab every host shares this machine's cores, so the hosts' work "
            f"is queued behind each other's. The runners' own CPU tells them apart: ansible-playbook {fmt(cpu_c)} s, "
            f"remediate {fmt(cpu_b)} s ({fmt(cpu_c / cpu_b, 1)} times less) for the same run. What would close it: "
            "hosts with cores of their own (a real fleet: each host does its share at once), fewer or cheaper "
            "host commands per check for every tool, or a target for this set stated against the floor (b/a, met)."
        )
    return text + " What would close it: a smaller runner overhead over the floor (b - a)."


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
        f"- load average (1/5/15 min) at start {results['load_start']}, at end {results['load_end']}",
        f"- date {results['date']}; runner at commit {results['commit']} (each row and the cold start name "
        "their own); regenerate with `make bench`",
        "- commands: " + "; ".join(f"`{c}`" for c in results.get("commands", [results["command"]])),
        "",
        "## What is measured",
        "",
        f"A lab fleet (`python -m lab --dir {results['lab_dir']} --net {results['net']} up --hosts N`, grown "
        "to each fleet size before its rows, so no idle host adds its background work to a smaller fleet's "
        "figures): every host a real sshd on loopback and simulated Campaign modules. "
        "Two probe sets, each built from playbooks for each host exactly as `remediate check all` builds "
        "them (`plan.read_batch`: one batch script per host, read steps sending the same command sharing one "
        "execution, every database query in one `nlserver javascript` call, `parallel_reads` steps at a time), "
        "so (a), (b) and (c) run the same distinct commands on each host:",
        "",
        f"- **playbooks**: the read-only checks of every shipped playbook "
        f"({results['probes'].get('playbooks', '-')} distinct commands per host; modules "
        f"{', '.join(results.get('modules', []))}). Many call `nlserver` (a Python simulator process on "
        "the lab host; `nlserver javascript` reads the lab's PostgreSQL) or `ss`: the host-side work dominates, "
        "and it runs on the same cores;",
        f"- **short**: `bench/short/` ({results['probes'].get('short', '-')} distinct short commands: hostname, "
        "uname, df, ls ...), the transport-bound workload (`$REMEDIATE_PLAYBOOKS=bench/short`).",
        "",
        "- **(a) floor**: raw OpenSSH (`ssh -F ssh_config -o BatchMode=yes labK REMOTE <SCRIPT`), one connection "
        "per host; SCRIPT is the sweep's batch script and REMOTE the command line that reads it from stdin, the "
        "very ones remediate sends; all hosts in parallel from one `bash` script;",
        "- **(b) remediate**: `python -m runner check MODULES --host lab1 ... --host labN -i inventory.yml` (the set's "
        "modules; default "
        "`--forks 10`), the runner of the measured commit, a fresh audit log per run;",
        "- **(c) ansible**: `ansible-playbook -f N`, one `shell` task per distinct command of the host's batch "
        "(env script sourced in each), `gather_facts: false`, `pipelining = True`, default ssh_args "
        "(ControlMaster/ControlPersist, closed after each run so every run starts cold).",
        "",
        "Runs are interleaved (a, b, c, a, b, c, ...); each row gives its own run counts. Fleet sizes measured: "
        + ", ".join(f"{p} N={n}" for p, n in sorted({(f["set"], f["n"]) for f in results["fleet"]}))
        + "; the targets name N=1, 10 and 50 (a target of a size not measured reads 'not measured').",
        "",
        "## How each figure is counted",
        "",
        *[f"- **{name}**: {how}." for name, how in HOW_COUNTED],
        "",
        "## Fleet sweep",
        "",
        "| probes | N | tool | commands/host | median s | min-max s | CPU s | max RSS MB | tree RSS MB | ok | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"a": "(a) OpenSSH floor", "b": "(b) remediate check", "c": "(c) ansible-playbook"}
    for f in results["fleet"]:
        for k in "abc":
            if k in f:
                s = f[k]
                L.append(
                    f"| {f['set']} | {f['n']} | {names[k]} ({s['runs']} runs) | "
                    f"{', '.join(map(str, s.get('commands_per_host', []))) or '-'} | {fmt(s['median_s'])} | "
                    f"{fmt(s['min_s'])}-{fmt(s['max_s'])} | {fmt(s['cpu_s'])} | {fmt(s['maxrss_mb'], 1)} | "
                    f"{fmt(s['tree_rss_mb'], 1)} | {'yes' if s['ok'] else '**NO**'} | "
                    f"{f.get('commit', 'not recorded')} |"
                )
    L += [
        "",
        "| probes | N | b/a | c/b | lab hosts up | load before → after | date |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in results["fleet"]:
        L.append(
            f"| {f['set']} | {f['n']} | {fmt(f.get('b_over_a'))} | {fmt(f.get('c_over_b'), 1)} | "
            f"{f.get('lab_hosts', results.get('lab_hosts', '-'))} | "
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
            f"| {v['target']} | {fmt(v['value'])} {v['unit']} | {v['op']} {v['limit']:g} {v['unit']} | {met} | "
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
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of (c)")
    ap.add_argument("--slow-runs-large", type=int, default=3, help="runs of (c) at N >= 50 on the playbooks set")
    ap.add_argument("--sets", default="short,playbooks", help="probe sets: short, playbooks")
    ap.add_argument("--report-only", action="store_true", help="rewrite the doc from the JSON results")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="add to the JSON results (replacing the same probe set and N) instead of starting afresh",
    )
    ap.add_argument("--skip-cold", action="store_true", help="do not measure cold start")
    ap.add_argument("--cold-runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="N=1,10; 2 runs; ansible only at N=1")
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
    args.commit, dirty = source_state()
    if dirty and not args.allow_dirty:
        print(
            f"bench: the tree has uncommitted changes ({', '.join(dirty[:5])}{' ...' if len(dirty) > 5 else ''}): "
            "commit first (a published figure comes from one commit), or pass --allow-dirty",
            file=sys.stderr,
        )
        return 2
    if args.quick:
        args.sizes, args.ansible_sizes, args.runs, args.slow_runs, args.cold_runs = "1,10", "1", 2, 1, 3
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
        "slow_runs": args.slow_runs,
        "slow_runs_large": args.slow_runs_large,
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
        old["fleet"] = [f for f in old["fleet"] if (f["set"], f["n"]) not in done]
        old["commit"], old["date"] = results["commit"], results["date"]
        old["commands"] = [*old.get("commands", [old.get("command")]), results["command"]]
        old["sets"] = list(dict.fromkeys([*old["sets"], *sets]))
        old["load_start"] = old.get("load_start")
        if not args.skip_cold:
            old["cold"] = {}
        for key in ("runs", "slow_runs", "slow_runs_large"):
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
