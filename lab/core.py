"""Campaign lab orchestrator: starts, stops, inspects, breaks and heals simulated Campaign v7 hosts.

Owns: the lab directory (hosts, PostgreSQL cluster, client key, ssh config, inventory) and every
process started for it, each recorded in a pid file with its start time.
Must not: kill any process it did not start (pids are verified against /proc before any signal),
bind anything outside 127.0.0.0/8, or import anything outside the standard library.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PKG = Path(__file__).resolve().parent
DEFAULT_DIR = "/tmp/remediate-lab"
DEFAULT_NET = "127.0.2"
INSTANCE = "prod"
SSH_PORT, SYSLOG_PORT, WEB_PORT, CTL_PORT, STAT_PORT, DB_PORT = 2222, 6666, 8080, 8005, 7777, 5432
MODULES = ["syslogd@default", "web@default", "trackinglogd@default",
           f"wfserver@{INSTANCE}", f"mta@{INSTANCE}", f"stat@{INSTANCE}", f"inMail@{INSTANCE}"]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARKER = ".remediate-lab"


class LabError(Exception):
    """A lab operation could not be completed (message says where and what)."""


def starttime(pid: int) -> int | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
        return int(data[data.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def read_pidfile(path: Path) -> int | None:
    """The pid recorded in `path` if that very process (same start time) is still alive."""
    try:
        parts = path.read_text().split()
        pid, st = int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return pid if starttime(pid) == st and st else None


def write_pidfile(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        st = starttime(pid)
        if st:
            break
        time.sleep(0.01)
    path.write_text(f"{pid} {st or 0}\n")


def kill_verified(paths: list[Path], timeout: float = 5.0) -> list[int]:
    """SIGTERM (then SIGKILL) the processes recorded in `paths` that are still the ones recorded."""
    victims: dict[int, int] = {}
    for p in paths:
        pid = read_pidfile(p)
        if pid and pid != os.getpid():
            victims[pid] = starttime(pid) or 0
    for pid in victims:
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    deadline = time.time() + timeout
    while time.time() < deadline and any(starttime(p) == s for p, s in victims.items()):
        time.sleep(0.05)
    for pid, st in victims.items():
        if starttime(pid) == st:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    return list(victims)


class Lab:
    """A lab of simulated Campaign v7 hosts: `Lab(dir, net).up(3)`, `.status("lab1")`, `.break_(...)`, `.heal(...)`."""

    def __init__(self, dir: str | os.PathLike[str] | None = None, net: str | None = None,
                 project_inventory: bool = True) -> None:
        self.dir = Path(dir or os.environ.get("REMEDIATE_LAB_DIR") or DEFAULT_DIR).absolute()
        self.net = net or os.environ.get("REMEDIATE_LAB_NET") or DEFAULT_NET
        if not self.net.startswith("127.") or len(self.net.split(".")) != 3:
            raise LabError(f"--net {self.net}: must be three octets inside 127.0.0.0/8, e.g. 127.0.2")
        self.project_inventory = project_inventory
        self.root = os.geteuid() == 0
        self.user = "neolane" if self.root else pwd.getpwuid(os.geteuid()).pw_name
        self.python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    # ------------------------------------------------------------ paths & state
    @property
    def state_file(self) -> Path:
        return self.dir / "lab.json"

    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def hosts(self) -> list[str]:
        return [f"lab{k}" for k in range(1, int(self.state().get("hosts", 0)) + 1)]

    def hdir(self, host: str) -> Path:
        return self.dir / "hosts" / host

    def addr(self, host: str) -> str:
        return f"{self.net}.{int(host[3:])}"

    @property
    def db_host(self) -> str:
        return f"{self.net}.250"

    def _check_host(self, host: str) -> None:
        if host not in self.hosts():
            raise LabError(f"{host}: no such lab host (lab has {', '.join(self.hosts()) or 'no hosts'})")

    # ------------------------------------------------------------ running things as the login user
    def _ids(self) -> tuple[int, int]:
        pw = pwd.getpwnam(self.user)
        return pw.pw_uid, pw.pw_gid

    def _user_kw(self) -> dict[str, Any]:
        if not self.root:
            return {}
        uid, gid = self._ids()
        return {"user": uid, "group": gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        pw = pwd.getpwnam(self.user)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": pw.pw_dir, "USER": self.user,
               "LOGNAME": self.user, "LANG": "C.UTF-8"}
        return env

    def run_as(self, argv: list[str], check: bool = True, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
        kw.setdefault("env", self._env())
        kw.setdefault("cwd", str(self.dir))
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **self._user_kw(), **kw)
        if check and r.returncode != 0:
            raise LabError(f"{' '.join(argv[:3])}...: exit {r.returncode}: {r.stderr.strip()[-500:]}")
        return r

    def popen_as(self, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
        out = open(log, "ab")
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                cwd=str(log.parent), env=self._env(), close_fds=True, **self._user_kw(), **kw)

    def chown(self, *paths: Path) -> None:
        if self.root:
            uid, gid = self._ids()
            for p in paths:
                os.chown(p, uid, gid)

    def write(self, path: Path, text: str, mode: int = 0o644, owned: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
        if owned:
            self.chown(path)

    def nlserver(self, host: str, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return self.run_as([str(self.hdir(host) / "nl6/bin/nlserver"), *args], check=check, timeout=timeout,
                           cwd=str(self.hdir(host)))

    # ------------------------------------------------------------ user
    def ensure_user(self) -> None:
        if not self.root:
            return
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", self.user], check=True)

    # ------------------------------------------------------------ up
    def up(self, hosts: int = 3) -> dict[str, Any]:
        if not 1 <= hosts <= 200:
            raise LabError(f"--hosts {hosts}: must be between 1 and 200")
        t0 = time.time()
        self.ensure_user()
        st = self.state()
        if st and st.get("net") != self.net:
            raise LabError(f"{self.dir}: lab already set up with net {st.get('net')}; run `down` first")
        if st and int(st.get("hosts", 0)) > hosts:
            raise LabError(f"{self.dir}: lab already has {st['hosts']} hosts; run `down` first to shrink it")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        (self.dir / MARKER).touch()
        (self.dir / "hosts").mkdir(exist_ok=True)
        os.chmod(self.dir / "hosts", 0o755)
        self.chown(self.dir / "hosts")
        self._install_sim()
        self._client_key()
        self._postgres()
        names = [f"lab{k}" for k in range(1, hosts + 1)]
        self._databases(names)
        self.state_file.write_text(json.dumps({"hosts": hosts, "net": self.net, "user": self.user,
                                               "instance": INSTANCE}, indent=1))
        with cf.ThreadPoolExecutor(max_workers=min(16, hosts)) as ex:
            list(ex.map(self._host_up, names))
        self._client_files()
        self._wait_ready(names, timeout=30)
        return {"hosts": hosts, "seconds": round(time.time() - t0, 2), "dir": str(self.dir)}

    def _install_sim(self) -> None:
        d = self.dir / "sim"
        d.mkdir(exist_ok=True)
        shutil.copy2(PKG / "sim" / "nlsim.py", d / "nlsim.py")
        os.chmod(d, 0o755)
        os.chmod(d / "nlsim.py", 0o644)

    def _client_key(self) -> None:
        key = self.dir / "id_ed25519"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "remediate-lab-client", "-f", str(key)],
                           check=True, capture_output=True)

    # ------------------------------------------------------------ postgres
    @property
    def pgdata(self) -> Path:
        return self.dir / "pg" / "data"

    @property
    def pgsock(self) -> Path:
        return self.dir / "pg" / "sock"

    def psql(self, sql: str, db: str = "postgres", check: bool = True) -> str:
        r = self.run_as(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.pgsock), "-p", str(DB_PORT),
                         "-U", self.user, "-d", db, "-c", sql], check=check, timeout=60)
        return r.stdout.strip()

    def _postgres(self) -> None:
        pg = self.dir / "pg"
        if not (self.pgdata / "PG_VERSION").exists():
            pg.mkdir(exist_ok=True)
            self.pgsock.mkdir(exist_ok=True)
            self.chown(pg, self.pgsock)
            os.chmod(pg, 0o700)
            self.run_as([str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", self.user, "-A", "trust",
                         "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"], timeout=120)
            with open(self.pgdata / "postgresql.conf", "a") as f:
                f.write(f"\nlisten_addresses = '{self.db_host}'\nport = {DB_PORT}\n"
                        f"unix_socket_directories = '{self.pgsock}'\npassword_encryption = md5\n"
                        "max_connections = 400\nshared_buffers = 64MB\nfsync = off\nsynchronous_commit = off\n"
                        "full_page_writes = off\nlogging_collector = off\n")
            (self.pgdata / "pg_hba.conf").write_text(
                "local all all trust\nhost all all 127.0.0.0/8 md5\n")
        if not self._pg_pid():
            self.run_as([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.dir / "pg" / "postgres.log"),
                         "-w", "-t", "60", "start"], timeout=90)
        if not self.psql("SELECT 1 FROM pg_database WHERE datname='campaign_template'"):
            self.psql("CREATE DATABASE campaign_template")
            self.run_as(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pgsock), "-p", str(DB_PORT),
                         "-U", self.user, "-d", "campaign_template", "-f", str(PKG / "schema.sql")],
                        cwd="/")

    def _pg_pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if str(self.pgdata).encode() in cmd else None

    def db_password(self, host: str) -> str:
        p = self.hdir(host) / "nl6" / ".pgpass"
        if p.exists():
            return p.read_text().strip().split(":")[-1]
        return os.urandom(12).hex()

    def _databases(self, names: list[str]) -> None:
        have = set(self.psql("SELECT datname FROM pg_database").split())
        stmts = []
        for h in names:
            if f"campaign_{h}" in have:
                continue
            pw = self.db_password(h)
            self._pgpass(h, pw)
            stmts.append(f"DROP ROLE IF EXISTS {h}; CREATE ROLE {h} LOGIN PASSWORD '{pw}';"
                         f"CREATE DATABASE campaign_{h} TEMPLATE campaign_template OWNER {h};"
                         f"REVOKE CONNECT ON DATABASE campaign_{h} FROM PUBLIC;"
                         f"GRANT CONNECT ON DATABASE campaign_{h} TO {h};")
        if stmts:
            script = self.dir / "pg" / "create.sql"
            self.write(script, "\n".join(stmts) + "\n", 0o644)
            self.run_as(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pgsock), "-p", str(DB_PORT),
                         "-U", self.user, "-d", "postgres", "-f", str(script)], timeout=300)

    def _pgpass(self, host: str, pw: str) -> None:
        self.write(self.hdir(host) / "nl6" / ".pgpass",
                   f"{self.db_host}:{DB_PORT}:campaign_{host}:{host}:{pw}\n", 0o600)

    # ------------------------------------------------------------ one host
    def _host_up(self, host: str) -> None:
        h = self.hdir(host)
        if not (h / "host.json").exists():
            self._host_tree(host)
        self._sshd_start(host)
        self.nlserver(host, "watchdog", "-svc", "-noconsole")

    def _host_tree(self, host: str) -> None:
        h, addr = self.hdir(host), self.addr(host)
        nl6 = h / "nl6"
        dirs = [h, h / "run", h / "ssh", nl6, nl6 / "bin", nl6 / "conf", nl6 / "var", nl6 / "var" / "default",
                nl6 / "var/default/log", nl6 / "var" / INSTANCE, nl6 / f"var/{INSTANCE}/log",
                nl6 / f"var/{INSTANCE}/redir", nl6 / f"var/{INSTANCE}/redir/log", nl6 / f"var/{INSTANCE}/redir/url",
                nl6 / f"var/{INSTANCE}/export", nl6 / f"var/{INSTANCE}/upload", nl6 / f"var/{INSTANCE}/inmail",
                nl6 / f"var/{INSTANCE}/inmail/mailbox", nl6 / f"var/{INSTANCE}/inmail/processed",
                nl6 / f"var/{INSTANCE}/redir/url/{time.strftime('%Y')}"]
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
            self.chown(d)
        info = {"name": host, "address": addr, "instance": INSTANCE, "db_host": self.db_host, "db_port": DB_PORT,
                "db_name": f"campaign_{host}", "db_user": host, "lab_dir": str(self.dir)}
        self.write(h / "host.json", json.dumps(info, indent=1) + "\n")
        self.write(nl6 / "bin" / "nlserver",
                   f"#!/bin/sh\n# Simulated Adobe Campaign nlserver of lab host {host}\n"
                   f"NL6_ROOT='{nl6}'\nexport NL6_ROOT\n"
                   f"[ -n \"$PGPASSFILE\" ] || PGPASSFILE='{nl6}/.pgpass'\nexport PGPASSFILE\n"
                   f"exec {self.python} -I -S '{self.dir}/sim/nlsim.py' \"$@\"\n", 0o755)
        self.write(nl6 / "env.sh",
                   f"# Campaign environment of lab host {host} (POSIX sh, prints nothing)\n"
                   f"NL6_ROOT='{nl6}'\nexport NL6_ROOT\nPATH='{nl6}/bin':\"$PATH\"\nexport PATH\n"
                   f"PGPASSFILE='{nl6}/.pgpass'\nexport PGPASSFILE\n"
                   f"PGHOST='{self.db_host}'\nPGPORT='{DB_PORT}'\nPGDATABASE='campaign_{host}'\nPGUSER='{host}'\n"
                   "export PGHOST PGPORT PGDATABASE PGUSER\n"
                   f"[ -f '{nl6}/customer.sh' ] && . '{nl6}/customer.sh'\n:\n", 0o644)
        self.write(nl6 / "customer.sh", "# site customisations (sourced by env.sh)\n", 0o644)
        self.write(nl6 / "conf" / "serverConf.xml", SERVERCONF.format(addr=addr, host=host))
        self._configs(host)
        for k in range(1, 4):
            self.write(nl6 / f"var/{INSTANCE}/redir/url/{time.strftime('%Y')}/{k}.xml",
                       f"<delivery id='{k}'><url id='1' source='https://www.example.com/'/></delivery>\n", 0o644)
        key = h / "ssh" / "ssh_host_ed25519_key"
        for path in (key, h / "ssh" / "ssh_host_ed25519_key.changed"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{host}-hostkey", "-f", str(path)],
                           check=True, capture_output=True)
            self.chown(path, Path(str(path) + ".pub"))
        pub = (self.dir / "id_ed25519.pub").read_text()
        self.write(h / "ssh" / "authorized_keys", pub, 0o600)

    def _configs(self, host: str) -> None:
        nl6, addr = self.hdir(host) / "nl6", self.addr(host)
        self.write(nl6 / "conf" / "config-default.xml", CONFIG_DEFAULT.format(addr=addr))
        self.write(nl6 / "conf" / f"config-{INSTANCE}.xml",
                   CONFIG_INSTANCE.format(addr=addr, db_host=self.db_host, db_port=DB_PORT, host=host))

    # ------------------------------------------------------------ sshd
    def _sshd_conf(self, host: str, port: int, key: str) -> Path:
        h = self.hdir(host)
        conf = h / "ssh" / f"sshd_config.{port}"
        self.write(conf, SSHD_CONFIG.format(addr=self.addr(host), port=port, key=h / "ssh" / key, h=h,
                                            user=self.user), 0o644)
        return conf

    def _sshd_start(self, host: str, port: int = SSH_PORT, key: str = "ssh_host_ed25519_key") -> None:
        run = self.hdir(host) / "run"
        pf = run / f"sshd.{port}.pid"
        if read_pidfile(pf):
            return
        conf = self._sshd_conf(host, port, key)
        p = self.popen_as(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], run / f"sshd.{port}.log")
        write_pidfile(pf, p.pid)
        deadline = time.time() + 10
        while time.time() < deadline:
            if p.poll() is not None:
                raise LabError(f"{host}: sshd exited with {p.returncode}, see {run}/sshd.{port}.log")
            if self._listening("t", self.addr(host), port):
                return
            time.sleep(0.05)
        raise LabError(f"{host}: sshd not listening on {self.addr(host)}:{port}")

    def _sshd_stop(self, host: str, port: int) -> None:
        kill_verified([self.hdir(host) / "run" / f"sshd.{port}.pid"])

    def _listening_quiet(self, addr: str, port: int) -> bool:
        return self._listening("t", addr, port)

    @staticmethod
    def _listening(proto: str, addr: str, port: int) -> bool:
        import socket
        if proto == "t":
            try:
                with socket.create_connection((addr, port), 0.5):
                    return True
            except OSError:
                return False
        return False

    # ------------------------------------------------------------ client side files
    def _client_files(self) -> None:
        names = self.hosts()
        kh, cfg = [], []
        for h in names:
            pub = (self.hdir(h) / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
            kh.append(f"[{self.addr(h)}]:{SSH_PORT} {pub[0]} {pub[1]}")
            cfg.append(f"Host {h}\n  HostName {self.addr(h)}\n  Port {SSH_PORT}\n  User {self.user}\n"
                       f"  IdentityFile {self.dir}/id_ed25519\n  UserKnownHostsFile {self.dir}/known_hosts\n"
                       "  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  ConnectTimeout 10\n")
        (self.dir / "known_hosts").write_text("\n".join(kh) + "\n")
        (self.dir / "ssh_config").write_text("\n".join(cfg))
        inv = self.inventory_text()
        (self.dir / "inventory.yml").write_text(inv)
        if self.project_inventory and Path("inventory").is_dir():
            Path("inventory/lab.yml").write_text(inv)
            st = self.state()
            st["project_inventory"] = str(Path("inventory/lab.yml").absolute())
            self.state_file.write_text(json.dumps(st, indent=1))

    def inventory_text(self) -> str:
        lines = ["# written by `python -m lab up`; removed by `python -m lab down`", "all:", "  vars:",
                 f"    ssh_config: {self.dir}/ssh_config", f"    instance: {INSTANCE}",
                 "    # the lab's wfserver picks a requested start up within a second or two",
                 "    workflow_start_grace: 5",
                 "    # the lab's syslogd record format is known (lab/README.md): test records may be sent",
                 "    syslog_probe: true", "  children:", "    lab:",
                 "      hosts:"]
        for h in self.hosts():
            nl6 = self.hdir(h) / "nl6"
            lines += [f"        {h}:", f"          nlserver: {nl6}/bin/nlserver", f"          nlserver_env: {nl6}/env.sh",
                      f"          nl6_root: {nl6}", f"          address: {self.addr(h)}",
                      f"          syslogd_port: {SYSLOG_PORT}", f"          web_port: {WEB_PORT}",
                      f"          stat_port: {STAT_PORT}", f"          db_host: {self.db_host}",
                      f"          db_port: {DB_PORT}", f"          db_name: campaign_{h}", f"          db_user: {h}"]
        return "\n".join(lines) + "\n"

    def _wait_ready(self, names: list[str], timeout: float) -> None:
        deadline = time.time() + timeout
        pending = set(names)
        while pending and time.time() < deadline:
            for h in list(pending):
                procs = self.processes(h)
                if all(procs.get(m, {}).get("alive") for m in ["watchdog", *MODULES]):
                    pending.discard(h)
            if pending:
                time.sleep(0.2)
        if pending:
            raise LabError(f"hosts not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")

    # ------------------------------------------------------------ down
    def pidfiles(self) -> list[Path]:
        return sorted(self.dir.glob("hosts/*/run/**/*.pid"))

    def down(self, keep: bool = False) -> dict[str, Any]:
        if not self.dir.exists():
            return {"stopped": 0}
        st = self.state()
        # watchdogs first so that nothing gets restarted, then everything else that was recorded
        killed = kill_verified([p for p in self.pidfiles() if p.name == "watchdog.pid"])
        killed += kill_verified(self.pidfiles())
        pg = self._pg_pid()
        if pg:
            self.run_as([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], check=False)
            killed.append(pg)
        inv = st.get("project_inventory")
        if inv and Path(inv).exists() and Path(inv).read_text() == self.inventory_text():
            Path(inv).unlink()
        if not keep and (self.dir / MARKER).exists():
            for name in ("hosts", "pg", "sim", "id_ed25519", "id_ed25519.pub", "known_hosts", "ssh_config",
                         "inventory.yml", "lab.json", MARKER):
                p = self.dir / name
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                elif p.exists():
                    p.unlink()
            try:
                self.dir.rmdir()
            except OSError:
                pass
        return {"stopped": len(killed)}

    # ------------------------------------------------------------ status / faults (see status.py, faults.py)
    def processes(self, host: str) -> dict[str, dict[str, Any]]:
        from .status import processes
        return processes(self, host)

    def status(self, host: str | None = None) -> dict[str, Any]:
        from .status import host_status
        if host:
            self._check_host(host)
            return host_status(self, host)
        names = self.hosts()
        with cf.ThreadPoolExecutor(max_workers=8) as ex:
            return dict(zip(names, ex.map(lambda h: host_status(self, h), names)))

    def faults(self) -> dict[str, str]:
        from .faults import FAULTS
        return {k: v[0] for k, v in FAULTS.items()}

    def break_(self, host: str, fault: str) -> None:
        from .faults import apply
        self._check_host(host)
        apply(self, host, fault)

    def heal(self, host: str) -> None:
        from .faults import heal
        self._check_host(host)
        heal(self, host)


SERVERCONF = """<?xml version='1.0'?>
<!-- Campaign server configuration of lab host {host} -->
<serverconf>
  <shared>
    <dataStore hosts="*" lang="en_GB">
      <dataSource name="default"/>
    </dataStore>
  </shared>
  <syslogd autoStart="false" port="6666" maxFileSizeMb="10"/>
  <web autoStart="false" httpPort="8080" controlPort="8005"/>
  <watchdog processRestartTime="06:00"/>
</serverconf>
"""
CONFIG_DEFAULT = """<?xml version='1.0'?>
<serverconf>
  <syslogd autoStart="true" address="{addr}" port="6666" maxFileSizeMb="10"/>
  <web autoStart="true" address="{addr}" httpPort="8080" controlPort="8005"/>
  <trackinglogd autoStart="true"/>
</serverconf>
"""
CONFIG_INSTANCE = """<?xml version='1.0'?>
<serverconf>
  <shared>
    <dataStore>
      <dataSource name="default">
        <dbcnx provider="PostgreSQL" server="{db_host}" port="{db_port}" dbName="campaign_{host}" login="{host}"/>
      </dataSource>
    </dataStore>
  </shared>
  <wfserver autoStart="true"/>
  <mta autoStart="true" statServerAddress="{addr}"/>
  <stat autoStart="true" port="7777"/>
  <inMail autoStart="true"/>
</serverconf>
"""
SSHD_CONFIG = """# sshd of lab host (runs as {user}, no privilege separation)
ListenAddress {addr}:{port}
HostKey {key}
PidFile none
AuthorizedKeysFile {h}/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers {user}
PermitRootLogin no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
LogLevel ERROR
Subsystem sftp internal-sftp
"""


@contextlib.contextmanager
def temporary_lab(prefix: str, net: str, hosts: int) -> Iterator[Lab]:
    """A lab in a fresh directory under /tmp, up for the block and fully removed after it (test suites)."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)  # the lab's login user must traverse it
    lab = Lab(d, net, project_inventory=False)
    try:
        lab.up(hosts)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(d, ignore_errors=True)
