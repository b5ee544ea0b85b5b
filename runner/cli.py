"""The command line: the only module that prints, prompts and picks exit codes.

Owns: parsing flags (click), turning every RemediateError into ``where: what (hint)`` and its exit
code, the confirmation prompt (only on a terminal; default No), rendering the event stream as
progress lines and the final summary (text or JSON). Dry-run and confirmation are decided here and
handed to the engine as plain settings. Heavy imports (fabric, paramiko) happen only when a command
needs a connection, so ``--help`` and ``list`` stay fast.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from runner import console
from runner.console import out as _out
from runner.outcomes import ExitCode, RunStatus

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.paths import SearchPath
    from runner.playbook import Playbook
    from runner.report import HostOutcome

BUILTINS = ("list", "show", "validate", "hosts", "audit", "check", "triage")


def _playbook_dir() -> SearchPath:
    """The playbook search path: ``--playbooks`` (an option of ``main``), ``$REMEDIATE_PLAYBOOKS``, shipped."""
    from runner.paths import SearchPath

    ctx = click.get_current_context(silent=True)
    site = (ctx.find_root().params.get("playbooks") or ()) if ctx is not None else ()
    return SearchPath.build(site)


def _modules() -> list[str]:
    """Module names on the search path; InputError (exit 2) if a place is refused or none holds a playbook."""
    where = _playbook_dir()
    names = sorted(where.modules())
    if not names:
        raise where.nothing_found()
    return names


def _modules_quietly() -> list[str]:
    """Module names for help and shell completion, which must not fail: none when the search path is refused."""
    from runner.errors import RemediateError

    try:
        return _modules()
    except RemediateError:
        return []


def _version_text() -> str:
    """``--version``: the version, the playbook directories in search order, and the default inventory."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    from runner import __version__, inventory

    try:
        number = version("remediate")
    except PackageNotFoundError:
        number = __version__
    lines = [f"remediate, version {number}", "playbooks, searched in this order:"]
    for place in _playbook_dir().places:
        lines.append(f"  {place.path}  ({place.origin}){'' if place.path.is_dir() else '  [missing]'}")
    inv = inventory.default_path()
    origin = "$REMEDIATE_INVENTORY" if os.environ.get("REMEDIATE_INVENTORY") else "./inventory/"
    lines.append(f"inventory: {inv}  ({origin}; -i PATH overrides){'' if inv.exists() else '  [missing]'}")
    return "\n".join(lines)


def _want_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # printed once every option is parsed (RemediateGroup.parse_args), so --playbooks counts in any order
    if value and not ctx.resilient_parsing:
        ctx.meta["remediate.version"] = True


def _complete_module(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return [m for m in _modules_quietly() if m.startswith(incomplete)]


def _inventory_names(ctx: click.Context, incomplete: str, groups: bool) -> list[str]:
    """Host (or group) names for shell completion, from ``-i`` if typed, else the default inventory; quiet."""
    try:
        from runner import inventory

        inv = inventory.load(ctx.params.get("inventory") or inventory.default_path())
        names = inv.groups if groups else inv.hosts
        return sorted(n for n in names if n.startswith(incomplete))
    except Exception:  # completion must never print an error into the shell
        return []


def _complete_host(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=False)


def _complete_group(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _inventory_names(ctx, incomplete, groups=True)


def _fail(exc: Exception, code: int = ExitCode.INPUT) -> NoReturn:
    _out(f"remediate: {exc}", err=True)
    sys.exit(code)


class RemediateGroup(click.Group):
    """Built-in commands plus one command per playbook: ``remediate wfserver --host prod1``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*BUILTINS, *(m for m in _modules_quietly() if m not in BUILTINS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in _modules_quietly():
            return _module_command(cmd_name)
        return None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if ctx.meta.get("remediate.version"):
            _out(_version_text())
            ctx.exit(0)
        return rest

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        from runner.errors import RemediateError

        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in self.commands:
            try:
                modules = _modules()  # a refused search path or no playbook at all: exit 2, naming the places
            except RemediateError as exc:
                _fail(exc)
            if name not in modules:
                raise click.UsageError(f"unknown module or command {name!r} (modules: {', '.join(modules)})")
        return super().resolve_command(ctx, args)


@click.group(cls=RemediateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_want_version,
    help="Show the version, where playbooks and the inventory are read from, and exit.",
)
@click.option(
    "--playbooks",
    "playbooks",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Site playbook directory, searched before $REMEDIATE_PLAYBOOKS and the shipped ones (repeatable).",
)
def main(playbooks: tuple[Path, ...]) -> None:
    """Diagnose and fix Adobe Campaign Classic v7 modules over SSH.

    \b
    remediate MODULE --host NAME   run MODULE's playbook: checks, then (if a check
                                   fails) remediation, then verification
    remediate check all --host N   read-only sweep of every module
    remediate list                 modules, what each runs, the symptom
    """


def _common_run_options(f: Any) -> Any:
    options = [
        click.option(
            "--host",
            "hosts",
            multiple=True,
            metavar="NAME",
            shell_complete=_complete_host,
            help="Inventory host (repeatable).",
        ),
        click.option(
            "--group",
            "groups",
            multiple=True,
            metavar="NAME",
            shell_complete=_complete_group,
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


def _module_command(module: str) -> click.Command:
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


def _load_inventory(path: Path | None) -> Any:
    from runner import inventory

    return inventory.load(path or inventory.default_path())


def _selected(kw: dict[str, Any]) -> list[Host]:
    """The hosts of a run: from the inventory, or — with no inventory at all — from the OpenSSH config.

    ``--instance`` chooses the Campaign instance where a host runs several (it overrides the inventory's).
    """
    from dataclasses import replace

    from runner import inventory

    given = kw["inventory"]
    path = given or inventory.default_path()
    if given is None and not path.exists() and kw["hosts"] and not kw["groups"]:
        return _discovered(kw["hosts"], kw["ssh_config"], kw.get("instance"), searched=path)
    hosts = _select(_load_inventory(given), kw["hosts"], kw["groups"])
    if kw.get("instance"):
        hosts = [replace(h, vars={**h.vars, "instance": kw["instance"]}) for h in hosts]
    return hosts


def _discovered(names: tuple[str, ...], ssh_config: Path | None, instance: str | None, searched: Path) -> list[Host]:
    """Hosts the OpenSSH config knows, with their Campaign install found on the host (runner.discover)."""
    from runner import discover, sshconfig
    from runner.errors import InputError
    from runner.execute import RunConfig, read_each
    from runner.inventory import Host as HostType

    config = (ssh_config or Path("~/.ssh/config")).expanduser()
    bare = []
    for name in names:
        known = sshconfig.lookup(name, config) if config.exists() else {}
        if "hostname" not in known:
            raise InputError(
                f"unknown host {name!r}: there is no inventory ({searched}) and {config} has no Host entry "
                "with a HostName for it",
                where="--host",
                hint="write an inventory (-i), or add the host to your OpenSSH config",
            )
        bare.append(HostType(name, ("ssh_config",), {"ssh_config": str(config)}, f"{config} (no inventory)"))
    sshconfig.check(bare, ssh_config)
    answers = read_each(bare, lambda _h: discover.COMMAND, RunConfig(ssh_config=ssh_config))
    hosts = []
    for host in bare:
        answer = answers[host.name]
        if isinstance(answer, str):
            _out(f"remediate: {host.name}: {answer}", err=True)
            sys.exit(ExitCode.UNREACHABLE)
        found = discover.parse(answer.stdout, host.name)
        hosts.append(
            HostType(host.name, host.groups, {**host.vars, **found.host_vars(instance, host.name)}, host.source)
        )
    return hosts


def _select(inv: Any, hosts: tuple[str, ...], groups: tuple[str, ...]) -> list[Host]:
    from runner.errors import InputError

    if not hosts and not groups:
        raise InputError("no host selected", where="--host/--group", hint="e.g. --host lab1 or --group all")
    return inv.select(hosts, groups)  # type: ignore[no-any-return]


def _install_sigterm() -> None:
    def handler(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _open_audit(path: Path | None, hosts: list[Host], syslog: str | None = None) -> Any:
    from runner import audit
    from runner.redact import env_secrets

    secrets: set[str] = set(env_secrets())
    for h in hosts:
        secrets |= h.secrets()
    console.add_secrets(secrets)
    log = audit.AuditLog(path or audit.default_path(), secrets=secrets)
    if syslog:
        log.listeners.append(audit.syslog_listener(syslog))
    return log


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

    _install_sigterm()
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
        _out(f"remediate: {exc}; the run stopped before its next command", err=True)
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
            _out(f"remediate: {exc}", err=True)
        log.close()
    if status is RunStatus.INTERRUPTED:
        _out("remediate: interrupted", err=True)
    if status is not RunStatus.FINISHED:
        sys.exit(code)
    return outcomes, code


def _run_module(module: str, **kw: Any) -> None:
    from runner import plan, playbook, report, sshconfig
    from runner.errors import RemediateError
    from runner.execute import Engine, RunConfig

    try:
        pb = playbook.load_module(module, _playbook_dir())
        options = plan.resolve_options(pb, _parse_opts(kw["opts"], kw["mode"]))
        hosts = _selected(kw)
        sshconfig.check(hosts, kw["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = _open_audit(kw["audit_log"], hosts, kw["syslog"])
    except RemediateError as exc:
        _fail(exc)
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
        _out(json.dumps(report.document(log.run_id, module, config.dry_run, outcomes, code), indent=2))
    else:
        console.summary(outcomes, code)
    sys.exit(code)


# --- read-only commands ---------------------------------------------------------------------------


def _load_all() -> list[Playbook]:
    from runner import playbook

    return [playbook.load(playbook.path_for(m, _playbook_dir())) for m in _modules()]


@main.command("list")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(output: str) -> None:
    """Modules, what each runs, and the symptom that points at it."""
    from runner.errors import RemediateError

    try:
        books = _load_all()
        origin = {str(f.path): f.place.origin for f in _playbook_dir().found()}
    except RemediateError as exc:
        _fail(exc)
    rows: list[dict[str, Any]] = [
        {
            "module": b.module,
            "title": b.title,
            "scope": b.scope,
            "symptom": b.symptom,
            "disruptive": b.disruptive,
            "checks": [s.id for s in b.checks],
            "file": b.path,
            "source": origin.get(b.path, ""),
        }
        for b in books
    ]
    if output == "json":
        _out(json.dumps(rows, indent=2))
        return
    width = max((len(r["module"]) for r in rows), default=6)
    for r in rows:
        _out(f"{r['module']:<{width}}  {r['scope']}")
        _out(f"{'':<{width}}  symptom: {r['symptom']}")
        _out(f"{'':<{width}}  file: {r['file']} ({r['source']})")


@main.command("show")
@click.argument("module", shell_complete=_complete_module)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option(
    "--host", default=None, shell_complete=_complete_host, help="Render commands with this inventory host's vars."
)
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
def show_cmd(module: str, fmt: str, host: str | None, inventory: Path | None) -> None:
    """A playbook as a readable runbook: steps, exact commands, which are disruptive."""
    from runner import runbook
    from runner.errors import RemediateError
    from runner.playbook import load_module

    try:
        where = _playbook_dir()
        pb = load_module(module, where)
        source = next(f.place.origin for f in where.found() if str(f.path) == pb.path)
        target = _select(_load_inventory(inventory), (host,), ())[0] if host else None
    except RemediateError as exc:
        _fail(exc)
    if target is not None:
        console.add_secrets(target.secrets())
    _out(runbook.render(pb, target, markdown=fmt == "markdown"))
    _out(
        f"\n_Playbook file: `{pb.path}` ({source})_" if fmt == "markdown" else f"\nplaybook file: {pb.path} ({source})"
    )


@main.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
def validate_cmd(paths: tuple[Path, ...], inventory: Path | None) -> None:
    """Validate playbooks (default: every one on the search path, site and shipped) and the inventory.

    Exit 2 with file:line on error, or when a playbook place is refused (StrictModes) or holds nothing.
    """
    from runner import inventory as inv_mod
    from runner import playbook, yamlfile
    from runner.errors import RemediateError

    targets = list(paths)
    errors = 0
    if not paths:
        try:
            found = _playbook_dir().found()
            _modules()  # no playbook anywhere is an error, naming every place looked in
        except RemediateError as exc:
            errors += 1
            _out(f"error  {exc}", err=True)
            found = []
        for f in found:
            if f.shadowed_by is not None:
                _out(f"note  {f.path}: overridden by {f.shadowed_by}")
        targets = [f.path for f in found]
    for path in targets:
        try:
            if path.is_dir() or _looks_like_inventory(path):
                inv = inv_mod.load(path)
                _out(f"ok  {path}: inventory, {len(inv.hosts)} hosts, {len(inv.groups)} groups")
            else:
                pb = playbook.parse(yamlfile.load_file(path), str(path))
                _out(f"ok  {path}: {pb.module}, {len(pb.steps())} steps")
        except RemediateError as exc:
            errors += 1
            _out(f"error  {exc}", err=True)
    if not paths:
        try:
            inv = inv_mod.load(inventory or inv_mod.default_path())
            _out(f"ok  inventory: {len(inv.hosts)} hosts")
        except RemediateError as exc:
            default = inv_mod.default_path()
            if inventory is not None or (
                default.exists() and not (default.is_dir() and not any(default.glob("*.y*ml")))
            ):
                errors += 1
                _out(f"error  {exc}", err=True)
    sys.exit(ExitCode.INPUT if errors else ExitCode.OK)


def _looks_like_inventory(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return not any(line.startswith("module:") for line in head.splitlines())


@main.command("hosts")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
@click.option("--ssh-config", type=click.Path(path_type=Path), default=None)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="NAME",
    help="Only these hosts (without an inventory: what is discovered on them through the OpenSSH config).",
)
@click.option("--instance", default=None, metavar="NAME", help="The instance, where a host runs several.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def hosts_cmd(
    inventory: Path | None, ssh_config: Path | None, hosts: tuple[str, ...], instance: str | None, output: str
) -> None:
    """The inventory as resolved: address, port, user, the path to each host (direct, via bastions), vars.

    Vars that nothing in the runner or the playbooks reads (a misspelled syslog_port) are warned about.
    """
    from runner import hostvars, sshconfig
    from runner.errors import RemediateError
    from runner.playbook import template_vars

    try:
        if hosts:
            selected = _selected(
                {"inventory": inventory, "ssh_config": ssh_config, "hosts": hosts, "groups": (), "instance": instance}
            )
        else:
            selected = list(_load_inventory(inventory).hosts.values())
        used = template_vars(_load_all())
        rows = []
        for h in selected:
            ep = sshconfig.resolve(h, sshconfig.config_path(h, ssh_config))
            secrets = h.secrets()
            shown = {k: ("***" if str(v) in secrets else v) for k, v in h.vars.items() if not k.startswith("ansible_")}
            unused = hostvars.unused(list(h.vars), used)
            rows.append(
                {"host": h.name, **ep.describe(), "groups": list(h.groups), "vars": shown, "unused_vars": unused}
            )
    except RemediateError as exc:
        _fail(exc)
    if output == "json":
        _out(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        where = f"{r['user']}@{r['address']}:{r['port']}"
        _out(f"{r['host']}: {where}  {r['path']}  groups: {', '.join(r['groups']) or '-'}")
        for k, v in sorted(r["vars"].items()):
            _out(f"    {k}: {v}")
        for k in r["unused_vars"]:
            _out(f"remediate: warning: {r['host']}: var {k!r} is not read by the runner or any playbook", err=True)


@main.command("check")
@click.argument("modules", nargs=-1)
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
def check_cmd(modules: tuple[str, ...], **kw: Any) -> None:
    """Read-only sweep: the checks of MODULE... (or all) on each host, one connection per host."""
    from runner import monitoring, report, sshconfig
    from runner.errors import InputError, RemediateError
    from runner.execute import Engine, RunConfig
    from runner.playbook import load_module

    output = kw["output"]
    try:
        names = _modules() if not modules or "all" in modules else list(modules)
        books = [load_module(m, _playbook_dir()) for m in names]
        if not books:
            raise InputError("no playbook to check", where="MODULE")
        hosts = _selected(kw)
        sshconfig.check(hosts, kw["ssh_config"])  # a refused OpenSSH directive stops the run before any host
        log = _open_audit(kw["audit_log"], hosts, kw["syslog"])
    except RemediateError as exc:
        if output == "nagios":  # a plugin's bad invocation is UNKNOWN (3), with one line on stdout
            _out(monitoring.nagios_unknown(str(exc)))
            sys.exit(monitoring.NAGIOS_UNKNOWN)
        _fail(exc)
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
            _fail(InputError(f"cannot write: {exc.strerror}", where=str(kw["output_file"])))
    else:
        click.echo(console.redact(text), nl=False)
    sys.exit(plugin_code if output == "nagios" else code)  # a plugin's own exit code replaces the run's


@main.command("triage")
@click.argument("symptom")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def triage_cmd(symptom: str, output: str) -> None:
    """Map a symptom in plain words to the modules to check, from the seed table."""
    from runner import triage
    from runner.errors import RemediateError

    try:
        matches = triage.rank(symptom, _load_all())
    except RemediateError as exc:
        _fail(exc)
    if output == "json":
        _out(json.dumps([{"module": m.module, "score": s, "symptom": m.symptom} for m, s in matches], indent=2))
        sys.exit(0 if matches else 1)
    if not matches:
        _out("no module matches; try: remediate list")
        sys.exit(1)
    for pb, _score in matches:
        _out(f"{pb.module:<13} {pb.symptom}")
        _out(f"{'':<13} remediate check {pb.module} --host HOST")


def _register_audit() -> None:
    from runner.cli_audit import audit_group

    main.add_command(audit_group)


_register_audit()
