"""What every action is made of: effects, verdicts, the build context, typed argument specs, the registry.

Owns: :class:`Action` (name, summary, least effect, argument spec, command builder, judge), :class:`ArgSpec`
(one argument: name, type, required or default, description), the registry :data:`ACTIONS` filled by
:func:`action` where each action is defined, and the ``{var}`` templates (:func:`render`,
:func:`template_fields`). Pure: no I/O, no randomness, no clock; the engine runs the commands.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from runner import campaign, hostvars, kinds
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.templates import fill
from runner.wire import Account, Become, reach

DEFAULT_VARS: Mapping[str, Any] = hostvars.DEFAULTS  # the table's defaults (runner.hostvars)
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")  # an SQL identifier, workflow name or syslog tag


class Effect(IntEnum):
    """What a step does to a host. Dry-run runs only READ; DISRUPT needs confirmation."""

    READ = 0
    CHANGE = 1
    DISRUPT = 2

    @classmethod
    def parse(cls, text: str) -> Effect:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


class Skip(Exception):
    """The step cannot run on this host (a var it needs is missing); reported as skipped."""


class AccountRefused(Skip):
    """The host's settings give no way to run a command in the account it needs (e.g. Campaign would
    run as root): the message says what to set."""


@dataclass
class Context:
    """What an action may know about the host and the run when building its command.

    ``run_id`` and ``attempt`` (the engine fills them) are what makes a command that must be unique per
    run (a probe token, a backup table) unique, so the same run builds the same text every time.
    ``effect`` is the declared effect of the step being built (the planner sets it): an action that can
    both read and change builds the read-only form for a read step.
    """

    host: Host
    options: Mapping[str, str] = field(default_factory=dict)
    earlier: Mapping[str, Verdict] = field(default_factory=dict)  # verdicts of steps already run
    run_id: str = ""
    attempt: int = 0
    effect: Effect = Effect.READ
    ssh_user: str | None = None  # the account the session logs in as (None: not connected, e.g. show)
    facts: Mapping[str, Any] = field(default_factory=dict)  # the host's own settings (runner.hostfacts)
    # snapshot name -> the shell text that replays the batch's one reading of it (the planner fills it
    # for the snapshots a step's action declares in ``reads``; empty: each step takes its own)
    snapshots: Mapping[str, str] = field(default_factory=dict)

    def var(self, name: str) -> Any:
        """A playbook option, else the inventory's value, else the host's own setting (:attr:`facts`: its
        TRACE_ADDR, serverConf.xml ...), else the table's default (which may name other vars)."""
        if name in self.options:
            return self.options[name]
        value = self.host.var(name)
        if value is None:
            value = self.facts.get(name)
        if value is None:
            value = hostvars.default(name)
            if isinstance(value, str) and "{" in value:
                value = fill(value, lambda field: str(self.var(field)))
        if value is None:
            raise Skip(f"the inventory gives no {name!r} for host {self.host.name}")
        return value

    @property
    def nlserver(self) -> str:
        return shlex.quote(str(self.var("nlserver")))

    def snapshot(self, name: str, part: str | None = None) -> str:
        """The shell text that prints snapshot ``name`` (stdout, stderr and exit code as the command's own):
        in a batch that took it once, the replay of that reading; otherwise the command itself, with
        ``part`` (this step's contribution, e.g. its JavaScript) as its only part."""
        replay = self.snapshots.get(name)
        if replay is not None:
            return replay
        return SNAPSHOTS[name].command([part] if part is not None else [], self)

    def process(self, module: str) -> str:
        try:
            return campaign.process_name(module, self.host.instance)
        except ValueError:
            raise Skip(f"{module} runs per Campaign instance and host {self.host.name} has no 'instance' var") from None


def become_for(account: Account, ctx: Context) -> Become:
    """How this host's session reaches ``account`` (:func:`runner.wire.reach`, from the SSH user and the
    ``become`` and ``campaign_user`` vars); :class:`AccountRefused` when it cannot, saying what to set."""
    try:
        return reach(
            account, ssh_user=ctx.ssh_user, become=str(ctx.var("become")), campaign_user=str(ctx.var("campaign_user"))
        )
    except ValueError as exc:
        raise AccountRefused(str(exc)) from None


def render(template: str, ctx: Context, *, quote: bool) -> str:
    """Fill ``{var}`` fields from host vars and options; each value shell-quoted when ``quote``."""

    def value(name: str) -> str:
        text = str(ctx.var(name))
        return shlex.quote(text) if quote else text

    return fill(template, value)


_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_XML_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


def xml_text(value: str) -> str:
    """Character data for an XML document sent to Campaign (``&``, ``<`` and ``>`` escaped).

    Here rather than xml.sax.saxutils: importing xml.sax pulls in urllib.request, tens of
    milliseconds of every CLI start.
    """
    return value.translate(_XML_TEXT)


def xml_attr(value: str) -> str:
    """An XML attribute value, double-quoted, with quotes and line breaks escaped."""
    return '"' + value.translate(_XML_ATTR) + '"'


# --- argument specs -----------------------------------------------------------------------------

# an argument's type: a kind of runner.kinds (the same table host vars use)
ArgType = Literal["str", "int", "float", "bool", "list[str]", "enum", "template", "check"]
ARG_TYPES: tuple[str, ...] = ("str", "int", "float", "bool", "list[str]", "enum", "template", "check")


@dataclass(frozen=True)
class ArgSpec:
    """One argument of an action, as a playbook writes it under ``args:``.

    Types: ``str`` (plain text, not filled from host vars), ``template`` (text whose ``{var}`` fields are
    filled from host vars and options), ``int``/``float`` (a number; with ``template=True`` also a
    template that renders to one, e.g. ``"{syslogd_port}"``), ``bool``, ``list[str]`` (each item one of
    ``choices`` when given, a template when ``template=True``), ``enum`` (one of ``choices``) and
    ``check`` (the id of a check of the same playbook).
    """

    name: str
    type: ArgType
    description: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    template: bool = False
    pattern: str | None = None  # a ``str`` value must match it (fullmatch)
    minimum: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this argument, or None (:func:`runner.kinds.problem`)."""
        return kinds.problem(
            self.type, value, choices=self.choices, pattern=self.pattern, minimum=self.minimum, template=self.template
        )

    def kind_text(self) -> str:
        """The type in words, for messages and the README."""
        return kinds.words(self.type, choices=self.choices, template=self.template)


# --- actions and their registry -------------------------------------------------------------------


@dataclass(frozen=True)
class ArgProblem:
    """One defect of a step's args: the arg it is about (None: the args as a whole), what, and a hint."""

    arg: str | None
    what: str
    hint: str | None = None


Build = Callable[[Mapping[str, Any], Context], str]
Judge = Callable[[Mapping[str, Any], Context, str, str, int], Verdict]
Validator = Callable[[Mapping[str, Any]], str | None]
Merge = Callable[[Sequence[Mapping[str, Any]], Context], str]
AccountOf = Callable[[Mapping[str, Any], Context], Account]
Touches = Callable[[Mapping[str, Any], Context], tuple[str, ...]]


Evidence = Callable[[Mapping[str, Any], Context], str]
Part = Callable[[Mapping[str, Any], Context], str]


@dataclass(frozen=True)
class Snapshot:
    """A reading of the host that every step of a batch declaring it (``Action.reads``) shares: the batch
    takes it once (e.g. ``nlserver pdump``: one Campaign runtime start per batch, not one per step) and each
    step's command replays it (:meth:`Context.snapshot`).

    ``command(parts, ctx)`` is the command that takes it, from the parts the batch's steps contribute
    (``Action.part``: e.g. the JavaScript of each query, run by one ``nlserver javascript``; empty for a
    snapshot that takes none). ``serves`` maps another snapshot to a shell filter that turns this one's
    output into that one's (``pdump -who`` prints what ``pdump`` prints, then its own sections): a batch
    that takes this one takes no separate reading of that one. Its time limit is the longest of its
    readers' own ``timeout``.
    """

    name: str
    command: Callable[[Sequence[str], Context], str]
    serves: Mapping[str, str] = field(default_factory=dict)


SNAPSHOTS: dict[str, Snapshot] = {}


def snapshot(
    name: str,
    command: Callable[[Sequence[str], Context], str],
    *,
    serves: Mapping[str, str] | None = None,
) -> Snapshot:
    """Define a snapshot and register it in :data:`SNAPSHOTS`."""
    if name in SNAPSHOTS or not IDENT.match(name):
        raise ValueError(f"snapshot {name!r} is registered twice or is not a name")
    made = Snapshot(name, command, dict(serves or {}))
    SNAPSHOTS[name] = made
    return made


def touches_nothing(_args: Mapping[str, Any], _ctx: Context) -> tuple[str, ...]:
    """The Campaign processes a step starts, stops or restarts: none for most actions."""
    return ()


def in_campaign(_args: Mapping[str, Any], _ctx: Context) -> Account:
    """The account of nearly every action: Campaign's own (nlserver, files under the install)."""
    return Account.CAMPAIGN


@dataclass(frozen=True)
class Action:
    """One kind of step: its arguments, the effects it may be declared with, and its logic.

    What the engine needs to know about an action is a property of it, never its name: ``merge``
    (the steps of this action in one batch share one command, built from all their args), ``settles``
    (what it reads shows only some time after a change, so in verification "not applicable" reads
    "not back yet"), ``account`` (the account its command runs in: Campaign's, or root for the service
    manager; the planner wraps the command for it), ``touches`` (the Campaign processes it starts, stops or
    restarts, ``*`` for every one: a hold on one of them stops the step), ``evidence`` (a read command
    whose output says how what it starts came to stop: shown before the operator confirms), ``reads``
    (the :class:`Snapshot` names its command reads through :meth:`Context.snapshot`: a batch takes each
    once for all its steps), ``part`` (its contribution to those snapshots, e.g. a query's JavaScript),
    ``pages`` (the Adobe pages documenting what it runs and reads, ``<area>/using/<name>.md``: ``remediate
    show`` names them for a step that names none itself) and :attr:`effects`.
    """

    name: str
    summary: str
    min_effect: Effect
    build: Build
    judge: Judge
    args: tuple[ArgSpec, ...] = ()
    read_only: bool = False  # True: may never be declared change/disrupt (it changes nothing)
    validate: Validator | None = None  # a rule across several args; returns what is wrong, or None
    family: str = ""
    merge: Merge | None = None
    settles: bool = False
    account: AccountOf = in_campaign
    touches: Touches = touches_nothing
    evidence: Evidence | None = None
    reads: tuple[str, ...] = ()
    part: Part | None = None
    pages: tuple[str, ...] = ()

    @property
    def effects(self) -> frozenset[Effect]:
        """The effects a step of this action may be declared with."""
        if self.read_only:
            return frozenset({Effect.READ})
        return frozenset(e for e in Effect if e >= self.min_effect)

    @property
    def spec(self) -> dict[str, ArgSpec]:
        return {a.name: a for a in self.args}

    @property
    def required(self) -> frozenset[str]:
        return frozenset(a.name for a in self.args if a.required)

    def problems(self, args: Mapping[str, Any]) -> list[ArgProblem]:
        """What is wrong with a step's ``args`` for this action (empty when nothing is)."""
        out: list[ArgProblem] = []
        spec = self.spec
        missing = sorted(self.required - set(args))
        if missing:
            out.append(ArgProblem(None, f"action {self.name} needs args {missing}"))
        for key, value in args.items():
            arg = spec.get(str(key))
            if arg is None:
                known = ", ".join(sorted(spec)) or "none"
                out.append(ArgProblem(str(key), f"action {self.name} has no arg {key!r}", f"args: {known}"))
                continue
            trouble = arg.problem(value)
            if trouble:
                out.append(ArgProblem(str(key), f"arg {key!r} {trouble}", arg.description))
        if not out and self.validate is not None:
            trouble = self.validate(args)
            if trouble:
                out.append(ArgProblem(None, trouble))
        return out

    def arg(self, args: Mapping[str, Any], name: str) -> Any:
        """The value of arg ``name``: the step's, else the spec's default."""
        if name in args:
            return args[name]
        return self.spec[name].default


ACTIONS: dict[str, Action] = {}
ADOBE_PAGE = re.compile(r"[a-z][a-z0-9-]*/using/[a-z0-9][a-z0-9-]*\.md")  # a page of Adobe's help/ tree


def action(
    name: str,
    summary: str,
    min_effect: Effect,
    *,
    build: Build,
    judge: Judge,
    args: Sequence[ArgSpec] = (),
    read_only: bool = False,
    validate: Validator | None = None,
    merge: Merge | None = None,
    settles: bool = False,
    account: AccountOf = in_campaign,
    touches: Touches = touches_nothing,
    evidence: Evidence | None = None,
    reads: Sequence[str] = (),
    part: Part | None = None,
    pages: Sequence[str] = (),
) -> Action:
    """Define an action and register it in :data:`ACTIONS` (its family is the defining module)."""
    if name in ACTIONS:
        raise ValueError(f"action {name!r} is registered twice")
    for page in pages:
        if not ADOBE_PAGE.fullmatch(page):
            raise ValueError(f"action {name!r}: Adobe page {page!r} is not <area>/using/<name>.md")
    family = getattr(build, "__module__", "").rsplit(".", 1)[-1]
    made = Action(
        name,
        summary,
        min_effect,
        build,
        judge,
        args=tuple(args),
        read_only=read_only,
        validate=validate,
        family=family,
        merge=merge,
        settles=settles,
        account=account,
        touches=touches,
        evidence=evidence,
        reads=tuple(reads),
        part=part,
        pages=tuple(pages),
    )
    ACTIONS[name] = made
    return made


def exit_ok(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    """The judge of a command whose exit code is its whole result."""
    tail = (err.strip() or out.strip()).splitlines()[-3:]
    if rc == 0:
        return Verdict(Reading.PASSED, "exit 0", {"output": out[-2000:]})
    return Verdict(Reading.FAILED, f"exit {rc}: {' / '.join(tail)[:300]}" if tail else f"exit {rc}", {})
