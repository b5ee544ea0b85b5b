"""A minimal PostgreSQL client (protocol 3.0: startup, md5/cleartext auth, simple query) for the modules.

Owns: reading the host's data source (config-<instance>.xml dbcnx + pgpass) and talking to the lab
cluster with it. Must not: import anything outside the standard library; hide a database error (every
failure is a DBError whose message reads like Campaign's PGS-/ODB- errors).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import struct
import xml.etree.ElementTree as ET
from typing import Protocol

from .common import NL6, conf_path, inst

Row = list[str | None]


class DBError(Exception):
    """The database could not be reached or refused a statement (message as Campaign prints it)."""


class Queryable(Protocol):
    def query(self, sql: str, params: list[str | None] | None = None) -> list[Row]: ...


def dbcnx(instance: str = "") -> tuple[str, int, str, str, str | None]:
    """(server, port, database, login, password or None) of the instance's default data source."""
    el = None
    with contextlib.suppress(OSError, ET.ParseError):
        el = ET.parse(conf_path(f"config-{instance or inst()}.xml")).getroot().find(".//dataSource/dbcnx")
    if el is None:
        raise DBError("ODB-240000 ODBC error: no data source 'default' configured")
    host, port = el.get("server", ""), el.get("port", "5432")
    db, user = el.get("dbName", ""), el.get("login", "")
    password = None
    try:
        with open(os.environ.get("PGPASSFILE") or os.path.join(NL6, ".pgpass")) as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) == 5 and all(
                    a in ("*", b) for a, b in zip(parts[:4], (host, port, db, user), strict=True)
                ):
                    password = parts[4]
                    break
    except OSError:
        pass
    return host, int(port), db, user, password


def lit(v: object) -> str:
    """An SQL literal for `v` (NULL, a number, or a quoted string)."""
    if v is None:
        return "NULL"
    if isinstance(v, int | float):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class PG:
    """One connection to the host's database, authenticated as the data source's login."""

    def __init__(self, timeout: float = 5.0) -> None:
        host, port, db, user, password = dbcnx()
        self.user = user
        try:
            self.s = socket.create_connection((host, port), timeout)
        except OSError as e:
            raise DBError(
                f"PGS-220000 PostgreSQL error: could not connect to server {host}:{port}: {e.strerror}"
            ) from e
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
                    raise DBError(f"PGS-220000 PostgreSQL error: unsupported authentication {code}")
            elif t == b"E":
                raise DBError("PGS-220000 PostgreSQL error: " + self._err(payload))
            elif t == b"Z":
                return

    def _send(self, t: bytes, payload: bytes) -> None:
        self.s.sendall(t + struct.pack("!I", len(payload) + 4) + payload)

    def _recvn(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise DBError("PGS-220000 PostgreSQL error: server closed the connection")
            buf += chunk
        return buf

    def _read(self) -> tuple[bytes, bytes]:
        head = self._recvn(5)
        n = struct.unpack("!I", head[1:])[0]
        return head[:1], self._recvn(n - 4)

    @staticmethod
    def _err(payload: bytes) -> str:
        fields = {p[:1]: p[1:].decode(errors="replace") for p in payload.split(b"\0") if p}
        return fields.get(b"M", "error")

    def query(self, sql: str, params: list[str | None] | None = None) -> list[Row]:
        """Run `sql`; the rows of its last result, values as text or None. With `params` (possibly empty) it
        is one statement whose $1, $2 ... are bound as text values (extended protocol: nothing is spliced)."""
        if params is None:
            self._send(b"Q", sql.replace("\0", "").encode() + b"\0")
        else:
            self._send(b"P", b"\0" + sql.replace("\0", "").encode() + b"\0" + struct.pack("!H", 0))
            bind = b"\0\0" + struct.pack("!HH", 0, len(params))
            for value in params:
                data = None if value is None else value.encode()
                bind += struct.pack("!i", -1) if data is None else struct.pack("!i", len(data)) + data
            self._send(b"B", bind + struct.pack("!H", 0))
            self._send(b"E", b"\0" + struct.pack("!I", 0))
            self._send(b"S", b"")
        rows: list[Row] = []
        err = None
        while True:
            t, payload = self._read()
            if t == b"D":
                n = struct.unpack("!H", payload[:2])[0]
                pos = 2
                row: Row = []
                for _ in range(n):
                    ln = struct.unpack("!i", payload[pos : pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(payload[pos : pos + ln].decode())
                        pos += ln
                rows.append(row)
            elif t == b"E":
                err = self._err(payload)
            elif t == b"Z":
                break
        if err:
            raise DBError("PGS-220000 PostgreSQL error: " + err)
        return rows

    def close(self) -> None:
        try:
            self._send(b"X", b"")
            self.s.close()
        except OSError:
            pass


class DBHolder:
    """One lazily (re)opened connection per module process."""

    def __init__(self) -> None:
        self.pg: PG | None = None

    def query(self, sql: str, params: list[str | None] | None = None) -> list[Row]:
        if self.pg is None:
            self.pg = PG()
        try:
            return self.pg.query(sql, params)
        except (OSError, DBError):
            self.close()
            raise

    def close(self) -> None:
        if self.pg:
            self.pg.close()
        self.pg = None
