"""Campaign lab orchestrator: starts, stops, inspects, breaks and heals simulated Campaign v7 hosts.

Owns: `Lab` (the public API: up, down, status, faults, break_, heal, plus `LabContext`'s paths and
run_as/psql/nlserver), the client-side files (key, known_hosts, ssh_config, inventory) and
`temporary_lab`. Every process started for a lab is recorded in a pid file with its start time.
Must not: kill any process it did not start (pids are verified against /proc before any signal),
bind anything outside 127.0.0.0/8, or import anything outside the standard library.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import importlib.metadata
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import faults as _faults
from . import front, mailbox, postgres
from .base import (
    DB_PORT,
    DEFAULT_DIR,
    FRONT_PORT,
    INSTANCE,
    MARKER,
    MODULES,
    MONITORING_LOGIN,
    PKG,
    POP3_PORT,
    SIM_DIR,
    SIM_PKG,
    SSH_PORT,
    WEB_PORT,
    LabError,
    kill_verified,
    read_pidfile,
    starttime,
)
from .context import LabContext
from .hostfiles import MID_SOURCED, host_tree, role_for
from .sshd import sshd_start
from .status import host_status, processes, wait_ready, wait_settled

# `from lab.core import MODULES, read_pidfile` is used by the test suites
__all__ = ["MODULES", "Lab", "LabError", "read_pidfile", "temporary_lab"]

LAB_FILES = (
    "hosts",
    "pg",
    "pop3",
    "sim",
    "id_ed25519",
    "id_ed25519.pub",
    "known_hosts",
    "ssh_config",
    "inventory.yml",
    "inventory-psql.yml",
    "lab.json",
    "monitoring.password",
    "up-failed.json",
    MARKER,
)


def this_checkout() -> dict[str, str]:
    """This checkout: the absolute path of the directory holding the `lab` package, and its version
    (`git describe`, else pyproject.toml's version, else the installed package's)."""
    checkout = PKG.parent
    version = ""
    if (checkout / ".git").exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            r = subprocess.run(
                ["git", "-c", f"safe.directory={checkout}", "-C", str(checkout), "describe", "--always", "--dirty"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            version = r.stdout.strip() if r.returncode == 0 else ""
    if not version:
        with contextlib.suppress(OSError):
            found = re.search(r'^version\s*=\s*"([^"]+)"', (checkout / "pyproject.toml").read_text(), re.M)
            version = found.group(1) if found else ""
    if not version:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            version = importlib.metadata.version("remediate")
    return {"checkout": str(checkout), "version": version or "unknown"}


def checkout_gone(checkout: str) -> bool:
    """The checkout a lab was started from no longer holds its `lab` package (removed, or moved away).
    A checkout that cannot be looked into (another user's mode-700 directory) is not gone."""
    if not checkout:
        return False
    try:
        os.stat(Path(checkout) / "lab" / "__main__.py")
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


class Lab(LabContext):
    """A lab of simulated Campaign v7 hosts: `Lab(dir, net).up(3)`, `.status("lab1")`, `.break_(...)`, `.heal(...)`."""

    # ------------------------------------------------------------ up
    def ensure_user(self) -> None:
        if not self.root:
            return
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", self.user], check=True)

    def up(self, hosts: int = 3, replace: bool = False) -> dict[str, Any]:
        """Start (or grow) the lab. A lab this directory holds from another checkout is refused, or with
        `replace` stopped and removed first; one whose checkout no longer exists (its clone was removed)
        is always stopped and removed first. `replaced` names that checkout, `replaced_gone` says it no
        longer exists and `replaced_stopped` counts the processes stopped. A failed `up` stops what it
        started."""
        if not 1 <= hosts <= 200:
            raise LabError(f"--hosts {hosts}: must be between 1 and 200")
        t0 = time.time()
        me = this_checkout()
        st = self.state()
        replaced, gone, stopped = None, False, 0
        if st and st.get("checkout") != me["checkout"]:
            other = str(st.get("checkout") or "")
            gone = checkout_gone(other)
            if not (replace or gone):
                raise LabError(
                    f"{self.dir}: the lab here was started from {other or 'an unknown checkout'} "
                    f"(version {st.get('version', 'unknown')}), not from this checkout {me['checkout']}: "
                    f"stop it with `{self.command('down')}` (from any checkout, or `make lab-down`), or "
                    f"`{self.command('up --replace')}` to stop it and start this checkout's lab"
                )
            stopped = self.down()["stopped"]
            replaced, st = other or "an unknown checkout (no checkout recorded)", {}
        if st and st.get("net") != self.net:
            raise LabError(f"{self.dir}: lab already set up with net {st.get('net')}; run `down` first")
        if st and int(st.get("hosts", 0)) > hosts:
            raise LabError(f"{self.dir}: lab already has {st['hosts']} hosts; run `down` first to shrink it")
        before = {p: read_pidfile(p) for p in self.pidfiles()}
        pg_before = self.dir.exists() and postgres.pg_pid(self) is not None
        try:
            self._up(hosts, me)
        except BaseException:
            self._stop_started(before, pg_before)
            raise
        return {
            "hosts": hosts,
            "seconds": round(time.time() - t0, 2),
            "dir": str(self.dir),
            "replaced": replaced,
            "replaced_gone": gone,
            "replaced_stopped": stopped,
        }

    def _up(self, hosts: int, me: dict[str, str]) -> None:
        self.ensure_user()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        (self.dir / MARKER).touch()
        (self.dir / "hosts").mkdir(exist_ok=True)
        os.chmod(self.dir / "hosts", 0o755)
        self.chown(self.dir / "hosts")
        self._install_sim()
        self._client_key()
        self._monitoring_password()
        postgres.start(self)
        names = [f"lab{k}" for k in range(1, hosts + 1)]
        new = [h for h in names if not (self.hdir(h) / "host.json").exists()]
        with cf.ThreadPoolExecutor(max_workers=min(16, hosts)) as ex:
            list(ex.map(lambda h: host_tree(self, h, role_for(int(h[3:]), hosts)), new))
        postgres.databases(self, names)
        for h in new:
            self._db_baseline(h)
            mailbox.add_accounts(self, h)
        mailbox.start(self)
        state = {"hosts": hosts, "net": self.net, "user": self.user, "instance": INSTANCE, **me}
        self.state_file.write_text(json.dumps(state, indent=1))
        with cf.ThreadPoolExecutor(max_workers=min(16, hosts)) as ex:
            list(ex.map(self._host_up, names))
        self._client_files()
        wait_ready(self, names, timeout=30)
        wait_settled(self, names, timeout=15)
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "up-failed.json").unlink()

    def _stop_started(self, before: dict[Path, int | None], pg_before: bool) -> None:
        """Stop what a failed `up` started: recorded processes that were not running before (watchdogs
        first, so that nothing is restarted), and PostgreSQL if it was not running. Files are kept (logs);
        what was stopped is listed in up-failed.json (pid, start time, pid file)."""

        def started(paths: list[Path]) -> list[Path]:
            return [p for p in paths if read_pidfile(p) and before.get(p) != read_pidfile(p)]

        victims = started(self.pidfiles())
        stopped: list[dict[str, Any]] = []
        for p in victims:
            pid = read_pidfile(p)
            if pid:
                stopped.append({"pid": pid, "starttime": starttime(pid), "pidfile": str(p)})
        kill_verified([p for p in victims if p.name == "watchdog.pid"])
        kill_verified(started(self.pidfiles()))
        pg = None if pg_before or not self.dir.exists() else postgres.pg_pid(self)
        if pg:
            stopped.append({"pid": pg, "starttime": starttime(pg), "pidfile": str(self.pgdata / "postmaster.pid")})
            postgres.stop(self)
        if self.dir.exists():
            (self.dir / "up-failed.json").write_text(json.dumps({"stopped": stopped}, indent=1) + "\n")

    def origin(self) -> dict[str, Any]:
        """The checkout (absolute path) and version that started the running lab, as its state file records,
        and whether that checkout is `gone` (no longer holds its `lab` package)."""
        st = self.state()
        checkout = str(st.get("checkout", ""))
        return {"checkout": checkout, "version": str(st.get("version", "")), "gone": checkout_gone(checkout)}

    def command(self, args: str) -> str:
        """The `python -m lab` command line that acts on this lab directory (`--dir` unless the default)."""
        where = "" if self.dir == Path(DEFAULT_DIR) else f" --dir {self.dir}"
        return f"python -m lab{where} {args}"

    def _install_sim(self) -> None:
        """Copy the simulator package (its .py files, and Adobe's tracking expression it reads: the
        runner's own file, linked from the package) to sim/nlsim/, readable by the login user."""
        dest = self.dir / SIM_DIR
        dest.mkdir(parents=True, exist_ok=True)
        os.chmod(dest.parent, 0o755)
        os.chmod(dest, 0o755)
        for src in [*SIM_PKG.glob("*.py"), SIM_PKG / "redir_line.ere"]:
            shutil.copy2(src, dest / src.name)
            os.chmod(dest / src.name, 0o644)

    def _monitoring_password(self) -> None:
        """<dir>/monitoring.password (mode 600, the invoking user's): the monitoring operator's password."""
        path = self.monitoring_password_file
        if not path.exists():
            path.write_text(secrets.token_urlsafe(18) + "\n")
        os.chmod(path, 0o600)

    def _client_key(self) -> None:
        key = self.dir / "id_ed25519"
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "remediate-lab-client", "-f", str(key)],
                check=True,
                capture_output=True,
            )

    def _db_baseline(self, host: str) -> None:
        """What differs in a new host's databases from the template: the monitoring operator (its salted
        password hash), and a mid-sourced host sends nothing itself."""
        salt = secrets.token_hex(8)
        digest = hashlib.sha256((salt + self.monitoring_password()).encode()).hexdigest()
        for instance in self.instances(host):
            self.psql(
                "INSERT INTO XtkOperator (iOperatorId, sName, sLabel, sPassword) VALUES "
                f"(2, '{MONITORING_LOGIN}', 'Monitoring', 'sha256:{salt}:{digest}');"
                # the tracking server this instance contacts: the host's own front web server
                "INSERT INTO XtkOption (sName, sStringValue) VALUES "
                f"('NmsTracking_ServerUrlList', '{front.url(self, host)}')",
                db=self.db_name(host, instance),
            )
        if self.info(host).get("role") == MID_SOURCED:
            self.psql("UPDATE NmsDelivery SET iState=95, iSent=iToDeliver WHERE iState=51", db=self.db_name(host))

    def _host_up(self, host: str) -> None:
        sshd_start(self, host)
        front.start(self, host)
        self.nlserver(host, "watchdog", "-svc", "-noconsole")

    # ------------------------------------------------------------ client side files
    def _client_files(self) -> None:
        kh, cfg = [], []
        for h in self.hosts():
            pub = (self.hdir(h) / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
            kh.append(f"[{self.addr(h)}]:{SSH_PORT} {pub[0]} {pub[1]}")
        for name, h, _ in self.inventory_hosts():
            cfg.append(
                f"Host {name}\n  HostName {self.addr(h)}\n  Port {SSH_PORT}\n  User {self.user}\n"
                f"  IdentityFile {self.dir}/id_ed25519\n  UserKnownHostsFile {self.dir}/known_hosts\n"
                "  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  ConnectTimeout 10\n"
            )
        (self.dir / "known_hosts").write_text("\n".join(kh) + "\n")
        (self.dir / "ssh_config").write_text("\n".join(cfg))
        inv = self.inventory_text()
        (self.dir / "inventory.yml").write_text(inv)
        (self.dir / "inventory-psql.yml").write_text(self.inventory_text(psql=True))
        if self.project_inventory and Path("inventory").is_dir():
            Path("inventory/lab.yml").write_text(inv)
            st = self.state()
            st["project_inventory"] = str(Path("inventory/lab.yml").absolute())
            self.state_file.write_text(json.dumps(st, indent=1))

    def inventory_hosts(self) -> list[tuple[str, str, str]]:
        """(inventory host, lab host, instance): one inventory host per instance (lab2, lab2-prod2 ...)."""
        out = []
        for h in self.hosts():
            for n, instance in enumerate(self.instances(h)):
                out.append((h if n == 0 else f"{h}-{instance}", h, instance))
        return out

    def inventory_text(self, psql: bool = False) -> str:
        """The runner's inventory of the lab: no database coordinates (the simulator reads them from its
        config-<instance>.xml, like Campaign); `psql=True`: the same plus db_host/db_port/db_name/db_user."""
        lines = [
            "# written by `python -m lab up`; removed by `python -m lab down`",
            "all:",
            "  vars:",
            f"    ssh_config: {self.dir}/ssh_config",
            f"    instance: {INSTANCE}",
            "    # the account the lab's Campaign processes run as (and the lab's SSH login)",
            f"    campaign_user: {self.user}",
            "    # the lab's wfserver picks a requested start up within a second or two",
            "    workflow_start_grace: 5",
            "    # the lab's syslogd record format is known (lab/README.md): test records may be sent",
            "    syslog_probe: true",
            f"    pop3_server: {self.pop3_addr}:{POP3_PORT}",
            "    export_workflows: [exportRecipients]",
            "    export_full_workflow: exportRecipientsFull",
            "    # the folders the lab's recipient imports write into (the duplicate check reads only these)",
            "    import_folders: [nmsRootRecipient, prospects]",
            "  children:",
            "    lab:",
            "      hosts:",
        ]
        for name, h, instance in self.inventory_hosts():
            nl6 = self.hdir(h) / "nl6"
            lines += [
                f"        {name}:",
                f"          nlserver: {nl6}/bin/nlserver",
                f"          nlserver_env: {nl6}/env.sh",
                f"          nl6_root: {nl6}",
                f"          address: {self.addr(h)}",
                # syslogd_port, web_port, stat_port, var_dir: the host's own (TRACE_ADDR, serverConf.xml ...)
                f"          front_web_port: {FRONT_PORT}",
            ]
            if instance != INSTANCE:
                lines.append(f"          instance: {instance}")
            if psql:
                lines += [
                    f"          db_host: {self.db_host}",
                    f"          db_port: {DB_PORT}",
                    f"          db_name: {self.db_name(h, instance)}",
                    f"          db_user: {h}",
                ]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ down
    def pidfiles(self) -> list[Path]:
        return sorted(self.dir.glob("hosts/*/run/**/*.pid")) + sorted(self.dir.glob("pop3/*.pid"))

    def down(self, keep: bool = False) -> dict[str, Any]:
        """Stop every process the lab recorded (watchdogs first) and PostgreSQL, and remove the lab's files
        (`keep`: keep them). Works from any checkout: all it needs is in the lab directory. `stopped`
        counts the processes, `checkout` names the one that started the lab ("" if none was recorded)."""
        if not self.dir.exists():
            return {"stopped": 0, "checkout": ""}
        st = self.state()
        # watchdogs first so that nothing gets restarted, then everything else that was recorded
        killed = kill_verified([p for p in self.pidfiles() if p.name == "watchdog.pid"])
        killed += kill_verified(self.pidfiles())
        pg = postgres.stop(self)
        if pg:
            killed.append(pg)
        inv = st.get("project_inventory")
        # the inventory as this lab wrote it: on the net it records, whatever --net this command was given
        net = st.get("net")
        same = self if not isinstance(net, str) or net in ("", self.net) else Lab(self.dir, net, False)
        if inv and Path(inv).exists() and Path(inv).read_text() == same.inventory_text():
            Path(inv).unlink()
        if not keep and (self.dir / MARKER).exists():
            for name in LAB_FILES:
                p = self.dir / name
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                elif p.exists():
                    p.unlink()
            with contextlib.suppress(OSError):
                self.dir.rmdir()
        return {"stopped": len(killed), "checkout": str(st.get("checkout", ""))}

    # ------------------------------------------------------------ status / faults (see status.py, faults.py)
    def processes(self, host: str) -> dict[str, dict[str, Any]]:
        return processes(self, host)

    def status(self, host: str | None = None) -> dict[str, Any]:
        """One host's status dict, or {host: status} for all hosts (a DB that cannot be read: `db_error`)."""
        if host:
            self._check_host(host)
            return host_status(self, host)
        names = self.hosts()
        with cf.ThreadPoolExecutor(max_workers=8) as ex:
            return dict(zip(names, ex.map(lambda h: host_status(self, h), names), strict=True))

    def click(
        self, host: str, delivery: int = 1, recipient: int = 1, url: int = 1, event: str = "h", instance: str = ""
    ) -> int:
        """A recipient opens (`event="o"`) or clicks (`"h"`) a tracked link: an HTTP GET on the host's
        `/r/?id=...`, as a mail client would. The HTTP status (302 click, 200 open, 404 no redirection)."""
        self._check_host(host)
        query = f"id={event}{delivery:x},{recipient:x},{url:x}" + (f"&instance={instance}" if instance else "")
        req = urllib.request.Request(
            f"http://{self.addr(host)}:{WEB_PORT}/r/?{query}", headers={"User-Agent": "Mozilla/5.0 (lab)"}
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=6) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def faults(self) -> dict[str, str]:
        return {k: v[0] for k, v in _faults.FAULTS.items()}

    def break_(self, host: str, fault: str) -> None:
        self._check_host(host)
        _faults.apply(self, host, fault)

    def heal(self, host: str) -> None:
        self._check_host(host)
        _faults.heal(self, host)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kw: Any) -> None:
        return None


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
