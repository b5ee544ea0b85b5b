"""``remediate show MODULE`` names at least one Adobe page for every step of every shipped playbook: the
pages the step names, else its action's (each action registers the pages documenting it)."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner import runbook
from runner.actions import ACTIONS
from runner.cli import main
from runner.cli.selection import load_all_playbooks, module_names

ADOBE_DOCS = Path(os.environ.get("ADOBE_DOCS", "/work/adobe-docs"))
PAGE = re.compile(r"[a-z][a-z0-9-]*/using/[a-z0-9][a-z0-9-]*\.md")
STEP = re.compile(r"^\d+\. .* \[(?P<id>[\w-]+); ")


def _show(module: str) -> dict[str, list[str]]:
    """Each step id of ``remediate show MODULE`` -> the pages on its ``Adobe:`` line."""
    res = CliRunner().invoke(main, ["show", module], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out: dict[str, list[str]] = {}
    step = None
    for line in res.stdout.splitlines():
        m = STEP.match(line)
        if m:
            step = m["id"]
            out[step] = []
        elif step is not None and line.startswith("   Adobe: "):
            out[step] = line.removeprefix("   Adobe: ").split(", ")
    return out


def _every_page() -> set[str]:
    return {p for module in module_names() for pages in _show(module).values() for p in pages}


def test_every_step_of_every_shipped_playbook_names_an_adobe_page() -> None:
    books = load_all_playbooks()
    assert len(books) >= 10
    for pb in books:
        shown = _show(pb.module)
        steps = [s.id for s in (*pb.checks, *pb.remediation, *pb.verification)]
        assert sorted(shown) == sorted(steps), pb.module  # every step has its line
        for step, pages in shown.items():
            assert pages, f"{pb.module}/{step}: no Adobe page"
            for page in pages:
                assert PAGE.fullmatch(page), f"{pb.module}/{step}: {page!r} is not <area>/using/<name>.md"


def test_every_action_has_pages_and_a_step_naming_none_gets_them() -> None:
    for name, act in ACTIONS.items():
        assert act.pages and all(PAGE.fullmatch(p) for p in act.pages), name
    step = next(s for pb in load_all_playbooks() for s in pb.checks if s.action == "module_running")
    plain = replace(step, title="nothing named here", why=None)
    assert runbook.pages(plain) == list(ACTIONS["module_running"].pages)
    named = replace(step, title="see log-files.md", why=None)
    # a page named without its area gets it from the action pages that know it
    assert runbook.pages(named) == ["production/using/log-files.md"]


def test_an_action_page_must_be_a_page_path() -> None:
    from runner.actions.base import action

    with pytest.raises(ValueError, match=r"not <area>/using/<name>\.md"):
        action("no_such_action_for_pages", "x", ACTIONS["shell"].min_effect, build=ACTIONS["shell"].build,
               judge=ACTIONS["shell"].judge, pages=("usual-commands.md",))  # fmt: skip
    assert "no_such_action_for_pages" not in ACTIONS


@pytest.mark.skipif(not (ADOBE_DOCS / "help").is_dir(), reason="Adobe's documentation is not checked out")
def test_the_pages_named_exist_in_adobes_documentation() -> None:
    pages = _every_page() | {p for a in ACTIONS.values() for p in a.pages}
    missing = sorted(p for p in pages if not (ADOBE_DOCS / "help" / p).is_file())
    assert missing == []
