"""The operator's config file: who is told about a run (notifiers), and the Alertmanager silenced by it.

``$REMEDIATE_CONFIG``, else ``$XDG_CONFIG_HOME/remediate/config.yml`` (``~/.config/remediate/...``);
``--config PATH`` overrides both. A missing default file is no config; a file named by ``--config`` or
``$REMEDIATE_CONFIG`` must exist. Example::

    timeout: 5                        # seconds per HTTP request (notifiers, Alertmanager); default 5
    alertmanager_url: http://alertmanager.example:9093   # hosts' alertmanager_url var overrides it
    notifiers:
      - type: slack                   # slack | teams | pagerduty | webhook
        url_env: SLACK_WEBHOOK_URL    # the NAME of the environment variable holding the secret URL
      - type: pagerduty
        routing_key_env: PD_ROUTING_KEY
        name: pd-campaign             # optional: how warnings and the audit log name it
        timeout: 3                    # optional: this notifier's own timeout

Secrets are never written in the file: a notifier names the environment variable that holds its URL
(``url_env``) or routing key (``routing_key_env``); PagerDuty's endpoint may be moved with ``url`` or
``url_env`` (a proxy, a test receiver).

Owns: finding and validating the file (every problem is an :class:`InputError` at its ``file:line``,
before any host is touched), reading the secrets from the environment, and the format rules of an
incident id and of an HTTP URL. Must not: send anything (:mod:`runner.notify`, :mod:`runner.silence`).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import yamlfile
from runner.errors import InputError

TYPES = ("slack", "teams", "pagerduty", "webhook")
PAGERDUTY_CHANGE_URL = "https://events.pagerduty.com/v2/change/enqueue"  # Events API v2, change events
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 60.0
INCIDENT_MAX = 64
_TOP_KEYS = ("timeout", "alertmanager_url", "notifiers")
_NOTIFIER_KEYS = ("type", "name", "url", "url_env", "routing_key_env", "timeout", "link")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass(frozen=True)
class Notifier:
    """One notifier, its secret already read from the environment."""

    name: str
    type: str
    url: str  # where it posts (the secret itself for slack, teams and webhook)
    timeout: float
    where: str  # file:line, for messages
    routing_key: str | None = None  # pagerduty
    link: str | None = None  # an https link sent along (PagerDuty ``links``, a button elsewhere)

    def secrets(self) -> set[str]:
        values = {self.routing_key} if self.routing_key else set()
        if self.type != "pagerduty":
            values.add(self.url)
        return values


@dataclass(frozen=True)
class TeamConfig:
    """What the config file says (empty when there is none)."""

    path: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    alertmanager_url: str | None = None
    where_alertmanager: str = "alertmanager_url"
    notifiers: tuple[Notifier, ...] = field(default_factory=tuple)

    def secrets(self) -> set[str]:
        return {s for n in self.notifiers for s in n.secrets()}


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "remediate" / "config.yml"


def find(explicit: Path | None) -> tuple[Path, bool]:
    """The config file to read and whether it must exist (named by ``--config`` or ``$REMEDIATE_CONFIG``)."""
    if explicit is not None:
        return explicit, True
    env = os.environ.get("REMEDIATE_CONFIG")
    if env:
        return Path(env), True
    return default_path(), False


def load(explicit: Path | None = None, environ: dict[str, str] | None = None) -> TeamConfig:
    """Read and validate the config file; InputError (``file:line: what (allowed)``) on anything wrong."""
    path, required = find(explicit)
    if not path.exists():
        if required:
            where = "--config" if explicit is not None else "REMEDIATE_CONFIG"
            raise InputError(f"config file {path} does not exist", where=where)
        return TeamConfig()
    data = yamlfile.load_file(path)
    return parse(data, str(path), os.environ if environ is None else environ, path)


def parse(data: Any, source: str, environ: Any, path: Path | None = None) -> TeamConfig:
    """Validate a loaded config document (``source`` names it in messages)."""
    if data is None:
        return TeamConfig(path=path)
    if not isinstance(data, dict):
        raise InputError("the config file must be a mapping of settings", path=source, line=1)

    def at(key: str, mapping: Any = data) -> str:
        line = yamlfile.line_of(mapping, key)
        return f"{source}:{line}" if line else source

    for key in data:
        if key not in _TOP_KEYS:
            raise InputError(f"unknown setting {key!r}", where=at(key), hint="allowed: " + ", ".join(_TOP_KEYS))
    timeout = _timeout(data.get("timeout", DEFAULT_TIMEOUT), at("timeout"))
    alertmanager = None
    if data.get("alertmanager_url") is not None:
        alertmanager = check_url(data["alertmanager_url"], at("alertmanager_url"), what="alertmanager_url")
    raw = data.get("notifiers", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InputError("notifiers must be a list of notifiers", where=at("notifiers"))
    notifiers = []
    for index, item in enumerate(raw):
        where = _item_where(item, source, at("notifiers"))
        notifiers.append(_notifier(item, index, where, timeout, environ, source))
    names = [n.name for n in notifiers]
    for n in notifiers:
        if names.count(n.name) > 1:
            raise InputError(f"two notifiers are named {n.name!r}", where=n.where, hint="give each its own name:")
    return TeamConfig(path, timeout, alertmanager, at("alertmanager_url"), tuple(notifiers))


def _item_where(item: Any, source: str, fallback: str) -> str:
    line = yamlfile.line_of(item)
    return f"{source}:{line}" if line else fallback


def _notifier(item: Any, index: int, where: str, timeout: float, environ: Any, source: str) -> Notifier:
    if not isinstance(item, dict):
        raise InputError(f"notifier {index + 1} must be a mapping (type: ..., url_env: ...)", where=where)

    def at(key: str) -> str:
        line = yamlfile.line_of(item, key)
        return f"{source}:{line}" if line else where

    for key in item:
        if key not in _NOTIFIER_KEYS:
            raise InputError(
                f"unknown notifier setting {key!r}", where=at(key), hint="allowed: " + ", ".join(_NOTIFIER_KEYS)
            )
    kind = item.get("type")
    if kind not in TYPES:
        shown = "missing" if kind is None else repr(kind)
        raise InputError(f"notifier type {shown} is not known", where=at("type"), hint="allowed: " + ", ".join(TYPES))
    name = item.get("name", kind if index == 0 else f"{kind}-{index + 1}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"notifier name {name!r} is not allowed", where=at("name"), hint="letters, digits, . _ -, at most 40"
        )
    own = _timeout(item.get("timeout", timeout), at("timeout"))
    link = item.get("link")
    if link is not None:
        link = check_url(link, at("link"), what="link")
    routing_key = None
    if kind == "pagerduty":
        routing_key = _secret(item, "routing_key_env", at, environ, required=True)
        if "url" in item and "url_env" in item:
            raise InputError("give url or url_env, not both", where=at("url"))
        if "url_env" in item:
            url = check_url(
                _secret(item, "url_env", at, environ, required=True), at("url_env"), what="url_env", show=False
            )
        else:
            url = check_url(item.get("url", PAGERDUTY_CHANGE_URL), at("url"), what="url")
    else:
        if "url" in item:
            raise InputError(
                f"a {kind} webhook URL is a secret and is not written in the config file",
                where=at("url"),
                hint="put it in an environment variable and name that variable with url_env",
            )
        if "routing_key_env" in item:
            raise InputError(f"routing_key_env is for pagerduty, not {kind}", where=at("routing_key_env"))
        url = check_url(_secret(item, "url_env", at, environ, required=True), at("url_env"), what="url_env", show=False)
    return Notifier(name, kind, url, own, where, routing_key, link)


def _secret(item: dict[str, Any], key: str, at: Any, environ: Any, *, required: bool) -> str:
    """The value of the environment variable a notifier names under ``key``."""
    var = item.get(key)
    if var is None:
        raise InputError(f"{item.get('type')} notifier needs {key}", where=at("type"), hint=f"{key}: VARIABLE_NAME")
    if not isinstance(var, str) or not _ENV_NAME.match(var):
        raise InputError(f"{key} {var!r} is not an environment variable name", where=at(key), hint="letters, digits, _")
    value = environ.get(var)
    if not value:
        raise InputError(
            f"environment variable {var} ({key}) is not set"
            if value is None
            else f"environment variable {var} is empty",
            where=at(key),
            hint=f"export {var}=... before the run, or remove the notifier",
        )
    return str(value)


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
        raise InputError(
            f"timeout {value!r} is not allowed", where=where, hint=f"seconds, more than 0, at most {MAX_TIMEOUT:g}"
        )
    return float(value)


def check_url(value: Any, where: str, *, what: str, show: bool = True) -> str:
    """An http(s) URL with a host, no credentials, query or fragment; InputError naming it otherwise.

    ``show`` False: the value is a secret and is left out of the message.
    """
    shown = repr(value) if show else "(its value is not shown: a secret)"
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise InputError(f"{what} {shown} is not a URL", where=where, hint="http://HOST[:PORT][/PATH]")
    try:
        parts = urllib.parse.urlsplit(value)
        _ = parts.port  # a port that is no number, or out of range, raises here
    except ValueError:
        raise InputError(f"{what} {shown} is not a URL", where=where, hint="http://HOST[:PORT][/PATH]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{what} {shown} is not an http(s) URL with a host", where=where, hint="http://HOST[:PORT][/PATH]"
        )
    if what == "alertmanager_url" and (parts.query or parts.fragment or parts.username or parts.password):
        raise InputError(
            f"{what} {shown} has a query, fragment or credentials", where=where, hint="http://HOST[:PORT][/PATH]"
        )
    return value


def check_incident(value: str) -> str:
    """An incident or ticket id: 1 to 64 characters, no whitespace or control characters."""
    hint = f"1 to {INCIDENT_MAX} characters, no spaces or control characters, e.g. INC-1234"
    if not value:
        raise InputError("the incident id is empty", where="--incident", hint=hint)
    if len(value) > INCIDENT_MAX:
        raise InputError(f"the incident id is {len(value)} characters long", where="--incident", hint=hint)
    bad = next((c for c in value if c.isspace() or ord(c) < 32 or ord(c) == 127 or not c.isprintable()), None)
    if bad is not None:
        raise InputError(f"the incident id {value!r} contains {bad!r}", where="--incident", hint=hint)
    return value
