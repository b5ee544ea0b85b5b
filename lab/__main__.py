"""`python -m lab up|down|status|break|heal|faults`: the lab's command line (the only module that prints)."""

from __future__ import annotations

import argparse
import json
import sys

from .core import Lab, LabError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab", description="Simulated Adobe Campaign v7 fleet")
    ap.add_argument("--dir", help="lab directory (env REMEDIATE_LAB_DIR, default /tmp/remediate-lab)")
    ap.add_argument(
        "--net", help="first three octets of the hosts' loopback addresses (env REMEDIATE_LAB_NET, default 127.0.2)"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start N hosts (harmless when already up)")
    up.add_argument("--hosts", type=int, default=3)
    up.add_argument("--no-project-inventory", action="store_true", help="do not write ./inventory/lab.yml")
    up.add_argument(
        "--replace",
        action="store_true",
        help="stop and remove a lab another checkout started in this directory "
        "(one whose checkout no longer exists is replaced without it)",
    )
    down = sub.add_parser(
        "down", help="stop every process the lab started and remove its files (from any checkout: it needs only --dir)"
    )
    down.add_argument("--keep", action="store_true", help="keep the lab directory (logs) after stopping")
    st = sub.add_parser("status", help="report the real state of the hosts")
    st.add_argument("host", nargs="?")
    st.add_argument("--json", action="store_true")
    br = sub.add_parser("break", help="inject a fault into a host")
    br.add_argument("host")
    br.add_argument("fault")
    he = sub.add_parser("heal", help="restore a host to its healthy baseline")
    he.add_argument("host")
    sub.add_parser("faults", help="list the fault names")
    a = ap.parse_args(argv)
    lab = Lab(a.dir, a.net, project_inventory=not getattr(a, "no_project_inventory", False))
    try:
        if a.cmd == "up":
            r = lab.up(a.hosts, replace=a.replace)
            if r["replaced"] and r["replaced_gone"]:
                print(
                    f"lab up: replaced the lab started from {r['replaced']}, a checkout that no longer exists "
                    f"({r['replaced_stopped']} process(es) stopped, its files in {lab.dir} removed)"
                )
            elif r["replaced"]:
                print(f"lab up: replaced the lab started from {r['replaced']} (stopped and removed)")
            print(
                f"lab up: {r['hosts']} host(s) in {r['seconds']} s; ssh -F {lab.dir}/ssh_config lab1; "
                f"inventory {lab.dir}/inventory.yml"
            )
        elif a.cmd == "down":
            gone = lab.origin()["gone"]
            r = lab.down(keep=a.keep)
            whose = f", started from {r['checkout']}" if r["checkout"] else ""
            whose += " (a checkout that no longer exists)" if gone else ""
            print(f"lab down: {r['stopped']} process(es) stopped (the lab in {lab.dir}{whose})")
        elif a.cmd == "faults":
            for name, desc in lab.faults().items():
                print(f"{name:20} {desc}")
        elif a.cmd == "break":
            lab.break_(a.host, a.fault)
            print(f"{a.host}: {a.fault} injected")
        elif a.cmd == "heal":
            lab.heal(a.host)
            print(f"{a.host}: healed")
        elif a.cmd == "status":
            if not lab.hosts():
                print("lab is not up", file=sys.stderr)
                return 1
            res = lab.status(a.host) if a.host else lab.status()
            started = lab.origin()
            if not a.json:
                print(
                    f"lab {lab.dir}: started from {started['checkout'] or 'an unknown checkout'} "
                    f"(version {started['version'] or 'unknown'})"
                    + (
                        "; that checkout no longer exists (`up` from any checkout replaces this lab)"
                        if started["gone"]
                        else ""
                    )
                )
            if a.json:
                print(json.dumps(res, indent=1, default=str))
            else:
                for h in [res] if a.host else list(res.values()):
                    bad = [m for m, ok in h["healthy"].items() if not ok]
                    print(
                        f"{h['host']:6} {h['address']:15} {'healthy' if not bad else 'UNHEALTHY: ' + ', '.join(bad)}"
                        f"{'  faults: ' + ', '.join(h['faults']) if h['faults'] else ''}"
                    )
                    if h["db_error"]:
                        print(f"{'':6} database not read: {h['db_error']}")
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
