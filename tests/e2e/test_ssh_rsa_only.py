"""A server that offers only the SHA-1 ``ssh-rsa`` host key algorithm, which the runner's SSH library
(paramiko, as installed) does not implement: a real second sshd of a lab host restricted to
``HostKeyAlgorithms ssh-rsa`` (this OpenSSH still accepts it). The connection fails in one line that
names what the server offers and what the library offers; the host is not touched."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from lab.sshd import sshd_start, sshd_stop
from tests.support.cli import Runner
from tests.support.labfix import healthy, pid_of

WF = "wfserver@prod"
RSA_PORT = 2226  # a second sshd of the host serving only ssh-rsa (2223: sshd_drops/root, 2224: CA)
KEY = f"ssh_host_rsa_key.{RSA_PORT}"


def _offers_ssh_rsa() -> bool:
    q = subprocess.run(["ssh", "-Q", "HostKeyAlgorithms"], capture_output=True, text=True, check=False)
    return "ssh-rsa" in q.stdout.split()


@pytest.fixture()
def rsa_only(lab: Lab, host: str, tmp_path: Path) -> Iterator[Path]:
    """The second sshd (only ``ssh-rsa``), its RSA host key in a known_hosts file, and a config for it."""
    if not _offers_ssh_rsa():
        pytest.skip("this OpenSSH no longer implements ssh-rsa")
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(tmp_path / "k")], check=True)
    keys = lab.hdir(host) / "ssh"
    lab.write(keys / KEY, (tmp_path / "k").read_text(), 0o600)
    sshd_start(lab, host, RSA_PORT, key=KEY, extra="HostKeyAlgorithms ssh-rsa\n")
    pub = (tmp_path / "k.pub").read_text().split()
    (tmp_path / "known_hosts").write_text(f"[{lab.addr(host)}]:{RSA_PORT} {pub[0]} {pub[1]}\n")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host {host}\n  Port {RSA_PORT}\n  HostKeyAlgorithms +ssh-rsa\n"
        f"  UserKnownHostsFile {tmp_path}/known_hosts\nInclude {lab.dir}/ssh_config\n"
    )
    try:
        yield cfg
    finally:
        sshd_stop(lab, host, RSA_PORT)
        (keys / KEY).unlink(missing_ok=True)


def test_a_server_offering_only_ssh_rsa_fails_in_one_line_naming_it(
    lab: Lab, host: str, remediate: Runner, rsa_only: Path
) -> None:
    # OpenSSH itself connects: the server really offers ssh-rsa and nothing else
    ssh = subprocess.run(
        ["ssh", "-F", str(rsa_only), "-o", "BatchMode=yes", "-o", "HostKeyAlgorithms=ssh-ed25519", host, "true"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert ssh.returncode == 255 and "no matching host key type found" in ssh.stderr and "ssh-rsa" in ssh.stderr
    before = pid_of(lab, host, WF)
    res = remediate("check", "wfserver", "--host", host, "--ssh-config", str(rsa_only))
    assert res.returncode == 3, res.stdout + res.stderr
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    (line,) = [ln for ln in text.splitlines() if "SSH negotiation" in ln]
    assert f"{lab.addr(host)}:{RSA_PORT}" in line
    assert "the server offers only host key algorithms ssh-rsa; ssh-rsa (SHA-1): not offered by the SSH library" in line
    offered = line.rpartition("the SSH library offers ")[2].split(",")
    assert {"ssh-ed25519", "rsa-sha2-256", "rsa-sha2-512"} <= set(offered) and "ssh-rsa" not in offered, line
    # remediate hosts says beforehand that ssh-rsa will not be offered
    hosts = remediate("hosts", "--host", host, "--ssh-config", str(rsa_only))
    assert "not offered: HostKeyAlgorithms ssh-rsa (SHA-1)" in hosts.stdout, hosts.stdout + hosts.stderr
    assert pid_of(lab, host, WF) == before and healthy(lab, host)
