"""Generate ``playbooks/schema.json`` and the README's step field, action and host var lists from their
one source: the step field table (:data:`runner.playbook.STEP_FIELDS`), the actions' argument specs
(:mod:`runner.actions`) and the host var table (:mod:`runner.hostvars`).

Owns: those generated texts and ``python -m runner.schema --write | --check``. The README is rewritten
only between its marker comments. Must not: validate playbooks (:mod:`runner.playbook` is the authority),
or declare a step field (each is declared once, in the table).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runner import hostvars, paths, playbook
from runner.actions import ACTIONS, FAMILIES, Action, ArgSpec, Effect
from runner.playbook import BLANK_IS_DEFAULT, COMMAND_WORDS, MAX_TIMEOUT, READ_PHASES, SITE_MODULE, STEP_ID, StepField
from runner.templates import FIELD

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "playbooks" / "schema.json"
README_PATH = ROOT / "README.md"
COMMAND = "python -m runner.schema --write"
SECTIONS = ("stepfields", "actions", "hostvars")
DEFS = {"check": "checkStep", "remediation": "remediationStep", "verification": "verificationStep"}


def _arg_schema(arg: ArgSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"description": arg.description}
    kind = arg.type
    if kind in ("str", "template"):
        out["type"] = "string"
        if arg.pattern:
            out["pattern"] = f"^(?:{arg.pattern})$"
    elif kind == "check":
        out["$ref"] = "#/$defs/id"
    elif kind == "enum":
        out["enum"] = list(arg.choices)
    elif kind == "bool":
        out["type"] = "boolean"
    elif kind in ("int", "float"):
        number: dict[str, Any] = {"type": "integer" if kind == "int" else "number"}
        if arg.minimum is not None:
            number["minimum"] = arg.minimum if kind == "float" else int(arg.minimum)
        if arg.template:
            out["anyOf"] = [number, {"type": "string", "pattern": FIELD.pattern}]
        else:
            out.update(number)
    else:
        out["type"] = "array"
        out["items"] = {"enum": list(arg.choices)} if arg.choices else {"type": "string"}
    if arg.default is not None:
        out["default"] = arg.default
    return out


def _effect_schema(act: Action) -> dict[str, Any]:
    if act.read_only:
        return {"const": "read"}
    return {"enum": [str(e) for e in Effect if e >= act.min_effect]}


def _action_rule(act: Action) -> dict[str, Any]:
    args: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {a.name: _arg_schema(a) for a in act.args},
    }
    required = [a.name for a in act.args if a.required]
    then: dict[str, Any] = {"properties": {"action": {"const": act.name}, "args": args}}
    if required:
        args["required"] = required
        then["required"] = ["args"]
    else:  # args written empty count as none, as the loader reads them
        then["properties"]["args"] = {"anyOf": [args, {"type": "null"}]}
    if act.min_effect is not Effect.READ or act.read_only:
        then["properties"]["effect"] = _effect_schema(act)
    return {"if": {"properties": {"action": {"const": act.name}}, "required": ["action"]}, "then": then}


def _field_schema(f: StepField, phase: str) -> dict[str, Any]:
    """One step field's JSON Schema, from its type in the table (and the effect rule of read phases)."""
    by_type: dict[str, dict[str, Any]] = {
        "id": {"$ref": "#/$defs/id"},
        "check": {"$ref": "#/$defs/id"},
        "text": {"type": "string"},
        "effect": {"enum": [str(e) for e in Effect]},
        "action": {"enum": sorted(ACTIONS)},
        "args": {"type": "object"},
        "when": {"$ref": "#/$defs/when"},
        "poll": {"$ref": "#/$defs/poll"},
        "seconds": {"$ref": "#/$defs/seconds"},
        "ids": {"type": "array", "items": {"$ref": "#/$defs/id"}},
        "bool": {"type": "boolean"},
    }
    out: dict[str, Any] = {"description": f.meaning, **by_type[f.type]}
    if f.type == "effect" and phase in READ_PHASES:
        out.pop("enum")
        out["const"] = str(Effect.READ)
    if f.type in BLANK_IS_DEFAULT:  # written empty, it counts as not written
        out = {"description": f.meaning, "anyOf": [by_type[f.type], {"type": "null"}]}
    if f.default is not None and phase not in f.required:
        out["default"] = f.default
    return out


def _step_schema(phase: str) -> dict[str, Any]:
    """The schema of one phase's steps: the table's fields that phase accepts, with their types."""
    fields = [f for f in playbook.STEP_FIELDS if phase in f.phases]
    required = [f.name for f in fields if phase in f.required]
    out: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _field_schema(f, phase) for f in fields},
    }
    rules: list[dict[str, Any]] = [{"$ref": "#/$defs/actionRules"}]
    if any(f.name == "check" for f in fields):  # a check: step gets these from the check it repeats
        supplied = [f.name for f in fields if f.from_check and f.name in required]
        only = [f.name for f in fields if f.from_check == "only"]
        required = [n for n in required if n not in supplied]
        rules.append(
            {
                "if": {"required": ["check"]},
                "then": {"not": {"anyOf": [{"required": [n]} for n in only]}},
                "else": {"required": supplied},
            }
        )
    if phase not in READ_PHASES:
        rules.append(
            {
                "if": {"properties": {"effect": {"const": "disrupt"}}, "required": ["effect"]},
                "then": {"required": ["interrupts"], "properties": {"interrupts": {"$ref": "#/$defs/text"}}},
            }
        )
    if required:
        out["required"] = required
    out["allOf"] = rules
    return out


def schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a playbook, for editors."""
    ids = {"oneOf": [{"$ref": "#/$defs/id"}, {"type": "array", "items": {"$ref": "#/$defs/id"}}]}
    seconds = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT}
    option = {
        "type": "object",
        "additionalProperties": False,
        "required": ["choices"],
        "properties": {
            "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "default": {"type": "string"},
            "help": {"type": "string"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/remediate/playbook.schema.json",
        "title": "remediate playbook",
        "description": "One Campaign v7 module: checks -> remediation -> verification. Generated from the "
        f"step field table and the actions' argument specs by `{COMMAND}`; runner/playbook.py stays the "
        "authority (it also checks cross-references such as when/show/check ids).",
        "type": "object",
        "additionalProperties": False,
        "required": ["module", "title", "scope", "symptom", "checks"],
        "properties": {
            "module": {
                "description": "one of the shipped modules, or a site module's name (a letter, then letters, "
                "digits or _; not a command word)",
                "anyOf": [
                    {"enum": list(paths.shipped_modules())},
                    {"type": "string", "pattern": SITE_MODULE.pattern, "not": {"enum": sorted(COMMAND_WORDS)}},
                ],
            },
            "title": {"$ref": "#/$defs/text"},
            "scope": {"$ref": "#/$defs/text"},
            "symptom": {"$ref": "#/$defs/text"},
            "keywords": {"type": "array", "items": {"type": "string"}},
            "interrupts": {"type": "string"},
            "notes": {
                "description": "what Adobe documents about this module and which pages say it; remediate show "
                "prints it",
                "$ref": "#/$defs/text",
            },
            "options": {
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$", "not": {"enum": sorted(hostvars.VARS)}},
                "additionalProperties": option,
            },
            "checks": {"type": "array", "minItems": 1, "items": {"$ref": f"#/$defs/{DEFS['check']}"}},
            "remediation": {"type": "array", "items": {"$ref": f"#/$defs/{DEFS['remediation']}"}},
            "verification": {"type": "array", "items": {"$ref": f"#/$defs/{DEFS['verification']}"}},
        },
        "dependentRequired": {"remediation": ["verification"]},
        "$defs": {
            "text": {"type": "string", "minLength": 1, "pattern": "\\S"},
            "id": {"type": "string", "pattern": STEP_ID.pattern},
            "seconds": seconds,
            "when": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": {
                    "failed": ids,
                    "passed": ids,
                    "not_failed": ids,
                    "option": {"type": "object", "additionalProperties": {"type": "string"}},
                    "force": {"type": "boolean"},
                },
            },
            "poll": {
                "type": "object",
                "additionalProperties": False,
                "required": ["timeout"],
                "properties": {"timeout": {"$ref": "#/$defs/seconds"}, "interval": {"$ref": "#/$defs/seconds"}},
            },
            "actionRules": {"allOf": [_action_rule(ACTIONS[name]) for name in sorted(ACTIONS)]},
            **{DEFS[phase]: _step_schema(phase) for phase in playbook.STEP_PHASES},
        },
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


# --- README sections ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _arg_text(arg: ArgSpec) -> str:
    if arg.required:
        state = "required"
    elif arg.default is None or arg.default == []:
        state = "optional"
    else:
        state = f"default `{arg.default}`" if len(str(arg.default)) <= 30 else "has a default"
    kind = f"one of {len(arg.choices)} names" if arg.type == "enum" and len(arg.choices) > 5 else arg.kind_text()
    return f"`{arg.name}` ({kind}; {state}): {arg.description}"


def actions_section() -> str:
    lines = [
        "| action | least effect | what it does | args |",
        "|---|---|---|---|",
    ]
    order = [f.__name__.rsplit(".", 1)[-1] for f in FAMILIES]
    for act in sorted(ACTIONS.values(), key=lambda a: order.index(a.family) if a.family in order else len(order)):
        effect = "read only" if act.read_only else str(act.min_effect)
        args = "<br>".join(_cell(_arg_text(a)) for a in act.args) or "none"
        lines.append(f"| `{act.name}` | {effect} | {_cell(act.summary)} | {args} |")
    return "\n".join(lines)


def _default_text(f: StepField) -> str:
    if f.required and set(f.required) == set(f.phases):
        return "required" + (f" ({f.default_text})" if f.default_text else "")
    if f.default_text:
        return f.default_text
    if f.default is None:
        return ""
    return f"`{str(f.default).lower() if isinstance(f.default, bool) else f.default}`"


def stepfields_section() -> str:
    lines = ["| field | type | default | in | meaning |", "|---|---|---|---|---|"]
    for f in playbook.STEP_FIELDS:
        where = "every phase" if set(f.phases) == set(playbook.STEP_PHASES) else playbook.phase_words(f.phases)
        cells = (f"`{f.name}`", playbook.TYPE_TEXT[f.type], _default_text(f), where, f.meaning)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def hostvars_section() -> str:
    lines = ["| var | type | default | meaning |", "|---|---|---|---|"]
    for var in hostvars.VARS.values():
        default = (
            "" if var.default is None else f"`{str(var.default).lower() if var.default is False else var.default}`"
        )
        lines.append(f"| `{var.name}` | {hostvars.describe(var)} | {default} | {_cell(var.meaning)} |")
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- {name}:begin (generated by `{COMMAND}`) -->", f"<!-- {name}:end -->")


def readme_text(current: str) -> str:
    """``current`` with each marked section replaced by its generated text."""
    out = current
    for name in SECTIONS:
        begin, end = _markers(name)
        start, stop = out.find(begin), out.find(end)
        if start < 0 or stop < start:
            raise ValueError(f"README.md has no {begin} ... {end} section")
        body = {"stepfields": stepfields_section, "actions": actions_section, "hostvars": hostvars_section}[name]()
        out = out[: start + len(begin)] + "\n" + body + "\n" + out[stop:]
    return out


def stale() -> list[str]:
    """The generated files whose committed text differs from what the specs generate."""
    out = []
    if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text() != schema_text():
        out.append(str(SCHEMA_PATH.relative_to(ROOT)))
    readme = README_PATH.read_text()
    if readme_text(readme) != readme:
        out.append(str(README_PATH.relative_to(ROOT)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.schema", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite playbooks/schema.json and the README sections")
    parser.add_argument("--check", action="store_true", help="exit 1 when either is stale")
    opts = parser.parse_args(argv)
    if opts.write:
        SCHEMA_PATH.write_text(schema_text())
        README_PATH.write_text(readme_text(README_PATH.read_text()))
        return 0
    if opts.check:
        behind = stale()
        for path in behind:
            sys.stderr.write(f"{path}: stale (regenerate with {COMMAND})\n")
        return 1 if behind else 0
    sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
