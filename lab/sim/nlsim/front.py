"""The front web server of a lab host (Apache or IIS with Campaign's web server module, in Adobe's words).

Adobe recommends "a dedicated Web server as the main entry point for HTTP traffic", and tracking "is only
available as an extension module to a Web server" (installation/using/integration-into-a-web-server-for-
linux.md); /r/test through it tests the integration (production/using/failure-to-connect.md). The lab's
front is a small HTTP server on its own port that hands every request to the host's Tomcat (web@default)
and returns its answer as it came (status, Location, Content-Type, body); when Tomcat does not answer it
answers 502 Bad Gateway, as a proxying Apache would. It is not a Campaign module: `nlserver` neither starts
nor stops it, and the lab records its pid apart (run/front/front.pid).
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import http.client
import os
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import NoReturn

from .common import set_comm

BAD_GATEWAY = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>502 Bad Gateway</title>\n'
    "</head><body>\n<h1>Bad Gateway</h1>\n<p>The proxy server received an invalid\nresponse from an upstream "
    "server.</p>\n</body></html>\n"
)
KEPT = ("Content-Type", "Location", "Set-Cookie")


def _handler(upstream: tuple[str, int]) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        server_version = "Apache"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self, method: str) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
            try:
                conn = http.client.HTTPConnection(*upstream, timeout=10)
                conn.request(method, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                status, kept = answer.status, [(k, answer.getheader(k)) for k in KEPT if answer.getheader(k)]
                conn.close()
            except (OSError, http.client.HTTPException):
                status, data, kept = 502, BAD_GATEWAY.encode(), [("Content-Type", "text/html; charset=iso-8859-1")]
            self.send_response(status)
            for key, value in kept:
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

    return Front


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    os._exit(0)


def front(listen_addr: str, listen_port: str, upstream_port: str) -> NoReturn:
    """Serve on listen_addr:listen_port, forwarding every request to listen_addr:upstream_port (Tomcat)."""
    set_comm("apache2")
    signal.signal(signal.SIGTERM, _exit_on_term)
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    httpd = ThreadingHTTPServer((listen_addr, int(listen_port)), _handler((listen_addr, int(upstream_port))))
    httpd.serve_forever()
    os._exit(0)
