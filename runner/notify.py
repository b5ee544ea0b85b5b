"""Notifications of a run: Slack, Microsoft Teams, PagerDuty change events and a generic JSON webhook.

A run tells its notifiers (:mod:`runner.config`) about five moments: ``run.started`` (only when a
disruptive step is planned), ``confirmation.given``, ``host.remediated``, ``host.failed`` (also a host
whose outcome is unknown) and ``run.finished`` (when something was notified before, or the run ends
with a non-zero exit code). Each message names the module, host(s), operator, incident, reason and the
audit run id. Nothing is sent for a dry run.

Sending never blocks the run: each notifier has one background thread that posts its messages in
order (standard library ``urllib``, the notifier's ``timeout``). A notifier that fails never changes
the exit code: the failure is audited (``notify.failed``) and reported once per notifier through the
``warn`` callback (the CLI prints it on stderr); each delivery is audited (``notify.sent``). At the end
of the run, what is still queued gets at most one timeout to go; what cannot is audited as not sent.
Secrets (webhook URLs, routing keys) never appear in a message, an audit record or a warning.

Owns: the payload builders (one per vendor, each in the vendor's documented shape), the HTTP request
helper (:func:`request`, also used by :mod:`runner.silence`), and :class:`Fanout` (an audit listener
plus the engine's observer call for a planned disruption). Must not: print, or decide a run's outcome.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.config import Notifier
from runner.errors import RemediateError
from runner.events import Event
from runner.outcomes import HostStatus

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.playbook import Step

WEBHOOK_VERSION = 1  # the generic webhook's schema version (README, "Team features")
SUMMARY_MAX = 1024  # PagerDuty's limit on payload.summary
USER_AGENT = "remediate-notify/1"
# the moments a notifier is told: three audit events, and a host.finished split by its outcome
MOMENTS = (
    Event.RUN_STARTED.value,
    Event.CONFIRMATION_GIVEN.value,
    "host.remediated",
    "host.failed",
    Event.RUN_FINISHED.value,
)


class HttpError(Exception):
    """An HTTP request that did not succeed; the message never contains the URL (it may be a secret)."""


def request(method: str, url: str, body: Any, timeout: float) -> tuple[int, Any]:
    """Send one JSON request; (status, decoded JSON answer or text). HttpError unless the status is 2xx."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if not url.startswith(("http://", "https://")):
        raise HttpError("not an http(s) URL")
    import urllib.error  # here, not at the top: most runs send nothing, and urllib.request costs ~10 ms
    import urllib.request

    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310 (http(s) only)
            status = int(answer.status)
            raw = answer.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip() if exc.fp is not None else ""
        raise HttpError(f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise HttpError(f"no answer ({text})") from None
    except TimeoutError:
        raise HttpError(f"no answer within {timeout:g}s") from None
    except OSError as exc:
        raise HttpError(f"no answer ({exc.strerror or exc})") from None
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text.strip() else None
    except ValueError:
        return status, text


@dataclass(frozen=True)
class Message:
    """One moment of a run, as every notifier is told it."""

    event: str  # one of MOMENTS
    summary: str
    run_id: str
    module: str
    operator: str
    incident: str | None = None
    reason: str | None = None
    host: str | None = None
    hosts: tuple[str, ...] = ()
    step: str | None = None
    steps: tuple[str, ...] = ()
    status: str | None = None
    exit_code: int | None = None
    message: str | None = None
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))

    def facts(self) -> list[tuple[str, str]]:
        """The message's fields worth showing to a person, in order, empty ones left out."""
        pairs = [
            ("Module", self.module),
            ("Host", self.host or ", ".join(self.hosts)),
            ("Step", self.step or ", ".join(self.steps)),
            ("Status", self.status),
            ("Exit code", None if self.exit_code is None else str(self.exit_code)),
            ("Operator", self.operator),
            ("Incident", self.incident),
            ("Reason", self.reason),
            ("Run id", self.run_id),
        ]
        return [(k, v) for k, v in pairs if v]


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (<!channel>, links): escaped as its formatting reference says.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(msg: Message) -> dict[str, Any]:
    """Slack incoming webhook: ``text`` (the notification's fallback) plus Block Kit ``blocks``.

    Shape from Slack's "Sending messages using incoming webhooks" (https://api.slack.com/messaging/webhooks):
    a JSON body with ``text`` and optional ``blocks``; a section block has ``text`` or up to 10 ``fields``
    (text objects ``{"type": "mrkdwn", "text": ...}``), a context block ``elements``.
    """
    text = _slack_escape(msg.summary)
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)[:1900]}"} for k, v in msg.facts()][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {"type": "section", "fields": fields},
    ]
    if msg.message:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(msg.message)[:2900]}]})
    return {"text": text, "blocks": blocks}


def teams(msg: Message) -> dict[str, Any]:
    """Microsoft Teams incoming webhook: one Adaptive Card in a ``message`` with ``attachments``.

    Shape from Microsoft's "Send Adaptive Cards using an Incoming Webhook" (learn.microsoft.com,
    microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using): ``type`` "message",
    ``attachments`` with ``contentType`` "application/vnd.microsoft.card.adaptive" and the card in
    ``content`` (``type`` "AdaptiveCard", ``version``, ``body``: a TextBlock and a FactSet).
    """
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": msg.summary, "weight": "Bolder", "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in msg.facts()]},
    ]
    if msg.message:
        body.append({"type": "TextBlock", "text": msg.message, "wrap": True, "isSubtle": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def pagerduty(msg: Message, routing_key: str, link: str | None = None) -> dict[str, Any]:
    """PagerDuty Events API v2 change event (POST https://events.pagerduty.com/v2/change/enqueue).

    Shape from PagerDuty's "Send a Change Event" (developer.pagerduty.com, events-API-v2/03-Change-Events):
    ``routing_key`` (required), ``payload.summary`` (required, at most 1024 characters),
    ``payload.source``, ``payload.timestamp``, ``payload.custom_details`` (object), ``links``
    (objects with ``href`` and optional ``text``).
    """
    details = {k: v for k, v in asdict(msg).items() if k not in ("summary", "ts") and v not in (None, (), [])}
    return {
        "routing_key": routing_key,
        "payload": {
            "summary": msg.summary[:SUMMARY_MAX],
            "timestamp": msg.ts,
            "source": msg.host or (msg.hosts[0] if len(msg.hosts) == 1 else "remediate"),
            "custom_details": details,
        },
        "links": [{"href": link, "text": f"remediate run {msg.run_id}"}] if link else [],
    }


def webhook(msg: Message) -> dict[str, Any]:
    """The generic JSON webhook (schema version 1, README "Team features"): every field of the message,
    each present (``null`` or ``[]`` when empty), plus ``version`` and ``source``."""
    doc: dict[str, Any] = {"version": WEBHOOK_VERSION, "source": "remediate"}
    for key, value in asdict(msg).items():
        doc[key] = list(value) if isinstance(value, tuple) else value
    return doc


def payload(notifier: Notifier, msg: Message) -> dict[str, Any]:
    """What ``notifier`` posts for ``msg``."""
    if notifier.type == "slack":
        return slack(msg)
    if notifier.type == "teams":
        return teams(msg)
    if notifier.type == "pagerduty":
        return pagerduty(msg, notifier.routing_key or "", notifier.link)
    return webhook(msg)


class Fanout:
    """Tells every notifier about one run. An audit listener (confirmations, host outcomes, the run's
    end) and an engine observer (a planned disruption); every call returns at once."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        audit: AuditLog,
        *,
        module: str,
        incident: str | None,
        reason: str | None,
        warn: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.notifiers = list(notifiers)
        self.audit = audit
        self.module = module
        self.incident = incident
        self.reason = reason
        self.warn = warn
        self.sent_any = False
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._pending: list[tuple[Future[None], Notifier, Message]] = []
        self._pools = {
            n.name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"notify-{n.name}") for n in notifiers
        }

    # -- what the run tells it ----------------------------------------------------------------------
    def disruption_planned(self, module: str, hosts: Sequence[str], steps: Sequence[str]) -> None:
        """The engine's call when a disruptive step is planned: ``run.started``."""
        listed = ", ".join(hosts)
        self.send(
            self._message(
                Event.RUN_STARTED,
                f"remediate {module}: disruptive run starting on {listed} ({', '.join(steps)})",
                hosts=tuple(hosts),
                steps=tuple(steps),
            )
        )

    def disrupting(self, host: Host, module: str, step: Step, bound: float) -> str | None:
        return None  # silences are runner.silence's

    def settled(self, host: Host, module: str) -> None:
        return None

    def __call__(self, record: Mapping[str, Any]) -> None:
        """Audit listener: the moments the audit log records."""
        event = record.get("event")
        host = record.get("host")
        if event == Event.CONFIRMATION_GIVEN:
            step = str(record.get("step"))
            via = record.get("via")
            text = f"remediate {self.module}: {step} on {host} confirmed ({via}) by {self.audit.operator_name}"
            self.send(self._message(Event.CONFIRMATION_GIVEN, text, host=host, step=step, status="confirmed"))
        elif event == Event.HOST_FINISHED and record.get("outcome") in (
            HostStatus.REMEDIATED,
            HostStatus.FAILED,
            HostStatus.UNKNOWN,
        ):
            outcome = str(record["outcome"])
            message = record.get("message")
            moment = "host.remediated" if outcome == HostStatus.REMEDIATED else "host.failed"
            text = f"remediate {self.module}: {host} {outcome}" + (f": {message}" if message else "")
            self.send(self._message(moment, text, host=host, status=outcome, message=message))
        elif event == Event.RUN_FINISHED:
            code = record.get("exit_code")
            hosts = record.get("hosts") or {}
            if self.sent_any or code:
                told = ", ".join(f"{h}: {s}" for h, s in hosts.items())
                text = f"remediate {self.module}: run {record.get('status')}, exit {code}" + (
                    f" ({told})" if told else ""
                )
                self.send(
                    self._message(
                        Event.RUN_FINISHED, text, hosts=tuple(hosts), status=str(record.get("status")), exit_code=code
                    )
                )
            self.drain()

    # -- sending -------------------------------------------------------------------------------------
    def _message(self, event: str, summary: str, **fields: Any) -> Message:
        return Message(
            event=str(event),  # the moment's plain name, an Event member's value or host.remediated/failed
            summary=summary,
            run_id=self.audit.run_id,
            module=self.module,
            operator=self.audit.operator_name,
            incident=self.incident,
            reason=self.reason,
            **fields,
        )

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for every notifier (redacted: no secret of the run leaves in a message)."""
        if not self.notifiers:
            return
        fields: dict[str, Any] = self.audit.redact(asdict(msg))
        tidy: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        clean = Message(**tidy)
        with self._lock:
            self.sent_any = True
            for n in self.notifiers:
                future = self._pools[n.name].submit(self._deliver, n, clean)
                self._pending.append((future, n, clean))

    def _deliver(self, notifier: Notifier, msg: Message) -> None:
        try:
            status, _answer = request("POST", notifier.url, payload(notifier, msg), notifier.timeout)
        except HttpError as exc:
            self._failed(notifier, msg, str(exc))
            return
        self._audit(Event.NOTIFY_SENT, notifier, msg, status=status)

    def _failed(self, notifier: Notifier, msg: Message, why: str) -> None:
        self._audit(Event.NOTIFY_FAILED, notifier, msg, message=why)
        with self._lock:
            first = notifier.name not in self._warned
            self._warned.add(notifier.name)
        if first:
            self.warn(
                f"remediate: warning: notifier {notifier.name} ({notifier.type}) failed: {why}; the run goes on "
                f"(audited as {Event.NOTIFY_FAILED})"
            )

    def _audit(self, event: Event, notifier: Notifier, msg: Message, **fields: Any) -> None:
        try:
            self.audit.emit(
                event,
                module=msg.module,
                host=msg.host,
                notifier=notifier.name,
                type=notifier.type,
                moment=msg.event,
                **fields,
            )
        except (RemediateError, OSError):  # the log itself failed: the run's frame reports that; never raise here
            return

    def drain(self) -> None:
        """Wait for what is queued, at most one timeout (the longest notifier's) more; audit what is left."""
        with self._lock:
            pending = list(self._pending)
            self._pending.clear()
        if pending:
            bound = max(n.timeout for n in self.notifiers) + 1.0
            wait_for([f for f, _n, _m in pending], timeout=bound)
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        for future, notifier, msg in pending:
            if future.cancelled():
                self._failed(notifier, msg, "not sent: the run ended while it was still queued")
            elif not future.done():
                self._failed(notifier, msg, "no answer before the run ended")
