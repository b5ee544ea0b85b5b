"""The read-only commands of the CLI, run in-process (no host is contacted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_list_json_has_every_shipped_module() -> None:
    code, out, _ = _run("list", "--output", "json")
    assert code == 0
    rows = json.loads(out)
    assert {"wfserver", "watchdog"} <= {r["module"] for r in rows}
    for r in rows:
        assert r["scope"] and r["symptom"] and r["checks"]


def test_show_renders_exact_commands_and_disruptive_marks() -> None:
    code, out, _ = _run("show", "wfserver")
    assert code == 0 and "$ nlserver" not in out  # commands only with --commands
    assert "action: restart_module (module=wfserver)" in out and "production/using/workflow-execution.md" in out
    assert "[start_wfserver; CHANGE (asks confirmation: starts a module that is not running)]" in out
    code, out, _ = _run("show", "wfserver", "--commands")
    assert code == 0
    assert "$ nlserver restart wfserver@INSTANCE" in out
    assert "DISRUPT (asks confirmation)" in out and "interrupts:" in out
    code, md, _ = _run("show", "wfserver", "--output", "markdown", "--commands")
    assert code == 0 and md.startswith("# wfserver") and "```" in md


def test_show_output_and_its_deprecated_alias_format() -> None:
    code, markdown, err = _run("show", "wfserver", "--output", "markdown")
    assert code == 0 and markdown.startswith("# wfserver") and err == ""
    code, old, err = _run("show", "wfserver", "--format", "markdown")
    assert (code, old) == (0, markdown)
    assert "--format is deprecated; use --output" in err
    code, text, _err = _run("show", "wfserver", "--format", "markdown", "--output", "text")
    assert code == 0 and not text.startswith("# wfserver")  # an explicit --output wins
    code, help_text, _err = _run("show", "--help")
    assert "--output" in help_text and "--format" not in help_text


def test_every_format_flag_is_output() -> None:
    for command in (["list"], ["triage"], ["hosts"], ["check"], ["wfserver"], ["audit", "runs"], ["audit", "show"]):
        code, help_text, _err = _run(*command, "--help")
        assert code == 0 and "--output" in help_text and "--format" not in help_text, command


def test_unknown_module_is_exit_2() -> None:
    code, _out, err = _run("show", "nosuch")
    assert code == 2 and "unknown module 'nosuch'" in err
    code, _out, err = _run("nosuch", "--host", "x")
    assert code == 2


def test_validate_ok_and_bad_playbook_with_line(tmp_path: Path) -> None:
    code, out, _ = _run("validate", str(ROOT / "playbooks" / "wfserver.yml"))
    assert code == 0 and "ok" in out
    bad = tmp_path / "wfserver.yml"
    bad.write_text(
        "module: wfserver\ntitle: t\nscope: s\nsymptom: y\nchecks:\n  - id: a\n    action: module_running\n"
        "    args: {module: wfserver}\nremediation:\n  - id: r\n    action: start_module\n"
        "    args: {module: wfserver}\nverification:\n  - check: a\n"
    )
    code, _out, err = _run("validate", str(bad))
    assert code == 2 and f"{bad}:10" in err and "missing 'effect'" in err  # a remediation step must say it


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (
            "{id: r, effect: read, action: restart_module, args: {module: wfserver}, interrupts: x}",
            "cannot be declared read",
        ),
        ("{id: r, effect: disrupt, action: restart_module, args: {module: wfserver}}", "must say what it interrupts"),
        ("{id: r, effect: change, action: nosuch}", "unknown action"),
        ("{id: r, effect: sometimes, action: start_module, args: {module: wfserver}}", "effect must be read"),
        (
            "{id: r, effect: change, action: start_module, args: {module: wfserver}, when: {failed: nope}}",
            "not a check",
        ),
    ],
)
def test_validate_effect_rules(tmp_path: Path, step: str, fragment: str) -> None:
    bad = tmp_path / "wfserver.yml"
    bad.write_text(
        "module: wfserver\ntitle: t\nscope: s\nsymptom: y\nchecks:\n"
        "  - {id: c, effect: read, action: module_running, args: {module: wfserver}}\n"
        f"remediation:\n  - {step}\nverification:\n"
        "  - {id: v, effect: read, action: module_running, args: {module: wfserver}}\n"
    )
    code, _out, err = _run("validate", str(bad))
    assert code == 2 and fragment in err, err
    assert f"{bad}:" in err


def test_hosts_resolves_ssh_config_and_masks_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        "Host web1\n  HostName 127.0.0.31\n  Port 2201\n  User neolane\n"
        f"  UserKnownHostsFile {tmp_path}/kh\n  StrictHostKeyChecking accept-new\n"
    )
    inv = tmp_path / "inv.yml"
    inv.write_text(
        f"all:\n  vars: {{ssh_config: {cfg}, db_password: hunter2hunter2}}\n  hosts:\n    web1: {{instance: prod}}\n"
    )
    code, out, _ = _run("hosts", "-i", str(inv), "--output", "json")
    assert code == 0
    row = json.loads(out)[0]
    assert (row["address"], row["port"], row["user"]) == ("127.0.0.31", 2201, "neolane")
    assert row["strict_host_key_checking"] == "accept-new" and row["known_hosts"] == [f"{tmp_path}/kh"]
    assert row["vars"]["db_password"] == "***" and "hunter2hunter2" not in out


def test_triage_and_audit_verify(tmp_path: Path) -> None:
    code, out, _ = _run("triage", "workflow stuck")
    assert code == 0 and out.split()[0] == "wfserver"
    code, _out, _err = _run("triage", "zzzz qqqq")
    assert code == 1
    log = tmp_path / "a.jsonl"
    log.write_text("not json\n")
    code, _out, err = _run("audit", "verify", str(log))
    assert code == 1 and "a.jsonl:1" in err


def test_help_is_fast_to_import() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "paramiko" not in imported and "fabric" not in imported and "structlog" not in imported


def test_every_builtin_command_is_a_word_no_site_module_may_take() -> None:
    """A site playbook named like a command would shadow it: the loader refuses every built-in name."""
    from runner.cli import BUILTINS, main
    from runner.playbook import COMMAND_WORDS

    assert set(main.builtin_commands()) == set(BUILTINS) and set(BUILTINS) <= COMMAND_WORDS


def test_the_shipped_modules_are_the_shipped_playbooks() -> None:
    from runner import paths

    assert paths.shipped_modules() == tuple(sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml")))
    assert "wfserver" in paths.shipped_modules() and "schema" not in paths.shipped_modules()


@pytest.mark.parametrize(
    ("args", "guess"),
    [
        (["wfsrever", "--host", "x"], "did you mean 'wfserver'?"),
        (["wfserver", "--host", "x", "-i", "INV", "--option", "log_precison=verbose"], "did you mean 'log_precision'?"),
        (["wfserver", "--host", "prod", "-i", "INV"], "did you mean 'prod1'"),
        (["wfserver", "--group", "emae", "-i", "INV"], "did you mean 'emea'?"),
        (["hold", "wfserver", "--host", "x", "--reason", "r"], None),
    ],
)
def test_a_typo_gets_a_suggestion(tmp_path: Path, args: list[str], guess: str | None) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  children:\n    emea:\n      hosts:\n        prod1: {instance: prod}\n")
    code, _out, err = _run(*[str(inventory) if a == "INV" else a for a in args])
    assert code == 2
    if guess is not None:
        assert guess in err, err


def test_a_typo_in_an_action_gets_a_suggestion(tmp_path: Path) -> None:
    bad = tmp_path / "wfserver.yml"
    bad.write_text(
        "module: wfserver\ntitle: t\nscope: s\nsymptom: y\nchecks:\n  - id: a\n    action: module_runing\n"
        "    args: {module: wfserver}\n"
    )
    code, _out, err = _run("validate", str(bad))
    assert code == 2 and "did you mean 'module_running'" in err


def test_help_lists_the_commands_as_click_would_without_building_each_module_command() -> None:
    """The Commands section of --help, written from module_help for the modules, is the one click's own
    format_commands writes from the real commands."""
    import click

    from runner.cli import main

    ctx = click.Context(main, info_name="remediate")
    ours, clicks = click.HelpFormatter(width=100), click.HelpFormatter(width=100)
    main.format_commands(ctx, ours)
    click.Group.format_commands(main, ctx, clicks)
    assert ours.getvalue() == clicks.getvalue() and "wfserver" in ours.getvalue() and "logs" in ours.getvalue()
