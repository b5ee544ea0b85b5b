"""Algorithms a config adds that the SSH library does not offer are not dropped silently: the endpoint
keeps them and ``remediate hosts`` lists them per host (ssh -G really resolves the config)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import main
from runner.inventory import Host
from runner.sshconfig import LIBRARY, resolve

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")

RSA_NOTE = "ssh-rsa (SHA-1): not offered by the SSH library; rsa-sha2-256/512 are used with RSA keys"


def _files(tmp_path: Path, block: str) -> tuple[Path, Path]:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host web1\n  HostName 127.0.0.31\n  User neolane\n{block}")
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  vars: {{ssh_config: {cfg}}}\n  hosts:\n    web1: {{instance: prod}}\n")
    return cfg, inv


def test_the_endpoint_keeps_what_the_config_adds_and_the_library_lacks(tmp_path: Path) -> None:
    cfg, _inv = _files(tmp_path, "Host *\n  HostKeyAlgorithms +ssh-rsa\n  PubkeyAcceptedAlgorithms +ssh-rsa,ssh-dss\n")
    ep = resolve(Host("web1", (), {}, "t"), cfg)
    assert ep.not_offered == (
        ("HostKeyAlgorithms", "ssh-rsa"),
        ("PubkeyAcceptedAlgorithms", "ssh-rsa"),
        ("PubkeyAcceptedAlgorithms", "ssh-dss"),
    )
    assert "ssh-rsa" not in ep.host_key_types and set(ep.host_key_types) <= set(LIBRARY["hostkeyalgorithms"])
    # ssh's own defaults the library lacks (sk- types, chacha20) are not the config's doing: not listed
    (tmp_path / "plain").mkdir()
    plain, _ = _files(tmp_path / "plain", "")
    assert resolve(Host("web1", (), {}, "t"), plain).not_offered == ()


def test_hosts_lists_them_per_host(tmp_path: Path) -> None:
    added = "Host *\n  HostKeyAlgorithms +ssh-rsa\n  Ciphers +3des-cbc,chacha20-poly1305@openssh.com\n"
    _cfg, inv = _files(tmp_path, added)
    res = CliRunner().invoke(main, ["hosts", "-i", str(inv)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = [ln.strip() for ln in res.stdout.splitlines() if "not offered" in ln]
    # 3des-cbc is offered by the library; chacha20 is in ssh's defaults already (not added by the config)
    assert lines == [f"not offered: HostKeyAlgorithms {RSA_NOTE}"], res.stdout
    res = CliRunner().invoke(main, ["hosts", "-i", str(inv), "--output", "json"], catch_exceptions=False)
    (row,) = json.loads(res.stdout)
    assert row["not_offered"] == [{"directive": "HostKeyAlgorithms", "algorithm": "ssh-rsa", "note": RSA_NOTE}]
