"""Load and validate playbooks: one YAML file per Campaign module, check → remediation → verification.

Owns: the step grammar, declared once in :data:`STEP_FIELDS` (each field's type, default, the phases
that accept it and its meaning; the loader's per-field checks, ``playbooks/schema.json`` and the
README's table of step fields all derive from it), the cross-references checked by hand (``when:`` and
``show:`` ids, check-typed args, ``check:`` steps that repeat a check), validation with ``file:line``
errors, the rules that make effects enforceable (checks and verifications are read-only; a step's
declared effect is never weaker than its action's), and the playbook's sha256 for the audit log.
Must not: build commands for a host (that is :mod:`runner.plan`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runner import hostvars, paths, yamlfile
from runner.actions import ACTIONS, Effect
from runner.errors import InputError, did_you_mean

PHASES = ("checks", "remediation", "verification")
PHASE_NAME = {"checks": "check", "remediation": "remediation", "verification": "verification"}
STEP_PHASES = ("check", "remediation", "verification")  # the phase names steps carry
READ_PHASES = ("check", "verification")  # their steps only read: effect is read there, and defaults to it
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# a site playbook may add a module beyond the shipped ones (webmdl, interactiond ...): its name becomes a
# command and the name of its run lock file, so it is a plain word that no built-in command already uses
SITE_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
COMMAND_WORDS = frozenset(
    {
        "all",
        "audit",
        "check",
        "collect",
        "history",
        "hold",
        "hosts",
        "list",
        "logs",
        "release",
        "show",
        "triage",
        "validate",
    }
)
TOP_KEYS = frozenset({"module", "title", "scope", "symptom", "keywords", "interrupts", "options", "notes", *PHASES})
WHEN_KEYS = frozenset({"failed", "passed", "not_failed", "option", "force"})
MAX_TIMEOUT = 3600.0

# --- the step grammar ------------------------------------------------------------------------------

FieldType = Literal["id", "check", "text", "effect", "action", "args", "when", "poll", "seconds", "ids", "bool"]
TYPE_TEXT: dict[str, str] = {
    "id": "a step id (a lowercase letter, then lowercase letters, digits or _; at most 64)",
    "check": "the id of a check of this playbook",
    "text": "a string",
    "effect": "read, change or disrupt",
    "action": "an action name",
    "args": "a mapping of the action's args",
    "when": "a mapping of failed, passed, not_failed, option, force",
    "poll": "{timeout: S, interval: S}",
    "seconds": f"seconds in (0, {MAX_TIMEOUT:g}]",
    "ids": "a list of check ids",
    "bool": "true or false",
}
BLANK_IS_DEFAULT = ("args", "when", "poll", "ids")  # types where a key written empty (null) counts as not written
FromCheck = Literal["", "default", "only"]


@dataclass(frozen=True)
class StepField:
    """One key a step may write: its type, the phases that accept it, its meaning and its default.

    ``default`` is the value a step that does not write the key gets (None: none; ``default_text`` says
    it in words where it is computed). ``required`` names the phases where a step must write it.
    ``from_check`` says what a verification written ``check: <id>`` does with it: ``only`` takes it from
    that check and may not write it; ``default`` takes it from that check unless written.
    """

    name: str
    type: FieldType
    phases: tuple[str, ...]
    meaning: str
    default: Any = None
    required: tuple[str, ...] = ()
    from_check: FromCheck = ""
    default_text: str = ""


STEP_FIELDS: tuple[StepField, ...] = (
    StepField(
        "id",
        "id",
        STEP_PHASES,
        "the step's name in when:, show:, reports and the audit log; unique in the playbook, except that a "
        "check: verification may share the id of the check it repeats",
        required=STEP_PHASES,
        from_check="default",
        default_text="a check: verification takes its check's",
    ),
    StepField(
        "title",
        "text",
        STEP_PHASES,
        "one line a person reads in show, prompts and reports",
        from_check="default",
        default_text="the action's name; a check: verification takes its check's",
    ),
    StepField(
        "effect",
        "effect",
        STEP_PHASES,
        "what the step does to the host; never weaker than its action's; checks and verification only read",
        default="read",
        required=("remediation",),
        default_text="`read` in checks and verification; a remediation step must write it",
    ),
    StepField(
        "action",
        "action",
        STEP_PHASES,
        "what the step runs and how its result is judged (one of the actions the README lists)",
        required=STEP_PHASES,
        from_check="only",
        default_text="a check: verification takes its check's",
    ),
    StepField(
        "args",
        "args",
        STEP_PHASES,
        "the action's args (each action's are listed in the README)",
        default={},
        from_check="only",
        default_text="none; a check: verification takes its check's",
    ),
    StepField(
        "check",
        "check",
        ("verification",),
        "repeat this check: its action and args exactly (and, unless written, its id, title and timeout); "
        "cannot be written with action or args",
    ),
    StepField(
        "when",
        "when",
        ("remediation",),
        "run only if: failed (any of these checks found a problem), passed (all of these passed), not_failed "
        "(none of these found a problem), option (playbook options have these values), force (only with --force)",
        default_text="always",
    ),
    StepField(
        "poll",
        "poll",
        ("verification",),
        "probe again every interval seconds (default 1) until it passes or timeout seconds have passed",
        default_text="probed once",
    ),
    StepField(
        "timeout",
        "seconds",
        STEP_PHASES,
        "the command's time limit on the host",
        default=30,
        from_check="default",
        default_text="`30`; a check: verification takes its check's",
    ),
    StepField(
        "interrupts",
        "text",
        ("remediation",),
        "what the step interrupts, shown before confirmation; required when effect is disrupt",
    ),
    StepField("why", "text", STEP_PHASES, "why the step is there, shown by remediate show"),
    StepField(
        "show",
        "ids",
        ("remediation",),
        "checks whose findings the confirmation prompt shows (e.g. the sessions a restart cuts)",
        default=[],
        default_text="none",
    ),
    StepField(
        "inform",
        "bool",
        ("check",),
        "a check that only informs (shown, e.g. in the confirmation prompt): never a reason to act or to fail",
        default=False,
    ),
    StepField(
        "gate",
        "bool",
        ("check",),
        "when this check finds its module absent (not enabled, or not this server's role), the whole "
        "playbook does not apply to the host",
        default=False,
    ),
)


def step_fields() -> dict[str, StepField]:
    """:data:`STEP_FIELDS` by name (read at each call, so the loader and the schema see one table)."""
    return {f.name: f for f in STEP_FIELDS}


def phase_words(phases: Iterable[str]) -> str:
    """``check and verification`` for the phases a field is allowed in."""
    names = list(phases)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


STEP_KEYS = frozenset(f.name for f in STEP_FIELDS)


@dataclass(frozen=True)
class Poll:
    timeout: float
    interval: float


@dataclass(frozen=True)
class When:
    failed: tuple[str, ...] = ()  # run if any of these checks failed
    passed: tuple[str, ...] = ()  # run only if all of these checks passed
    not_failed: tuple[str, ...] = ()  # run only if none of these checks found a problem (skipped counts as not)
    option: tuple[tuple[str, str], ...] = ()  # run only if every option has this value
    force: bool = False  # run only when the operator asked with --force (e.g. a restart an inferred check cannot pick)


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    phase: str  # check | remediation | verification
    effect: Effect
    action: str
    args: dict[str, Any]
    when: When | None
    poll: Poll | None
    timeout: float
    interrupts: str | None
    why: str | None
    line: int
    show: tuple[str, ...] = ()  # checks whose findings the confirmation prompt shows
    inform: bool = False  # a check that only informs (e.g. the sessions a restart cuts): never a reason to act or fail
    gate: bool = False  # a check whose "not applicable" means the whole playbook does not apply to this host
    repeats: str | None = None  # a verification written ``check: <id>``: the check whose action and args it repeats


@dataclass(frozen=True)
class Option:
    name: str
    choices: tuple[str, ...]
    default: str
    help: str


@dataclass(frozen=True)
class Playbook:
    module: str
    title: str
    scope: str
    symptom: str
    keywords: tuple[str, ...]
    options: dict[str, Option]
    checks: tuple[Step, ...]
    remediation: tuple[Step, ...]
    verification: tuple[Step, ...]
    path: str
    sha256: str
    notes: str = ""
    # every step by id; a verification that shares the id of the check it repeats is in ``verification``
    steps_by_id: dict[str, Step] = field(default_factory=dict)

    def steps(self) -> tuple[Step, ...]:
        return self.checks + self.remediation + self.verification

    @property
    def disruptive(self) -> bool:
        return any(s.effect is Effect.DISRUPT for s in self.remediation)


def template_vars(playbooks: Iterable[Playbook]) -> set[str]:
    """The host vars the playbooks' ``{var}`` templates name (their options are not host vars)."""
    out: set[str] = set()
    for pb in playbooks:
        named: set[str] = set()
        for step in pb.steps():
            named |= hostvars.fields_in(step.args.values())
        out |= named - set(pb.options)
    return out


def default_dir() -> Path:
    """The shipped playbook directory (searched last, after the site directories)."""
    return paths.shipped_dir()


Where = Path | paths.SearchPath | None  # one folder only, a search path, or None: $REMEDIATE_PLAYBOOKS + shipped


def search_path(where: Where = None) -> paths.SearchPath:
    """The search path ``where`` stands for (see :mod:`runner.paths`)."""
    if isinstance(where, paths.SearchPath):
        return where
    return paths.SearchPath.only(where) if where is not None else paths.SearchPath.build()


def path_for(module: str, directory: Where = None) -> Path:
    """The file that provides ``module`` (for a search path: the first that has it)."""
    if isinstance(directory, Path):
        return directory / f"{module}.yml"
    found = search_path(directory).find(module)
    return found if found is not None else search_path(directory).places[0].path / f"{module}.yml"


def available(directory: Where = None) -> list[str]:
    """Module names on the search path (a missing single folder has none; StrictModes raise InputError)."""
    if isinstance(directory, Path) and not directory.is_dir():
        return []
    return sorted(search_path(directory).modules())


def load_module(module: str, directory: Where = None) -> Playbook:
    where = search_path(directory)
    files = where.modules()
    if module not in files:
        if not files:
            raise InputError(
                f"unknown module {module!r}", where="MODULE", hint=f"no playbook found; looked in: {where.looked_in()}"
            )
        hint = did_you_mean(module, files, f"modules: {', '.join(sorted(files))}")
        raise InputError(f"unknown module {module!r}", where="MODULE", hint=hint)
    return load(files[module])


def load(path: Path) -> Playbook:
    raw = path.read_bytes() if path.is_file() else b""
    data = yamlfile.load_file(path)
    return parse(data, str(path), hashlib.sha256(raw).hexdigest())


def _err(msg: str, path: str, line: int | None, hint: str | None = None) -> InputError:
    return InputError(msg, path=path, line=line, hint=hint)


def _text(data: Any, key: str, path: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _err(f"{key!r} must be a non-empty string", path, yamlfile.line_of(data, key) or yamlfile.line_of(data))
    return value.strip()


def parse(data: Any, path: str, sha256: str = "") -> Playbook:
    """Validate parsed YAML into a :class:`Playbook`; raise :class:`InputError` with file:line."""
    if not isinstance(data, dict):
        raise _err("a playbook must be a mapping (module:, checks:, remediation:, verification:)", path, 1)
    for key in data:
        if key not in TOP_KEYS:
            raise _err(
                f"unknown key {key!r}",
                path,
                yamlfile.line_of(data, key),
                f"expected one of {', '.join(sorted(TOP_KEYS))}",
            )
    module = _text(data, "module", path)
    shipped = paths.shipped_modules()
    if module not in shipped and (not SITE_MODULE.fullmatch(module) or module in COMMAND_WORDS):
        raise _err(
            f"bad module name {module!r}",
            path,
            yamlfile.line_of(data, "module"),
            f"a shipped module ({', '.join(shipped)}) or a site module: a letter, then letters, digits or _,"
            f" not a command ({', '.join(sorted(COMMAND_WORDS))})",
        )
    if Path(path).suffix in (".yml", ".yaml") and Path(path).stem != module:
        raise _err(f"module {module!r} must live in {module}.yml", path, yamlfile.line_of(data, "module"))
    options = _options(data, path)
    keywords = data.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise _err("'keywords' must be a list of strings", path, yamlfile.line_of(data, "keywords"))
    phases: dict[str, tuple[Step, ...]] = {}
    seen: dict[str, Step] = {}
    for phase in PHASES:
        phases[phase] = _steps(data, phase, path, seen, options)
    if not phases["checks"]:
        raise _err("a playbook needs at least one check", path, yamlfile.line_of(data, "checks") or 1)
    check_ids = {s.id for s in phases["checks"]}
    inform_ids = {s.id for s in phases["checks"] if s.inform}
    for step in phases["remediation"] + phases["verification"]:
        for ref in (step.when.failed + step.when.passed + step.when.not_failed) if step.when else ():
            if ref not in check_ids:
                raise _err(f"step {step.id!r}: 'when' names {ref!r}, which is not a check", path, step.line)
            if ref in inform_ids:
                raise _err(f"step {step.id!r}: 'when' names {ref!r}, a check that only informs", path, step.line)
        for ref in step.show:
            if ref not in check_ids:
                raise _err(f"step {step.id!r}: 'show' names {ref!r}, which is not a check", path, step.line)
        for arg in ACTIONS[step.action].args:
            source = step.args.get(arg.name)
            if arg.type == "check" and source is not None and source not in check_ids:
                raise _err(f"step {step.id!r}: {arg.name!r} names {source!r}, which is not a check", path, step.line)
    if phases["remediation"] and not phases["verification"]:
        raise _err("a playbook that remediates must verify", path, yamlfile.line_of(data, "remediation"))
    notes = _text(data, "notes", path, required=False) or _text(data, "interrupts", path, required=False)
    return Playbook(
        module=module,
        title=_text(data, "title", path),
        scope=_text(data, "scope", path),
        symptom=_text(data, "symptom", path),
        keywords=tuple(keywords),
        options=options,
        checks=phases["checks"],
        remediation=phases["remediation"],
        verification=phases["verification"],
        path=path,
        sha256=sha256,
        notes=notes,
        steps_by_id=seen,
    )


def _options(data: Any, path: str) -> dict[str, Option]:
    raw = data.get("options") or {}
    if not isinstance(raw, dict):
        raise _err("'options' must be a mapping", path, yamlfile.line_of(data, "options"))
    out: dict[str, Option] = {}
    for name, body in raw.items():
        line = yamlfile.line_of(raw, name)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)) or not isinstance(body, dict):
            raise _err(f"option {name!r} must be a lowercase name mapping to choices/default/help", path, line)
        if name in hostvars.VARS:
            raise _err(
                f"option {name} shadows the host var {name}",
                path,
                line,
                "rename the option: an option is read before the inventory's vars",
            )
        unknown = set(body) - {"choices", "default", "help"}
        if unknown:
            raise _err(f"option {name!r}: unknown key {sorted(unknown)[0]!r}", path, line)
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
            raise _err(f"option {name!r}: 'choices' must be a non-empty list of strings", path, line)
        default = body.get("default", choices[0])
        if default not in choices:
            raise _err(f"option {name!r}: default {default!r} is not a choice", path, line)
        out[name] = Option(name, tuple(choices), str(default), str(body.get("help", "")))
    return out


def _steps(data: Any, phase: str, path: str, seen: dict[str, Step], options: dict[str, Option]) -> tuple[Step, ...]:
    raw = data.get(phase)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err(f"{phase!r} must be a list of steps", path, yamlfile.line_of(data, phase))
    checks = {s.id: s for s in seen.values() if s.phase == "check"}
    steps: list[Step] = []
    for item in raw:
        step = _step(item, PHASE_NAME[phase], path, options, yamlfile.line_of(data, phase) or 1, checks)
        mine = {s.id for s in steps}
        shared = step.repeats == step.id and step.id not in mine  # a check: step under its check's id
        if step.id in mine or (step.id in seen and not shared):
            hint = "give this check: step its own id:" if step.repeats == step.id else None
            raise _err(f"duplicate step id {step.id!r}", path, step.line, hint)
        seen.setdefault(step.id, step)
        steps.append(step)
    return tuple(steps)


def _step(
    item: Any, phase: str, path: str, options: dict[str, Option], phase_line: int, checks: Mapping[str, Step]
) -> Step:
    if not isinstance(item, dict):
        raise _err("a step must be a mapping with id, effect, action", path, phase_line)
    fields = step_fields()
    line = yamlfile.line_of(item) or 0
    for key in item:
        if key not in fields:
            allowed = sorted(f.name for f in fields.values() if phase in f.phases)
            raise _err(f"unknown step key {key!r}", path, yamlfile.line_of(item, key), f"expected {', '.join(allowed)}")
    label = item.get("id", item.get("check"))
    prefix = f"step {label!r}: " if isinstance(label, str) else ""
    for key in item:
        if phase not in fields[key].phases:
            raise _err(
                f"{prefix}{key!r} belongs to {phase_words(fields[key].phases)} steps only, not to a {phase} step",
                path,
                yamlfile.line_of(item, key),
            )
    repeats = "check" in item
    for f in fields.values():
        if phase in f.required and f.name not in item and not (repeats and f.from_check):
            raise _err(f"step is missing {f.name!r}", path, line)
    if repeats:
        for f in fields.values():
            if f.from_check == "only" and f.name in item:
                raise _err(
                    f"{prefix}a check: step repeats its check's action and args; it cannot also write {f.name!r}",
                    path,
                    yamlfile.line_of(item, f.name),
                    "write a separate step (with its own id) for another action",
                )
    # the id first: every later message names the step
    step_id = item["id"] if "id" in item else item["check"]
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        key = "id" if "id" in item else "check"
        raise _err(f"invalid step id {step_id!r}", path, yamlfile.line_of(item, key), "lowercase letters, digits, '_'")
    check = _repeated(item, step_id, path, checks) if repeats else None
    values: dict[str, Any] = {}
    for f in fields.values():
        if f.name in item:
            values[f.name] = _value(f, item[f.name], step_id, path, yamlfile.line_of(item, f.name), options)
        elif check is not None and f.from_check:
            values[f.name] = getattr(check, f.name)
        else:
            values[f.name] = f.default
    effect: Effect = values["effect"] if isinstance(values["effect"], Effect) else Effect.parse(values["effect"])
    action = ACTIONS[values["action"]]
    args: dict[str, Any] = dict(values["args"])
    _effect_rules(step_id, phase, effect, action.name, path, item, line, values["interrupts"])
    problems = action.problems(args)
    if problems and check is None:
        first = problems[0]
        where = (yamlfile.line_of(item.get("args"), first.arg) if first.arg is not None else None) or line
        raise _err(f"step {step_id!r}: {first.what}", path, where, first.hint)
    return Step(
        id=step_id,
        title=values["title"] or action.name,
        phase=phase,
        effect=effect,
        action=action.name,
        args=args,
        when=values["when"],
        poll=values["poll"],
        timeout=float(values["timeout"]),
        interrupts=values["interrupts"],
        why=values["why"],
        line=line,
        show=tuple(values["show"]),
        inform=values["inform"],
        gate=values["gate"],
        repeats=check.id if check is not None else None,
    )


def _repeated(item: Any, step_id: str, path: str, checks: Mapping[str, Step]) -> Step:
    """The check a ``check: <id>`` verification names (a cross-reference, checked here by hand)."""
    ref = item["check"]
    where = yamlfile.line_of(item, "check")
    if not isinstance(ref, str) or ref not in checks:
        known = ", ".join(checks) or "none"
        raise _err(f"step {step_id!r}: 'check' names {ref!r}, which is not a check", path, where, f"checks: {known}")
    if checks[ref].inform:
        raise _err(f"step {step_id!r}: 'check' names {ref!r}, a check that only informs", path, where)
    found: Step = checks[ref]
    return found


def _value(f: StepField, raw: Any, step_id: str, path: str, line: int | None, options: dict[str, Option]) -> Any:
    """One written field, checked against its type in :data:`STEP_FIELDS`."""
    kind = f.type
    if raw is None and kind in BLANK_IS_DEFAULT:
        return f.default
    if kind == "poll":
        return _poll(raw, step_id, path, line)
    if kind == "when":
        return _when(raw, step_id, path, line, options)
    if kind == "effect":
        try:
            return Effect.parse(str(raw))
        except KeyError:
            pass
    elif kind == "action":
        if str(raw) in ACTIONS:
            return str(raw)
        listing = f"actions: {', '.join(sorted(ACTIONS))}"
        raise _err(f"step {step_id!r}: unknown action {raw!r}", path, line, did_you_mean(str(raw), ACTIONS, listing))
    elif kind in ("id", "check"):
        if isinstance(raw, str) and STEP_ID.match(raw):
            return raw
    elif kind == "text":
        if isinstance(raw, str):
            return raw.strip() or None
    elif kind == "args":
        if isinstance(raw, dict):
            return raw
    elif kind == "seconds":
        if not isinstance(raw, bool) and isinstance(raw, int | float) and 0 < raw <= MAX_TIMEOUT:
            return raw
    elif kind == "ids":
        if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            return raw
    elif kind == "bool" and isinstance(raw, bool):
        return raw
    shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
    raise _err(f"step {step_id!r}: {f.name} must be {TYPE_TEXT[kind]}, got {shown}", path, line)


def _effect_rules(
    step_id: str, phase: str, effect: Effect, action_name: str, path: str, item: Any, line: int, interrupts: Any
) -> None:
    """A declared effect is never weaker than the action's; read phases only read; disrupt says what it cuts."""
    action = ACTIONS[action_name]
    where = yamlfile.line_of(item, "effect") if "effect" in item else line
    if effect < action.min_effect:
        raise _err(
            f"step {step_id!r}: action {action.name} {action.summary!r} cannot be declared "
            f"{effect}; it is at least {action.min_effect}",
            path,
            where,
        )
    if action.read_only and effect is not Effect.READ:
        raise _err(f"step {step_id!r}: action {action.name} only reads; declare effect: read", path, where)
    if phase in READ_PHASES and effect is not Effect.READ:
        raise _err(f"step {step_id!r}: {phase} steps must be read-only (effect: read)", path, where)
    if effect is Effect.DISRUPT and not interrupts:
        raise _err(f"step {step_id!r}: a disruptive step must say what it interrupts ('interrupts:')", path, line)


def _poll(raw: Any, step_id: str, path: str, line: int | None) -> Poll:
    if not isinstance(raw, dict) or set(raw) - {"timeout", "interval"} or "timeout" not in raw:
        raise _err(f"step {step_id!r}: poll must be {{timeout: S, interval: S}}", path, line)
    timeout, interval = raw["timeout"], raw.get("interval", 1)
    for value in (timeout, interval):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
            raise _err(f"step {step_id!r}: poll values must be seconds in (0, {MAX_TIMEOUT:g}]", path, line)
    return Poll(float(timeout), float(interval))


def _when(raw: Any, step_id: str, path: str, line: int | None, options: dict[str, Option]) -> When:
    if not isinstance(raw, dict) or not raw or set(raw) - WHEN_KEYS:
        raise _err(f"step {step_id!r}: when takes failed:, passed:, not_failed:, option: and/or force:", path, line)

    def ids(key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _err(f"step {step_id!r}: when.{key} must be a check id or a list of them", path, line)
        return tuple(value)

    opts = raw.get("option") or {}
    if not isinstance(opts, dict):
        raise _err(f"step {step_id!r}: when.option must map option names to values", path, line)
    pairs = []
    for name, value in opts.items():
        if name not in options or value not in options[name].choices:
            raise _err(f"step {step_id!r}: when.option {name}={value!r} is not a declared option choice", path, line)
        pairs.append((str(name), str(value)))
    force = raw.get("force", False)
    if not isinstance(force, bool):
        raise _err(f"step {step_id!r}: when.force must be true or false", path, line)
    return When(
        failed=ids("failed"), passed=ids("passed"), not_failed=ids("not_failed"), option=tuple(pairs), force=force
    )
