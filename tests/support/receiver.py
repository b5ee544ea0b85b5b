"""A real HTTP receiver on loopback for the notification tests, and the vendors' documented payload shapes.

Owns: :func:`receiving` (a ``ThreadingHTTPServer`` on 127.0.0.1 with a free port, recording every POST:
path, headers, JSON body; stopped at exit), :func:`closed_port` (a port nothing listens on), and the shape
checks of Slack, Microsoft Teams, PagerDuty change events and the generic webhook (required fields and
types, as each vendor documents them; see the builders in runner/notify.py for the pages).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url: str
    got: list[Received] = field(default_factory=list)

    def at(self, path: str) -> list[Any]:
        return [r.body for r in self.got if r.path == path]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver answering 200 (``/pagerduty...``: 202, as PagerDuty does; ``/fail...``: 500)."""
    receiver = Receiver("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with lock:
                receiver.got.append(Received(self.path, dict(self.headers), body))
            if self.path.startswith("/fail"):
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"broken")
                return
            status = 202 if self.path.startswith("/pagerduty") else 200
            answer = b'{"status":"success","message":"Change event processed"}' if status == 202 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: a connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _text_object(obj: Any) -> None:
    assert isinstance(obj, dict) and obj.get("type") in ("mrkdwn", "plain_text"), obj
    assert isinstance(obj.get("text"), str) and obj["text"], obj


def check_slack(body: Any) -> None:
    """Slack incoming webhook: ``text`` (string) and ``blocks`` (Block Kit: section/context blocks)."""
    assert isinstance(body, dict) and isinstance(body.get("text"), str) and body["text"], body
    assert isinstance(body.get("blocks"), list) and body["blocks"], body
    for block in body["blocks"]:
        assert block.get("type") in ("section", "context"), block
        if block["type"] == "section":
            assert "text" in block or "fields" in block, block
            if "text" in block:
                _text_object(block["text"])
                assert len(block["text"]["text"]) <= 3000
            for f in block.get("fields", []):
                _text_object(f)
                assert len(f["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        else:
            assert block["elements"] and all(_text_object(e) is None for e in block["elements"])


def check_teams(body: Any) -> None:
    """Teams incoming webhook with an Adaptive Card: ``type`` message, one adaptive attachment."""
    assert isinstance(body, dict) and body.get("type") == "message", body
    attachments = body.get("attachments")
    assert isinstance(attachments, list) and len(attachments) == 1, body
    att = attachments[0]
    assert att.get("contentType") == "application/vnd.microsoft.card.adaptive", att
    card = att.get("content")
    assert isinstance(card, dict) and card.get("type") == "AdaptiveCard" and isinstance(card.get("version"), str)
    assert isinstance(card.get("body"), list) and card["body"], card
    for element in card["body"]:
        assert element.get("type") in ("TextBlock", "FactSet"), element
        if element["type"] == "TextBlock":
            assert isinstance(element.get("text"), str) and element["text"]
        else:
            facts = element.get("facts")
            assert isinstance(facts, list) and facts
            assert all(isinstance(f.get("title"), str) and isinstance(f.get("value"), str) for f in facts)


def check_pagerduty(body: Any, routing_key: str) -> None:
    """PagerDuty change event: routing_key, payload.summary (<= 1024), source, timestamp, custom_details, links."""
    assert isinstance(body, dict) and body.get("routing_key") == routing_key, body
    assert set(body) <= {"routing_key", "payload", "links"}, body
    p = body.get("payload")
    assert isinstance(p, dict), body
    assert isinstance(p.get("summary"), str) and 0 < len(p["summary"]) <= 1024, p
    assert isinstance(p.get("source"), str) and p["source"], p
    assert isinstance(p.get("timestamp"), str) and p["timestamp"][:4].isdigit() and "T" in p["timestamp"], p
    assert isinstance(p.get("custom_details"), dict), p
    assert isinstance(body.get("links"), list), body
    assert all(isinstance(link.get("href"), str) for link in body["links"]), body


WEBHOOK_FIELDS = {
    "version": int,
    "source": str,
    "event": str,
    "summary": str,
    "run_id": str,
    "module": str,
    "operator": str,
    "ts": str,
    "hosts": list,
    "steps": list,
}
WEBHOOK_OPTIONAL = ("incident", "reason", "host", "step", "status", "exit_code", "message")


def check_webhook(body: Any) -> None:
    """The generic webhook (schema version 1): every documented field present, with its type."""
    assert isinstance(body, dict) and body.get("version") == 1, body
    for name, kind in WEBHOOK_FIELDS.items():
        assert isinstance(body.get(name), kind), (name, body)
    for name in WEBHOOK_OPTIONAL:
        assert name in body, (name, body)
    assert body["event"] in ("run.started", "confirmation.given", "host.remediated", "host.failed", "run.finished")
