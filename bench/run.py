#!/usr/bin/env python3
"""Benchmark: `remediate check all` against the floor (raw OpenSSH) and ansible-playbook on a lab fleet.

Starts a dedicated lab (default /tmp/remediate-bench on 127.0.7.x), takes the exact read-only probe
commands of the sweep from the playbooks themselves (one batch script per host, as the engine builds
it), and times on lab1..labN, N in --sizes:

  (a) floor: raw OpenSSH, one ``ssh`` per host running the sweep's batch script, hosts in parallel;
  (b) ``remediate check all --host lab1 .. --host labN``;
  (c) ``ansible-playbook``: one ``shell`` task per probe (same commands), forks N, no facts,
      pipelining on (ansible-core in bench/.venv-ansible, installed on first use).

Per run: wall time, the largest RSS of any process of the tree (wait4 rusage) and the peak of the
summed RSS of the whole process tree (sampled from /proc every 50 ms). Also cold start (``--help``,
``list``, ``show wfserver``) and a wfserver run on one healthy host (checks only).
Writes bench/results.json and docs/performance.md (plus bench/analysis.md verbatim). The lab is
stopped at the end, also on error. Usage: ``make bench`` or ``.venv/bin/python bench/run.py [--quick]``.
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

BIN = Path(sys.executable).parent
REMEDIATE = [str(BIN / "remediate")] if (BIN / "remediate").exists() else [sys.executable, "-m", "runner"]
ANSIBLE_VENV = BENCH / ".venv-ansible"
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
        items, full = [], {}
        for pb in books:
            for step in pb.checks:
                planned = plan.build(step, ctx)
                if planned.command is None:
                    continue
                key = f"{pb.module}/{step.id}"
                items.append((key, planned.command, step.timeout))
                full[key] = plan.full_command(planned, ctx)
        b, _keys = plan.shared_batch(items, plan.env_prefix(ctx))  # the very script remediate sends
        out[name] = {
            "batch": b,
            "remote": transport.remote_command(b.script, b.timeout),
            "full": full,
            "modules": [pb.module for pb in books],
        }
    return out


# --- (a) floor ---------------------------------------------------------------------------------------


def floor_script(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> Path:
    lines = ["#!/bin/bash"]
    for h in hosts:
        (tmp / f"{h}.cmd").write_text(pr[h]["remote"])
        lines.append(
            f'ssh -F {lab_dir}/ssh_config -o BatchMode=yes {h} "$(<{tmp}/{h}.cmd)" >{tmp}/{h}.out 2>{tmp}/{h}.err &'
        )
    lines.append("wait")
    path = tmp / "floor.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def floor_ok(tmp: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> bool:
    for h in hosts:
        b = pr[h]["batch"]
        got = plan.unbatch(b, transport.Result((tmp / f"{h}.out").read_text(errors="replace"), "", 0))
        if len(got) != len(b.keys):
            return False
    return True


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


def ansible_files(tmp: Path, lab_dir: Path, hosts: list[str], pr: dict[str, dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for h in hosts for k in pr[h]["full"]))
    inv = [
        "all:",
        "  vars:",
        f"    ansible_ssh_common_args: {json.dumps('-F ' + str(lab_dir / 'ssh_config'))}",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  hosts:",
    ]
    for h in hosts:
        inv.append(f"    {h}:")
        for i, k in enumerate(keys):
            if k in pr[h]["full"]:
                inv.append(f"      p{i}: !unsafe {json.dumps(pr[h]['full'][k])}")
    (tmp / "inventory.yml").write_text("\n".join(inv) + "\n")
    book = ["- hosts: all", "  gather_facts: false", "  tasks:"]
    for i, k in enumerate(keys):
        book += [
            f"    - name: {json.dumps(k)}",
            f'      shell: "{{{{ p{i} }}}}"',
            f"      when: p{i} is defined",
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
    return keys


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


def ansible_ok(out: Path, hosts: list[str], tasks: int) -> bool:
    text = out.read_text(errors="replace")
    for h in hosts:
        m = re.search(rf"^{h}\s+:\s+ok=(\d+)\s.*unreachable=(\d+)\s+failed=(\d+)", text, re.M)
        if not m or int(m.group(1)) != tasks or m.group(2) != "0" or m.group(3) != "0":
            return False
    return True


# --- the runs ----------------------------------------------------------------------------------------


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
    keys = ansible_files(tmp, lab_dir, hosts, pr) if ansible else []
    host_args = [a for h in hosts for a in ("--host", h)]
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
            [*REMEDIATE, "check", "all", *host_args, "-i", str(lab_dir / "inventory.yml"), "--audit-log", str(audit)],
            out=tmp / "remediate.out",
            env=set_env(probe_set),
        )
        ok["b"] &= r["rc"] == 0
        res["b"].append(r)
        if ansible and i < slow_runs:
            r = measure(
                [str(ansible), "-i", str(tmp / "inventory.yml"), "-f", str(n), str(tmp / "probes.yml")],
                env=ansible_env(tmp),
                out=tmp / "ansible.out",
                cwd=tmp,
            )
            ansible_close(tmp, lab_dir)
            ok["c"] &= r["rc"] == 0 and ansible_ok(tmp / "ansible.out", hosts, len(keys))
            res["c"].append(r)
        print(
            f"  {probe_set} N={n} run {i + 1}: a {res['a'][-1]['wall']:.2f}s  b {res['b'][-1]['wall']:.2f}s"
            + (f"  c {res['c'][-1]['wall']:.2f}s" if ansible and i < slow_runs else ""),
            flush=True,
        )
    out: dict[str, Any] = {
        "set": probe_set,
        "n": n,
        "probes_per_host": len(pr["lab1"]["batch"].keys),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    for k in "abc":
        if res[k]:
            out[k] = {**summarize(res[k]), "ok": ok[k]}
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
    for i in range(args.runs):
        runs.append(
            measure([*REMEDIATE, "wfserver", "--host", "lab1", "-i", inv, "--audit-log", str(work / f"wf-{i}.jsonl")])
        )
    out["remediate wfserver --host lab1 (healthy: checks only)"] = summarize(runs)
    print(f"  wfserver: {out['remediate wfserver --host lab1 (healthy: checks only)']['median_s']:.3f}s", flush=True)
    return out


# --- report ------------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold = results["cold"]
    rows = []

    def add(name: str, value: float | None, limit: float, le: bool = True, unit: str = "") -> None:
        met = None if value is None else (value <= limit if le else value >= limit)
        rows.append(
            {"target": name, "value": value, "limit": limit, "op": "<=" if le else ">=", "unit": unit, "met": met}
        )

    for probe_set in results["sets"]:
        fleet = {f["n"]: f for f in results["fleet"] if f["set"] == probe_set}
        for n, lim in ((1, TARGETS["b_over_a_n1"]), (10, TARGETS["b_over_a_n10"]), (50, TARGETS["b_over_a_n50"])):
            add(f"{probe_set}: b/a at N={n}", fleet.get(n, {}).get("b_over_a"), lim)
        add(f"{probe_set}: c/b at N=10", fleet.get(10, {}).get("c_over_b"), TARGETS["c_over_b_n10"], le=False)
        add(
            f"{probe_set}: remediate peak RSS at N=50",
            fleet.get(50, {}).get("b", {}).get("maxrss_mb"),
            TARGETS["rss_n50_mb"],
            unit="MB",
        )
    add("remediate --help median", cold.get("remediate --help", {}).get("median_s"), TARGETS["help_s"], unit="s")
    add("remediate list median", cold.get("remediate list", {}).get("median_s"), TARGETS["list_s"], unit="s")
    add(
        "wfserver on one healthy host (checks only)",
        cold.get("remediate wfserver --host lab1 (healthy: checks only)", {}).get("median_s"),
        TARGETS["wfserver_s"],
        unit="s",
    )
    return rows


def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def write_doc(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    L = [
        "# Performance",
        "",
        "Generated by `make bench` (`.venv/bin/python bench/run.py`); machine-readable figures in "
        "`bench/results.json`. Do not edit the generated part by hand: the analysis at the end comes from "
        "`bench/analysis.md`.",
        "",
        "## Machine",
        "",
        f"- {m['nproc']} cores, {m['cpu']}, {m['mem_gb']} GB RAM, Linux {m['kernel']}",
        f"- Python {m['python']}; {m['openssh']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- ansible-core: {results.get('ansible_version') or 'not measured'}",
        f"- load average (1/5/15 min) at start {results['load_start']}, at end {results['load_end']}",
        f"- date {results['date']}; runner at commit {results['commit']}; regenerate with `make bench`",
        "- this run: " + "; ".join(f"`{c}`" for c in results.get("commands", [results["command"]])),
        "",
        "## What is measured",
        "",
        f"A lab fleet (`python -m lab --dir {results['lab_dir']} --net {results['net']} up --hosts "
        f"{results['lab_hosts']}`): every host a real sshd on loopback and simulated Campaign modules. "
        "Two probe sets, each built from playbooks for each host exactly as `remediate check all` builds "
        "them (one batch script per host), so (a), (b) and (c) run identical commands:",
        "",
        f"- **playbooks**: the read-only checks of every shipped playbook "
        f"({results['probes'].get('playbooks', '-')} per host; modules "
        f"{', '.join(results.get('modules', []))}). Many call `nlserver` (a Python simulator process on "
        "the lab host), `psql` or `ss`: the host-side work dominates, and it runs on the same 2 cores;",
        f"- **short**: `bench/short/` ({results['probes'].get('short', '-')} short commands: hostname, uname, df, "
        "ls ...), the transport-bound workload the targets were set with (`$REMEDIATE_PLAYBOOKS=bench/short`).",
        "",
        "- **(a) floor**: raw OpenSSH (`ssh -F ssh_config -o BatchMode=yes labK SCRIPT`), one connection per "
        "host, the sweep's batch script (the very script remediate sends) as the remote command, all hosts in "
        "parallel from one `bash` script;",
        "- **(b) remediate**: `remediate check all --host lab1 ... --host labN -i inventory.yml` (default "
        "`--forks 10`), a fresh audit log per run;",
        "- **(c) ansible**: `ansible-playbook -f N`, one `shell` task per probe (the probe's full command, env "
        "sourced), `gather_facts: false`, `pipelining = True`, default ssh_args (ControlMaster/ControlPersist, "
        "closed after each run so every run starts cold).",
        "",
        f"Runs are interleaved (a, b, c, a, b, c, ...); medians of {results['runs']} runs for (a) and (b), "
        f"{results['slow_runs']} for (c) (`make bench` default: {results['slow_runs_large']} at N=50 with the "
        "playbooks set, where one ansible run takes minutes; each row gives its own count). "
        "Peak memory: *max RSS* is the largest single process of the tree "
        "(GNU time %M, i.e. wait4 rusage; remediate is one process); *tree RSS* is the peak of the summed RSS "
        "of the whole "
        "process tree sampled every 50 ms (shared pages counted per process).",
        "",
        "## Fleet sweep",
        "",
        "| probes | N | tool | median s | min-max s | CPU s | max RSS MB | tree RSS MB | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"a": "(a) OpenSSH floor", "b": "(b) remediate check all", "c": "(c) ansible-playbook"}
    for f in results["fleet"]:
        for k in "abc":
            if k in f:
                s = f[k]
                L.append(
                    f"| {f['set']} | {f['n']} | {names[k]} ({s['runs']} runs) | {fmt(s['median_s'])} | "
                    f"{fmt(s['min_s'])}-{fmt(s['max_s'])} | {fmt(s['cpu_s'])} | {fmt(s['maxrss_mb'], 1)} | "
                    f"{fmt(s['tree_rss_mb'], 1)} | {'yes' if s['ok'] else 'NO'} |"
                )
    L += ["", "| probes | N | b/a | c/b | load before → after |", "|---|---|---|---|---|"]
    for f in results["fleet"]:
        L.append(
            f"| {f['set']} | {f['n']} | {fmt(f.get('b_over_a'))} | {fmt(f.get('c_over_b'), 1)} | "
            f"{f['load_before'][0]} → {f['load_after'][0]} |"
        )
    L += [
        "",
        "## Cold start and a single-host run",
        "",
        "| command | median s | min-max s | max RSS MB | runs |",
        "|---|---|---|---|---|",
    ]
    for name, s in results["cold"].items():
        L.append(
            f"| `{name}` | {fmt(s['median_s'], 3)} | {fmt(s['min_s'], 3)}-{fmt(s['max_s'], 3)} | "
            f"{fmt(s['maxrss_mb'], 1)} | {s['runs']} |"
        )
    L += ["", "## Targets", "", "| target | measured | limit | met |", "|---|---|---|---|"]
    for v in results["targets"]:
        met = "not measured" if v["met"] is None else ("met" if v["met"] else "**missed**")
        L.append(f"| {v['target']} | {fmt(v['value'])} {v['unit']} | {v['op']} {v['limit']:g} {v['unit']} | {met} |")
    L.append("")
    analysis = BENCH / "analysis.md"
    if analysis.exists():
        L += [analysis.read_text().rstrip(), ""]
    path.write_text("\n".join(L))


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
    ap.add_argument("--json", default=str(BENCH / "results.json"))
    ap.add_argument("--doc", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args()
    if args.report_only:
        results = json.loads(Path(args.json).read_text())
        results["targets"] = verdicts(results)
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")
        write_doc(results, Path(args.doc))
        return 0
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
        "commit": subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    if args.merge and Path(args.json).exists():
        old = json.loads(Path(args.json).read_text())
        done = {(p, n) for p in sets for n in sizes}
        old["fleet"] = [f for f in old["fleet"] if (f["set"], f["n"]) not in done]
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
        print(f"bench: lab of {max(sizes)} hosts in {lab_dir} ({args.net}.x)", flush=True)
        if len(lab_hosts(lab_dir, args.net)) < max(sizes):
            lab(["up", "--hosts", str(max(sizes)), "--no-project-inventory"], args)
        names = [f"lab{i}" for i in range(1, max(sizes) + 1)]
        if not args.skip_cold:
            print("bench: cold start", flush=True)
            results["cold"] = run_cold(args, lab_dir, ansible, work)
        for probe_set in sets:
            pr = probes(lab_dir, names, SETS[probe_set])
            results.setdefault("probes", {})[probe_set] = len(pr["lab1"]["batch"].keys)
            if probe_set == "playbooks":
                results["modules"] = pr["lab1"]["modules"]
            print(f"bench: probe set {probe_set}: {results['probes'][probe_set]} probes per host", flush=True)
            for n in sizes:
                results["fleet"].append(run_fleet(args, lab_dir, pr, n, ansible, work, probe_set))
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
