"""``remediate MODULE --host ...``: run one playbook (checks, then remediation if needed, then verification).

Owns: the command built for each playbook on the search path, its options (dry-run, confirmation,
playbook options), the settings handed to the engine (dry-run and confirmation are decided here), and
the ``run.started`` record of a playbook run. The frame is :mod:`runner.cli.frame`'s; the outcome is
rendered in the ``--output`` format through :mod:`runner.cli.output`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import console, render
from runner.cli.auditlog import open_audit_log
from runner.cli.exits import fail
from runner.cli.frame import run_in_frame, run_options
from runner.cli.output import deliver, output_option, run_output_help
from runner.cli.selection import hosts_from_flags, module_help, playbook_path

if TYPE_CHECKING:
    from runner.inventory import Host
    from runner.playbook import Playbook


def module_command(module: str) -> click.Command:
    @click.command(name=module, help=module_help(module))
    @run_options
    @output_option(render.format_names(sweep=False), help_text=run_output_help(sweep=False, see="README, Command line"))
    @click.option("--dry-run", is_flag=True, help="Run the read-only checks; show every change; change nothing.")
    @click.option("-y", "--yes", is_flag=True, help="Confirm disruptive steps (restarts) without a prompt.")
    @click.option("--force", is_flag=True, help="Remediate even when every check passes.")
    @click.option("-o", "--option", "opts", multiple=True, metavar="NAME=VALUE", help="Playbook option.")
    @click.option("--mode", default=None, help="Shorthand for --option mode=VALUE (export: delta or full).")
    @click.option("-v", "--verbose", is_flag=True, help="Also show what the host answered to each check.")
    @click.option("-q", "--quiet", is_flag=True, help="Only the summary: no progress lines.")
    @click.option(
        "--serial",
        default=None,
        metavar="SIZES",
        help="Remediate in batches, e.g. 1,5,25% (the first is the canary; the last size repeats) "
        "[default: 1 for a playbook that may disrupt, else all at once].",
    )
    @click.option(
        "--max-fail-percentage",
        type=click.FloatRange(0, 100),
        default=None,
        help="Stop before the next batch when more than this share of a batch failed [default: 0 when "
        "disruptive, else 100].",
    )
    @click.option("--pause", type=click.FloatRange(0, 3600), default=0, help="Seconds to wait between batches.")
    @click.option(
        "--incident",
        default=None,
        metavar="ID",
        help="The incident or ticket this run answers (e.g. INC-1234): in every audit record, the host "
        "anchors and the notifications; required for disruptive steps where require_incident is true.",
    )
    @click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path),
        default=None,
        help="Config file (notifiers, alertmanager_url) [default: $REMEDIATE_CONFIG or "
        "$XDG_CONFIG_HOME/remediate/config.yml].",
    )
    @click.option(
        "--no-collect",
        is_flag=True,
        help="Take no evidence bundle before a disruptive step [default: one per host and step, in "
        "$REMEDIATE_BUNDLES, else bundles/ beside the default audit log, as remediate collect].",
    )
    def command(**flags: Any) -> None:
        _run_playbook(module, flags)

    return command


def _parse_options(items: tuple[str, ...], mode: str | None) -> dict[str, str]:
    """``-o NAME=VALUE`` and ``--mode`` as the playbook options asked for."""
    from runner.errors import InputError

    options: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"expected NAME=VALUE, got {item!r}", where="--option")
        options[name.strip()] = value.strip()
    if mode is not None:
        options["mode"] = mode
    return options


def _require_incident(book: Playbook, hosts: list[Host], incident: str | None, dry_run: bool) -> None:
    """Exit 2 before any host is touched when a selected host sets ``require_incident`` and the playbook
    has a disruptive step (which may run on it) but no ``--incident`` was given."""
    from runner.actions import Effect
    from runner.errors import InputError

    if incident is not None or dry_run or not any(s.effect is Effect.DISRUPT for s in book.remediation):
        return
    strict = [h.name for h in hosts if h.var("require_incident") is True]
    if strict:
        steps = ", ".join(s.id for s in book.remediation if s.effect is Effect.DISRUPT)
        raise InputError(
            f"host {', '.join(strict)} sets require_incident: true and {book.module} has disruptive steps ({steps})",
            where="--incident",
            hint="name the incident: --incident ID",
        )


def _run_playbook(module: str, flags: dict[str, Any]) -> None:
    from runner import collect, notify, plan, playbook, rolling, silence, sshconfig
    from runner import config as team_config
    from runner.cli.collect import bundle_lines
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, RunConfig

    try:
        book = playbook.load_module(module, playbook_path())
        options = plan.resolve_options(book, _parse_options(flags["opts"], flags["mode"]))
        rollout = rolling.Rollout(
            rolling.parse_serial(flags["serial"]) if flags["serial"] else None,
            flags["max_fail_percentage"],
            flags["pause"],
        )
        incident = team_config.check_incident(flags["incident"]) if flags["incident"] is not None else None
        team = team_config.load(flags["config_file"])
        hosts = hosts_from_flags(flags)
        _require_incident(book, hosts, incident, flags["dry_run"])
        silence.check(hosts, team)
        sshconfig.check(hosts, flags["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        if not flags["no_collect"] and (wrong := collect.check_limits(hosts)):
            raise InputError("; ".join(wrong), where="collect_* host vars", hint="or --no-collect")
        console.add_secrets(team.secrets())
        log = open_audit_log(flags["audit_log"], hosts, flags["syslog"])
    except RemediateError as exc:
        fail(exc)
    log.add_secrets(team.secrets())
    log.bind(incident=incident)
    progress = render.FORMATS[flags["output"]].progress and not flags["quiet"]
    log.listeners.append(console.Progress(progress))
    log.listeners.append(bundle_lines(progress))  # the evidence bundle taken before a disruptive step
    config = RunConfig(
        dry_run=flags["dry_run"],
        force=flags["force"],
        yes=flags["yes"],
        forks=flags["forks"],
        reason=flags["reason"],
        options=options,
        ssh_config=flags["ssh_config"],
        confirm=console.confirm_on_terminal,
        verbose=flags["verbose"],
        rollout=rollout,
        incident=incident,
        collect_dir=None if flags["no_collect"] else collect.default_dir(),
    )
    if not config.dry_run:  # notifications and alert silences (README, "Team features")
        warn = _warner()
        fanout = notify.Fanout(team.notifiers, log, module=module, incident=incident, reason=config.reason, warn=warn)
        log.listeners.append(fanout)
        silences = silence.Silences(log, team, incident=incident, reason=config.reason, warn=warn)
        config.observers = (fanout, silences)
    if progress and sys.stderr.isatty():  # a live line while a restart runs or verification polls
        config.waiting = console.LiveLine()
    started = {
        "force": config.force,
        "yes": config.yes,
        "reason": config.reason,
        "notifiers": [f"{n.name} ({n.type})" for n in team.notifiers] or None,
        "options": options,
        "playbook": book.path,
        "playbook_sha256": book.sha256,
        "argv": sys.argv[1:],
    }
    outcomes, code = run_in_frame(
        log, module, hosts, config.dry_run, started, lambda: Engine(hosts, log, config).run(book)
    )
    doc = render.RunDocument(log.run_id, module, config.dry_run, outcomes, code)
    sys.exit(deliver(flags["output"], doc))


def _warner() -> Any:
    """One warning line on stderr (redacted, as every line printed), from any thread."""
    import threading

    lock = threading.Lock()

    def warn(line: str) -> None:
        with lock:
            console.out(line, err=True)

    return warn
