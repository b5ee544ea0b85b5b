"""playbooks/schema.json (for editors) accepts every shipped playbook and rejects broken ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner.actions import ACTIONS

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
    assert sorted(SCHEMA["$defs"]["step"]["properties"]["action"]["enum"]) == sorted(ACTIONS)


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
    "missing effect": lambda d: d["checks"][0].pop("effect"),
    "unknown action": lambda d: d["checks"][0].update(action="reboot_host"),
    "unknown top-level key": lambda d: d.update(owner="ops"),
    "unknown step key": lambda d: d["checks"][0].update(sudo=True),
    "unknown arg": lambda d: d["checks"][0]["args"].update(colour="red"),
    "missing required arg": lambda d: d["checks"][0]["args"].pop("module"),
    "check that changes": lambda d: d["checks"][0].update(effect="change"),
    "restart declared read": lambda d: d["remediation"][1].update(effect="read"),
    "disrupt without interrupts": lambda d: d["remediation"][1].pop("interrupts"),
    "remediation that polls": lambda d: d["remediation"][0].update(poll={"timeout": 5}),
    "unknown module": lambda d: d.update(module="sms_gateway"),
    "no checks": lambda d: d.update(checks=[]),
    "bad step id": lambda d: d["checks"][0].update(id="Bad-Id"),
    "remediation without verification": lambda d: d.pop("verification"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_schema_rejects(good: dict[str, Any], name: str) -> None:
    assert _errors(good) == []
    assert _errors(_mutated(good, BAD[name])), f"schema accepted a playbook with {name}"
