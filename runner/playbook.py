"""Load and validate playbooks: one YAML file per Campaign module, check → remediation → verification.

Owns: the playbook schema (mirrored for editors in ``playbooks/schema.json``), validation with
``file:line`` errors, the rules that make effects enforceable (checks and verifications are read-only;
a step's declared effect is never weaker than its action's), and the playbook's sha256 for the audit
log. Must not: build commands for a host (that is :mod:`runner.plan`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import hostvars, paths, yamlfile
from runner.actions import ACTIONS, Effect
from runner.campaign import MODULES
from runner.errors import InputError

PHASES = ("checks", "remediation", "verification")
PHASE_NAME = {"checks": "check", "remediation": "remediation", "verification": "verification"}
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# a site playbook may add a module beyond the shipped ones (webmdl, interactiond ...): its name becomes a
# command and the name of its run lock file, so it is a plain word that no built-in command already uses
SITE_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
COMMAND_WORDS = frozenset({"all", "audit", "check", "hosts", "list", "show", "triage", "validate"})
TOP_KEYS = frozenset({"module", "title", "scope", "symptom", "keywords", "interrupts", "options", "notes", *PHASES})
STEP_KEYS = frozenset(
    {
        "id",
        "title",
        "effect",
        "action",
        "args",
        "when",
        "poll",
        "timeout",
        "interrupts",
        "why",
        "show",
        "inform",
        "gate",
    }
)
WHEN_KEYS = frozenset({"failed", "passed", "not_failed", "option", "force"})
MAX_TIMEOUT = 3600.0


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
        raise InputError(f"unknown module {module!r}", where="MODULE", hint=f"modules: {', '.join(sorted(files))}")
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
    if module not in MODULES and (not SITE_MODULE.fullmatch(module) or module in COMMAND_WORDS):
        raise _err(
            f"bad module name {module!r}",
            path,
            yamlfile.line_of(data, "module"),
            f"a shipped module ({', '.join(MODULES)}) or a site module: a letter, then letters, digits or _,"
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
    interrupts = data.get("interrupts")
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
        notes=str(data.get("notes") or interrupts or "").strip(),
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
    steps = []
    for item in raw:
        step = _step(item, PHASE_NAME[phase], path, options, yamlfile.line_of(data, phase) or 1)
        if step.id in seen:
            raise _err(f"duplicate step id {step.id!r}", path, step.line)
        seen[step.id] = step
        steps.append(step)
    return tuple(steps)


def _step(item: Any, phase: str, path: str, options: dict[str, Option], phase_line: int) -> Step:
    if not isinstance(item, dict):
        raise _err("a step must be a mapping with id, effect, action", path, phase_line)
    line = yamlfile.line_of(item) or 0
    for key in item:
        if key not in STEP_KEYS:
            raise _err(
                f"unknown step key {key!r}",
                path,
                yamlfile.line_of(item, key),
                f"expected {', '.join(sorted(STEP_KEYS))}",
            )
    for key in ("id", "effect", "action"):
        if key not in item:
            raise _err(f"step is missing {key!r}", path, line)
    step_id = item["id"]
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        raise _err(f"invalid step id {step_id!r}", path, yamlfile.line_of(item, "id"), "lowercase letters, digits, '_'")
    try:
        effect = Effect.parse(str(item["effect"]))
    except KeyError:
        raise _err(
            f"step {step_id!r}: effect must be read, change or disrupt, got {item['effect']!r}",
            path,
            yamlfile.line_of(item, "effect"),
        ) from None
    action_name = item["action"]
    action = ACTIONS.get(str(action_name))
    if action is None:
        raise _err(
            f"step {step_id!r}: unknown action {action_name!r}",
            path,
            yamlfile.line_of(item, "action"),
            f"actions: {', '.join(sorted(ACTIONS))}",
        )
    if effect < action.min_effect:
        raise _err(
            f"step {step_id!r}: action {action.name} {action.summary!r} cannot be declared "
            f"{effect}; it is at least {action.min_effect}",
            path,
            yamlfile.line_of(item, "effect"),
        )
    if action.read_only and effect is not Effect.READ:
        raise _err(
            f"step {step_id!r}: action {action.name} only reads; declare effect: read",
            path,
            yamlfile.line_of(item, "effect"),
        )
    if phase in ("check", "verification") and effect is not Effect.READ:
        raise _err(
            f"step {step_id!r}: {phase} steps must be read-only (effect: read)", path, yamlfile.line_of(item, "effect")
        )
    args = item.get("args") or {}
    if not isinstance(args, dict):
        raise _err(f"step {step_id!r}: 'args' must be a mapping", path, yamlfile.line_of(item, "args"))
    problems = action.problems(args)
    if problems:
        first = problems[0]
        where = (yamlfile.line_of(args, first.arg) if first.arg is not None else None) or line
        raise _err(f"step {step_id!r}: {first.what}", path, where, first.hint)
    timeout = item.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:
        raise _err(
            f"step {step_id!r}: timeout must be seconds in (0, {MAX_TIMEOUT:g}]",
            path,
            yamlfile.line_of(item, "timeout"),
        )
    poll = _poll(item, step_id, path)
    if poll is not None and phase != "verification" and phase != "check":
        raise _err(f"step {step_id!r}: only read steps may poll", path, yamlfile.line_of(item, "poll"))
    when = _when(item, step_id, path, options)
    interrupts = item.get("interrupts")
    if effect is Effect.DISRUPT and not (isinstance(interrupts, str) and interrupts.strip()):
        raise _err(f"step {step_id!r}: a disruptive step must say what it interrupts ('interrupts:')", path, line)
    show = item.get("show") or []
    if not isinstance(show, list) or not all(isinstance(s, str) for s in show):
        raise _err(f"step {step_id!r}: 'show' must be a list of check ids", path, yamlfile.line_of(item, "show"))
    inform = item.get("inform", False)
    if not isinstance(inform, bool) or (inform and phase != "check"):
        raise _err(
            f"step {step_id!r}: 'inform' is true or false, on checks only", path, yamlfile.line_of(item, "inform")
        )
    gate = item.get("gate", False)
    if not isinstance(gate, bool) or (gate and phase != "check"):
        raise _err(f"step {step_id!r}: 'gate' is true or false, on checks only", path, yamlfile.line_of(item, "gate"))
    title = item.get("title") or f"{action.name}"
    return Step(
        id=step_id,
        title=str(title),
        phase=phase,
        effect=effect,
        action=action.name,
        args=dict(args),
        when=when,
        poll=poll,
        timeout=float(timeout),
        interrupts=str(interrupts).strip() if interrupts else None,
        why=str(item["why"]).strip() if item.get("why") else None,
        line=line,
        show=tuple(show),
        inform=inform,
        gate=gate,
    )


def _poll(item: Any, step_id: str, path: str) -> Poll | None:
    raw = item.get("poll")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"timeout", "interval"} or "timeout" not in raw:
        raise _err(f"step {step_id!r}: poll must be {{timeout: S, interval: S}}", path, yamlfile.line_of(item, "poll"))
    timeout, interval = raw["timeout"], raw.get("interval", 1)
    for value in (timeout, interval):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
            raise _err(
                f"step {step_id!r}: poll values must be seconds in (0, {MAX_TIMEOUT:g}]",
                path,
                yamlfile.line_of(item, "poll"),
            )
    return Poll(float(timeout), float(interval))


def _when(item: Any, step_id: str, path: str, options: dict[str, Option]) -> When | None:
    raw = item.get("when")
    if raw is None:
        return None
    line = yamlfile.line_of(item, "when")
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
