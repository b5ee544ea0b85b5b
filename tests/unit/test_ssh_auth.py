"""Which keys the runner offers, in which order (runner.transport's authentication, no server needed).

Keys and certificates are made with ssh-keygen, as an operator or a CA (HashiCorp Vault, step-ca)
makes them; the strategy's sources are listed without connecting anywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from runner.sshconfig import LIBRARY, Endpoint
from runner.transport import _accepted, _auth_strategy, _public_blob

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")


def _keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    size = ["-b", "2048"] if kind == "rsa" else []
    argv = ["ssh-keygen", "-q", "-t", kind, *size, "-N", passphrase, "-C", path.name, "-f", str(path)]
    subprocess.run(argv, check=True)
    return path


def _sign(ca: Path, pub: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "test", "-n", "ops", str(pub)], check=True)
    return pub.with_name(pub.name.replace(".pub", "-cert.pub"))


def _sources(ep: Endpoint) -> tuple[list[str], list[str], list[str]]:
    keys = _auth_strategy(ep, "web", "")
    keys_offered = [s.pkey for s in keys.get_sources()]
    names = [k.get_name() if k.public_blob is None else k.public_blob.key_type for k in keys_offered]
    return names, keys.tried, keys.skipped


def _ep(**kw: object) -> Endpoint:
    return replace(Endpoint("web", "127.0.0.1", 22, "ops", agent=None), **kw)  # type: ignore[arg-type]


def test_certificatefile_first_then_each_identity_with_its_own_certificate(tmp_path: Path) -> None:
    ca = _keygen(tmp_path / "ca")
    a = _keygen(tmp_path / "a")
    b = _keygen(tmp_path / "b", "rsa")
    moved = tmp_path / "certs" / "vault-signed.pub"
    moved.parent.mkdir()
    _sign(ca, a.with_suffix(".pub")).rename(moved)  # named after nothing: only CertificateFile finds it
    _sign(ca, b.with_name("b.pub"))  # b-cert.pub beside b: found with the key, as ssh finds it
    ep = _ep(key_files=(str(a), str(b), str(tmp_path / "gone")), certificate_files=(str(moved),))
    names, tried, skipped = _sources(ep)
    assert names == ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "ssh-rsa-cert-v01@openssh.com", "ssh-rsa"]
    assert tried == ["a with vault-signed.pub", "a", "b-cert.pub", "b"]
    assert skipped == ["gone (no such file)"]


def test_pubkeyacceptedalgorithms_and_requiredrsasize_filter_the_keys(tmp_path: Path) -> None:
    ed = _keygen(tmp_path / "ed")
    rsa = _keygen(tmp_path / "rsa", "rsa")
    rsa_only = tuple(a for a in LIBRARY["pubkeyacceptedalgorithms"] if "rsa" in a)
    names, _tried, skipped = _sources(_ep(key_files=(str(ed), str(rsa)), pubkey_types=rsa_only))
    assert names == ["ssh-rsa"] and skipped == ["ed (not in PubkeyAcceptedAlgorithms)"]
    names, _tried, skipped = _sources(_ep(key_files=(str(ed), str(rsa)), required_rsa_size=4096))
    assert names == ["ssh-ed25519"] and skipped == ["rsa (RSA below RequiredRSASize 4096)"]


def test_a_key_with_a_passphrase_is_skipped_saying_so(tmp_path: Path) -> None:
    locked = _keygen(tmp_path / "locked", passphrase="correct horse")
    names, _tried, skipped = _sources(_ep(key_files=(str(locked),)))
    assert names == [] and skipped == ["locked (has a passphrase: add it to the agent)"]


def test_accepted_names_and_public_blobs(tmp_path: Path) -> None:
    ca = _keygen(tmp_path / "ca")
    key = _keygen(tmp_path / "k")
    cert = _sign(ca, key.with_name("k.pub"))
    assert _public_blob(str(cert)) == _public_blob(str(key.with_name("k.pub"))) is not None
    assert _public_blob(str(tmp_path / "missing.pub")) is None
    import paramiko

    plain = paramiko.PKey.from_path(str(tmp_path / "ca"))
    assert _accepted(plain, _ep()) and _accepted(plain, _ep(pubkey_types=("ssh-ed25519",)))
    assert not _accepted(plain, _ep(pubkey_types=("ssh-ed25519-cert-v01@openssh.com",)))
