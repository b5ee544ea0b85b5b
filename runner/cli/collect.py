"""``remediate collect --host H [MODULE ...]``: one evidence bundle per host, taken read-only.

Owns: the command's arguments (the modules whose logs go in, every module by default; ``--out DIR``),
the line printed per bundle (its path, sha256 and whether it is partial) and the exit code: 0 every
bundle complete, 1 a bundle is partial (a file could not be read, or no bundle could be written), 3 a
host could not be reached (its bundle says what was not read), 2 bad input (nothing is run). Also
:func:`bundle_lines`, which prints the bundle a playbook run takes before a disruptive step. The
bundle itself is :mod:`runner.collect`'s.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from runner import console
from runner.cli.auditlog import open_audit_log
from runner.cli.exits import fail
from runner.cli.frame import run_in_frame, run_options
from runner.cli.output import output_option
from runner.cli.selection import hosts_from_flags, module_names
from runner.events import Event


def bundle_lines(enabled: bool) -> Callable[[dict[str, Any]], None]:
    """An audit listener printing each evidence bundle as it is written (stdout), and a bundle that could
    not be taken as a warning (stderr)."""

    def listener(event: dict[str, Any]) -> None:
        name = event.get("event")
        host = event.get("host", "")
        if name == Event.BUNDLE_COLLECTED and enabled:
            partial = str(bool(event.get("partial"))).lower()
            where = f"{event.get('path')}  sha256 {event.get('sha256')}  partial: {partial}"
            console.out(f"{host:>10}  bundle       {'':>9}  {where}")
        if name == Event.BUNDLE_COLLECTED and event.get("message"):
            console.out(f"remediate: warning: {host}: {event['message']}", err=True)
        elif name == Event.BUNDLE_FAILED:
            console.out(f"remediate: warning: {host}: {event.get('message')}", err=True)

    return listener


@click.command("collect")
@click.argument("modules", nargs=-1, metavar="[MODULE]...")
@run_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Directory of the bundles (created mode 700) [default: $REMEDIATE_BUNDLES, else "
    "bundles/ beside the default audit log].",
)
@output_option(["text", "json"])
def collect_cmd(modules: tuple[str, ...], **flags: Any) -> None:
    """Take an evidence bundle of each host, read-only: pdump, pdump -who, monitor, the logs of MODULE...
    (every module by default) since each started, the configs with secrets replaced, build, disk, memory
    and the host's recent runs. One .tar.gz per host with MANIFEST.json (sizes, sha256, what was cut or
    could not be read) and README.txt."""
    from runner import collect, sshconfig
    from runner.errors import InputError, RemediateError, did_you_mean
    from runner.execute import Engine, RunConfig

    try:
        known = module_names()
        for name in modules:
            if name not in known:
                hint = did_you_mean(name, known, f"modules: {', '.join(known)}")
                raise InputError(f"unknown module {name!r}", where="MODULE", hint=hint)
        wanted = list(dict.fromkeys(modules)) or known
        hosts = hosts_from_flags(flags)
        problems = collect.check_limits(hosts)
        if problems:
            raise InputError("; ".join(problems), where="collect_* host vars")
        sshconfig.check(hosts, flags["ssh_config"])
        log = open_audit_log(flags["audit_log"], hosts, flags["syslog"])
    except RemediateError as exc:
        fail(exc)
    text = flags["output"] == "text"
    log.listeners.append(console.Progress(text))
    log.listeners.append(bundle_lines(False))
    directory = flags["out_dir"] or collect.default_dir()
    config = RunConfig(forks=flags["forks"], reason=flags["reason"], ssh_config=flags["ssh_config"])
    bundles: list[collect.Bundle] = []

    def body() -> list[Any]:
        engine = Engine(hosts, log, config)
        taken = collect.collect_hosts(hosts, engine.worker, wanted, directory, forks=config.forks)
        bundles.extend(b for _o, b in taken)
        return [o for o, _b in taken]

    started = {"modules": wanted, "reason": flags["reason"], "out": str(directory)}
    outcomes, code = run_in_frame(log, "collect", hosts, False, started, body)
    if text:
        for bundle in bundles:
            console.out(bundle.line())
    else:
        doc = {
            "run_id": log.run_id,
            "exit_code": int(code),
            "hosts": {
                o.host: {
                    "status": str(o.status),
                    "path": str(b.path) if b.path else None,
                    "sha256": b.sha256,
                    "partial": b.partial,
                    "error": b.error or None,
                    "not_read": [f["name"] for f in b.manifest.get("files", []) if f["status"] in collect.MISSING],
                }
                for o, b in zip(outcomes, bundles, strict=True)
            },
        }
        console.out(json.dumps(doc, indent=2))
    sys.exit(code)
