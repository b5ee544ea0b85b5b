"""What ``remediate MODULE`` and ``remediate check`` share: their host and audit options, and the run frame.

Owns: :func:`run_options` (``--host``, ``--group``, ``--limit``, ``--rerun-failed``, ``-i``,
``--ssh-config``, ``--audit-log``, ``--syslog``, ``--instance``, ``--reason``, ``--forks``) and
:func:`run_in_frame`: ``run.started``, the engine, ``run.finished`` whatever happens, Ctrl-C and
SIGTERM, and the run's exit code from its hosts.
Must not: render the outcome (:mod:`runner.cli.output` delivers it in the format asked).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.cli.completion import complete_group, complete_host
from runner.cli.exits import sigterm_interrupts
from runner.console import out
from runner.events import Event
from runner.outcomes import ExitCode, RunStatus

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.report import HostOutcome


def complete_limit(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The group or host names for the element being typed after ``:``, ``,``, ``&`` or ``!``."""
    cut = max(incomplete.rfind(mark) for mark in ":,&!") + 1
    head, word = incomplete[:cut], incomplete[cut:]
    return [head + name for name in complete_group(ctx, param, word) + complete_host(ctx, param, word)]


def run_options(command: Any) -> Any:
    options = [
        click.option(
            "--host",
            "hosts",
            multiple=True,
            metavar="NAME",
            shell_complete=complete_host,
            help="Inventory host (repeatable).",
        ),
        click.option(
            "--group",
            "groups",
            multiple=True,
            metavar="NAME",
            shell_complete=complete_group,
            help="Inventory group (repeatable).",
        ),
        click.option(
            "-l",
            "--limit",
            default=None,
            metavar="PATTERN",
            shell_complete=complete_limit,
            help="Narrow the hosts to an Ansible host pattern: 'emea:&prod:!web3', 'web*', '~db\\d+' "
            "(without --host/--group: the pattern's hosts, as ansible-playbook --limit).",
        ),
        click.option(
            "--rerun-failed",
            default=None,
            metavar="RUN_ID",
            help="Only the hosts that did not end healthy in that run (from the audit log; see remediate audit runs).",
        ),
        click.option(
            "-i",
            "--inventory",
            type=click.Path(path_type=Path),
            default=None,
            help="Inventory file or directory [default: $REMEDIATE_INVENTORY or ./inventory/].",
        ),
        click.option(
            "--ssh-config",
            type=click.Path(path_type=Path),
            default=None,
            help="OpenSSH client config [default: the inventory's ssh_config var, else ~/.ssh/config].",
        ),
        click.option(
            "--audit-log",
            type=click.Path(path_type=Path),
            default=None,
            help="Audit log [default: $REMEDIATE_AUDIT_LOG or $XDG_STATE_HOME/remediate/audit.jsonl].",
        ),
        click.option(
            "--syslog",
            default=None,
            envvar="REMEDIATE_SYSLOG",
            metavar="TARGET",
            help="Also copy each audit event to syslog/journald: /dev/log or host:port (udp) [$REMEDIATE_SYSLOG].",
        ),
        click.option(
            "--instance",
            default=None,
            metavar="NAME",
            help="The Campaign instance, where a host runs several (overrides the inventory's instance).",
        ),
        click.option("--reason", default=None, help="Why you run this (incident or ticket); audited."),
        click.option(
            "--forks",
            type=click.IntRange(1, 256),
            default=10,
            show_default=True,
            help="Hosts in parallel for read-only phases.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_in_frame(
    log: AuditLog,
    module: str,
    hosts: list[Host],
    dry_run: bool,
    started: dict[str, Any],
    body: Callable[[], list[HostOutcome]],
) -> tuple[list[HostOutcome], ExitCode]:
    """The frame of every run: ``run.started``, the body, ``run.finished`` whatever happens, the exit code.

    Ctrl-C and SIGTERM end the run as ``interrupted`` (130); an audit log that cannot be written stops
    it before its next command. Both exit here, after ``run.finished`` is recorded.
    """
    from runner import report
    from runner.errors import AuditError, RemediateError

    sigterm_interrupts()
    code = ExitCode.UNKNOWN
    outcomes: list[HostOutcome] = []
    status = RunStatus.FINISHED
    try:
        log.emit(Event.RUN_STARTED, module=module, hosts=[host.name for host in hosts], dry_run=dry_run, **started)
        outcomes = body()
        code = report.exit_code(outcomes)
    except KeyboardInterrupt:
        status, code = RunStatus.INTERRUPTED, ExitCode.INTERRUPTED
    except AuditError as exc:
        status, code = RunStatus.AUDIT_FAILED, ExitCode.UNHEALTHY
        out(f"remediate: {exc}; the run stopped before its next command", err=True)
    finally:
        try:
            log.emit(
                Event.RUN_FINISHED,
                module=module,
                status=status,
                exit_code=int(code),
                hosts={outcome.host: outcome.status for outcome in outcomes},
                dry_run=dry_run,
            )
        except RemediateError as exc:
            out(f"remediate: {exc}", err=True)
        log.close()
    if status is RunStatus.INTERRUPTED:
        out("remediate: interrupted", err=True)
    if status is not RunStatus.FINISHED:
        sys.exit(code)
    return outcomes, code
