"""Everything remediate prints to the terminal passes through here, redacted.

Owns: the one redacting printer (:func:`out`), colours (only on a terminal, never with ``NO_COLOR``),
the progress lines rendered from audit events (the console is a listener on the event stream) and the
confirmation prompt's text. Must not: decide anything (exit codes and confirmation policy are the
CLI's), render a run's outcome (each ``--output`` format is a renderer of :mod:`runner.render`, printed
here), or import the SSH stack.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from runner.events import STEP_RECORDS, Event
from runner.hold import what_starts
from runner.outcomes import StepStatus
from runner.redact import Redactor, env_secrets
from runner.render import STATUS_COLOR

if TYPE_CHECKING:
    from runner.execute import ConfirmRequest

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


def out(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(redact(text), err=err, nl=nl)


class Color:
    """Colours text with click's styles when ``enabled`` (a :class:`runner.render.Paint`)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.enabled else text


def color_for(stream: Any) -> Color:
    return Color(bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ)


class Progress:
    """Renders audit events as progress lines, as they are written."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.paint = color_for(sys.stdout)
        self.retried: set[str] = set()  # hosts whose first retry was shown (later ones are in the audit)

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        name = event.get("event", "")
        host = event.get("host", "")
        paint = self.paint
        if name in STEP_RECORDS:
            outcome = str(event.get("outcome", ""))
            phase = event.get("phase", "")
            tag = paint(f"{outcome:>9}", fg=STATUS_COLOR.get(outcome))
            first, *more = str(event.get("message", "")).split("\n")
            out(f"{host:>10}  {phase:<12} {tag}  {event.get('step')}: {first}")
            for line in more:  # -v: what the host answered
                out(f"{'':>10}  {'':<12} {'':>9}  | {line}")
            if outcome == StepStatus.WOULD_RUN and event.get("command"):
                out(f"{'':>10}  {'':<12} {'':>9}  $ {event.get('command')}")
        elif name == Event.HOST_CONNECTED:
            out(
                f"{host:>10}  connected    {'':>9}  {event.get('user')}@{event.get('address')}:"
                f"{event.get('port')} key {event.get('host_key')}"
            )
        elif name == Event.HOST_UNREACHABLE:
            out(f"{host:>10}  {paint('unreachable', fg='red')}  {event.get('message')}")
        elif name == Event.HOST_RETRYING:
            if host in self.retried:
                return
            self.retried.add(host)
            policy = f" (retrying: {event['policy']})" if event.get("policy") else " (retrying)"
            out(f"{host:>10}  {paint('no answer', fg='yellow')}    {event.get('message')}{policy}")
        elif name == Event.CONFIRMATION_GIVEN:
            out(f"{host:>10}  confirmed    {'':>9}  {event.get('step')} (via {event.get('via')})")
        elif name == Event.STEP_STARTED and event.get("effect") != "read":
            out(f"{host:>10}  {paint('running', fg='cyan'):<12} {'':>9}  $ {event.get('command')}")


class LiveLine:
    """One line on the terminal (stderr) that says what a host waits for while a long step or a
    verification poll runs: ``wfserver@prod  waiting  wfserver is listed by pdump again: 14/60 s``,
    rewritten every second and cleared when the wait ends. Only on a terminal: elsewhere the plain
    event lines say it all."""

    def __init__(self, stream: Any = None, tick: float = 1.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tick = tick
        self._lock = threading.Lock()
        self._waits: dict[str, tuple[str, float, float]] = {}  # host -> (what, limit, started)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, host: str, what: str, limit: float) -> None:
        with self._lock:
            self._waits[host] = (what, limit, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="remediate-live-line", daemon=True)
                self._thread.start()
        self._draw()

    def end(self, host: str) -> None:
        with self._lock:
            self._waits.pop(host, None)
            idle = not self._waits
        if idle:
            self._stop.set()
            self._clear()
        else:
            self._draw()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._draw()

    def _clear(self) -> None:
        with self._lock:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _draw(self) -> None:
        with self._lock:
            if not self._waits:
                return
            now = time.monotonic()
            parts = [
                f"{host}  waiting  {what[:70]}: {int(now - since)}/{limit:g} s"
                for host, (what, limit, since) in self._waits.items()
            ]
            self.stream.write("\r\x1b[K" + redact("; ".join(parts)))
            self.stream.flush()


def confirm_on_terminal(req: ConfirmRequest) -> bool | None:
    """Ask on the terminal (default No); ``None`` when there is no terminal to ask on."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    paint = color_for(sys.stderr)
    heading = "Starting a stopped module needs confirmation" if req.starts else "Disruptive step needs confirmation"
    lines = [
        "",
        paint(heading, fg="yellow", bold=True),
        f"  host:        {req.host}",
        f"  module:      {req.module}",
        f"  step:        {req.step} - {req.title}",
        f"  command:     {req.command}",
        "  because:     " + "\n               ".join(req.failed_checks),
    ]
    if req.starts:
        every = what_starts(req.starts)
        lines.append(f"  starts:      {every} (not running: it may have been stopped on purpose)")
    else:
        lines.append(f"  interrupts:  {req.interrupts}")
    label = "host says:  " if req.starts else "it cuts:    "
    for line in req.context:
        lines.append(f"  {label} {line}")
    out("\n".join(lines), err=True)
    return click.confirm("Run it?", default=False, err=True)
