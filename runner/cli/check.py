"""``remediate check [MODULE ...|all] --host ...``: the read-only sweep, for people and for monitoring.

Owns: the sweep's arguments and ``--output-file``, the ``run.started`` record of a sweep, and a refused
invocation in the format's own terms where it has them (a Nagios plugin's is one UNKNOWN line, exit 3).
The frame is :mod:`runner.cli.frame`'s; the outcome is rendered in the ``--output`` format (text, json,
prometheus, nagios: :data:`runner.render.FORMATS`) through :mod:`runner.cli.output`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from runner import console, render
from runner.cli.auditlog import open_audit_log
from runner.cli.exits import fail
from runner.cli.frame import run_in_frame, run_options
from runner.cli.output import deliver, output_option, run_output_help
from runner.cli.selection import hosts_from_flags, module_names, playbook_path


@click.command("check")
@click.argument("wanted", nargs=-1, metavar="[MODULE|all]...")
@run_options
@output_option(render.format_names(sweep=True), help_text=run_output_help(sweep=True, see="README, Monitoring"))
@click.option(
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the output to this file atomically (temp file + rename), e.g. node_exporter's textfile directory.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also show what the host answered to each check.")
@click.option("-q", "--quiet", is_flag=True, help="Only the table: no progress lines.")
def check_cmd(wanted: tuple[str, ...], **flags: Any) -> None:
    """Read-only sweep: the checks of MODULE... (or all) on each host, one connection per host."""
    from runner import sshconfig
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, RunConfig
    from runner.playbook import load_module

    output_format = render.FORMATS[flags["output"]]
    try:
        names = module_names() if not wanted or "all" in wanted else list(wanted)
        books = [load_module(name, playbook_path()) for name in names]
        if not books:
            raise InputError("no playbook to check", where="MODULE")
        hosts = hosts_from_flags(flags)
        sshconfig.check(hosts, flags["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = open_audit_log(flags["audit_log"], hosts, flags["syslog"])
    except RemediateError as exc:
        if output_format.bad_input is None:
            fail(exc)
        refusal = output_format.bad_input(str(exc))  # a monitoring plugin's bad invocation, on stdout
        console.out(refusal.text, nl=False)
        sys.exit(refusal.exit_code)
    config = RunConfig(
        dry_run=True,
        forks=flags["forks"],
        reason=flags["reason"],
        ssh_config=flags["ssh_config"],
        verbose=flags["verbose"],
    )
    if flags["verbose"] and output_format.progress and not flags["quiet"]:
        log.listeners.append(console.Progress(True))
    started = {
        "modules": names,
        "reason": flags["reason"],
        "playbook_sha256": {book.module: book.sha256 for book in books},
    }
    outcomes, code = run_in_frame(log, "check", hosts, True, started, lambda: Engine(hosts, log, config).check(books))
    doc = render.RunDocument(log.run_id, "check", True, outcomes, code, checked=names)
    sys.exit(deliver(flags["output"], doc, flags["output_file"]))
