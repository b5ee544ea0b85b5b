"""playbooks/schema.json (for editors) accepts every shipped playbook and rejects broken ones; it and the
README's step field, action and host var lists are generated from the specs and never stale; the loader
reports a bad arg at its file:line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner import schema
from runner.actions import ACTIONS
from runner.errors import InputError
from runner.playbook import STEP_FIELDS, TYPE_TEXT, load

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "playbooks" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.yml"))


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _errors(doc: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(doc)]


def test_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_knows_every_action() -> None:
    for name in ("checkStep", "remediationStep", "verificationStep"):
        assert sorted(SCHEMA["$defs"][name]["properties"]["action"]["enum"]) == sorted(ACTIONS)


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.stem)
def test_shipped_playbook_validates(path: Path) -> None:
    assert _errors(_load(path)) == []


@pytest.fixture()
def good() -> dict[str, Any]:
    return _load(ROOT / "playbooks" / "syslogd.yml")


def _mutated(doc: dict[str, Any], change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    change(doc)
    return doc


BAD = {
    "remediation without effect": lambda d: d["remediation"][0].pop("effect"),
    "check without action": lambda d: d["checks"][0].pop("action"),
    "unknown action": lambda d: d["checks"][0].update(action="reboot_host"),
    "unknown top-level key": lambda d: d.update(owner="ops"),
    "unknown step key": lambda d: d["checks"][0].update(sudo=True),
    "unknown arg": lambda d: d["checks"][0]["args"].update(colour="red"),
    "missing required arg": lambda d: d["checks"][0]["args"].pop("module"),
    "check that changes": lambda d: d["checks"][0].update(effect="change"),
    "restart declared read": lambda d: d["remediation"][1].update(effect="read"),
    "disrupt without interrupts": lambda d: d["remediation"][1].pop("interrupts"),
    "remediation that polls": lambda d: d["remediation"][0].update(poll={"timeout": 5}),
    "bad module name": lambda d: d.update(module="2 bad name"),
    "command word as module": lambda d: d.update(module="check"),
    "no checks": lambda d: d.update(checks=[]),
    "bad step id": lambda d: d["checks"][0].update(id="Bad-Id"),
    "remediation without verification": lambda d: d.pop("verification"),
    "arg of the wrong type": lambda d: d["checks"][0]["args"].update(module=3),
    "arg outside its choices": lambda d: d["checks"][0]["args"].update(module="sms_gateway"),
    "option that shadows a host var": lambda d: d.update(options={"instance": {"choices": ["a"]}}),
    "check: step with action": lambda d: d["verification"].append({"check": "syslogd_running", "action": "shell"}),
    "check: step with args": lambda d: d["verification"].append({"check": "syslogd_running", "args": {}}),
    "check: on a check": lambda d: d["checks"].append({"id": "again", "check": "syslogd_running"}),
    "verification without action or check": lambda d: d["verification"].append({"id": "nothing"}),
    "when on a verification": lambda d: d["verification"][0].update(when={"failed": "syslogd_running"}),
}

GOOD = {
    "check without effect": lambda d: d["checks"][0].pop("effect", None),
    "check with effect read": lambda d: d["checks"][0].update(effect="read"),
    "check: step": lambda d: d["verification"].append({"check": "syslogd_running", "poll": {"timeout": 5}}),
    "check: step with its own id, title, timeout": lambda d: d["verification"].append(
        {"check": "port_free", "id": "port_still_free", "title": "t", "timeout": 5}
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_schema_accepts(good: dict[str, Any], name: str) -> None:
    assert _errors(_mutated(good, GOOD[name])) == []


@pytest.mark.parametrize("name", sorted(BAD))
def test_schema_rejects(good: dict[str, Any], name: str) -> None:
    assert _errors(good) == []
    assert _errors(_mutated(good, BAD[name])), f"schema accepted a playbook with {name}"


def test_generated_files_are_current() -> None:
    behind = schema.stale()
    assert behind == [], f"{', '.join(behind)} stale: regenerate with `{schema.COMMAND}` and commit"


def test_readme_lists_every_step_field_action_and_host_var() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ACTIONS:
        assert f"| `{name}` |" in readme
    for f in STEP_FIELDS:
        assert f"| `{f.name}` | {TYPE_TEXT[f.type]} |" in readme
    assert "| `syslog_probe` | true or false | `false` |" in readme


def test_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="stepfields:begin"):
        schema.readme_text("no markers here")


@pytest.mark.parametrize(
    ("extra", "line", "fragment"),
    [
        ("      port: 514\n      proto: sctp\n", 12, "arg 'proto' must be one of tcp, udp"),
        ("      port: 514\n      colour: red\n", 12, "has no arg 'colour' (args: address, module, port, proto)"),
        ("      port: '514'\n", 11, "arg 'port' must be a whole number or a {var} template"),
        ("", 6, "needs args ['port']"),
    ],
)
def test_loader_reports_a_bad_arg_at_its_line(tmp_path: Path, extra: str, line: int, fragment: str) -> None:
    path = tmp_path / "syslogd.yml"
    path.write_text(
        "module: syslogd\ntitle: t\nscope: s\nsymptom: y\nchecks:\n  - id: c\n    effect: read\n"
        "    action: port_listening\n    args:\n      module: syslogd\n" + extra
    )
    with pytest.raises(InputError) as err:
        load(path)
    assert f"syslogd.yml:{line}: step 'c': " in str(err.value)
    assert fragment in str(err.value)


def test_loader_refuses_an_option_named_like_a_host_var(tmp_path: Path) -> None:
    path = tmp_path / "syslogd.yml"
    text = (ROOT / "playbooks" / "syslogd.yml").read_text()
    path.write_text(text + "options:\n  web_port:\n    choices: [a, b]\n")
    with pytest.raises(InputError, match=r"syslogd.yml:\d+: option web_port shadows the host var web_port"):
        load(path)
