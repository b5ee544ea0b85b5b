"""Render a playbook as a runbook a person can follow or paste into an incident ticket. Pure.

Owns: the text and Markdown views of ``remediate show``, the playbook's notes included: per step its
action, key args and the Adobe pages it names (else its action's), and with ``--commands`` the exact
command, built by the same code as a run (:func:`runner.plan.build`), for a real inventory host or for a
placeholder host whose vars are written in capitals (INSTANCE, DB_HOST ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from runner import plan
from runner.actions import ACTIONS, Context, Effect
from runner.inventory import Host
from runner.playbook import Playbook, Step

PLACEHOLDER = Host(
    name="HOST",
    groups=(),
    source="-",
    vars={
        "instance": "INSTANCE",
        "db_host": "DB_HOST",
        "db_name": "DB_NAME",
        "db_user": "DB_USER",
    },  # every other var: its default in runner.hostvars
)
EFFECT_LABEL = {Effect.READ: "read", Effect.CHANGE: "CHANGE", Effect.DISRUPT: "DISRUPT (asks confirmation)"}


def _command(step: Step, host: Host) -> str:
    planned = plan.build(step, Context(host, {}))
    if planned.command is None:
        return f"(skipped: {planned.skip})"
    return planned.command


def _conditions(step: Step) -> str:
    if step.when is None:
        return ""
    parts = []
    if step.when.failed:
        parts.append("if " + " or ".join(step.when.failed) + " failed")
    if step.when.passed:
        parts.append("if " + " and ".join(step.when.passed) + " passed")
    if step.when.not_failed:
        parts.append("unless " + " or ".join(step.when.not_failed) + " failed")
    for name, value in step.when.option:
        parts.append(f"with --option {name}={value}")
    if step.when.force:
        parts.append("only with --force")
    return ", ".join(parts)


_PAGE = re.compile(r"\b(?:[a-z-]+/using/)?[a-z0-9-]+\.md\b")
_KEY_ARGS = ("module", "schema", "where", "dir", "file", "workflow", "url", "port", "script", "command", "query")


def pages(step: Step, cited: Sequence[str] = ()) -> list[str]:
    """The Adobe pages a step names (in its title or why), in order, else its action's pages; a page named
    without its area (``log-files.md``) gets the one of a page ``cited`` (the playbook's notes) or of an
    action's pages with the same name."""
    named = list(dict.fromkeys(_PAGE.findall(f"{step.title} {step.why or ''}")))
    if not named:
        return list(ACTIONS[step.action].pages)
    known = [*ACTIONS[step.action].pages, *cited, *(p for a in ACTIONS.values() for p in a.pages)]
    full = {page.rsplit("/", 1)[-1]: page for page in reversed(known)}  # the first one known wins
    return list(dict.fromkeys(full.get(page, page) if "/" not in page else page for page in named))


def key_args(step: Step) -> str:
    """The action and the arguments that say what it looks at, on one short line."""
    shown = []
    for name in _KEY_ARGS:
        if name in step.args:
            value = step.args[name]
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            text = " ".join(text.split())
            shown.append(f"{name}={text[:60]}{'...' if len(text) > 60 else ''}")
    return f"{step.action}" + (f" ({'; '.join(shown)})" if shown else "")


def notes(pb: Playbook, *, markdown: bool = False) -> list[str]:
    """The playbook's ``notes:`` (what Adobe documents, and where) as a section; none without notes."""
    if not pb.notes:
        return []
    if markdown:
        return ["", "## Notes", "", *pb.notes.splitlines()]
    return ["", "Notes:", *(f"  {line}" if line.strip() else "" for line in pb.notes.splitlines())]


def render(pb: Playbook, host: Host | None = None, *, markdown: bool = False, commands: bool = False) -> str:
    """The runbook: per step its action and key args and the Adobe pages it names; the exact command
    each sends with ``commands`` (built as a run builds it)."""
    target = host or PLACEHOLDER
    lines: list[str] = []
    h1, h2 = ("# ", "## ") if markdown else ("", "")
    lines.append(f"{h1}{pb.module}: {pb.title}")
    lines.append("")
    lines.append(f"Scope: {pb.scope}")
    lines.append(f"Symptom: {pb.symptom}")
    if pb.options:
        lines.append(
            "Options: "
            + "; ".join(
                f"{o.name} = {'|'.join(o.choices)} (default {o.default}){': ' + o.help if o.help else ''}"
                for o in pb.options.values()
            )
        )
    if host is not None:
        lines.append(f"Host: {host.name}")
    cited = list(dict.fromkeys(_PAGE.findall(pb.notes)))
    if cited:
        lines.append(f"Adobe pages: {', '.join(cited)}")
    lines.extend(notes(pb, markdown=markdown))
    for label, steps in (
        ("Checks", pb.checks),
        ("Remediation (only if a check fails, or --force)", pb.remediation),
        ("Verification", pb.verification),
    ):
        if not steps:
            continue
        lines.append("")
        lines.append(f"{h2}{label}")
        for number, step in enumerate(steps, 1):
            cond = _conditions(step)
            effect = EFFECT_LABEL[step.effect]
            if step.effect is Effect.CHANGE and plan.touched(step, Context(target, {})):
                effect = "CHANGE (asks confirmation: starts a module that is not running)"
            head = f"{number}. {step.title} [{step.id}; {effect}]" + (f" - {cond}" if cond else "")
            lines.append(head)
            lines.append(f"   action: {key_args(step)}")
            named = pages(step, cited)
            if named:
                lines.append(f"   Adobe: {', '.join(named)}")
            if commands:
                command = _command(step, target)
                lines.append(f"   ```\n   {command}\n   ```" if markdown else f"   $ {command}")
            if step.interrupts:
                lines.append(f"   interrupts: {step.interrupts}")
            if step.show:
                lines.append(f"   the confirmation shows: {', '.join(step.show)}")
            if step.repeats:
                lines.append(f"   repeats the check {step.repeats}")
            if step.poll:
                lines.append(f"   polls up to {step.poll.timeout:g}s every {step.poll.interval:g}s")
            if step.why:
                lines.append(f"   why: {step.why}")
    return "\n".join(lines)
