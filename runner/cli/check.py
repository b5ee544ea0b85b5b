"""``remediate check [MODULE ...|all] --host ...``: the read-only sweep, for people and for monitoring.

Owns: the sweep's arguments, ``--output`` (text, json, prometheus, nagios) and ``--output-file``, the
``run.started`` record of a sweep, and a refused invocation as a Nagios plugin's (one UNKNOWN line,
exit 3). The frame is :mod:`runner.cli.frame`'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runner import console
from runner.cli.auditlog import open_audit_log
from runner.cli.exits import fail
from runner.cli.frame import run_in_frame, run_options
from runner.cli.selection import hosts_from_flags, module_names, playbook_path


@click.command("check")
@click.argument("wanted", nargs=-1, metavar="[MODULE|all]...")
@run_options
@click.option(
    "--output",
    type=click.Choice(["text", "json", "prometheus", "nagios"]),
    default="text",
    show_default=True,
    help="prometheus: node_exporter textfile format; nagios: one plugin line, exit 0/1/2/3 (README, Monitoring).",
)
@click.option(
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the output to this file atomically (temp file + rename), e.g. node_exporter's textfile directory.",
)
def check_cmd(wanted: tuple[str, ...], **flags: Any) -> None:
    """Read-only sweep: the checks of MODULE... (or all) on each host, one connection per host."""
    from runner import monitoring, report, sshconfig
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, RunConfig
    from runner.playbook import load_module

    output = flags["output"]
    try:
        names = module_names() if not wanted or "all" in wanted else list(wanted)
        books = [load_module(name, playbook_path()) for name in names]
        if not books:
            raise InputError("no playbook to check", where="MODULE")
        hosts = hosts_from_flags(flags)
        sshconfig.check(hosts, flags["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = open_audit_log(flags["audit_log"], hosts, flags["syslog"])
    except RemediateError as exc:
        if output == "nagios":  # a plugin's bad invocation is UNKNOWN (3), with one line on stdout
            console.out(monitoring.nagios_unknown(str(exc)))
            sys.exit(monitoring.NAGIOS_UNKNOWN)
        fail(exc)
    config = RunConfig(dry_run=True, forks=flags["forks"], reason=flags["reason"], ssh_config=flags["ssh_config"])
    started = {
        "modules": names,
        "reason": flags["reason"],
        "playbook_sha256": {book.module: book.sha256 for book in books},
    }
    outcomes, code = run_in_frame(log, "check", hosts, True, started, lambda: Engine(hosts, log, config).check(books))
    plugin_code = monitoring.NAGIOS_UNKNOWN
    if output == "text":
        console.sweep(outcomes)
        sys.exit(code)
    if output == "json":
        text = json.dumps(report.document(log.run_id, "check", True, outcomes, code), indent=2) + "\n"
    elif output == "prometheus":
        text = monitoring.prometheus(outcomes, names)
    else:
        plugin_code, line = monitoring.nagios(outcomes)
        text = line + "\n"
    if flags["output_file"] is not None:
        try:
            monitoring.write_atomically(flags["output_file"], console.redact(text))
        except OSError as exc:
            fail(InputError(f"cannot write: {exc.strerror}", where=str(flags["output_file"])))
    else:
        click.echo(console.redact(text), nl=False)
    sys.exit(plugin_code if output == "nagios" else code)  # a plugin's own exit code replaces the run's
