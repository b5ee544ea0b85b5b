"""Where a lab lives and how to act in it: paths, host names and addresses, commands as the login user.

Owns: the lab directory's layout (state file, host directories, PostgreSQL data and socket dirs, the
installed simulator), host name -> address, a host's customer.sh settings (TRACE_ADDR: where its syslogd
listens; XTK_VAR_DIR: its var/ tree), and running commands, psql and the host's nlserver as the
lab login user. Every other lab module works through a `LabContext` (`Lab` is one).
Must not: start or stop hosts, or import a `lab` module other than `lab.base`.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

from .base import (
    DB_PORT,
    DEFAULT_DIR,
    DEFAULT_NET,
    INSTANCE,
    LOOPBACK_PORTS,
    SIM_ENTRY,
    SYSLOG_PORT,
    LabError,
    customer_setting,
    trace_addr,
)


class LabContext:
    """The lab directory `dir` with hosts on `net`.K; commands run as `user` (neolane when root)."""

    def __init__(
        self, dir: str | os.PathLike[str] | None = None, net: str | None = None, project_inventory: bool = True
    ) -> None:
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
            st = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return st if isinstance(st, dict) else {}

    def hosts(self) -> list[str]:
        return [f"lab{k}" for k in range(1, int(self.state().get("hosts", 0)) + 1)]

    def hdir(self, host: str) -> Path:
        return self.dir / "hosts" / host

    def addr(self, host: str) -> str:
        return f"{self.net}.{int(host[3:])}"

    def setting(self, host: str, name: str) -> str | None:
        """What the host's customer.sh sets `name` to (TRACE_ADDR, XTK_VAR_DIR), or None."""
        try:
            return customer_setting((self.hdir(host) / "nl6" / "customer.sh").read_text(), name)
        except OSError:
            return None

    def var_dir(self, host: str) -> Path:
        """The host's var/ tree: its XTK_VAR_DIR, else nl6/var."""
        moved = self.setting(host, "XTK_VAR_DIR")
        return Path(moved) if moved else self.hdir(host) / "nl6" / "var"

    def trace_addr(self, host: str) -> tuple[str, int]:
        """Where the host's syslogd listens: its TRACE_ADDR (localhost as 127.0.0.1), else its address, 6666."""
        name, port = trace_addr(self.setting(host, "TRACE_ADDR"), self.addr(host), SYSLOG_PORT)
        return ("127.0.0.1" if name == "localhost" else name), port

    def loopback_port(self, host: str) -> int:
        """The udp port syslogd_loopback gives this host on 127.0.0.1: one per lab host, different per net."""
        _, b, c = (int(x) for x in self.net.split("."))
        first, span = LOOPBACK_PORTS
        return first + ((b * 256 + c) * 256 + int(host[3:])) % span

    @property
    def db_host(self) -> str:
        return f"{self.net}.250"

    @property
    def pop3_addr(self) -> str:
        """The lab's POP3 server (bounce mailboxes) listens here, port 1110."""
        return f"{self.net}.251"

    @property
    def pgdata(self) -> Path:
        return self.dir / "pg" / "data"

    @property
    def pgsock(self) -> Path:
        return self.dir / "pg" / "sock"

    @property
    def sim_entry(self) -> Path:
        """The simulator script the lab runs (`python3 -I -S <sim_entry> ARGS`)."""
        return self.dir / SIM_ENTRY

    def sim_argv(self, *args: str) -> list[str]:
        return [self.python, "-I", "-S", str(self.sim_entry), *args]

    def info(self, host: str) -> dict[str, Any]:
        """The host's host.json (role, instances, redirection, databases); {} before it is written."""
        try:
            data = json.loads((self.hdir(host) / "host.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def instances(self, host: str) -> list[str]:
        """The host's Campaign instances, its main one first."""
        found = self.info(host).get("instances")
        return [str(i) for i in found] if isinstance(found, list) and found else [INSTANCE]

    def db_name(self, host: str, instance: str | None = None) -> str:
        """The database of one instance of the host (the main instance's is campaign_<host>)."""
        if instance is None or instance == self.instances(host)[0]:
            return f"campaign_{host}"
        return f"campaign_{host}_{instance}"

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
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": pw.pw_dir,
            "USER": self.user,
            "LOGNAME": self.user,
            "LANG": "C.UTF-8",
        }

    def run_as(
        self, argv: list[str], check: bool = True, timeout: float = 60, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        kw.setdefault("env", self._env())
        kw.setdefault("cwd", str(self.dir))
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **self._user_kw(), **kw)
        if check and r.returncode != 0:
            raise LabError(f"{' '.join(argv[:3])}...: exit {r.returncode}: {r.stderr.strip()[-500:]}")
        return r

    def popen_as(self, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                cwd=str(log.parent),
                env=self._env(),
                close_fds=True,
                **self._user_kw(),
                **kw,
            )

    def chown(self, *paths: Path) -> None:
        if self.root:
            uid, gid = self._ids()
            for p in paths:
                os.chown(p, uid, gid)

    def write(self, path: Path, text: str, mode: int = 0o644, owned: bool = True, in_place: bool = False) -> None:
        """Give ``path`` the contents ``text`` (mode, and the Campaign account as owner when ``owned``).

        The new file replaces the old in one step, so a module reading it meanwhile (inMail reads
        config-<instance>.xml at each poll) sees the old or the new contents, never the empty file a
        truncating write leaves for a moment. ``in_place`` truncates and rewrites the same file instead:
        for a log that a running module keeps appending to.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        target = path if in_place else path.with_name(f".{path.name}.{os.getpid()}.new")
        target.write_text(text)
        os.chmod(target, mode)
        if owned:
            self.chown(target)
        if not in_place:
            os.replace(target, path)

    def nlserver(
        self, host: str, *args: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return self.run_as(
            [str(self.hdir(host) / "nl6/bin/nlserver"), *args], check=check, timeout=timeout, cwd=str(self.hdir(host))
        )

    def psql(self, sql: str, db: str = "postgres", check: bool = True) -> str:
        """Run `sql` as the cluster superuser over its unix socket; the unaligned, tuples-only output."""
        r = self.run_as(
            [
                "psql",
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.pgsock),
                "-p",
                str(DB_PORT),
                "-U",
                self.user,
                "-d",
                db,
                "-c",
                sql,
            ],
            check=check,
            timeout=60,
        )
        return r.stdout.strip()

    @property
    def monitoring_password_file(self) -> Path:
        return self.dir / "monitoring.password"

    def monitoring_password(self) -> str:
        """The password of the lab's monitoring operator (`monitoring`), the only login web accepts."""
        try:
            return self.monitoring_password_file.read_text().strip()
        except OSError as e:
            raise LabError(f"{self.monitoring_password_file}: {e.strerror} (is the lab up?)") from e

    def db_password(self, host: str) -> str:
        p = self.hdir(host) / "nl6" / ".pgpass"
        if p.exists():
            return p.read_text().strip().split(":")[-1]
        return os.urandom(12).hex()
