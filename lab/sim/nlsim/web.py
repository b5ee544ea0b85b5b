"""web@default: the Tomcat of a Campaign host (HTTP on 8080, control port 8005).

Owns: `/r/test`, `/nl/jsp/ping.jsp` (a query of the database: `Ok` and the time, or an error when the
data source does not answer), `/nl/jsp/logon.jsp` and the SOAP router's `xtk:session#Logon`, which connects to the
database with the host's data source on every call (a wrong dbcnx gives an xtk:session fault) and lets
only an operator of XtkOperator with its password log on; the faults of this one web process
(run/faults/<name> holding its pid: /r/test not OK, logon.jsp blank), a site redirect of logon.jsp
(run/faults/web_logon_redirect: HTTP 302 with an empty body, whatever the process) and a broken Java
integration (customer.sh's JAVA_HOME, read at start: Tomcat's error report on logon.jsp).
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import hmac
import html
import os
import re
import socket
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from .common import HOST, NL6, PROC, RUN, SESSIONS, TRACKING_SOCK, address, conf_attr, flag, inst, log, ready
from .db import PG, DBError

NOT_FOUND = "<html><body>404 Not Found</body></html>\n"
LOGON_PAGE = (
    "<html><head><title>Adobe Campaign</title></head><body><form method='post' "
    "action='/nl/jsp/logon.jsp'><input name='login'/><input name='password' type='password'/>"
    "<input type='submit' value='Log in'/></form></body></html>\n"
)
LOGON_RESPONSE = (
    "<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:xsd='http://www.w3.org/2001/XMLSchema' "
    "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:ns='urn:xtk:session' "
    "xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>"
    "<LogonResponse xmlns='urn:xtk:session' SOAP-ENV:encodingStyle="
    "'http://schemas.xmlsoap.org/soap/encoding/'><pstrSessionToken xsi:type='xsd:string'>%s"
    "</pstrSessionToken><pSessionInfo xsi:type='ns:Element'><sessionInfo><serverInfo "
    "buildNumber='9362' instanceName='%s'/></sessionInfo></pSessionInfo><pstrSecurityToken "
    "xsi:type='xsd:string'>@%s</pstrSecurityToken></LogonResponse></SOAP-ENV:Body>"
    "</SOAP-ENV:Envelope>\n"
)
LOGON_ERROR = "Error while executing the method 'Logon' of service 'xtk:session'."
# a refused login: Adobe's only documented refusal text (tests/fixtures/adobe/soap-fault.yml), on Logon
LOGON_REFUSED = "Error while reading parameters of method 'Logon' of service 'xtk:session'."
DENIED = "Invalid login or password. Connection denied."
# Tomcat's error report for a JSP whose Java integration is broken (a JVM that cannot be loaded)
TOMCAT_ERROR = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 500 - Internal Server Error</title></head><body>'
    '<h1>HTTP Status 500 - Internal Server Error</h1><hr class="line" /><p><b>Type</b> Exception Report</p>'
    "<p><b>Message</b> Unable to load the Adobe Campaign JSP bridge</p><p><b>Description</b> The server "
    "encountered an unexpected condition that prevented it from fulfilling the request.</p><p><b>Exception</b></p>"
    "<pre>java.lang.UnsatisfiedLinkError: {detail}\n\tat java.lang.ClassLoader.loadLibrary(ClassLoader.java:1860)\n"
    '\tat com.neolane.nlsrvjsp.NlJspServlet.init(NlJspServlet.java:61)</pre><hr class="line" />'
    "<h3>Apache Tomcat/7.0.109</h3></body></html>\n"
)


def _field(body: str, name: str) -> str | None:
    """The text of the SOAP parameter `name` (any namespace prefix), unescaped; None when absent."""
    found = re.search(rf"<(?:[\w.-]+:)?{name}\b[^>]*?(?:/>|>([^<]*)</(?:[\w.-]+:)?{name}>)", body)
    return html.unescape(found.group(1) or "") if found else None


def password_ok(stored: str | None, password: str) -> bool:
    """Whether `password` matches an operator's stored `sha256:<salt>:<hex digest of salt+password>`."""
    parts = (stored or "").split(":")
    if not password or len(parts) != 3 or parts[0] != "sha256":
        return False
    return hmac.compare_digest(hashlib.sha256((parts[1] + password).encode()).hexdigest(), parts[2])


def _fault_of_this_process(name: str) -> bool:
    """A fault recorded in run/faults/<name> for this very web process (its pid): a restart clears it."""
    try:
        with open(os.path.join(RUN, "faults", name)) as f:
            return f.read().strip() == str(os.getpid())
    except OSError:
        return False


def java_problem() -> str:
    """Why the Java integration of nl6/customer.sh is broken (a JAVA_HOME that is not a directory), else ""."""
    try:
        with open(os.path.join(NL6, "customer.sh")) as f:
            text = f.read()
    except OSError:
        return ""
    found = re.findall(r"^\s*(?:export\s+)?JAVA_HOME=['\"]?([^'\"\s]*)", text, re.M)
    if found and not os.path.isdir(found[-1]):
        return f"no libjvm.so in java.library.path (JAVA_HOME={found[-1]} does not exist)"
    return ""


JAVA: dict[str, str] = {"problem": ""}  # read once when web starts, as Tomcat loads its JVM settings then


def record_session(ip: str, login: str) -> None:
    """Remember a logged-on session for `pdump -who` (the list dies with the web process, as in Campaign)."""
    login = re.sub(r"[^A-Za-z0-9_.@|-]", "_", login)[:64] or "anonymous"
    with open(SESSIONS, "a") as f:
        f.write(f"{int(time.time())}\t{ip}\t{inst()}\t{login}\n")


def _target(instance: str, delivery: int, url: int) -> str:
    """The URL a click goes to, from var/<I>/redir/url/<YYYY>/<deliveryId>.xml (else the site's home page)."""
    for path in sorted(glob.glob(os.path.join(NL6, "var", instance, "redir", "url", "*", f"{delivery}.xml"))):
        with contextlib.suppress(OSError, ET.ParseError):
            for el in ET.parse(path).getroot().iter("url"):
                if el.get("id") == str(url) and el.get("source"):
                    return str(el.get("source"))
    return "https://www.example.com/"


def soap_fault(msg: str, detail: str, code: str = "SOAP-ENV:Server") -> str:
    """A fault as Adobe prints one (data-oriented-apis.md, "Return with error"): code, string, detail."""
    return (
        "<?xml version='1.0'?>\n<SOAP-ENV:Envelope xmlns:xsd='http://www.w3.org/2001/XMLSchema' "
        "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' "
        "xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>\n<SOAP-ENV:Body>\n<SOAP-ENV:Fault>\n"
        f"<faultcode>{code}</faultcode>\n<faultstring xsi:type='xsd:string'>{html.escape(msg)}</faultstring>\n"
        f"<detail xsi:type='xsd:string'>{html.escape(detail)}</detail>\n"
        "</SOAP-ENV:Fault>\n</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n"
    )


class WebHandler(BaseHTTPRequestHandler):
    server_version = "Apache-Coyote/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: str, ctype: str = "text/xml;charset=utf-8") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/r/test"):
            status = "ERROR" if _fault_of_this_process("web_r_test_failing") else "OK"
            self._send(
                200,
                "<redir status='{}' date='{}' build='9362' host='{}' localHost='{}'/>\n".format(
                    status,
                    time.strftime("%Y/%m/%d %H:%M:%S"),
                    html.escape(self.headers.get("Host", ""), True),
                    HOST["name"],
                ),
            )
        elif self.path.startswith("/r/"):
            self._redirect()
        elif self.path.startswith("/nl/jsp/ping.jsp"):
            self._ping()
        elif self.path.startswith("/nl/jsp/logon.jsp"):
            if JAVA["problem"]:
                self._send(500, TOMCAT_ERROR.format(detail=html.escape(JAVA["problem"])), "text/html;charset=utf-8")
            elif flag("web_logon_redirect"):  # a redirect with an empty body: not Adobe's blank page
                self.send_response(302)
                self.send_header("Location", f"https://{address()}/nl/jsp/logon.jsp")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif _fault_of_this_process("web_logon_blank"):
                self._send(200, "", "text/html;charset=utf-8")  # Tomcat up, the web module behind it down
            else:
                self._send(200, LOGON_PAGE, "text/html;charset=utf-8")
        else:
            self._send(404, NOT_FOUND, "text/html")

    def _ping(self) -> None:
        """/nl/jsp/ping.jsp: a query through the web module to the database, "OK" when it works (Adobe's page
        shows `Ok` and the time, production/using/monitoring-processes.md). The session token names the
        operator (sessionTokenOnly); the lab looks it up in XtkOperator. Adobe shows no failure: the lab's
        own is HTTP 500 with `Error` then the reason on the next line."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        token = query.get("__sessiontoken", [""])[0]
        try:
            pg = PG(timeout=3)
            rows = pg.query("SELECT iOperatorId FROM XtkOperator WHERE sName=$1::text", [token])
            pg.close()
        except (DBError, OSError) as e:
            log("error", f"ping.jsp: {e} (iRc=-2006)")
            self._send(500, f"Error\n{e}\n", "text/plain;charset=utf-8")
            return
        if not token or not rows:
            self._send(500, f"Error\nsession token '{html.escape(token[:64])}' names no operator\n", "text/plain")
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        self._send(200, f"Ok\n{stamp}\n", "text/plain;charset=utf-8")

    def _redirect(self) -> None:
        """A tracked open or click, `/r/?id=<h|o><delivery>,<recipient>,<url>[&instance=I]` (ids in hex):
        handed to trackinglogd, then answered with the redirect (click) or an image (open)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        found = re.fullmatch(
            r"([ho])([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})", query.get("id", [""])[0]
        )
        instance = query.get("instance", [inst()])[0]
        if not found or not HOST.get("redirection", True) or not re.fullmatch(r"[A-Za-z0-9_]+", instance):
            self._send(404, NOT_FOUND, "text/html")
            return
        event, ids = found.group(1), [int(x, 16) for x in found.groups()[1:]]
        target = _target(instance, ids[0], ids[2])
        record = [instance, event, *map(str, ids), target, self.headers.get("User-Agent", ""), self.client_address[0]]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto("\t".join(v.replace("\t", " ") for v in record).encode("latin-1", "replace"), TRACKING_SOCK)
        except OSError:
            log("warning", "TRK-110010 trackinglogd does not answer: the tracking event is lost")
        if event == "o":
            self._send(200, "GIF89a", "image/gif")
            return
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode(errors="replace") if n else ""
        if not self.path.startswith("/nl/jsp/soaprouter.jsp"):
            self._send(404, NOT_FOUND, "text/html")
            return
        action = self.headers.get("SOAPAction", "")
        if "Logon" not in action and "Logon" not in body:
            self._send(
                500,
                soap_fault(
                    "Error while reading parameters of method 'Unknown' of service 'xtk:session'.",
                    "SOP-330006 Method unknown (service 'xtk:session').",
                    "SOAP-ENV:Client",
                ),
            )
            return
        login, password = _field(body, "strLogin") or "", _field(body, "strPassword") or ""
        try:
            pg = PG(timeout=3)
            rows = pg.query("SELECT sPassword FROM XtkOperator WHERE sName=$1::text", [login])
            pg.close()
        except (DBError, OSError) as e:
            log("error", f"{e} (iRc=-2006)")
            log("error", LOGON_ERROR)
            self._send(500, soap_fault(LOGON_ERROR, f"{e} ODB-240000 ODBC error: database unreachable. (iRc=-2006)"))
            return
        if not rows or not password_ok(rows[0][0], password):
            log("warning", f"Logon of operator '{login[:64]}' refused: {DENIED}")
            self._send(500, soap_fault(LOGON_REFUSED, DENIED, "SOAP-ENV:Client"))
            return
        token = "___" + str(uuid.uuid4()).upper()
        record_session(self.client_address[0], login)
        log("info", f"Logon of operator '{login}' (session {token[:11]})")
        self._send(200, LOGON_RESPONSE % (token, inst(), uuid.uuid4().hex))


def mod_web() -> None:
    addr = address()
    os.makedirs(os.path.dirname(SESSIONS), exist_ok=True)
    open(SESSIONS, "w").close()  # a web restart cuts every session
    HTTPServer.allow_reuse_address = True
    httpd = HTTPServer((addr, int(conf_attr("web", "httpPort", "8080"))), WebHandler)
    httpd.timeout = 1.0
    ctl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ctl.bind((addr, int(conf_attr("web", "controlPort", "8005"))))
    ctl.listen(4)

    def control() -> None:
        while True:
            c, _ = ctl.accept()
            c.close()

    threading.Thread(target=control, daemon=True).start()
    JAVA["problem"] = java_problem()
    ready()
    log("info", "Tomcat started on {}:{}".format(addr, conf_attr("web", "httpPort", "8080")))
    if JAVA["problem"]:
        log("error", f"JSP bridge not loaded: {JAVA['problem']}")
    while not PROC.stop.is_set():
        httpd.handle_request()
