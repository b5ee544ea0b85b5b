"""The lab's PostgreSQL 15 cluster: one per lab, a database and role per host (md5 auth over TCP).

Owns: pg/ (initdb, postgresql.conf, pg_hba.conf, start/stop with pg_ctl), the campaign_template
database loaded from schema.sql, and each host's database, role and nl6/.pgpass.
Must not: stop a postmaster that does not serve this lab's data directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .base import DB_PORT, PG_BIN, PKG, proc_state, starttime
from .context import LabContext

PG_CONF = (
    "\nlisten_addresses = '{db_host}'\nport = {port}\nunix_socket_directories = '{sock}'\npassword_encryption = md5\n"
    "max_connections = 400\nshared_buffers = 64MB\nfsync = off\nsynchronous_commit = off\n"
    "full_page_writes = off\nlogging_collector = off\n"
)


def _psql_script(lab: LabContext, db: str, sql: str, timeout: float = 60) -> None:
    """Run an SQL script fed over stdin: psql, as the login user, never opens a file of the checkout."""
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(lab.pgsock), "-p", str(DB_PORT)]
    lab.run_as([*argv, "-U", lab.user, "-d", db, "-f", "-"], timeout=timeout, input=sql)


def pg_pid(lab: LabContext) -> int | None:
    """The postmaster's pid, if it runs and serves this lab's data directory."""
    try:
        pid = int((lab.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if str(lab.pgdata).encode() in cmd else None


def start(lab: LabContext) -> None:
    """Create (initdb) and start the cluster, and load campaign_template (each step only when missing)."""
    pg = lab.dir / "pg"
    if not (lab.pgdata / "PG_VERSION").exists():
        pg.mkdir(exist_ok=True)
        lab.pgsock.mkdir(exist_ok=True)
        lab.chown(pg, lab.pgsock)
        os.chmod(pg, 0o700)
        lab.run_as(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(lab.pgdata),
                "-U",
                lab.user,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            timeout=120,
        )
        with open(lab.pgdata / "postgresql.conf", "a") as f:
            f.write(PG_CONF.format(db_host=lab.db_host, port=DB_PORT, sock=lab.pgsock))
        (lab.pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.0/8 md5\n")
    if not pg_pid(lab):
        lab.run_as(
            [str(PG_BIN / "pg_ctl"), "-D", str(lab.pgdata), "-l", str(pg / "postgres.log"), "-w", "-t", "60", "start"],
            timeout=90,
        )
    if not lab.psql("SELECT 1 FROM pg_database WHERE datname='campaign_template'"):
        lab.psql("CREATE DATABASE campaign_template")
        _psql_script(lab, "campaign_template", (PKG / "schema.sql").read_text())


def stop(lab: LabContext) -> int | None:
    """Stop the cluster with `pg_ctl stop -m fast`; the postmaster's pid, or None when it was not running."""
    pid = pg_pid(lab)
    if pid:
        born = starttime(pid)
        lab.run_as([str(PG_BIN / "pg_ctl"), "-D", str(lab.pgdata), "-m", "fast", "-w", "stop"], check=False)
        # pg_ctl -w returns once postmaster.pid is gone, which the postmaster removes just before it exits:
        # wait (10 s at most) until the process itself has ended (or is a zombie waiting for its reaper)
        deadline = time.monotonic() + 10
        while born and starttime(pid) == born and proc_state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
    return pid


def write_pgpass(lab: LabContext, host: str, pw: str) -> None:
    lines = [f"{lab.db_host}:{DB_PORT}:{lab.db_name(host, i)}:{host}:{pw}\n" for i in lab.instances(host)]
    lab.write(lab.hdir(host) / "nl6" / ".pgpass", "".join(lines), 0o600)


def databases(lab: LabContext, names: list[str]) -> None:
    """A login role <host> and a database per instance of each new host (from the template)."""
    have = set(lab.psql("SELECT datname FROM pg_database").split())
    stmts = []
    for h in names:
        dbs = [lab.db_name(h, i) for i in lab.instances(h)]
        if all(db in have for db in dbs):
            continue
        pw = lab.db_password(h)
        write_pgpass(lab, h, pw)
        stmts.append(f"DROP ROLE IF EXISTS {h}; CREATE ROLE {h} LOGIN PASSWORD '{pw}';")
        for db in dbs:
            stmts.append(
                f"CREATE DATABASE {db} TEMPLATE campaign_template OWNER {h};"
                f"REVOKE CONNECT ON DATABASE {db} FROM PUBLIC;"
                f"GRANT CONNECT ON DATABASE {db} TO {h};"
            )
    if stmts:
        _psql_script(lab, "postgres", "\n".join(stmts) + "\n", timeout=300)
