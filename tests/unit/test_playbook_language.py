"""The playbook language for admins: effect defaults to read in checks and verification, a verification
may repeat a check with ``check: <id>``, ``notes:`` holds Adobe's explanation and ``remediate show``
prints it, and the step grammar is one table that the loader and schema.json both follow."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from runner import playbook, runbook, schema
from runner.actions import Effect
from runner.cli import main
from runner.errors import InputError
from runner.playbook import StepField, load

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "playbooks").glob("*.yml"))

HEAD = "module: wfserver\ntitle: t\nscope: s\nsymptom: y\n"
CHECKS = (
    "checks:\n"
    "  - id: running\n"
    "    action: module_running\n"
    "    args: {module: wfserver}\n"
    "    timeout: 12\n"
    "  - id: sessions\n"
    "    action: shell\n"
    '    args: {command: "true"}\n'
    "    inform: true\n"
)
REMEDIATION = (
    "remediation:\n"
    "  - id: start\n"
    "    effect: change\n"
    "    action: start_module\n"
    "    args: {module: wfserver}\n"
    "    when: {failed: running}\n"
)


def write(tmp_path: Path, verification: str, checks: str = CHECKS, remediation: str = REMEDIATION) -> Path:
    path = tmp_path / "wfserver.yml"
    path.write_text(HEAD + checks + remediation + "verification:\n" + verification)
    return path


def refused(path: Path) -> str:
    with pytest.raises(InputError) as err:
        load(path)
    return str(err.value)


def line_of(path: Path, text: str, *, first: bool = False) -> int:
    """The line holding ``text`` (the last one: the verification comes last; or the first)."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return lines[0] if first else lines[-1]


# --- effect defaults to read in checks and verification ---------------------------------------------------


def test_effect_defaults_to_read_in_checks_and_verification(tmp_path: Path) -> None:
    pb = load(write(tmp_path, "  - id: back\n    action: module_running\n    args: {module: wfserver}\n"))
    assert [s.effect for s in pb.checks + pb.verification] == [Effect.READ] * 3
    assert pb.remediation[0].effect is Effect.CHANGE


def test_effect_read_may_still_be_written(tmp_path: Path) -> None:
    path = write(tmp_path, "  - id: back\n    effect: read\n    action: module_running\n    args: {module: wfserver}\n")
    assert load(path).verification[0].effect is Effect.READ


def test_a_check_or_verification_with_another_effect_is_still_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '  - id: back\n    effect: change\n    action: shell\n    args: {command: "true"}\n')
    message = refused(path)
    assert f"{path}:{line_of(path, 'effect: change')}: step 'back': verification steps must be read-only" in message
    checks = CHECKS.replace("    action: shell\n", "    effect: change\n    action: shell\n")
    path = write(tmp_path, "  - check: running\n", checks=checks)
    assert (
        f"{path}:{line_of(path, 'effect: change', first=True)}: step 'sessions': check steps must be read-only"
        in refused(path)
    )


def test_a_remediation_step_must_still_declare_its_effect(tmp_path: Path) -> None:
    path = write(tmp_path, "  - check: running\n", remediation=REMEDIATION.replace("    effect: change\n", ""))
    assert f"{path}:{line_of(path, '- id: start')}: step is missing 'effect'" in refused(path)


# --- check: <id> in verification ------------------------------------------------------------------------


def test_a_check_step_repeats_the_checks_action_and_args_with_its_own_poll(tmp_path: Path) -> None:
    pb = load(write(tmp_path, "  - check: running\n    poll: {timeout: 60, interval: 2}\n"))
    (check,) = [s for s in pb.checks if s.id == "running"]
    (again,) = pb.verification
    assert (again.action, again.args, again.timeout, again.title) == (check.action, check.args, 12.0, check.title)
    assert again.args is not check.args  # a copy: nothing a run does to one reaches the other
    assert again.poll == playbook.Poll(60.0, 2.0) and check.poll is None
    assert (again.id, again.phase, again.effect, again.repeats) == ("running", "verification", Effect.READ, "running")
    assert not again.gate and not again.inform
    assert pb.steps_by_id["running"] is check  # the check keeps its id; the verification is in pb.verification


def test_a_check_step_may_write_its_own_id_title_and_timeout(tmp_path: Path) -> None:
    pb = load(write(tmp_path, "  - check: running\n    id: back\n    title: wfserver is back\n    timeout: 5\n"))
    (again,) = pb.verification
    assert (again.id, again.title, again.timeout, again.action) == ("back", "wfserver is back", 5.0, "module_running")
    assert pb.steps_by_id["back"] is again


def test_a_check_step_builds_the_same_command_as_its_check(tmp_path: Path) -> None:
    from runner import plan
    from runner.actions import Context
    from runner.inventory import Host

    pb = load(write(tmp_path, "  - check: running\n    poll: {timeout: 5}\n"))
    ctx = Context(Host(name="h", groups=(), source="-", vars={"instance": "prod"}), {})
    assert plan.build(pb.verification[0], ctx).command == plan.build(pb.checks[0], ctx).command


@pytest.mark.parametrize("key", ["action: module_running", "args: {module: wfserver}"])
def test_a_check_step_cannot_also_write_action_or_args(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, f"  - check: running\n    {key}\n")
    message = refused(path)
    assert f"{path}:{line_of(path, key)}: step 'running': a check: step repeats its check's action and args" in message
    assert f"cannot also write {key.split(':')[0]!r}" in message


def test_a_check_step_naming_no_check_is_an_error_listing_the_checks(tmp_path: Path) -> None:
    path = write(tmp_path, "  - id: back\n    check: runing\n")
    message = refused(path)
    assert (
        f"{path}:{line_of(path, 'check: runing')}: step 'back': 'check' names 'runing', which is not a check" in message
    )
    assert "(checks: running, sessions)" in message
    path = write(tmp_path, "  - check: start\n")  # a remediation step is not a check
    assert "'check' names 'start', which is not a check" in refused(path)


def test_a_check_step_cannot_repeat_a_check_that_only_informs(tmp_path: Path) -> None:
    path = write(tmp_path, "  - check: sessions\n")
    assert f"{path}:{line_of(path, 'check: sessions')}: step 'sessions': 'check' names 'sessions'" in refused(path)


def test_check_belongs_to_verification_only(tmp_path: Path) -> None:
    checks = CHECKS + "  - id: again\n    check: running\n"
    path = write(tmp_path, "  - check: running\n", checks=checks)
    message = refused(path)
    where = f"{path}:{line_of(path, 'check: running', first=True)}"
    assert f"{where}: step 'again': 'check' belongs to verification steps only" in message


def test_ids_stay_unique_except_a_check_step_under_its_checks_id(tmp_path: Path) -> None:
    path = write(tmp_path, "  - check: running\n  - check: running\n    poll: {timeout: 5}\n")
    message = refused(path)
    assert f"{path}:{line_of(path, 'poll') - 1}: duplicate step id 'running'" in message
    assert "give this check: step its own id:" in message
    path = write(tmp_path, "  - id: running\n    action: module_running\n    args: {module: wfserver}\n")
    assert "duplicate step id 'running'" in refused(path)  # only a check: step shares its check's id
    path = write(tmp_path, "  - id: start\n    check: running\n")
    assert "duplicate step id 'start'" in refused(path)  # ... and only its own check's


def test_a_verification_without_action_or_check_is_missing_its_action(tmp_path: Path) -> None:
    path = write(tmp_path, "  - id: back\n    poll: {timeout: 5}\n")
    assert f"{path}:{line_of(path, '- id: back')}: step is missing 'action'" in refused(path)


# --- notes --------------------------------------------------------------------------------------------------


def test_notes_must_be_text(tmp_path: Path) -> None:
    path = tmp_path / "wfserver.yml"
    path.write_text(HEAD + "notes: [a, b]\n" + CHECKS)
    assert f"{path}:5: 'notes' must be a non-empty string" in refused(path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_playbook_keeps_adobes_explanation_in_notes(path: Path) -> None:
    pb = load(path)
    assert not path.read_text().startswith("#")  # the explanation moved from a comment into notes:
    assert pb.notes.startswith("Adobe")
    assert pb.sha256


def test_show_prints_the_notes_as_text_and_as_markdown() -> None:
    pb = playbook.load_module("wfserver")
    first = pb.notes.splitlines()[0]
    text = runbook.render(pb)
    assert "\nNotes:\n" in text and f"\n  {first}\n" in text
    markdown = runbook.render(pb, markdown=True)
    assert "\n## Notes\n" in markdown and f"\n{first}\n" in markdown


def test_remediate_show_prints_the_notes() -> None:
    res = CliRunner().invoke(main, ["show", "wfserver"])
    assert res.exit_code == 0, res.output
    assert 'workflows that stay in "Start in' in res.output and "production/using/workflow-execution.md" in res.output


# --- shipped playbooks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_playbook_loads_in_the_new_language(path: Path) -> None:
    pb = load(path)
    assert pb.checks and pb.module == path.stem
    assert "effect: read" not in path.read_text()  # the default is not restated
    for step in pb.verification:  # no verification restates a check word for word
        twins = [c.id for c in pb.checks if (c.action, c.args, c.timeout) == (step.action, step.args, step.timeout)]
        assert not twins or step.repeats in twins, f"{step.id} restates {twins[0]}: write check: {twins[0]}"
    ids = [s.id for s in pb.steps()]
    assert len(ids) == len(set(ids))  # the shipped playbooks keep their step ids distinct


# --- one grammar: the table drives the loader and the schema --------------------------------------------------


def test_the_table_drives_the_schema_and_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = StepField("owner", "text", ("check", "verification"), "who looks after the step")
    monkeypatch.setattr(playbook, "STEP_FIELDS", (*playbook.STEP_FIELDS, owner))
    doc = schema.schema()
    for name in ("checkStep", "verificationStep"):
        assert doc["$defs"][name]["properties"]["owner"] == {"description": owner.meaning, "type": "string"}
    assert "owner" not in doc["$defs"]["remediationStep"]["properties"]
    assert (
        "| `owner` | a string |  | check and verification | who looks after the step |" in schema.stepfields_section()
    )
    path = write(
        tmp_path, "  - check: running\n    owner: ops\n", checks=CHECKS.replace("    timeout: 12\n", "    owner: ops\n")
    )
    assert load(path).checks[0].id == "running"  # accepted where the table allows it ...
    validator = jsonschema.Draft202012Validator(doc)
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []
    bad = write(tmp_path, "  - check: running\n", remediation=REMEDIATION + "    owner: ops\n")
    assert (
        f"{bad}:{line_of(bad, 'owner')}: step 'start': 'owner' belongs to check and verification steps only"
        in refused(bad)
    )
    assert list(validator.iter_errors(yaml.safe_load(bad.read_text())))  # ... and refused where it does not
    wrong = write(tmp_path, "  - check: running\n    owner: [a]\n")
    assert f"{wrong}:{line_of(wrong, 'owner')}: step 'running': owner must be a string, got ['a']" in refused(wrong)


def test_the_generated_schema_and_readme_table_cover_every_field() -> None:
    doc = json.loads((ROOT / "playbooks" / "schema.json").read_text())
    for f in playbook.STEP_FIELDS:
        for phase, name in schema.DEFS.items():
            assert (f.name in doc["$defs"][name]["properties"]) == (phase in f.phases), (f.name, phase)
    readme = (ROOT / "README.md").read_text()
    assert schema.stepfields_section() in readme
