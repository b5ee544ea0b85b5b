"""Output formats of a run: one renderer per ``--output`` value, each fed the same run document. Pure.

Owns: the run document (:class:`RunDocument`: every host's outcome plus the run's id, module, dry-run
flag, exit code and, for the check sweep, the modules checked), the table of formats (:data:`FORMATS`:
text, json, prometheus, nagios) that ``remediate MODULE`` and ``remediate check`` both pick from, each
renderer, and the colour of each outcome word. A renderer returns :class:`Rendered`: the complete text
and the process exit code (a Nagios plugin's own code replaces the run's). Adding a format is one
renderer and one entry in :data:`FORMATS`.
Must not: print, write files or import click: the CLI delivers the text through :mod:`runner.console`,
and colours come in as a :class:`Paint` (plain when the text does not go to a terminal).

Formats:

- text: a playbook run's summary (per host its status, what was found and done, the exit code), or the
  check sweep's table (per host its status, per module its verdict and what was found).
- json: one document: run_id, module, dry_run, exit_code, and per host its status, findings and steps
  (and, for the sweep, each module's verdict).
- prometheus: the text exposition format node_exporter's textfile collector reads: per host and module
  a state set gauge ``remediate_check_module_state{host,module,state}`` (1 for the module's state:
  healthy, problem, undetermined, skipped), per host ``remediate_check_host_reachable``, the check's
  duration and time.
- nagios: one Nagios/Icinga/Zabbix plugin line with perfdata, and the plugin exit code (Monitoring
  Plugins guidelines: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), first that applies: CRITICAL a module
  has a problem; UNKNOWN a host could not be reached (nothing could be checked there) or the invocation
  was bad; WARNING a check could not decide (undetermined), or a check passed with a warning (a process
  above maxProcessMemoryWarningMb); OK every module healthy or not on the host (skipped).

A check that passed with a warning (:func:`runner.report.warnings`) is shown by every format: text under its
module, JSON in ``warnings``, Prometheus as ``remediate_check_module_warning``, Nagios as WARNING. Values the
checks measured (:func:`runner.report.measures`: each process's memory, the indicators of ``nlserver
monitor``) are Prometheus gauges.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from runner.outcomes import HostStatus, ModuleVerdict, StepStatus
from runner.report import HostOutcome, StepOutcome, measures, warnings


class Paint(Protocol):
    """Colours a piece of text for the terminal (``console.Color``), or leaves it as it is (:func:`plain`)."""

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str: ...


def plain(text: str, fg: str | None = None, bold: bool = False) -> str:
    """No colour: for JSON, monitoring formats, files and pipes."""
    return text


STATUS_COLOR: dict[str, str] = {
    HostStatus.HEALTHY: "green",
    HostStatus.REMEDIATED: "green",
    HostStatus.WOULD_REMEDIATE: "yellow",
    HostStatus.FAILED: "red",
    HostStatus.UNREACHABLE: "red",
    HostStatus.NOT_CONFIRMED: "yellow",
    HostStatus.LOCKED: "yellow",
    HostStatus.UNKNOWN: "magenta",
    HostStatus.NOT_APPLICABLE: "blue",
    HostStatus.NOT_STARTED: "yellow",
    StepStatus.PASSED: "green",
    StepStatus.FAILED: "red",
    StepStatus.UNDETERMINED: "magenta",
    StepStatus.SKIPPED: "blue",
    StepStatus.RAN: "cyan",
    StepStatus.WOULD_RUN: "yellow",
    StepStatus.DECLINED: "yellow",
    StepStatus.TIMEOUT: "magenta",
    StepStatus.UNKNOWN: "magenta",
    ModuleVerdict.HEALTHY: "green",
    ModuleVerdict.PROBLEM: "red",
    ModuleVerdict.UNDETERMINED: "magenta",
    ModuleVerdict.SKIPPED: "blue",
}


@dataclass(frozen=True)
class RunDocument:
    """What every format renders: the hosts' outcomes and the run's metadata."""

    run_id: str
    module: str  # the playbook's module, or "check" for the sweep
    dry_run: bool
    hosts: Sequence[HostOutcome]
    exit_code: int  # the run's exit code (README, "Exit codes")
    checked: Sequence[str] | None = None  # the check sweep: the modules checked, in the order asked

    @property
    def is_sweep(self) -> bool:
        return self.checked is not None


@dataclass(frozen=True)
class Rendered:
    text: str  # complete, each line newline-terminated
    exit_code: int  # the process exit code: the run's, or the format's own (a Nagios plugin's)


Renderer = Callable[[RunDocument, Paint], Rendered]


@dataclass(frozen=True)
class Format:
    """One ``--output`` value: its renderer and what goes with it."""

    render: Renderer
    summary: str  # one phrase for ``--help``
    for_playbook_runs: bool = True  # offered by ``remediate MODULE`` (``remediate check`` offers every format)
    progress: bool = False  # a playbook run shows its live progress lines before the rendered text
    bad_input: Callable[[str], Rendered] | None = None  # a refused invocation in the format's own terms


def _lines(lines: Sequence[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


# --- text -----------------------------------------------------------------------------------------


def as_text(doc: RunDocument, paint: Paint) -> Rendered:
    """The check sweep's table, or a playbook run's summary."""
    return Rendered(_sweep_table(doc, paint) if doc.is_sweep else _run_summary(doc, paint), doc.exit_code)


def _run_summary(doc: RunDocument, paint: Paint) -> str:
    lines = ["", paint("Summary", bold=True)]
    for outcome in doc.hosts:
        status = paint(outcome.status, fg=STATUS_COLOR.get(outcome.status), bold=True)
        batch = f" [batch {outcome.batch}{', canary' if outcome.batch == 1 else ''}]" if outcome.batch else ""
        lines.append(f"  {outcome.host}: {status}{batch} - {outcome.message}")
        lines += [f"      found: {finding}" for finding in outcome.found]
        lines += [f"      warning: {module}: {text}" for module, text in warnings(outcome)]
        lines += [f"      done:  {command}" for command in outcome.done]
        lines += [f"      held:  {_held(hold)}" for hold in outcome.holds]
        lines += [f"      setting: {note}" for note in outcome.settings]
    lines.append(f"exit {doc.exit_code}")
    return _lines(lines)


def _sweep_table(doc: RunDocument, paint: Paint) -> str:
    """Per host its status, per module its verdict and what was found."""
    lines = []
    for outcome in doc.hosts:
        lines.append(
            paint(f"{outcome.host}: {outcome.status}", fg=STATUS_COLOR.get(outcome.status), bold=True)
            + (f" - {outcome.message}" if outcome.status == HostStatus.UNREACHABLE else "")
        )
        for module, verdict in outcome.modules.items():
            detail = "; ".join(f.split(": ", 1)[1] for f in outcome.found if f.startswith(f"{module}: "))
            lines.append(
                f"  {module:<13} {paint(verdict, fg=STATUS_COLOR.get(verdict))}" + (f"  ({detail})" if detail else "")
            )
            lines += [
                f"    {paint('warning', fg='yellow')}: {text}" for mod, text in warnings(outcome) if mod == module
            ]
        lines += [f"  held: {_held(hold)}" for hold in outcome.holds]
        lines += [f"  setting: {note}" for note in outcome.settings]
    return _lines(lines)


def _held(hold: dict[str, Any]) -> str:
    """One hold, in words: who, why, since, until (or why its file counts as a hold)."""
    if hold.get("problem"):
        return f"{hold['process']}: {hold['file']} {hold['problem']} (counts as a hold)"
    until = f" until {hold['until']}" if hold.get("until") else ""
    return f"{hold['process']} by {hold['by']} since {hold['since']}{until}: {hold['reason']}"


# --- json -----------------------------------------------------------------------------------------


def _step_json(step: StepOutcome) -> dict[str, Any]:
    snapshots = {"snapshots": step.snapshots} if step.snapshots else {}  # the batch's readings it replayed
    return {
        "id": step.id,
        "module": step.module,
        "phase": step.phase,
        "effect": step.effect,
        "title": step.title,
        "command": step.command,
        "exit_code": step.exit_code,
        "duration": round(step.duration, 3) if step.duration is not None else None,
        "outcome": str(step.outcome),
        "message": step.message,
        **snapshots,
    }


def _host_json(outcome: HostOutcome) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "host": outcome.host,
        "status": str(outcome.status),
        "message": outcome.message,
        "host_key": outcome.host_key,
        "found": outcome.found,
        "done": outcome.done,
        "steps": [_step_json(step) for step in outcome.steps],
    }
    if outcome.modules:
        fields["modules"] = {name: str(verdict) for name, verdict in outcome.modules.items()}
    found_warnings = warnings(outcome)
    if found_warnings:
        fields["warnings"] = [f"{module}: {text}" for module, text in found_warnings]
    if outcome.holds:
        fields["holds"] = outcome.holds
    if outcome.settings:
        fields["settings"] = outcome.settings
    if outcome.batch is not None:
        fields["batch"] = outcome.batch
    return fields


def json_document(doc: RunDocument) -> dict[str, Any]:
    """The ``--output json`` document, as data."""
    return {
        "run_id": doc.run_id,
        "module": doc.module,
        "dry_run": doc.dry_run,
        "exit_code": int(doc.exit_code),
        "hosts": {outcome.host: _host_json(outcome) for outcome in doc.hosts},
    }


def as_json(doc: RunDocument, _paint: Paint) -> Rendered:
    return Rendered(json.dumps(json_document(doc), indent=2) + "\n", doc.exit_code)


# --- prometheus -----------------------------------------------------------------------------------

STATES = {
    ModuleVerdict.HEALTHY: "healthy",
    ModuleVerdict.PROBLEM: "problem",
    ModuleVerdict.UNDETERMINED: "undetermined",
    ModuleVerdict.SKIPPED: "skipped",
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def as_prometheus(doc: RunDocument, _paint: Paint) -> Rendered:
    """The text format node_exporter's textfile collector reads (one family per metric, HELP and TYPE)."""
    lines = [
        "# HELP remediate_check_module_state State of a Campaign module from remediate check (1 = this state).",
        "# TYPE remediate_check_module_state gauge",
    ]
    for outcome in doc.hosts:
        for module in doc.checked or ():
            verdict = outcome.modules.get(module)
            for state_verdict, state in STATES.items():
                lines.append(
                    f'remediate_check_module_state{{host="{_label(outcome.host)}",module="{_label(module)}",'
                    f'state="{state}"}} {1 if verdict == state_verdict else 0}'
                )
    families = (
        ("host_reachable", "1 when remediate check reached the host over SSH, else 0 (no module state then).", None),
        ("duration_seconds", "How long remediate check took on the host.", "duration"),
        ("timestamp_seconds", "When remediate check finished on the host (Unix time).", "checked_at"),
    )
    held = [(outcome.host, str(hold["process"])) for outcome in doc.hosts for hold in outcome.holds]
    if held:
        lines += [
            "# HELP remediate_check_module_held 1 while an operator's hold keeps remediate from touching the module.",
            "# TYPE remediate_check_module_held gauge",
            *(f'remediate_check_module_held{{host="{_label(h)}",process="{_label(p)}"}} 1' for h, p in held),
        ]
    warned = [(outcome.host, module) for outcome in doc.hosts for module, _text in warnings(outcome)]
    lines += [
        "# HELP remediate_check_module_warning Checks of the module that passed with a warning (e.g. a process "
        "above maxProcessMemoryWarningMb).",
        "# TYPE remediate_check_module_warning gauge",
    ]
    for outcome in doc.hosts:
        for module in outcome.modules:
            count = warned.count((outcome.host, module))
            lines.append(
                f'remediate_check_module_warning{{host="{_label(outcome.host)}",module="{_label(module)}"}} {count}'
            )
    lines += _measured(doc)
    for name, help_text, attr in families:
        lines += [f"# HELP remediate_check_{name} {help_text}", f"# TYPE remediate_check_{name} gauge"]
        for outcome in doc.hosts:
            if attr is None:
                value: float | None = 0.0 if outcome.status == HostStatus.UNREACHABLE else 1.0
            else:
                value = getattr(outcome, attr)
            if value is not None:
                lines.append(f'remediate_check_{name}{{host="{_label(outcome.host)}"}} {value:.3f}')
    return Rendered(_lines(lines), doc.exit_code)


MEASURED = {
    "process_memory_mb": (
        "remediate_process_memory_mb",
        "process",
        "Memory nlserver pdump shows for the process (MB), with Adobe's maxProcessMemoryWarningMb / "
        "maxProcessMemoryAlertMb in force on the host.",
    ),
    "monitor_indicator": (
        "remediate_monitor_indicator",
        "indicator",
        "An indicator of nlserver monitor's XML: its current value, warning, alert and max values.",
    ),
}


def _measured(doc: RunDocument) -> list[str]:
    """One gauge family per measured metric: ``kind="current"`` the value, ``warning``/``alert``/``max`` the
    limits the check compared it with (one sample per host and subject: the first check that measured it)."""
    lines: list[str] = []
    for metric, (family, label, help_text) in MEASURED.items():
        seen: set[tuple[str, str]] = set()
        samples = []
        for outcome in doc.hosts:
            for found in measures(outcome):
                if found.metric != metric or (found.host, found.subject) in seen:
                    continue
                seen.add((found.host, found.subject))
                labels = (
                    f'host="{_label(found.host)}",module="{_label(found.module)}",{label}="{_label(found.subject)}"'
                )
                samples.append(f'{family}{{{labels},kind="current"}} {found.value:g}')
                samples += [f'{family}{{{labels},kind="{k}"}} {v:g}' for k, v in found.limits.items()]
        if samples:
            lines += [f"# HELP {family} {help_text}", f"# TYPE {family} gauge", *samples]
    return lines


# --- nagios ---------------------------------------------------------------------------------------

NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
_NAGIOS_WORD = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def as_nagios(doc: RunDocument, _paint: Paint) -> Rendered:
    """The one plugin line with perfdata; the plugin's exit code replaces the run's."""
    counts = dict.fromkeys(STATES.values(), 0)
    problems: list[str] = []
    unsure: list[str] = []
    unreachable = [outcome.host for outcome in doc.hosts if outcome.status == HostStatus.UNREACHABLE]
    warned = [f"{outcome.host} {module}: {text}" for outcome in doc.hosts for module, text in warnings(outcome)]
    for outcome in doc.hosts:
        for module, verdict in outcome.modules.items():
            counts[STATES[ModuleVerdict(verdict)]] += 1
            if verdict == ModuleVerdict.PROBLEM:
                problems.append(f"{outcome.host} {module}")
            elif verdict == ModuleVerdict.UNDETERMINED:
                unsure.append(f"{outcome.host} {module}")
    if problems:
        code, summary = NAGIOS_CRITICAL, "problem: " + ", ".join(problems)
    elif unreachable:
        code, summary = NAGIOS_UNKNOWN, "unreachable: " + ", ".join(unreachable)
    elif unsure:
        code, summary = NAGIOS_WARNING, "undetermined: " + ", ".join(unsure)
    elif warned:
        code, summary = NAGIOS_WARNING, "warning: " + "; ".join(warned)
    else:
        code, summary = NAGIOS_OK, f"{counts['healthy']} module checks healthy on {len(doc.hosts)} host(s)"
    extra = [f"unreachable: {', '.join(unreachable)}"] if unreachable and code != NAGIOS_UNKNOWN else []
    held = [f"{outcome.host} {hold['process']}" for outcome in doc.hosts for hold in outcome.holds]
    extra += [f"held: {', '.join(held)}"] if held else []
    extra += [f"{len(warned)} warning(s)"] if warned and code != NAGIOS_WARNING else []
    status_text = "; ".join([summary, *extra])
    duration = max((outcome.duration or 0.0 for outcome in doc.hosts), default=0.0)
    perf = " ".join(f"{state}={count};;;0" for state, count in counts.items())
    perf += f" unreachable={len(unreachable)};;;0 warning={len(warned)};;;0 duration={duration:.3f}s;;;0"
    return Rendered(f"REMEDIATE {_NAGIOS_WORD[code]} - {status_text} | {perf}\n", code)


def nagios_bad_input(message: str) -> Rendered:
    """A run that could not check anything (bad input): one UNKNOWN line, exit 3."""
    return Rendered(f"REMEDIATE UNKNOWN - {message.splitlines()[0][:300]}\n", NAGIOS_UNKNOWN)


# --- the table ------------------------------------------------------------------------------------

FORMATS: dict[str, Format] = {
    "text": Format(as_text, "for a person", progress=True),
    "json": Format(as_json, "one document"),
    "prometheus": Format(as_prometheus, "node_exporter textfile format", for_playbook_runs=False),
    "nagios": Format(as_nagios, "one plugin line, exit 0/1/2/3", for_playbook_runs=False, bad_input=nagios_bad_input),
}


def format_names(*, sweep: bool) -> list[str]:
    """The ``--output`` values of ``remediate check`` (``sweep``) or of ``remediate MODULE``."""
    return [name for name, fmt in FORMATS.items() if sweep or fmt.for_playbook_runs]


def render(output: str, doc: RunDocument, paint: Paint = plain) -> Rendered:
    return FORMATS[output].render(doc, paint)
