"""Alertmanager silences around a disruptive step: the on-call is not paged for the restart they made.

With ``alertmanager_url`` set (host var, else the config file's), the first disruptive step of a host,
once confirmed and right before its command, creates a silence through Alertmanager's API v2
(``POST /api/v2/silences``): matchers from the host var ``silence_matchers`` (default ``instance=~
<address>(:[0-9]+)?`` and ``module=<module>``, ``<address>`` being ``ansible_host`` or the host's name),
``startsAt`` now, ``endsAt`` after the steps' timeouts plus the verification bound, ``createdBy`` the
operator, ``comment`` the incident or reason and the run id. It is expired (``DELETE
/api/v2/silence/{id}``) as soon as the host's remediation ends, verification passed or failed.

An Alertmanager that does not answer: the step goes on with a warning (``silence.failed``), unless
``silence_required`` is true for the host: then the step is refused (the host ends ``not_confirmed``,
exit 4). A silence that cannot be expired ends by itself at its ``endsAt`` (warned and audited).

Owns: the silence's matchers (:func:`matchers_for`, :func:`parse_matcher`), the check of the hosts'
vars before a run (:func:`check`) and :class:`Silences` (the engine's observer). Must not: print.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runner import notify
from runner.config import TeamConfig, check_url
from runner.errors import InputError
from runner.events import Event

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.playbook import Step

_MATCHER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)(.+)$")
DEFAULT_MATCHERS = ("instance=~{address}(:[0-9]+)?", "module={module}")
MATCHER_HINT = "NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX; {host}, {address} and {module} are filled in"


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager matcher (API v2: name, value, isRegex, isEqual)."""

    name: str
    value: str
    regex: bool = False
    equal: bool = True

    def as_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.regex, "isEqual": self.equal}

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
            (self.regex, self.equal)
        ]
        return f"{self.name}{op}{self.value}"


def parse_matcher(text: Any) -> Matcher:
    """``NAME=VALUE`` (``!=``, ``=~``, ``!~``); ValueError naming the allowed forms otherwise."""
    found = _MATCHER.match(text) if isinstance(text, str) else None
    if found is None or any(c in "\n\r" for c in text):
        raise ValueError(f"{text!r} is not a matcher")
    name, op, value = found.groups()
    return Matcher(name, value, regex=op in ("=~", "!~"), equal=op in ("=", "=~"))


def address_of(host: Host) -> str:
    return str(host.var("ansible_host") or host.name)


def matchers_for(host: Host, module: str) -> list[Matcher]:
    """The host's silence matchers with ``{host}``, ``{address}`` and ``{module}`` filled in (escaped in
    regex matchers, so a dot in an address matches only a dot)."""
    templates = host.var("silence_matchers") or DEFAULT_MATCHERS
    out = []
    for text in templates:
        m = parse_matcher(text)
        values = {"{host}": host.name, "{address}": address_of(host), "{module}": module}
        value = m.value
        for field, filled in values.items():
            value = value.replace(field, re.escape(filled) if m.regex else filled)
        out.append(Matcher(m.name, value, m.regex, m.equal))
    return out


def url_for(host: Host, team: TeamConfig) -> str | None:
    value = host.var("alertmanager_url")
    return str(value) if value else team.alertmanager_url


def check(hosts: Sequence[Host], team: TeamConfig) -> None:
    """The selected hosts' silence vars, before any host is touched: InputError naming host and value."""
    for host in hosts:
        value = host.var("alertmanager_url")
        if value is not None:
            check_url(value, f"host {host.name} ({host.source}): alertmanager_url", what="alertmanager_url")
        if host.var("silence_required") is True and not url_for(host, team):
            raise InputError(
                "silence_required is true but no Alertmanager is set",
                where=f"host {host.name} ({host.source})",
                hint="set alertmanager_url (host var or config file), or silence_required: false",
            )
        listed = host.var("silence_matchers")
        if listed is None:
            continue
        where = f"host {host.name} ({host.source}): silence_matchers"
        if not isinstance(listed, list) or not listed:
            raise InputError(f"{listed!r} is not a list of matchers", where=where, hint=MATCHER_HINT)
        for text in listed:
            try:
                parse_matcher(text)
            except ValueError as exc:
                raise InputError(str(exc), where=where, hint=MATCHER_HINT) from None


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Active:
    url: str
    silence_id: str
    ends_at: str


class Silences:
    """The engine's observer for silences: one per host, from its first disruptive step to its end."""

    def __init__(
        self,
        audit: AuditLog,
        team: TeamConfig,
        *,
        incident: str | None,
        reason: str | None,
        warn: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.audit = audit
        self.team = team
        self.incident = incident
        self.reason = reason
        self.warn = warn
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()

    def disruption_planned(self, module: str, hosts: Sequence[str], steps: Sequence[str]) -> None:
        return None

    def comment(self, host: Host, module: str, step: Step) -> str:
        why = " ".join(x for x in (self.incident, f"({self.reason})" if self.reason else None) if x)
        return f"{why or 'no incident given'}: remediate {module} {step.id} on {host.name}, run {self.audit.run_id}"

    def disrupting(self, host: Host, module: str, step: Step, bound: float) -> str | None:
        """Create the host's silence before its first disruptive step; a refusal's reason, else None."""
        url = url_for(host, self.team)
        if not url:
            return None
        with self._lock:
            if host.name in self._active:
                return None
        matchers = matchers_for(host, module)
        now = datetime.now(UTC)
        ends = _stamp(now + timedelta(seconds=max(bound, 60.0)))
        body = {
            "matchers": [m.as_api() for m in matchers],
            "startsAt": _stamp(now),
            "endsAt": ends,
            "createdBy": self.audit.operator_name,
            "comment": self.comment(host, module, step),
        }
        base = url.rstrip("/")
        try:
            _status, answer = notify.request("POST", f"{base}/api/v2/silences", body, self.team.timeout)
            silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
            if not isinstance(silence_id, str) or not silence_id:
                raise notify.HttpError(f"no silenceID in the answer: {str(answer)[:200]}")
        except notify.HttpError as exc:
            required = host.var("silence_required") is True
            why = f"the Alertmanager at {base} did not create a silence: {exc}"
            self.audit.emit(
                Event.SILENCE_FAILED,
                host=host.name,
                module=module,
                step=step.id,
                alertmanager=base,
                action="create",
                message=why,
                refused=required or None,
            )
            if required:
                return f"{step.id} refused: {why} (silence_required is true for this host)"
            self.warn(f"remediate: warning: {host.name}: {why}; {step.id} goes on without a silence")
            return None
        with self._lock:
            self._active[host.name] = _Active(base, silence_id, ends)
        self.audit.emit(
            Event.SILENCE_CREATED,
            host=host.name,
            module=module,
            step=step.id,
            alertmanager=base,
            silence_id=silence_id,
            matchers=[str(m) for m in matchers],
            ends_at=ends,
        )
        return None

    def settled(self, host: Host, module: str) -> None:
        """The host's remediation ended (verification passed or failed): expire its silence."""
        with self._lock:
            active = self._active.pop(host.name, None)
        if active is None:
            return
        try:
            notify.request("DELETE", f"{active.url}/api/v2/silence/{active.silence_id}", None, self.team.timeout)
        except notify.HttpError as exc:
            why = f"silence {active.silence_id} could not be expired: {exc}; it ends by itself at {active.ends_at}"
            self.audit.emit(
                Event.SILENCE_FAILED,
                host=host.name,
                module=module,
                alertmanager=active.url,
                silence_id=active.silence_id,
                action="expire",
                message=why,
            )
            self.warn(f"remediate: warning: {host.name}: {why}")
            return
        self.audit.emit(
            Event.SILENCE_EXPIRED, host=host.name, module=module, alertmanager=active.url, silence_id=active.silence_id
        )
