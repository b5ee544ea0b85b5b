"""Everything remediate prints to the terminal passes through here, redacted.

Owns: the one redacting printer (:func:`out`), colours (only on a terminal, never with ``NO_COLOR``),
the colour of each outcome word, the progress lines rendered from audit events (the console is a
listener on the event stream), the run summary, the check sweep's table and the confirmation prompt's
text. Must not: decide anything (exit codes and confirmation policy are the CLI's), or import the
SSH stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from runner.outcomes import HostStatus, ModuleVerdict, StepStatus
from runner.redact import Redactor, env_secrets

if TYPE_CHECKING:
    from runner.execute import ConfirmRequest
    from runner.report import HostOutcome

_redactor = Redactor()
_env_loaded = False


def add_secrets(values: Iterable[str]) -> None:
    """Values that must never be printed (the inventory's secrets): shown as ``***``."""
    _redactor.add(values)


def redact(text: str) -> str:
    global _env_loaded
    if not _env_loaded:
        _redactor.add(env_secrets())
        _env_loaded = True
    return _redactor.text(text)


def out(text: str = "", *, err: bool = False) -> None:
    click.echo(redact(text), err=err)


class Color:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.enabled else text


def color_for(stream: Any) -> Color:
    return Color(bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ)


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


class Progress:
    """Renders audit events as progress lines, as they are written."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.c = color_for(sys.stdout)

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        name = event.get("event", "")
        host = event.get("host", "")
        c = self.c
        if name in ("step.finished", "step.skipped", "step.planned"):
            outcome = str(event.get("outcome", ""))
            phase = event.get("phase", "")
            tag = c(f"{outcome:>9}", fg=STATUS_COLOR.get(outcome))
            out(f"{host:>10}  {phase:<12} {tag}  {event.get('step')}: {event.get('message', '')}")
            if outcome == StepStatus.WOULD_RUN and event.get("command"):
                out(f"{'':>10}  {'':<12} {'':>9}  $ {event.get('command')}")
        elif name == "host.connected":
            out(
                f"{host:>10}  connected    {'':>9}  {event.get('user')}@{event.get('address')}:"
                f"{event.get('port')} key {event.get('host_key')}"
            )
        elif name == "host.unreachable":
            out(f"{host:>10}  {c('unreachable', fg='red')}  {event.get('message')}")
        elif name == "host.retrying":
            out(f"{host:>10}  retrying     {event.get('message')}")
        elif name == "confirmation.given":
            out(f"{host:>10}  confirmed    {'':>9}  {event.get('step')} (via {event.get('via')})")
        elif name == "step.started" and event.get("effect") != "read":
            out(f"{host:>10}  {c('running', fg='cyan'):<12} {'':>9}  $ {event.get('command')}")


def summary(outcomes: list[HostOutcome], code: int) -> None:
    c = color_for(sys.stdout)
    out()
    out(c("Summary", bold=True))
    for o in outcomes:
        out(f"  {o.host}: {c(o.status, fg=STATUS_COLOR.get(o.status), bold=True)} - {o.message}")
        for f in o.found:
            out(f"      found: {f}")
        for d in o.done:
            out(f"      done:  {d}")
    out(f"exit {code}")


def sweep(outcomes: list[HostOutcome]) -> None:
    """The check sweep: per host its status, per module its verdict and what was found."""
    c = color_for(sys.stdout)
    for o in outcomes:
        out(
            c(f"{o.host}: {o.status}", fg=STATUS_COLOR.get(o.status), bold=True)
            + (f" - {o.message}" if o.status == HostStatus.UNREACHABLE else "")
        )
        for mod, state in o.modules.items():
            detail = "; ".join(f.split(": ", 1)[1] for f in o.found if f.startswith(f"{mod}: "))
            out(f"  {mod:<13} {c(state, fg=STATUS_COLOR.get(state))}" + (f"  ({detail})" if detail else ""))


def confirm_on_terminal(req: ConfirmRequest) -> bool | None:
    """Ask on the terminal (default No); ``None`` when there is no terminal to ask on."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    c = color_for(sys.stderr)
    lines = [
        "",
        c("Disruptive step needs confirmation", fg="yellow", bold=True),
        f"  host:        {req.host}",
        f"  module:      {req.module}",
        f"  step:        {req.step} - {req.title}",
        f"  command:     {req.command}",
        "  because:     " + "\n               ".join(req.failed_checks),
        f"  interrupts:  {req.interrupts}",
    ]
    for line in req.context:
        lines.append(f"  it cuts:     {line}")
    out("\n".join(lines), err=True)
    return click.confirm("Run it?", default=False, err=True)
