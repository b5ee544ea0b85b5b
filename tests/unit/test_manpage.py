"""The man page remediate(1) is made from the live command line: regenerated here (no committed copy can
go stale), checked against click's own description of the CLI (every command, subcommand and visible
option), against the shipped playbooks and the exit codes, and rendered by groff/man where installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest

from runner.cli import main, manpage
from runner.outcomes import ExitCode
from runner.paths import shipped_modules

HELP = {"-h", "--help"}  # click's own help option: once, in OPTIONS
REQUESTS = {'.\\"', ".TH", ".SH", ".SS", ".TP", ".PP", ".br", ".nf", ".fi", ".nh", ".ad", ".B"}


@pytest.fixture(scope="module")
def page() -> str:
    saved = os.environ.pop("REMEDIATE_PLAYBOOKS", None)  # the page never depends on site playbooks
    try:
        return manpage.render()
    finally:
        if saved is not None:
            os.environ["REMEDIATE_PLAYBOOKS"] = saved


def sections(page: str) -> dict[str, str]:
    """Heading (of .SH and .SS) -> its text up to the next heading."""
    found: dict[str, str] = {}
    for part in re.split(r"(?m)^\.S[HS] ", page)[1:]:
        heading, _, body = part.partition("\n")
        found[heading.strip('"')] = body
    return found


def cli_commands() -> dict[str, dict[str, Any]]:
    """click's own description of the CLI: command path -> its info dict (playbook commands included)."""
    with click.Context(main, info_name="remediate") as ctx:
        info = main.to_info_dict(ctx)
    flat: dict[str, dict[str, Any]] = {}

    def walk(path: list[str], node: dict[str, Any]) -> None:
        for name, sub in node.get("commands", {}).items():
            flat[" ".join([*path, name])] = sub
            walk([*path, name], sub)

    walk([], info)
    flat[""] = info
    return flat


def visible_options(node: dict[str, Any]) -> list[str]:
    return [
        opt
        for param in node["params"]
        if param["param_type_name"] == "option" and not param["hidden"] and not set(param["opts"]) <= HELP
        for opt in [*param["opts"], *param["secondary_opts"]]
    ]


def test_every_command_and_option_of_the_cli_is_in_the_page(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMEDIATE_PLAYBOOKS", raising=False)
    text = sections(page)
    commands = cli_commands()
    modules = set(shipped_modules())
    assert modules and modules <= set(commands), "the CLI lists a command per shipped playbook"
    assert {"list", "show", "validate", "check", "hosts", "audit verify", "audit show"} <= set(commands)
    for path, node in commands.items():
        if node.get("hidden"):
            continue
        if path in modules:
            heading = "remediate MODULE [OPTIONS]"  # one section for every playbook's command ...
            assert f".TP\n\\fB{path}\\fR\n" in text["MODULES"], path  # ... and each module listed
        elif path:
            heading = next((h for h in text if h.startswith(f"remediate {manpage.escape(path)} [OPTIONS]")), "")
            assert heading, f"no section for remediate {path}"
        else:
            heading = "OPTIONS"
        for opt in visible_options(node):
            assert f"\\fB{manpage.escape(opt)}\\fR" in text[heading], f"{path or 'remediate'} {opt}"
        if path and path not in modules and not node.get("commands"):
            synopsis_words = " ".join(f"\\fB{word}\\fR" for word in ["remediate", *path.split()])
            assert synopsis_words in text["SYNOPSIS"], path


def test_a_new_flag_or_command_is_in_the_page_with_no_change_to_the_generator() -> None:
    @click.group(help="Diagnose things.")
    def root() -> None: ...

    @root.command("frobnicate", help="Frobnicate the hosts.\n\nA second paragraph.")
    @click.argument("target", nargs=-1)
    @click.option("--limit", metavar="PATTERN", help="Ansible host pattern, e.g. web:&prod:!web3.")
    @click.option("-v", "--verbose", is_flag=True, help="More output.")
    @click.option("--later", type=click.IntRange(0, 60), default=5, show_default=True, help="Wait.")
    @click.option("--secret", hidden=True)
    def frobnicate(**_: Any) -> None: ...

    @click.command("MODULE", help="Run it.")
    @click.option("--rerun-failed", metavar="RUN_ID", help="Only the hosts that did not end healthy in RUN_ID.")
    def module(**_: Any) -> None: ...

    text = sections(manpage.render(root, module))
    body = text["remediate frobnicate [OPTIONS] [TARGET...]"]
    assert "Frobnicate the hosts.\n.PP\nA second paragraph." in body
    assert "\\fB\\-\\-limit\\fR \\fIPATTERN\\fR\nAnsible host pattern, e.g. web:&prod:!web3." in body
    assert "\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nMore output." in body
    assert "\\fB\\-\\-later\\fR \\fIN\\fR\nWait. [default: 5; 0 to 60]" in body
    assert "secret" not in body
    assert "\\fB\\-\\-rerun\\-failed\\fR \\fIRUN_ID\\fR" in text["remediate MODULE [OPTIONS]"]


def test_the_page_is_roff_man_renders(page: str, tmp_path: Path) -> None:
    lines = page.splitlines()
    assert lines[0].startswith('.\\" remediate(1), generated') and lines[1].startswith('.TH REMEDIATE 1 ""')
    heads = [line[4:] for line in lines if line.startswith(".SH ")]
    assert heads == [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "MODULES",
        "ENVIRONMENT",
        "EXIT STATUS",
        "SEE ALSO",
    ]
    assert lines[lines.index(".SH NAME") + 1].startswith("remediate \\- diagnose and fix")
    for line in lines:  # a text line never starts a request by accident; only known requests are used
        assert not line.startswith("'"), line
        if line.startswith("."):
            assert line.split(" ")[0] in REQUESTS, line
    assert ".nf\nremediate MODULE \\-\\-host NAME" in page  # click's \b block kept line by line
    assert ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n" in sections(page)["OPTIONS"]
    text = sections(page)
    for code in ExitCode:
        assert f".TP\n\\fB{int(code)}\\fR\n" in text["EXIT STATUS"], code
    assert "\\fBREMEDIATE_SYSLOG\\fR" in text["ENVIRONMENT"] and "\\fBREMEDIATE_INVENTORY\\fR" in text["ENVIRONMENT"]
    path = tmp_path / "remediate.1"
    path.write_text(page)
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr
    if shutil.which("man"):
        env = {**os.environ, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100", "LANG": "C.UTF-8"}
        r = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        shown = re.sub(".\b", "", r.stdout)  # overstrike bold/underline, should man emit it
        assert "REMEDIATE(1)" in shown and "remediate check [OPTIONS] [MODULE|all]..." in shown
        assert "--dry-run" in shown and "~/.ssh/config" in shown


def test_roff_escaping() -> None:
    assert manpage.escape(".hidden request\n'another") == "\\&.hidden request\n\\&'another"
    assert manpage.escape("a-b \\d") == "a\\-b \\ed"
    assert list(manpage.paragraphs("One\n  line.\n\n\b\nkept\n  as is\n\fnot shown")) == [
        "One line.",
        ".nf\nkept\n  as is\n.fi",
    ]


def test_check_says_whether_a_page_is_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "man" / "remediate.1"
    assert manpage.main(["--output", str(path)]) == 0
    assert manpage.main(["--check", str(path)]) == 0
    path.write_text(path.read_text().replace("\\-\\-dry\\-run", "\\-\\-dry"))  # an older CLI's page
    assert manpage.main(["--check", str(path)]) == 1
    assert "stale: regenerate it (make man)" in capsys.readouterr().err
    assert manpage.main(["--check", str(tmp_path / "missing.1")]) == 1
