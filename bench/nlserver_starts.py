#!/usr/bin/env python3
"""nlserver process starts per host per run, counted from the lab hosts' own records.

Each nlserver start loads the Campaign runtime on a real server, so what a run costs a host is the number
of nlserver processes it starts there. Every lab host appends one line per nlserver command it receives to
``hosts/<h>/run/nlserver-starts.log`` (time, pid, argv: lab/sim/nlsim/cli.py); this script runs, on each
healthy lab host in turn, ``remediate check all`` and then each shipped playbook (checks only: the host is
healthy), and prints how many lines each run added to that host's record, and which commands they were.
Nothing here counts what the runner says it sent.

Starts its own lab (``--lab-dir``, default /tmp/remediate-starts, on ``--net``, default
``$REMEDIATE_LAB_SPARE_NET`` else 127.0.61) and stops it at the end unless ``--keep-lab``. ``explain`` (used by
bench/run.py for its "nlserver starts per host per `check all` sweep" row) names, for each start a host recorded,
the steps of the run's audit log that read it.
Usage: ``.venv/bin/python bench/nlserver_starts.py [--hosts 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import Lab  # noqa: E402
from runner import playbook  # noqa: E402
from runner.events import Event  # noqa: E402

REMEDIATE = [sys.executable, "-m", "runner"]
RECORD = Path("run") / "nlserver-starts.log"


def record_size(lab: Lab, host: str) -> int:
    path = lab.hdir(host) / RECORD
    return path.stat().st_size if path.exists() else 0


def starts_since(lab: Lab, host: str, offset: int) -> list[str]:
    """The argv of each nlserver start the host recorded after byte ``offset`` (``pdump -who``, ...)."""
    path = lab.hdir(host) / RECORD
    if not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8").splitlines()
    out = []
    for line in lines:
        _stamp, _pid, argv = line.split("\t", 2)
        words = shlex.split(argv)
        out.append(" ".join(w for w in words if not w.startswith(("/", "-file", "-instance"))))  # no file names
    return out


_CALL = re.compile(r"nlserver['\"]?((?:\s+[^\s;|&)<>]+)+)")


def words(argv: str) -> tuple[str, ...]:
    """An nlserver command as compared: its command and options, without file names, ``-file`` and
    ``-instance`` (``javascript -instance:prod -file /tmp/x.js`` -> ``("javascript",)``)."""
    try:
        parts = shlex.split(argv)
    except ValueError:
        parts = argv.split()
    kept = [w for w in parts if not w.startswith(("/", "-file", "-instance", "$", '"', "'"))]
    return tuple(w for i, w in enumerate(kept) if i == 0 or w.startswith("-"))


def calls(text: str) -> set[tuple[str, ...]]:
    """The nlserver commands a shell command text runs (as :func:`words`)."""
    return {words(m.group(1)) for m in _CALL.finditer(text)}


def explain(per_host: dict[str, dict[str, Any]], audit: Path) -> dict[str, Any]:
    """The nlserver starts each host recorded in one run (``per_host[h]["nlserver"]``: argv lines) and,
    for each, the steps of that run's audit log whose command or snapshot runs it (what it is for)."""
    counts = {h: len(w.get("nlserver", [])) for h, w in per_host.items()}
    host = min(per_host, key=lambda h: (-counts[h], h)) if per_host else None
    uses: dict[tuple[str, ...], list[str]] = {}
    events = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    for e in events:
        if e.get("event") != Event.STEP_STARTED or e.get("host") != host:
            continue
        texts = [str(e.get("command", "")), *map(str, (e.get("snapshots") or {}).values())]
        for call in set().union(*(calls(t) for t in texts)):
            uses.setdefault(call, []).append(f"{e.get('module')}/{e.get('step')}")
    starts = []
    for argv in per_host.get(host, {}).get("nlserver", []) if host else []:
        w = words(argv)
        starts.append({"argv": " ".join(w), "steps": uses.get(w, [])})
    return {"host": host, "per_host": counts, "most": max(counts.values(), default=0), "starts": starts}


def run(args: list[str], inventory: Path, audit: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR")}
    env.update({"PYTHONPATH": str(ROOT), "REMEDIATE_AUDIT_LOG": str(audit)})
    res = subprocess.run(
        [*REMEDIATE, *args, "-i", str(inventory), "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    try:
        doc: dict[str, Any] = json.loads(res.stdout)
    except ValueError:
        doc = {"error": (res.stderr or res.stdout).strip()[-300:]}
    doc["exit_code"] = res.returncode
    return doc


def measure(lab: Lab, host: str, label: str, args: list[str], audit: Path) -> dict[str, Any]:
    """One run on one host: the starts its record gained, which commands, and how the run ended."""
    before = record_size(lab, host)
    doc = run([*args, "--host", host], Path(lab.dir) / "inventory.yml", audit)
    time.sleep(0.2)  # a start's line is written when the process begins: every one has begun by now
    started = starts_since(lab, host, before)
    status = (doc.get("hosts") or {}).get(host, {}).get("status", doc.get("error", "?"))
    return {
        "run": label,
        "starts": len(started),
        "commands": dict(Counter(started)),
        "exit_code": doc["exit_code"],
        "status": status,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab-dir", default="/tmp/remediate-starts")
    ap.add_argument("--net", default=os.environ.get("REMEDIATE_LAB_SPARE_NET", "127.0.61"))
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    lab = Lab(Path(args.lab_dir), args.net, project_inventory=False)
    modules = playbook.available()
    rows: list[dict[str, Any]] = []
    try:
        lab.up(hosts=args.hosts)
        with tempfile.TemporaryDirectory(prefix="nlserver-starts-") as tmp:
            audit = Path(tmp) / "audit.jsonl"
            for host in lab.hosts():
                lab.heal(host)
                rows.append({"host": host, **measure(lab, host, "check all", ["check", "all"], audit)})
                for module in modules:
                    rows.append({"host": host, **measure(lab, host, module, [module], audit)})
    finally:
        if not args.keep_lab:
            lab.down()
    width = max(len(m) for m in ["check all", *modules])
    print(f"nlserver starts per host per run (from each host's {RECORD})")
    for host in dict.fromkeys(r["host"] for r in rows):
        print(f"\n{host}")
        for r in (r for r in rows if r["host"] == host):
            what = ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(r["commands"].items()))
            print(f"  {r['run']:<{width}}  {r['starts']:>2}  {r['status']:<14} {what}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
