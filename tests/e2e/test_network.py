"""Real networks end to end: bastions, Include, refusals, dead links (real sshd on 127.0.65.x, or
the block in ``REMEDIATE_E2E_NETWORK_NET``).

The fixture starts bare sshd hosts (no Campaign simulator: the probe playbook only runs ``shell``):
a jump host (.1), a target reachable only through it (.2: an iptables owner-match rule refuses every
uid but the sshd's login user), a directly reachable host (.4) and a relay to it (.3). The probe
check writes a marker named after the address the sshd saw, so a test knows which host really ran
it. Without root or a working iptables the bastion-only tests say why they are skipped.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.bastion import OnlyFromUid, Relay, iptables_unusable, net_context, ssh_host, ssh_host_stop
from lab.context import LabContext
from runner.errors import ConnectionLost
from runner.inventory import Host
from runner.sshconfig import resolve
from runner.transport import Session
from tests.support.cli import ROOT

# one pytest-xdist worker runs the whole file: its bastion and relay on the same addresses
pytestmark = pytest.mark.xdist_group("test_network")

NET = os.environ.get("REMEDIATE_E2E_NETWORK_NET", "127.0.65")
PORT = 2222
BASTION, TARGET, RELAY, DIRECT, REFUSED = (f"{NET}.{k}" for k in (1, 2, 3, 4, 6))


@dataclass
class Net:
    dir: Path
    ctx: LabContext
    cfg: Path
    inventory: Path
    playbooks: Path
    markers: Path
    only_via_bastion: str | None  # why the target is NOT isolated (None: it is)

    def marker(self, addr: str) -> Path:
        return self.markers / addr

    def clear(self) -> None:
        for m in self.markers.iterdir():
            m.unlink()

    def remediate(self, *args: str, timeout: float = 120) -> tuple[int, str, str, float]:
        env = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR", "REMEDIATE_DEBUG")}
        env.update(
            PYTHONPATH=str(ROOT),
            REMEDIATE_PLAYBOOKS=str(self.playbooks),
            REMEDIATE_AUDIT_LOG=str(self.dir / "audit.jsonl"),
        )
        argv = [sys.executable, "-m", "runner", *args]
        if args[0] != "validate":
            argv += ["-i", str(self.inventory)]
        start = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - start


PROBE = """module: wfserver
title: network probe
scope: records which host ran it
symptom: none
checks:
  - id: probe
    effect: read
    action: shell
    args: {command: "set -- $SSH_CONNECTION; touch MARKERS/$3; echo ok"}
"""


def _config(d: Path) -> str:
    return f"""Include {d}/conf.d/*.conf
Host bastion1
  HostName {BASTION}
  Port {PORT}
Host *
  User neolane
  IdentityFile {d}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {d}/known_hosts
  StrictHostKeyChecking yes
  ConnectTimeout 3
"""


def _included(d: Path) -> str:
    return f"""# hosts only this included file defines
Host target
  HostName {TARGET}
  Port {PORT}
  ProxyJump bastion1
Host target-pc
  HostName {TARGET}
  Port {PORT}
  ProxyCommand ssh -F {d}/ssh_config -o BatchMode=yes -W %h:%p bastion1
Host target-unknown-bastion
  HostName {TARGET}
  Port {PORT}
  ProxyJump bastion-unknown
Host bastion-unknown
  HostName {BASTION}
  Port {PORT}
  UserKnownHostsFile {d}/empty_known_hosts
Host included
  HostName {DIRECT}
  Port {PORT}
Host relayed
  HostName {RELAY}
  Port {PORT}
  HostKeyAlias direct-host
  ServerAliveInterval 1
  ServerAliveCountMax 3
Host refused
  HostName {REFUSED}
  Port {PORT}
Host nowhere
  HostName no-such-host.invalid
"""


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    if os.geteuid() != 0:
        pytest.skip("needs root: the lab's sshd hosts run as the login user neolane")
    d = Path(tempfile.mkdtemp(prefix="remediate-net-"))
    os.chmod(d, 0o755)  # the sshd hosts run as the login user
    ctx = net_context(d / "lab", NET)
    started: list[str] = []
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "id_ed25519")], check=True)
        pub = (d / "id_ed25519.pub").read_text()
        keys = {}
        for host, addr in (("lab1", BASTION), ("lab2", TARGET), ("lab4", DIRECT)):
            keys[addr] = ssh_host(ctx, host, PORT, pub)
            started.append(host)
        (d / "known_hosts").write_text(
            f"[{BASTION}]:{PORT} {keys[BASTION]}\n[{TARGET}]:{PORT} {keys[TARGET]}\n"
            f"[{DIRECT}]:{PORT} {keys[DIRECT]}\ndirect-host {keys[DIRECT]}\n"
        )
        (d / "empty_known_hosts").write_text("")
        (d / "conf.d").mkdir()
        (d / "conf.d" / "hosts.conf").write_text(_included(d))
        cfg = d / "ssh_config"
        cfg.write_text(_config(d))
        markers = d / "markers"
        markers.mkdir()
        os.chmod(markers, 0o777)
        playbooks = d / "playbooks"
        playbooks.mkdir()
        (playbooks / "wfserver.yml").write_text(PROBE.replace("MARKERS", str(markers)))
        inventory = d / "inventory.yml"
        names = ["target", "target-pc", "target-unknown-bastion", "included", "relayed", "refused", "nowhere"]
        inventory.write_text(
            f"all:\n  vars:\n    ssh_config: {cfg}\n  hosts:\n" + "".join(f"    {n}: {{}}\n" for n in names)
        )
        why = iptables_unusable()
        n = Net(d, ctx, cfg, inventory, playbooks, markers, why)
        if why is None:
            with OnlyFromUid(TARGET, PORT, pwd.getpwnam(ctx.user).pw_uid):
                yield n
        else:
            yield n
    finally:
        for host in started:
            ssh_host_stop(ctx, host, PORT)
        shutil.rmtree(d, ignore_errors=True)


def _isolated(net: Net) -> None:
    if net.only_via_bastion is not None:
        pytest.skip(f"target cannot be isolated behind the bastion: {net.only_via_bastion}")


def test_direct_path_to_target_is_closed(net: Net) -> None:
    _isolated(net)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((TARGET, PORT), timeout=3).close()


def test_target_behind_bastion_runs_a_read_command(net: Net) -> None:
    _isolated(net)
    net.clear()
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "target")
    assert code == 0, out + err
    assert net.marker(TARGET).exists(), "the probe did not run on the target"
    assert "Traceback" not in err


def test_proxycommand_reaches_target(net: Net) -> None:
    _isolated(net)
    net.clear()
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "target-pc")
    assert code == 0, out + err
    assert net.marker(TARGET).exists()


def test_transport_runs_through_bastion(net: Net) -> None:
    _isolated(net)
    session = Session(resolve(Host("target", (), {}, "test"), net.cfg))
    session.open()
    try:
        res = session.run("echo ok; set -- $SSH_CONNECTION; echo $3", timeout=10)
    finally:
        session.close()
    assert res.stdout.split() == ["ok", TARGET]


def test_hosts_shows_the_path(net: Net) -> None:
    code, out, err, _ = net.remediate("hosts")
    assert code == 0, err
    lines = {line.split(":")[0]: line for line in out.splitlines() if not line.startswith(" ")}
    assert "via bastion1" in lines["target"]
    assert "via ProxyCommand" in lines["target-pc"]
    assert "direct" in lines["included"]


def test_included_host_resolves_and_runs_as_ssh_does(net: Net) -> None:
    g = subprocess.run(["ssh", "-F", str(net.cfg), "-G", "included"], capture_output=True, text=True, check=True)
    ssh = dict(line.split(" ", 1) for line in g.stdout.splitlines() if " " in line)
    code, out, err, _ = net.remediate("hosts", "--output", "json")
    assert code == 0, err
    row = next(r for r in json.loads(out) if r["host"] == "included")
    assert (row["address"], str(row["port"]), row["user"]) == (ssh["hostname"], ssh["port"], ssh["user"])
    # the real ssh and remediate reach the same sshd (the address it saw) with the same login
    real = subprocess.run(
        ["ssh", "-F", str(net.cfg), "-o", "BatchMode=yes", "included", "set -- $SSH_CONNECTION; echo $3 $USER"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    net.clear()
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "included")
    assert code == 0, out + err
    seen = [m.name for m in net.markers.iterdir()]
    assert real.stdout.split() == [seen[0], ssh["user"]] and seen == [DIRECT]


def test_bastion_down_is_unreachable_and_nothing_runs(net: Net) -> None:
    _isolated(net)
    net.clear()
    ssh_host_stop(net.ctx, "lab1", PORT)
    try:
        code, out, err, _ = net.remediate("check", "wfserver", "--host", "target")
    finally:
        ssh_host(net.ctx, "lab1", PORT, (net.dir / "id_ed25519.pub").read_text())
    assert code == 3, out + err
    assert f"bastion bastion1: connection refused by {BASTION}:{PORT}" in out
    assert not net.marker(TARGET).exists(), "a command ran on the target"
    assert "Traceback" not in err


def test_unknown_bastion_host_key_is_refused(net: Net) -> None:
    _isolated(net)
    net.clear()
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "target-unknown-bastion")
    assert code == 3, out + err
    assert f"bastion bastion-unknown: host key for [{BASTION}]:{PORT} is not in" in out
    assert not net.marker(TARGET).exists()
    assert "Traceback" not in err


def test_refused_port_and_unknown_name_are_one_line(net: Net) -> None:
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "refused")
    assert code == 3 and f"connection refused by {REFUSED}:{PORT}" in out, out + err
    code, out, err, _elapsed = net.remediate("check", "wfserver", "--host", "nowhere")
    assert code == 3 and "cannot resolve host name 'no-such-host.invalid'" in out, out + err
    assert "Traceback" not in err


def test_refused_directive_stops_before_any_host(net: Net, tmp_path: Path) -> None:
    extra = tmp_path / "extra.conf"
    extra.write_text("Host included\n  # ssh would run this instead of the runner's commands\n  RemoteCommand top\n")
    cfg = tmp_path / "cfg"
    cfg.write_text(f"Include {extra}\n" + net.cfg.read_text())
    net.clear()
    code, out, err, _ = net.remediate("check", "wfserver", "--host", "included", "--ssh-config", str(cfg))
    assert code == 2, out + err
    assert f"{extra}:3" in err and "RemoteCommand top" in err
    assert not any(net.markers.iterdir())


def test_cut_link_ends_as_connection_lost_within_keepalive_bound(net: Net) -> None:
    with Relay(RELAY, PORT, (DIRECT, PORT)) as relay:
        ep = resolve(Host("relayed", (), {}, "test"), net.cfg)
        assert (ep.alive_interval, ep.alive_count, ep.known_name) == (1, 3, "direct-host")
        session = Session(ep)
        session.open()
        failure: list[BaseException] = []
        ended = threading.Event()

        def run() -> None:
            try:
                session.run("sleep 60", timeout=90)
            except BaseException as exc:
                failure.append(exc)
            ended.set()

        threading.Thread(target=run, daemon=True).start()
        time.sleep(1.5)
        relay.cut()
        cut_at = time.monotonic()
        assert ended.wait(20), "the command is still waiting on a dead link"
        took = time.monotonic() - cut_at
        session.close()
    assert failure and isinstance(failure[0], ConnectionLost), failure
    assert "keepalives" in str(failure[0])
    assert took < ep.alive_interval * (ep.alive_count + 1) + 2, took
