"""The ``Host *`` block engineers commonly have in ~/.ssh/config, one directive per test, on a healthy lab host.

Each directive the first-contact issue names (ControlMaster, ControlPath, algorithm lists,
CertificateFile, AddressFamily, BindAddress, CanonicalizeHostname) is put in a ``Host *`` block after
the lab's own config, and ``remediate wfserver --host lab1 --ssh-config FILE`` must end at exit 0 with
the host untouched (same wfserver pid, every process alive). Where the directive is honoured, a second
assertion shows it really was: the negotiated cipher, the source address sshd saw, the certificate
sshd accepted, or the refusal when the directive leaves nothing the runner could use.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from lab.sshd import ca_sshd_start, sshd_stop
from runner.inventory import Host
from runner.sshconfig import resolve
from runner.transport import Session
from tests.support.cli import Runner
from tests.support.labfix import healthy, pid_of

WF = "wfserver@prod"
CA_PORT = 2224  # a second sshd of lab1 that trusts the test's certificate authority (2223: sshd_drops)


def _config(lab: Lab, tmp_path: Path, *directives: str) -> Path:
    """The lab's own config, then a ``Host *`` block holding ``directives``."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Include {lab.dir}/ssh_config\n\nHost *\n" + "".join(f"  {d}\n" for d in directives))
    return cfg


def _healthy_run(lab: Lab, remediate: Runner, host: str, cfg: Path) -> subprocess.CompletedProcess[str]:
    """``remediate wfserver`` on the healthy host: exit 0, the host connected and left exactly as it was."""
    before = pid_of(lab, host, WF)
    assert before is not None and healthy(lab, host)
    res = remediate("wfserver", "--host", host, "--ssh-config", str(cfg), "--output", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["hosts"][host]["status"] == "healthy"
    assert any(e["event"] == "host.connected" for e in remediate.events())
    assert pid_of(lab, host, WF) == before and healthy(lab, host)
    return res


def _session(cfg: Path, host: str) -> Session:
    session = Session(resolve(Host(host, (), {}, "test"), cfg))
    session.open()
    return session


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def _transport(session: Session) -> object:
    return session._conn.client.get_transport()


# --- ssh's own connection sharing: ignored, and `remediate hosts` says so ---------------------------


def test_controlmaster_auto_is_ignored_and_hosts_says_so(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    cfg = _config(lab, tmp_path, "ControlMaster auto", "ControlPersist 10m")
    _healthy_run(lab, remediate, host, cfg)
    res = remediate("hosts", "--host", host, "--ssh-config", str(cfg), "--output", "json")
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    ignored = {i["directive"]: i["value"] for i in row["ignored"]}
    assert ignored == {"ControlMaster": "auto", "ControlPersist": "600"}


def test_controlpath_is_ignored_and_no_master_socket_appears(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    sockets = tmp_path / "cm"
    sockets.mkdir()
    cfg = _config(lab, tmp_path, "ControlMaster auto", f"ControlPath {sockets}/%r@%h:%p")
    _healthy_run(lab, remediate, host, cfg)
    assert list(sockets.iterdir()) == []
    res = remediate("hosts", "--host", host, "--ssh-config", str(cfg))
    assert res.returncode == 0, res.stderr
    assert f"ignored: ControlPath {sockets}/{lab.user}@{lab.addr(host)}:2222" in res.stdout


# --- algorithm lists: ssh's list within what the library implements --------------------------------


def test_hostkeyalgorithms_plus_ssh_rsa(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    _healthy_run(lab, remediate, host, _config(lab, tmp_path, "HostKeyAlgorithms +ssh-rsa"))
    # honoured: a list without the lab's ed25519 host key type leaves nothing to agree on
    only_ecdsa = _config(lab, tmp_path, "HostKeyAlgorithms ecdsa-sha2-nistp256")
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(only_ecdsa))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_pubkeyacceptedalgorithms_plus_ssh_rsa(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    _healthy_run(lab, remediate, host, _config(lab, tmp_path, "PubkeyAcceptedAlgorithms +ssh-rsa"))
    # honoured: the lab key (ed25519) is not offered when only RSA is accepted
    rsa_only = _config(lab, tmp_path, "PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256")
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(rsa_only))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "id_ed25519 (not in PubkeyAcceptedAlgorithms)" in res.stdout + res.stderr


def test_pubkeyacceptedkeytypes_old_name(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    _healthy_run(lab, remediate, host, _config(lab, tmp_path, "PubkeyAcceptedKeyTypes +ssh-rsa"))


def test_kexalgorithms(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    # OpenSSH's name of curve25519 (the library knows it as curve25519-sha256@libssh.org)
    _healthy_run(lab, remediate, host, _config(lab, tmp_path, "KexAlgorithms curve25519-sha256"))
    agreed: list[str] = []
    log = logging.getLogger("paramiko.transport")
    handler = _Collect(agreed)
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.DEBUG)
    try:
        _session(_config(lab, tmp_path, "KexAlgorithms diffie-hellman-group14-sha256"), host).close()
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert "Kex: diffie-hellman-group14-sha256" in agreed  # what paramiko agreed with sshd


def test_ciphers(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    cfg = _config(lab, tmp_path, "Ciphers aes256-gcm@openssh.com,aes256-ctr")
    _healthy_run(lab, remediate, host, cfg)
    session = _session(cfg, host)
    try:
        assert _transport(session).local_cipher == "aes256-gcm@openssh.com"  # type: ignore[attr-defined]
    finally:
        session.close()


def test_ciphers_the_library_lacks_are_refused_at_their_line(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    cfg = _config(lab, tmp_path, "Ciphers chacha20-poly1305@openssh.com")
    res = remediate("wfserver", "--host", host, "--ssh-config", str(cfg))
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{cfg}:4: Ciphers leaves no algorithm" in res.stderr and "paramiko offers aes128-ctr" in res.stderr
    assert not remediate.audit_log.exists()  # refused before the run began: no host was touched


def test_macs(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    cfg = _config(lab, tmp_path, "Ciphers aes128-ctr", "MACs hmac-sha2-512")
    _healthy_run(lab, remediate, host, cfg)
    session = _session(cfg, host)
    try:
        assert _transport(session).local_mac == "hmac-sha2-512"  # type: ignore[attr-defined]
    finally:
        session.close()


# --- CertificateFile: a user certificate signed by a CA the host trusts ------------------------------


@pytest.fixture
def ca_host(lab: Lab, host: str, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A CA, a key the host does not know and its certificate (not named after the key: only
    CertificateFile finds it), and a second sshd of ``host`` on CA_PORT trusting the CA."""
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-f", str(tmp_path / "ca"), "-C", "remediate-test-ca"], check=True)
    subprocess.run([*keygen, "-f", str(tmp_path / "user"), "-C", "remediate-test-user"], check=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(tmp_path / "ca"), "-I", "remediate-test", "-n", lab.user, "-V", "-5m:+1h",
         str(tmp_path / "user.pub")],
        check=True,
    )  # fmt: skip
    certs = tmp_path / "certs"
    certs.mkdir()
    cert = certs / "lab-cert.pub"
    shutil.move(tmp_path / "user-cert.pub", cert)
    known = ca_sshd_start(lab, host, CA_PORT, (tmp_path / "ca.pub").read_text())
    (tmp_path / "known_hosts").write_text(known + "\n")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host {host}\n  HostName {lab.addr(host)}\n  Port {CA_PORT}\n  User {lab.user}\n"
        f"  IdentityFile {tmp_path}/user\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        f"  UserKnownHostsFile {tmp_path}/known_hosts\n  StrictHostKeyChecking yes\n"
    )
    try:
        yield cfg, cert
    finally:
        sshd_stop(lab, host, CA_PORT)


def test_certificatefile(lab: Lab, host: str, remediate: Runner, ca_host: tuple[Path, Path]) -> None:
    cfg, cert = ca_host
    # without the certificate the key is refused: the host only trusts it through the CA
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(cfg))
    assert res.returncode == 3 and "authentication failed" in res.stdout, res.stdout + res.stderr
    cfg.write_text(cfg.read_text() + f"\nHost *\n  CertificateFile {cert}\n")
    _healthy_run(lab, remediate, host, cfg)
    connected = [e for e in remediate.events() if e["event"] == "host.connected"]
    assert connected[0]["port"] == CA_PORT  # through the sshd that trusts the CA


# --- where and from where the connection goes --------------------------------------------------------


def test_addressfamily_inet(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    _healthy_run(lab, remediate, host, _config(lab, tmp_path, "AddressFamily inet"))
    # honoured: the lab's IPv4 address has no IPv6 form
    inet6 = _config(lab, tmp_path, "AddressFamily inet6")
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(inet6))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "as IPv6 (AddressFamily inet6)" in res.stdout


def test_bindaddress(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    local = lab.addr(host).rsplit(".", 1)[0] + ".250"  # a loopback address of the lab's block nothing listens on
    cfg = _config(lab, tmp_path, f"BindAddress {local}")
    _healthy_run(lab, remediate, host, cfg)
    session = _session(cfg, host)
    try:
        seen = session.run("set -- $SSH_CONNECTION; echo $1", timeout=10).stdout.strip()
    finally:
        session.close()
    assert seen == local  # the address sshd saw the connection come from
    elsewhere = _config(lab, tmp_path, "BindAddress 192.0.2.1")  # not an address of this machine
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(elsewhere))
    assert res.returncode == 3 and "cannot bind to BindAddress 192.0.2.1" in res.stdout, res.stdout + res.stderr


def test_canonicalizehostname_yes(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    cfg = _config(lab, tmp_path, "CanonicalizeHostname yes", "CanonicalDomains lab.invalid")
    _healthy_run(lab, remediate, host, cfg)
    res = remediate("hosts", "--host", host, "--ssh-config", str(cfg), "--output", "json")
    (row,) = json.loads(res.stdout)
    assert row["address"] == lab.addr(host)


# --- bad input: a config ssh rejects, no ssh at all ---------------------------------------------------


def test_a_config_ssh_rejects_exits_2_at_its_line(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    cfg = _config(lab, tmp_path, "ControlMaster auto", "ForwardX11Timeout forever")
    res = remediate("wfserver", "--host", host, "--ssh-config", str(cfg))
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{cfg}:5: ssh rejects this config: invalid time value" in res.stderr  # ssh's own words
    assert not remediate.audit_log.exists()  # nothing was run


def test_without_the_ssh_program_the_error_says_what_to_install(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path
) -> None:
    bare = tmp_path / "bin"  # a PATH with no ssh on it
    bare.mkdir()
    res = remediate("wfserver", "--host", host, "--ssh-config", str(_config(lab, tmp_path)), env={"PATH": str(bare)})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "the OpenSSH client (ssh) is not installed" in res.stderr and "openssh-client" in res.stderr
    assert not remediate.audit_log.exists()
