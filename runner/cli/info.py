"""Read-only commands about playbooks: ``list``, ``show``, ``validate``, ``triage``.

Owns: their flags, output (through :mod:`runner.console`) and exit codes. Must not: connect to a host.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from runner import console
from runner.cli.completion import complete_host, complete_module
from runner.cli.exits import fail
from runner.cli.output import output_option
from runner.cli.selection import hosts_from_inventory, load_all_playbooks, load_inventory, module_names, playbook_path
from runner.console import out
from runner.outcomes import ExitCode


@click.command("list")
@output_option(["text", "json"])
def list_cmd(output: str) -> None:
    """Modules, what each runs, and the symptom that points at it."""
    from runner.errors import RemediateError

    try:
        books = load_all_playbooks()
        origin = {str(found.path): found.place.origin for found in playbook_path().found()}
    except RemediateError as exc:
        fail(exc)
    rows: list[dict[str, Any]] = [
        {
            "module": book.module,
            "title": book.title,
            "scope": book.scope,
            "symptom": book.symptom,
            "disruptive": book.disruptive,
            "checks": [step.id for step in book.checks],
            "file": book.path,
            "source": origin.get(book.path, ""),
        }
        for book in books
    ]
    if output == "json":
        out(json.dumps(rows, indent=2))
        return
    width = max((len(row["module"]) for row in rows), default=6)
    for row in rows:
        mark = "  [disruptive steps: asks before restarting]" if row["disruptive"] else ""
        out(f"{row['module']:<{width}}  {row['scope']}{mark}")
        out(f"{'':<{width}}  symptom: {row['symptom']}")
        out(f"{'':<{width}}  file: {row['file']} ({row['source']})")


@click.command("show")
@click.argument("module", shell_complete=complete_module)
@output_option(["text", "markdown"], dest="fmt", old_names=["--format"])
@click.option(
    "--host", default=None, shell_complete=complete_host, help="Render commands with this inventory host's vars."
)
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None)
@click.option("--commands", is_flag=True, help="Also print the exact command each step sends.")
def show_cmd(module: str, fmt: str, host: str | None, inventory: Path | None, commands: bool) -> None:
    """A playbook as a readable runbook: steps, their actions and Adobe pages, which are disruptive."""
    from runner import runbook
    from runner.errors import RemediateError
    from runner.playbook import load_module

    try:
        where = playbook_path()
        pb = load_module(module, where)
        source = next(f.place.origin for f in where.found() if str(f.path) == pb.path)
        target = hosts_from_inventory(load_inventory(inventory), (host,), ())[0] if host else None
    except RemediateError as exc:
        fail(exc)
    if target is not None:
        console.add_secrets(target.secrets())
    out(runbook.render(pb, target, markdown=fmt == "markdown", commands=commands))
    out(f"\n_Playbook file: `{pb.path}` ({source})_" if fmt == "markdown" else f"\nplaybook file: {pb.path} ({source})")


@click.command("validate")
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
            found = playbook_path().found()
            module_names()  # no playbook anywhere is an error, naming every place looked in
        except RemediateError as exc:
            errors += 1
            out(f"error  {exc}", err=True)
            found = []
        for found_file in found:
            if found_file.shadowed_by is not None:
                out(f"note  {found_file.path}: overridden by {found_file.shadowed_by}")
        targets = [found_file.path for found_file in found]
    for path in targets:
        try:
            if path.is_dir() or _looks_like_inventory(path):
                inv = inv_mod.load(path)
                out(f"ok  {path}: inventory, {len(inv.hosts)} hosts, {len(inv.groups)} groups")
            else:
                book = playbook.parse(yamlfile.load_file(path), str(path))
                out(f"ok  {path}: {book.module}, {len(book.steps())} steps")
        except RemediateError as exc:
            errors += 1
            out(f"error  {exc}", err=True)
    if not paths:
        try:
            inv = inv_mod.load(inventory or inv_mod.default_path())
            out(f"ok  inventory: {len(inv.hosts)} hosts")
        except RemediateError as exc:
            default = inv_mod.default_path()
            if inventory is not None or (
                default.exists() and not (default.is_dir() and not any(map(inv_mod.in_directory, default.iterdir())))
            ):
                errors += 1
                out(f"error  {exc}", err=True)
    sys.exit(ExitCode.INPUT if errors else ExitCode.OK)


def _looks_like_inventory(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return not any(line.startswith("module:") for line in head.splitlines())


@click.command("triage")
@click.argument("symptom")
@output_option(["text", "json"])
def triage_cmd(symptom: str, output: str) -> None:
    """Map a symptom in plain words to the modules to check, from the seed table; or a message code
    (PGS-220000, or a log line holding codes) to Adobe's meaning, page, whether a restart helps, and the
    playbooks concerned. Exit 1 when nothing matches or a code is not in Adobe's documented table."""
    from runner import triage
    from runner.errors import RemediateError

    try:
        books = load_all_playbooks()
    except RemediateError as exc:
        fail(exc)
    answers = triage.codes(symptom, books)
    if answers:
        _triage_codes(answers, output)
    matches = triage.rank(symptom, books)
    if output == "json":
        ranked = [{"module": book.module, "score": score, "symptom": book.symptom} for book, score in matches]
        out(json.dumps(ranked, indent=2))
        sys.exit(0 if matches else 1)
    if not matches:
        out("no module matches; try: remediate list")
        sys.exit(1)
    for book, _score in matches:
        out(f"{book.module:<13} {book.symptom}")
        out(f"{'':<13} remediate check {book.module} --host HOST")


def _triage_codes(answers: list[Any], output: str) -> NoReturn:
    """Each code's row of Adobe's table; exit 0 when every code is known, 1 when one is not."""
    from runner import errorcodes

    if output == "json":
        rows = [
            {
                "code": a.code,
                "known": a.row is not None,
                "meaning": a.row.meaning if a.row else None,
                "page": f"help/{a.row.page}" if a.row else None,
                "section": a.row.section if a.row else None,
                "restart_helps": a.restart_helps,
                "why": a.row.why if a.row else None,
                "database": a.database,
                "modules": list(a.row.modules) if a.row else [],
                "playbooks": [f"remediate {m}" for m in a.playbooks],
            }
            for a in answers
        ]
        out(json.dumps(rows, indent=2))
    pad = " " * 12
    for a in answers if output != "json" else []:
        if a.row is None:
            out(f"{a.code}  {errorcodes.UNKNOWN} (its meaning is not guessed)")
            if a.database:
                family = a.code[:3]
                out(f"{pad}restart helps: no (a {family}- code: a database error, as the table's {family}- codes)")
            continue
        row = a.row
        out(f"{a.code}  {row.meaning}")
        out(f"{pad}Adobe's page: help/{row.page} ({row.section})")
        out(f"{pad}restart helps: {row.restart_helps} ({row.why})")
        out(f"{pad}modules: {', '.join(row.modules) or 'none named by the page'}")
        for module in a.playbooks:
            out(f"{pad}playbook: remediate {module} --host HOST  (read-only: remediate check {module} --host HOST)")
        if not a.playbooks:
            why = f"no playbook for {', '.join(row.modules)}" if row.modules else "the page names no module"
            out(f"{pad}playbook: none ({why})")
    sys.exit(0 if all(a.row is not None for a in answers) else 1)
