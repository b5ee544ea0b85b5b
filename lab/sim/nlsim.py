"""Simulated Adobe Campaign Classic v7 `nlserver` (lab only; stdlib only).

Owns: the behaviour of one lab host's nlserver binary, its watchdog and module processes.
Must not: import anything outside the standard library (it is copied into the lab directory and run
as the lab login user with /usr/bin/python3 -I -S), touch anything outside its host directory except
the sockets of its own host address and the lab PostgreSQL database.
"""
import ctypes
import glob
import hashlib
import html
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

BUILD = "7.3 23.10 build 9362@6e4ecd4b57ad1ee5c3d3ecb1b2f1d1f8cd0a7b22"
BUILD_DATE = "14/02/2024"
MULTI = ("syslogd", "web", "trackinglogd")
MONO = ("wfserver", "mta", "stat", "inMail")
NL6 = os.environ.get("NL6_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))
HOST_DIR = os.path.dirname(NL6)
RUN = os.path.join(HOST_DIR, "run")
HOST = {}
STOP = threading.Event()
MODULE_NAME = "nlserver"
VERBOSE = False
ECHO = False

TRACK_RE = re.compile(r"^\d0x[0-9A-F]{16}\t\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\t\d+\t\d+\t\d+\t[a-z]+$")


# ---------------------------------------------------------------- small helpers
def load_host():
    with open(os.path.join(HOST_DIR, "host.json")) as f:
        HOST.update(json.load(f))


def inst():
    return HOST.get("instance", "prod")


def console(msg, stream=None):
    (stream or sys.stdout).write("%s >   %s\n" % (time.strftime("%H:%M:%S"), msg))


def banner():
    console("Application server for Adobe Campaign Classic (%s) of %s" % (BUILD, BUILD_DATE))


def starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return int(data[data.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return data[data.rindex(")") + 2:].split()[0]
    except (OSError, ValueError):
        return None


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def write_pid(path, pid, state=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".%d.tmp" % os.getpid()
    with open(tmp, "w") as f:
        f.write("%d %d %s\n" % (pid, starttime(pid) or 0, state))
    os.replace(tmp, path)


def read_pid(path):
    """(pid, ready) when the pid file names a live process it was written for, else None."""
    try:
        with open(path) as f:
            parts = f.read().split()
        pid, st = int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    if starttime(pid) != st:
        return None
    return pid, (len(parts) < 3)


def rm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def pidfile(name):
    return os.path.join(RUN, "procs", name + ".pid")


def flag(name):
    return os.path.exists(os.path.join(RUN, "faults", name))


def set_comm(name):
    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)
    except Exception:
        pass


def full_name(mod):
    base = mod.split("@")[0]
    if base == "watchdog":
        return "watchdog"
    if "@" in mod:
        return mod
    return "%s@%s" % (base, "default" if base in MULTI else inst())


def conf_path(name):
    return os.path.join(NL6, "conf", name)


def enabled_modules():
    out = []
    for fname, kinds, suffix in (("config-default.xml", MULTI, "default"), ("config-%s.xml" % inst(), MONO, inst())):
        try:
            root = ET.parse(conf_path(fname)).getroot()
        except (OSError, ET.ParseError):
            continue
        for k in kinds:
            el = root.find(k)
            if el is not None and el.get("autoStart") == "true":
                out.append("%s@%s" % (k, suffix))
    return out


def conf_attr(module, attr, default=None):
    fname = "config-default.xml" if module in MULTI else "config-%s.xml" % inst()
    try:
        el = ET.parse(conf_path(fname)).getroot().find(module)
        if el is not None and el.get(attr):
            return el.get(attr)
    except (OSError, ET.ParseError):
        pass
    return default


def running():
    """{name: (pid, ready)} of live lab processes of this host (watchdog and modules)."""
    out = {}
    for p in glob.glob(os.path.join(RUN, "procs", "*.pid")):
        r = read_pid(p)
        if r:
            out[os.path.basename(p)[:-4]] = r
    return out


# ---------------------------------------------------------------- syslog client
_LOG_SOCK = None


def log(level, msg):
    global _LOG_SOCK
    if ECHO:
        console(msg)
    try:
        if _LOG_SOCK is None:
            _LOG_SOCK = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _LOG_SOCK.bind((HOST["address"], 0))
        port = int(conf_attr("syslogd", "port", "6666"))
        data = "%s\t%d\t%s\t%s" % (MODULE_NAME, os.getpid(), level, msg)
        _LOG_SOCK.sendto(data.encode()[:8000], (HOST["address"], port))
    except OSError:
        pass


# ---------------------------------------------------------------- minimal PostgreSQL client
class DBError(Exception):
    pass


def dbcnx():
    el = None
    try:
        el = ET.parse(conf_path("config-%s.xml" % inst())).getroot().find(".//dataSource/dbcnx")
    except (OSError, ET.ParseError):
        pass
    if el is None:
        raise DBError("ODB-240000 No data source 'default' configured")
    host, port = el.get("server", ""), el.get("port", "5432")
    db, user = el.get("dbName", ""), el.get("login", "")
    password = None
    try:
        with open(os.environ.get("PGPASSFILE") or os.path.join(NL6, ".pgpass")) as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) == 5 and all(a in ("*", b) for a, b in zip(parts[:4], (host, port, db, user))):
                    password = parts[4]
                    break
    except OSError:
        pass
    return host, int(port), db, user, password


class PG:
    def __init__(self, timeout=5.0):
        host, port, db, user, password = dbcnx()
        self.user = user
        try:
            self.s = socket.create_connection((host, port), timeout)
        except OSError as e:
            raise DBError("PGS-220000 PostgreSQL error: could not connect to server %s:%d: %s" % (host, port, e.strerror))
        body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
        self.s.sendall(struct.pack("!I", len(body) + 4) + body)
        while True:
            t, payload = self._read()
            if t == b"R":
                code = struct.unpack("!I", payload[:4])[0]
                if code == 5:
                    if password is None:
                        raise DBError("PGS-220000 PostgreSQL error: fe_sendauth: no password supplied")
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    pw = "md5" + hashlib.md5(inner.encode() + payload[4:8]).hexdigest()
                    self._send(b"p", pw.encode() + b"\0")
                elif code == 3:
                    self._send(b"p", (password or "").encode() + b"\0")
                elif code != 0:
                    raise DBError("PGS-220000 PostgreSQL error: unsupported authentication %d" % code)
            elif t == b"E":
                raise DBError("PGS-220000 PostgreSQL error: " + self._err(payload))
            elif t == b"Z":
                return

    def _send(self, t, payload):
        self.s.sendall(t + struct.pack("!I", len(payload) + 4) + payload)

    def _recvn(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise DBError("PGS-220000 PostgreSQL error: server closed the connection")
            buf += chunk
        return buf

    def _read(self):
        head = self._recvn(5)
        n = struct.unpack("!I", head[1:])[0]
        return head[:1], self._recvn(n - 4)

    @staticmethod
    def _err(payload):
        fields = dict((p[:1], p[1:].decode(errors="replace")) for p in payload.split(b"\0") if p)
        return fields.get(b"M", "error")

    def query(self, sql):
        self._send(b"Q", sql.replace("\0", "").encode() + b"\0")
        rows, err = [], None
        while True:
            t, payload = self._read()
            if t == b"D":
                n = struct.unpack("!H", payload[:2])[0]
                pos, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", payload[pos:pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(payload[pos:pos + ln].decode())
                        pos += ln
                rows.append(row)
            elif t == b"E":
                err = self._err(payload)
            elif t == b"Z":
                break
        if err:
            raise DBError("PGS-220000 PostgreSQL error: " + err)
        return rows

    def close(self):
        try:
            self._send(b"X", b"")
            self.s.close()
        except OSError:
            pass


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class DBHolder:
    """One lazily (re)opened connection per module process."""

    def __init__(self):
        self.pg = None

    def query(self, sql):
        if self.pg is None:
            self.pg = PG()
        try:
            return self.pg.query(sql)
        except (OSError, DBError):
            self.close()
            raise

    def close(self):
        if self.pg:
            self.pg.close()
        self.pg = None


# ---------------------------------------------------------------- tracking consolidation
def redir_dir():
    return os.path.join(NL6, "var", inst(), "redir", "log")


class TrackingError(Exception):
    pass


def consolidate(db):
    files = sorted(glob.glob(os.path.join(redir_dir(), "0x*.log")))
    rows = []
    for path in files:
        with open(path, errors="replace") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line:
                    continue
                if not TRACK_RE.match(line):
                    raise TrackingError("TRK-110004 Invalid tracking log line at %s:%d: '%s'" % (path, n, line[:60].encode("unicode_escape", "replace").decode("ascii", "replace")))
                p = line.split("\t")
                rows.append("(%d,%s,%s,%s,%s,%s)" % (int(p[0][3:], 16), p[2], p[3], p[4],
                            lit(p[1].replace("/", "-")), lit(p[0])))
    inserted = 0
    for i in range(0, len(rows), 500):
        r = db.query("WITH ins AS (INSERT INTO NmsTrackingLogRcp (iTrackingLogId, iDeliveryId, iRecipientId, iUrlId, "
                     "tsLog, sSourceId) VALUES %s ON CONFLICT (iTrackingLogId) DO NOTHING RETURNING 1) "
                     "SELECT count(*) FROM ins" % ",".join(rows[i:i + 500]))
        inserted += int(r[0][0])
    return len(files), inserted


def tracking_run(db):
    """Run the tracking consolidation and record the outcome on the Tracking workflow."""
    try:
        nfiles, inserted = consolidate(db)
    except TrackingError as e:
        db.query("UPDATE XtkWorkflow SET iFailed=1, sErrorMessage=%s, tsLastRun=now() WHERE sInternalName='tracking'"
                 % lit(str(e)))
        raise
    db.query("UPDATE XtkWorkflow SET iFailed=0, sErrorMessage=NULL, iState=11, tsLastRun=now(), tsLastSuccess=now() "
             "WHERE sInternalName='tracking'")
    return nfiles, inserted


# ---------------------------------------------------------------- modules
def mod_syslogd():
    port = int(conf_attr("syslogd", "port", "6666"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST["address"], port))
    except OSError as e:
        sys.stderr.write("syslogd: cannot bind udp %s:%d: %s\n" % (HOST["address"], port, e))
        sys.exit(3)
    ready()
    files = {}
    s.settimeout(1.0)
    while not STOP.is_set():
        try:
            data, _ = s.recvfrom(65535)
        except TimeoutError:
            for f in files.values():
                f.flush()
            continue
        parts = data.decode(errors="replace").rstrip("\n").split("\t")
        if len(parts) == 3:
            mod, level, msg = parts
            pid = "0"
        elif len(parts) >= 4:
            mod, pid, level, msg = parts[0], parts[1], parts[2], "\t".join(parts[3:])
        else:
            continue
        base, _, instance = mod.partition("@")
        if not re.match(r"^[A-Za-z_]+$", base or "-"):
            continue
        if base in MULTI or base in ("watchdog", "webmdl") or not instance or instance == "default":
            d = os.path.join(NL6, "var", "default", "log")
        else:
            if not re.match(r"^[A-Za-z0-9_]+$", instance):
                continue
            d = os.path.join(NL6, "var", instance, "log")
        path = os.path.join(d, base + ".log")
        f = files.get(path)
        if f is None:
            os.makedirs(d, exist_ok=True)
            f = files[path] = open(path, "a")
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int((now % 1) * 1000)
        f.write("%s\t%s\t%s\t1\t%s\t%s\t%s\n" % (ts, pid, "00000000", level, base, msg))
        f.flush()


class WebHandler(BaseHTTPRequestHandler):
    server_version = "Apache-Coyote/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body, ctype="text/xml;charset=utf-8"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/r/test"):
            self._send(200, "<redir status='OK' date='%s' build='9362' host='%s' localHost='%s'/>\n" % (
                time.strftime("%Y/%m/%d %H:%M:%S"), html.escape(self.headers.get("Host", ""), True), HOST["name"]))
        elif self.path.startswith("/nl/jsp/logon.jsp"):
            self._send(200, "<html><head><title>Adobe Campaign</title></head><body><form method='post' "
                            "action='/nl/jsp/logon.jsp'><input name='login'/><input name='password' type='password'/>"
                            "<input type='submit' value='Log in'/></form></body></html>\n", "text/html;charset=utf-8")
        else:
            self._send(404, "<html><body>404 Not Found</body></html>\n", "text/html")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode(errors="replace") if n else ""
        if not self.path.startswith("/nl/jsp/soaprouter.jsp"):
            self._send(404, "<html><body>404 Not Found</body></html>\n", "text/html")
            return
        action = self.headers.get("SOAPAction", "")
        if "Logon" not in action and "Logon" not in body:
            self._send(500, soap_fault("SOP-330006 Method unknown (service 'xtk:session')", ""))
            return
        try:
            pg = PG(timeout=3)
            pg.query("SELECT 1")
            pg.close()
        except (DBError, OSError) as e:
            log("error", "%s (iRc=-2006)" % e)
            log("error", "XSV-350008 Error while executing the method 'Logon' of service 'xtk:session'.")
            self._send(500, soap_fault("XSV-350008 Error while executing the method 'Logon' of service 'xtk:session'.",
                                       "%s ODB-240000 ODBC error: database unreachable. (iRc=-2006)" % e))
            return
        token = "___" + str(uuid.uuid4()).upper()
        log("info", "Logon of operator 'admin' (session %s)" % token[:11])
        self._send(200, "<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:xsd='http://www.w3.org/2001/XMLSchema' "
                        "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:ns='urn:xtk:session' "
                        "xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>"
                        "<LogonResponse xmlns='urn:xtk:session' SOAP-ENV:encodingStyle="
                        "'http://schemas.xmlsoap.org/soap/encoding/'><pstrSessionToken xsi:type='xsd:string'>%s"
                        "</pstrSessionToken><pSessionInfo xsi:type='ns:Element'><sessionInfo><serverInfo "
                        "buildNumber='9362' instanceName='%s'/></sessionInfo></pSessionInfo><pstrSecurityToken "
                        "xsi:type='xsd:string'>@%s</pstrSecurityToken></LogonResponse></SOAP-ENV:Body>"
                        "</SOAP-ENV:Envelope>\n" % (token, inst(), uuid.uuid4().hex))


def soap_fault(msg, detail):
    return ("<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>"
            "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring xsi:type='xsd:string'>"
            "%s</faultstring><detail xsi:type='xsd:string'>%s</detail></SOAP-ENV:Fault></SOAP-ENV:Body>"
            "</SOAP-ENV:Envelope>\n" % (html.escape(msg), html.escape(detail)))


def mod_web():
    addr = HOST["address"]
    HTTPServer.allow_reuse_address = True
    httpd = HTTPServer((addr, int(conf_attr("web", "httpPort", "8080"))), WebHandler)
    httpd.timeout = 1.0
    ctl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ctl.bind((addr, int(conf_attr("web", "controlPort", "8005"))))
    ctl.listen(4)

    def control():
        while True:
            c, _ = ctl.accept()
            c.close()
    threading.Thread(target=control, daemon=True).start()
    ready()
    log("info", "Tomcat started on %s:%s" % (addr, conf_attr("web", "httpPort", "8080")))
    while not STOP.is_set():
        httpd.handle_request()


def mod_trackinglogd():
    d = redir_dir()
    os.makedirs(d, exist_ok=True)
    ready()
    log("info", "trackinglogd started, writing tracking logs into %s" % d)
    current, opened = None, 0.0
    while not STOP.is_set():
        now = time.time()
        if current is None or now - opened > 60:
            current = os.path.join(d, "0x%016X.log" % int(now * 1e6))
            opened = now
        line = "50x%016X\t%s\t%d\t%d\t%d\t%s" % (random.getrandbits(60), time.strftime("%Y/%m/%d %H:%M:%S"),
                                                   random.randint(1, 3), random.randint(1, 200),
                                                   random.randint(1, 5), random.choice(("open", "click")))
        with open(current, "a") as f:
            f.write(line + "\n")
        if VERBOSE:
            log("info", "1 tracking log line written to %s" % os.path.basename(current))
        STOP.wait(2.0)


def mod_inMail():
    box = os.path.join(NL6, "var", inst(), "inmail", "mailbox")
    done = os.path.join(NL6, "var", inst(), "inmail", "processed")
    os.makedirs(box, exist_ok=True)
    os.makedirs(done, exist_ok=True)
    ready()
    last = 0.0
    while not STOP.is_set():
        mails = sorted(glob.glob(os.path.join(box, "*.eml")))
        if mails or time.time() - last > 30:
            last = time.time()
            log("info", "POP3 session opened on bounce mailbox 'bounce@lab' (%d message(s))" % len(mails))
            for m in mails:
                subject = ""
                try:
                    with open(m, errors="replace") as f:
                        for line in f:
                            if line.lower().startswith("subject:"):
                                subject = line[8:].strip()
                                break
                    os.replace(m, os.path.join(done, os.path.basename(m)))
                    log("info", "Bounce mail '%s' qualified (%s)" % (os.path.basename(m), subject))
                except OSError:
                    pass
            log("info", "POP3 session closed")
        STOP.wait(2.0)


def mod_stat():
    port = int(conf_attr("stat", "port", "7777"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST["address"], port))
    s.settimeout(1.0)
    ready()
    log("info", "Statistics server listening on udp %s:%d" % (HOST["address"], port))
    asked = 0
    while not STOP.is_set():
        try:
            data, peer = s.recvfrom(4096)
        except TimeoutError:
            continue
        asked += 1
        if data.startswith(b"RELOAD"):
            log("info", "MX rules reloaded")
            s.sendto(b"RELOADED", peer)
        else:
            s.sendto(("OK stat@%s requests=%d" % (inst(), asked)).encode(), peer)


def ask_stat(timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        addr = conf_attr("mta", "statServerAddress", HOST["address"])
        s.sendto(("ASK mta@%s" % inst()).encode(), (addr, int(conf_attr("stat", "port", "7777"))))
        data, _ = s.recvfrom(4096)
        return data.startswith(b"OK")
    except OSError:
        return False
    finally:
        s.close()


def mod_mta():
    db = DBHolder()
    ready()
    while not STOP.is_set():
        try:
            pending = db.query("SELECT iDeliveryId, sLabel FROM NmsDelivery WHERE iState=45 ORDER BY 1")
            if pending:
                if ask_stat():
                    for did, label in pending:
                        db.query("UPDATE NmsDelivery SET iState=95, iSent=iToDeliver, tsLastModified=now() "
                                 "WHERE iDeliveryId=%s" % did)
                        log("info", "Delivery '%s' (%s): messages sent, delivery finished" % (label, did))
                else:
                    log("warning", "MTA-000016 Unable to contact the statistics server (stat@%s); %d delivery(ies) "
                                   "waiting" % (inst(), len(pending)))
        except (DBError, OSError) as e:
            log("error", "%s (iRc=-2006)" % e)
        STOP.wait(1.5)


def run_workflow(db, wid, name):
    log("info", "Workflow '%s' (%s) started" % (name, wid))
    db.query("UPDATE XtkWorkflow SET iState=11, tsLastStart=now() WHERE iWorkflowId=%s" % wid)
    if name == "tracking":
        try:
            nfiles, inserted = tracking_run(db)
            log("info", "Tracking: %d line(s) consolidated from %d file(s)" % (inserted, nfiles))
        except TrackingError as e:
            log("error", str(e))
        return
    if name.startswith("export"):
        d = os.path.join(NL6, "var", inst(), "export")
        os.makedirs(d, exist_ok=True)
        rows = db.query("SELECT iRecipientId, sEmail, sFirstName, sLastName, iFolderId FROM NmsRecipient ORDER BY 1")
        path = os.path.join(d, "%s_%s.csv" % (name, time.strftime("%Y%m%d%H%M%S")))
        with open(path + ".tmp", "w") as f:
            f.write("id;email;firstName;lastName;folderId\n")
            for r in rows:
                f.write(";".join(x or "" for x in r) + "\n")
        os.replace(path + ".tmp", path)
        log("info", "Export: %d row(s) written to %s" % (len(rows), path))
    db.query("UPDATE XtkWorkflow SET iState=20, iFailed=0, sErrorMessage=NULL, tsLastRun=now(), tsLastSuccess=now() "
             "WHERE iWorkflowId=%s" % wid)
    log("info", "Workflow '%s' (%s) finished" % (name, wid))


def mod_wfserver():
    db = DBHolder()
    ready()
    log("info", "Workflow server started")
    while not STOP.is_set():
        try:
            jobs = db.query("SELECT j.iWorkflowJobId, j.iWorkflowId, j.sCommand, w.sInternalName FROM XtkWorkflowJob j "
                            "JOIN XtkWorkflow w ON w.iWorkflowId=j.iWorkflowId WHERE j.iStatus=0 ORDER BY 1")
            for jid, wid, cmd, name in jobs:
                db.query("UPDATE XtkWorkflowJob SET iStatus=1, tsProcessed=now() WHERE iWorkflowJobId=%s" % jid)
                log("info", "Command '%s' on workflow '%s' taken into account" % (cmd, name))
                run_workflow(db, wid, name)
            due = db.query("SELECT iWorkflowId FROM XtkWorkflow WHERE sInternalName='tracking' AND iState=11 AND "
                           "iFailed=0 AND (tsLastRun IS NULL OR tsLastRun < now() - interval '10 minutes')")
            for (wid,) in due:
                run_workflow(db, wid, "tracking")
        except (DBError, OSError) as e:
            log("error", "%s (iRc=-2006)" % e)
        STOP.wait(1.0)


MODULE_MAIN = {"syslogd": mod_syslogd, "web": mod_web, "trackinglogd": mod_trackinglogd, "inMail": mod_inMail,
               "stat": mod_stat, "mta": mod_mta, "wfserver": mod_wfserver}


def ready():
    write_pid(pidfile(MODULE_NAME), os.getpid())


def module_process(name, foreground=False):
    """Body of a module process (forked by the watchdog, spawned by `start`, or run in the foreground)."""
    global MODULE_NAME, VERBOSE, ECHO
    MODULE_NAME = name
    base = name.split("@")[0]
    set_comm(name)
    VERBOSE = foreground or os.path.exists(os.path.join(RUN, "verbose", name))
    ECHO = foreground
    signal.signal(signal.SIGTERM, lambda *a: (STOP.set(), _exit_module(name)))
    signal.signal(signal.SIGINT, lambda *a: (STOP.set(), _exit_module(name)))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    write_pid(pidfile(name), os.getpid(), "starting")
    if flag("slow_restart"):
        time.sleep(4.0)
    try:
        MODULE_MAIN[base]()
    finally:
        _exit_module(name)


def _exit_module(name):
    r = read_pid(pidfile(name))
    if r and r[0] == os.getpid():
        rm(pidfile(name))
    os._exit(0)


# ---------------------------------------------------------------- watchdog
def watchdog_main():
    global MODULE_NAME, _LOG_SOCK
    MODULE_NAME = "watchdog"
    set_comm("watchdog")
    os.chdir(HOST_DIR)
    for p in glob.glob(os.path.join(RUN, "stopped", "*")):
        rm(p)
    children = {}
    last_start = {}
    stopping = []

    def on_term(*a):
        stopping.append(1)
    signal.signal(signal.SIGTERM, on_term)
    write_pid(pidfile("watchdog"), os.getpid())
    log("info", "Watchdog started")
    while not stopping:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            for n, p in list(children.items()):
                if p == pid:
                    del children[n]
                    if not os.path.exists(os.path.join(RUN, "stopped", n)):
                        log("warning", "Process '%s' (%d) ended unexpectedly, restarting it" % (n, pid))
        live = running()
        for name in enabled_modules():
            if name in children or name in live or os.path.exists(os.path.join(RUN, "stopped", name)):
                continue
            if time.time() - last_start.get(name, 0) < 1.0:
                continue
            last_start[name] = time.time()
            pid = os.fork()
            if pid == 0:
                if _LOG_SOCK is not None:
                    _LOG_SOCK.close()
                    _LOG_SOCK = None
                try:
                    module_process(name)
                finally:
                    os._exit(1)
            children[name] = pid
        time.sleep(0.3)
    log("info", "Watchdog stopping")
    for pid in children.values():
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    deadline = time.time() + 4
    while children and time.time() < deadline:
        for n, pid in list(children.items()):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    del children[n]
            except ChildProcessError:
                del children[n]
        time.sleep(0.05)
    for pid in children.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    rm(pidfile("watchdog"))
    os._exit(0)


def spawn(args):
    """Start a detached simulator process (own session, stdio on a log file, cwd in the host dir)."""
    os.makedirs(os.path.join(RUN, "out"), exist_ok=True)
    out = open(os.path.join(RUN, "out", "%s.out" % args[0].strip("_")), "ab")
    subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__)] + args, cwd=HOST_DIR,
                     stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True,
                     env=dict(os.environ, NL6_ROOT=NL6))


# ---------------------------------------------------------------- commands
def kill_module(name, immediate=False, timeout=8.0):
    r = read_pid(pidfile(name))
    if not r:
        return None
    pid = r[0]
    sigs = (signal.SIGKILL,) if immediate else (signal.SIGTERM, signal.SIGCONT)
    for sig in sigs:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.time() + timeout
    st = starttime(pid)
    while time.time() < deadline and st is not None and starttime(pid) == st and proc_state(pid) not in ("Z", None):
        time.sleep(0.05)
    if starttime(pid) is not None and proc_state(pid) not in ("Z", None):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    rm(pidfile(name))
    return pid


def known(name):
    base = name.split("@")[0]
    return base in MULTI or base in MONO


def cmd_stop(name, immediate=False):
    name = full_name(name)
    if not known(name):
        console("ERROR: XSV-350003 Unknown module '%s'" % name, sys.stderr)
        return 1
    os.makedirs(os.path.join(RUN, "stopped"), exist_ok=True)
    open(os.path.join(RUN, "stopped", name), "w").close()
    pid = kill_module(name, immediate)
    if pid is None:
        console("WARNING: process '%s' is not running" % name)
    else:
        console("Stop requested for '%s' ('%s', pid=%d, tracefile '%s')." % (name, name, pid, name.split("@")[0]))
    return 0


def module_cmdline(name):
    base, _, i = name.partition("@")
    extra = " -tomcat -autorepair" if base == "web" else ""
    return "nlserver %s -tracefile:%s -instance:%s -detach%s" % (base, name, i, extra)


def cmd_start(name):
    name = full_name(name)
    if not known(name):
        console("ERROR: XSV-350003 Unknown module '%s'" % name, sys.stderr)
        return 1
    rm(os.path.join(RUN, "stopped", name))
    if read_pid(pidfile(name)):
        console("WARNING: '%s' is already started" % name)
        return 0
    console("Running task '%s' ('%s') in a new process" % (name, module_cmdline(name)))
    if not read_pid(pidfile("watchdog")):
        spawn(["_module", name])
    console("Server started")
    return 0


def cmd_pdump(who=False):
    if flag("command_hangs"):
        hang()
    banner()
    procs = running()
    shown = [(n, p) for n, (p, ok) in procs.items() if ok]
    if not shown:
        print("No tasks")
    random.shuffle(shown)
    for n, p in shown:
        print("%s (%d) - %.1f MB" % (n, p, rss_mb(p)))
    if who and shown:
        web = procs.get("web@default")
        print("")
        print("Sessions:")
        if web:
            print("  admin@127.0.0.1 (%s) - session open since %s" % ("web@default", time.strftime("%Y/%m/%d %H:%M")))
        else:
            print("  none")
        print("Datasource 'default' (PostgreSQL %s): %d active connection(s), %d idle" % (
            HOST.get("db_name", ""), sum(1 for n in ("wfserver", "mta") if "%s@%s" % (n, inst()) in procs), 1))
    return 0


def hang():
    d = os.path.join(RUN, "hung")
    os.makedirs(d, exist_ok=True)
    write_pid(os.path.join(d, "%d.pid" % os.getpid()), os.getpid())
    while True:
        time.sleep(3600)


def cmd_monitor_missing():
    if flag("command_hangs"):
        hang()
    banner()
    live = running()
    for n in enabled_modules():
        if not (n in live and live[n][1]):
            print(n)
    return 0


def cmd_shutdown():
    procs = running()
    if not procs:
        console("No task to stop")
        return 0
    w = procs.get("watchdog")
    if w:
        console("Stop requested for 'watchdog' ('watchdog', pid=%d)." % w[0])
        kill_module("watchdog", timeout=10)
    for n in list(running()):
        console("Stop requested for '%s'." % n)
        kill_module(n)
    console("Shutdown complete")
    return 0


def cmd_watchdog():
    if read_pid(pidfile("watchdog")):
        console("WARNING: watchdog is already running")
        return 0
    console("Running task 'watchdog' ('nlserver watchdog -svc -noconsole') in a new process")
    spawn(["_watchdog"])
    deadline = time.time() + 5
    while time.time() < deadline and not read_pid(pidfile("watchdog")):
        time.sleep(0.05)
    if not read_pid(pidfile("watchdog")):
        console("ERROR: watchdog did not start", sys.stderr)
        return 1
    console("Server started")
    return 0


def cmd_javascript(path):
    try:
        with open(path) as f:
            src = f.read()
    except OSError as e:
        console("ERROR: JST-310000 Unable to read file '%s': %s" % (path, e.strerror), sys.stderr)
        return 1
    for m in re.finditer(r"logInfo\(\s*[\"']([^\"']*)[\"']\s*\)", src):
        console(m.group(1))
    calls = re.findall(r"xtk\.workflow\.(Start|Restart)\(\s*(?:\"([^\"]+)\"|'([^']+)'|(\d+))\s*\)", src)
    if not calls:
        return 0
    try:
        db = PG()
        for verb, a, b, num in calls:
            key = a or b or num
            where = ("iWorkflowId=%d" % int(key)) if num else ("sInternalName=%s" % lit(key))
            rows = db.query("SELECT iWorkflowId, sInternalName FROM XtkWorkflow WHERE %s" % where)
            if not rows:
                console("ERROR: XTK-170006 Unable to find workflow '%s'." % key, sys.stderr)
                return 1
            db.query("INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) VALUES (%s, %s)" % (rows[0][0],
                     lit(verb.lower())))
            log("info", "xtk.workflow.%s('%s'): request queued for the workflow server" % (verb, rows[0][1]))
        db.close()
    except (DBError, OSError) as e:
        console("ERROR: %s" % e, sys.stderr)
        return 1
    return 0


def cmd_tracking():
    try:
        db = PG()
    except (DBError, OSError) as e:
        console("ERROR: %s" % e, sys.stderr)
        return 1
    try:
        nfiles, inserted = tracking_run(db)
    except TrackingError as e:
        console("ERROR: %s" % e, sys.stderr)
        return 2
    except DBError as e:
        console("ERROR: %s" % e, sys.stderr)
        return 1
    console("Tracking: %d new log line(s) consolidated from %d file(s) of %s" % (inserted, nfiles, redir_dir()))
    return 0


def cmd_foreground(name):
    name = full_name(name)
    if read_pid(pidfile(name)):
        console("ERROR: '%s' is already running; stop it first" % name, sys.stderr)
        return 1
    module_process(name, foreground=True)
    return 0


def _squat(proto, addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.bind((addr, int(port)))
    set_comm("rsyslog-fwd")
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        if proto == "udp":
            s.recvfrom(65535)
        else:
            time.sleep(3600)


def _proxy(listen_addr, listen_port, target_port, drops):
    """TCP proxy in front of sshd that drops the first `drops` connections."""
    set_comm("sshd-proxy")
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((listen_addr, int(listen_port)))
    ls.listen(64)
    left = [int(drops)]

    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        c, _ = ls.accept()
        if left[0] > 0:
            left[0] -= 1
            c.close()
            continue
        try:
            u = socket.create_connection((listen_addr, int(target_port)), 5)
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


USAGE = """Usage: nlserver <command> [options]
  pdump [-who] | monitor -missing | start|stop|restart <module>[@instance] [-immediate] [-verbose] [-noconsole]
  shutdown | watchdog -svc -noconsole | config -reload | stat -reload
  javascript -instance:<I> -file <f.js> | tracking -instance:<I> -download -update
  <module> -instance:<I> -verbose -tracefilter:<filters>   (foreground trace mode)"""


def main(argv):
    if argv and argv[0] == "_squat":
        _squat(*argv[1:4])
        return 0
    if argv and argv[0] == "_proxy":
        _proxy(*argv[1:5])
        return 0
    load_host()
    if not argv:
        print(USAGE)
        return 1
    cmd, rest = argv[0], argv[1:]
    opts = [a for a in rest if a.startswith("-")]
    args = [a for a in rest if not a.startswith("-")]
    if cmd == "_watchdog":
        watchdog_main()
    if cmd == "_module":
        module_process(args[0])
    if cmd == "pdump":
        return cmd_pdump("-who" in opts)
    if cmd == "monitor":
        if "-missing" not in opts:
            console("ERROR: only 'monitor -missing' is supported by this server", sys.stderr)
            return 1
        return cmd_monitor_missing()
    if cmd in ("start", "stop", "restart"):
        if not args:
            console("ERROR: missing module name", sys.stderr)
            return 1
        rc = 0
        for name in args:
            fname = full_name(name)
            if cmd in ("stop", "restart"):
                rc = cmd_stop(name, "-immediate" in opts) or rc
            if cmd == "restart" and known(fname):
                d = os.path.join(RUN, "verbose")
                os.makedirs(d, exist_ok=True)
                if "-verbose" in opts:
                    open(os.path.join(d, fname), "w").close()
                elif "-noconsole" in opts:
                    rm(os.path.join(d, fname))
            if cmd in ("start", "restart"):
                rc = cmd_start(name) or rc
        return rc
    if cmd == "shutdown":
        return cmd_shutdown()
    if cmd == "watchdog":
        return cmd_watchdog()
    if cmd == "config":
        if "-reload" in opts:
            if read_pid(pidfile("web@default")):
                log("info", "Configuration reloaded")
                console("Configuration reloaded in 'web@default'")
                return 0
            console("ERROR: 'web@default' is not running", sys.stderr)
            return 1
        console("ERROR: unsupported config option", sys.stderr)
        return 1
    if cmd == "stat" and "-reload" in opts:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.sendto(b"RELOAD", (HOST["address"], int(conf_attr("stat", "port", "7777"))))
            s.recvfrom(100)
            console("MX rules reloaded by 'stat@%s'" % inst())
            return 0
        except OSError:
            console("ERROR: statistics server 'stat@%s' is not answering" % inst(), sys.stderr)
            return 1
    if cmd == "javascript":
        f = [o for o in rest if o.startswith("-file")]
        path = f[0].split(":", 1)[1] if f and ":" in f[0] else (args[0] if args else None)
        if not path:
            console("ERROR: -file <file.js> is required", sys.stderr)
            return 1
        return cmd_javascript(path)
    if cmd == "tracking":
        return cmd_tracking()
    if known(full_name(cmd)):
        i = [o.split(":", 1)[1] for o in opts if o.startswith("-instance:")]
        base = cmd.split("@")[0]
        return cmd_foreground("%s@%s" % (base, i[0] if (i and base in MONO) else ("default" if base in MULTI else inst())))
    console("ERROR: XSV-350003 Unknown command or module '%s'" % cmd, sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
