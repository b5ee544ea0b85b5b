"""Running playbooks: ``remediate MODULE --host ...`` and the read-only sweep ``remediate check``.

Owns: the run options, the run frame (``run.started``, the engine, ``run.finished`` whatever happens,
signals, the exit code), and rendering the outcome as text, JSON, Prometheus or a Nagios line.
Dry-run and confirmation are decided here and handed to the engine as plain settings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import console
from runner.cli.common import (
    complete_group,
    complete_host,
    fail,
    install_sigterm,
    modules,
    open_audit,
    playbook_path,
    selected,
)
from runner.console import out
from runner.outcomes import ExitCode, RunStatus

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.report import HostOutcome


def _common_run_options(f: Any) -> Any:
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
        f = option(f)
    return f


def module_command(module: str) -> click.Command:
    @click.command(name=module, help=f"Run the {module} playbook (see: remediate show {module}).")
    @_common_run_options
    @click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
    @click.option("--dry-run", is_flag=True, help="Run the read-only checks; show every change; change nothing.")
    @click.option("-y", "--yes", is_flag=True, help="Confirm disruptive steps (restarts) without a prompt.")
    @click.option("--force", is_flag=True, help="Remediate even when every check passes.")
    @click.option("-o", "--option", "opts", multiple=True, metavar="NAME=VALUE", help="Playbook option.")
    @click.option("--mode", default=None, help="Shorthand for --option mode=VALUE (export: delta or full).")
    def command(**kw: Any) -> None:
        _run_module(module, **kw)

    return command


def _parse_opts(opts: tuple[str, ...], mode: str | None) -> dict[str, str]:
    from runner.errors import InputError

    out: dict[str, str] = {}
    for item in opts:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"expected NAME=VALUE, got {item!r}", where="--option")
        out[name.strip()] = value.strip()
    if mode is not None:
        out["mode"] = mode
    return out


def _run_frame(
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

    install_sigterm()
    code = ExitCode.UNKNOWN
    outcomes: list[HostOutcome] = []
    status = RunStatus.FINISHED
    try:
        log.emit("run.started", module=module, hosts=[h.name for h in hosts], dry_run=dry_run, **started)
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
                "run.finished",
                module=module,
                status=status,
                exit_code=int(code),
                hosts={o.host: o.status for o in outcomes},
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


def _run_module(module: str, **kw: Any) -> None:
    from runner import plan, playbook, report, sshconfig
    from runner.errors import RemediateError
    from runner.execute import Engine, RunConfig

    try:
        pb = playbook.load_module(module, playbook_path())
        options = plan.resolve_options(pb, _parse_opts(kw["opts"], kw["mode"]))
        hosts = selected(kw)
        sshconfig.check(hosts, kw["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = open_audit(kw["audit_log"], hosts, kw["syslog"])
    except RemediateError as exc:
        fail(exc)
    as_json = kw["output"] == "json"
    log.listeners.append(console.Progress(not as_json))
    config = RunConfig(
        dry_run=kw["dry_run"],
        force=kw["force"],
        yes=kw["yes"],
        forks=kw["forks"],
        reason=kw["reason"],
        options=options,
        ssh_config=kw["ssh_config"],
        confirm=console.confirm_on_terminal,
    )
    started = {
        "force": config.force,
        "yes": config.yes,
        "reason": config.reason,
        "options": options,
        "playbook": pb.path,
        "playbook_sha256": pb.sha256,
        "argv": sys.argv[1:],
    }
    outcomes, code = _run_frame(log, module, hosts, config.dry_run, started, lambda: Engine(hosts, log, config).run(pb))
    if as_json:
        out(json.dumps(report.document(log.run_id, module, config.dry_run, outcomes, code), indent=2))
    else:
        console.summary(outcomes, code)
    sys.exit(code)


# --- read-only commands ---------------------------------------------------------------------------


@click.command("check")
@click.argument("wanted", nargs=-1, metavar="[MODULE|all]...")
@_common_run_options
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
def check_cmd(wanted: tuple[str, ...], **kw: Any) -> None:
    """Read-only sweep: the checks of MODULE... (or all) on each host, one connection per host."""
    from runner import monitoring, report, sshconfig
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, RunConfig
    from runner.playbook import load_module

    output = kw["output"]
    try:
        names = modules() if not wanted or "all" in wanted else list(wanted)
        books = [load_module(m, playbook_path()) for m in names]
        if not books:
            raise InputError("no playbook to check", where="MODULE")
        hosts = selected(kw)
        sshconfig.check(hosts, kw["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = open_audit(kw["audit_log"], hosts, kw["syslog"])
    except RemediateError as exc:
        if output == "nagios":  # a plugin's bad invocation is UNKNOWN (3), with one line on stdout
            out(monitoring.nagios_unknown(str(exc)))
            sys.exit(monitoring.NAGIOS_UNKNOWN)
        fail(exc)
    config = RunConfig(dry_run=True, forks=kw["forks"], reason=kw["reason"], ssh_config=kw["ssh_config"])
    started = {"modules": names, "reason": kw["reason"], "playbook_sha256": {b.module: b.sha256 for b in books}}
    outcomes, code = _run_frame(log, "check", hosts, True, started, lambda: Engine(hosts, log, config).check(books))
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
    if kw["output_file"] is not None:
        try:
            monitoring.write_atomically(kw["output_file"], console.redact(text))
        except OSError as exc:
            fail(InputError(f"cannot write: {exc.strerror}", where=str(kw["output_file"])))
    else:
        click.echo(console.redact(text), nl=False)
    sys.exit(plugin_code if output == "nagios" else code)  # a plugin's own exit code replaces the run's
