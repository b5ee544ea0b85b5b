"""``ssh -G`` as the source of truth: a corpus of real-world config shapes resolved as ssh resolves them,
the directive table against ssh_config(5), the library table against paramiko, and what happens when ssh
rejects a config or is not installed.

The corpus (tests/fixtures/ssh_config/*.conf) holds config shapes from public documentation and common
practice, each naming its source and, per host, the hostname, port, user and path a reader of the docs
expects (``# expect``). Each host is resolved twice: by the runner (runner.sshconfig) and by the real
``ssh -G`` read here with this test's own small token expansion, and both must agree with each other and
with the expectation on hostname, port, user, identities, certificates, proxy path, host-key alias and
known-hosts files.
"""

from __future__ import annotations

import getpass
import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runner import sshconfig_read
from runner.cli import main
from runner.errors import InputError
from runner.inventory import Host
from runner.sshconfig import LIBRARY, Endpoint, Resolver, resolve

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "fixtures" / "ssh_config").glob("*.conf"))
HOME = sshconfig_read.home()
ME = getpass.getuser()
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")


# --- the corpus -----------------------------------------------------------------------------------


def _install(src: Path, into: Path) -> Path:
    """The fixture's main file and its ``#--- file: NAME`` parts under ``into``, ``{dir}``/``{login}`` filled."""
    text = src.read_text().replace("{dir}", str(into)).replace("{login}", ME)
    parts = re.split(r"^#--- file: (\S+)\n", text, flags=re.M)
    main_file = into / src.name
    main_file.write_text(parts[0])
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_text(body)
    return main_file


def _expectations(src: Path) -> list[tuple[str, dict[str, str]]]:
    out = []
    for line in src.read_text().replace("{login}", ME).splitlines():
        m = re.match(r"# expect (\S+): (.*)$", line)
        if m:
            out.append((m.group(1), dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", m.group(2)))))
    return out


CASES = [(src, name, expect) for src in CORPUS for name, expect in _expectations(src)]


def test_the_corpus_has_thirty_shapes_each_with_a_source_and_an_expectation() -> None:
    assert len(CORPUS) >= 30
    for src in CORPUS:
        head = src.read_text()
        assert "# source: " in head and "# shape: " in head and "# expect " in head, src.name


def _ssh_g(cfg: Path, name: str, *extra: str) -> dict[str, list[str]]:
    argv = ["ssh", "-G", "-F", str(cfg), *extra, name]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout
    got: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        got.setdefault(key, []).append(value)
    return got


def _expand(value: str, g: dict[str, list[str]], name: str) -> str:
    """ssh's expansion of a path, written independently of runner.sshconfig: ~, ${ENV}, then tokens."""
    value = value.strip('"')
    if value.startswith("~/"):
        value = HOME + value[1:]
    value = re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], value)
    tokens = {"d": HOME, "u": ME, "r": g["user"][0], "h": g["hostname"][0], "n": name, "p": g["port"][0], "%": "%"}
    tokens["k"] = g.get("hostkeyalias", [name])[0]
    return re.sub(r"%(.)", lambda m: tokens[m.group(1)], value)


def _path(cfg: Path, name: str, g: dict[str, list[str]]) -> list[str]:
    """The bastions on the way to ``name`` as ssh reaches them (first hop first; "ProxyCommand" first
    when the first connection is a command)."""
    jump = g.get("proxyjump", ["none"])[0]
    if jump == "none":
        return ["ProxyCommand"] if "proxycommand" in g else []
    hops = [re.sub(r"^ssh://|^[^@]*@|:\d+$", "", h.strip()) for h in jump.split(",")]
    first = hops[0]
    user_port = re.match(r"^(?:ssh://)?(?:([^@]*)@)?[^:]+(?::(\d+))?", jump.split(",")[0].strip())
    extra = []
    if user_port and user_port.group(1):
        extra += ["-l", user_port.group(1)]
    if user_port and user_port.group(2):
        extra += ["-p", user_port.group(2)]
    return _path(cfg, first, _ssh_g(cfg, first, *extra)) + hops


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
@pytest.mark.parametrize(("src", "name", "expect"), CASES, ids=[f"{s.stem}:{n}" for s, n, _e in CASES])
def test_corpus_resolves_as_ssh_G_does(tmp_path: Path, src: Path, name: str, expect: dict[str, str]) -> None:
    cfg = _install(src, tmp_path)
    g = _ssh_g(cfg, name)
    ep = Resolver(cfg).endpoint(name)
    # what the documentation says
    assert (ep.address, str(ep.port), ep.user, ep.path()) == (
        expect["hostname"],
        expect["port"],
        expect["user"],
        expect["path"],
    )
    assert ep.host_key_alias == expect.get("alias")
    # what ssh -G says, field by field
    assert (ep.address, str(ep.port), ep.user) == (g["hostname"][0], g["port"][0], g["user"][0])
    assert list(ep.key_files) == [_expand(v, g, name) for v in g.get("identityfile", []) if v != "none"]
    assert list(ep.certificate_files) == [_expand(v, g, name) for v in g.get("certificatefile", [])]
    hops = _path(cfg, name, g)
    lead = ["ProxyCommand"] if hops[:1] == ["ProxyCommand"] else []
    assert ep.path() == ("via " + " -> ".join(hops) if hops else "direct")
    assert [h.name for h in ep.hops()] == hops[len(lead) :]
    assert ep.host_key_alias == g.get("hostkeyalias", [None])[0]
    known = " ".join(g["userknownhostsfile"]).split()
    assert list(ep.known_hosts) == [_expand(f, g, name) for f in known if f != "none"]
    assert list(ep.global_known_hosts) == " ".join(g["globalknownhostsfile"]).split()


def test_corpus_expectations_are_written_as_ssh_prints_paths() -> None:
    # a path with spaces would need quoting rules the expectations do not have
    for _src, _name, expect in CASES:
        assert set(expect) <= {"hostname", "port", "user", "path", "alias"}


# --- the directive table --------------------------------------------------------------------------


def _man_page_directives() -> list[str]:
    for path in (Path("/usr/share/man/man5/ssh_config.5.gz"), Path("/usr/share/man/man5/ssh_config.5")):
        if path.exists():
            text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
            return re.findall(r"^\.It Cm (\w+)", text, flags=re.M)
    pytest.skip("ssh_config(5) is not installed")


def test_every_directive_of_the_installed_ssh_config_man_page_is_classified() -> None:
    names = _man_page_directives()
    assert len(names) > 80
    missing = [n for n in names if n.lower() not in sshconfig_read.BY_NAME]
    assert missing == []


@needs_ssh
def test_every_option_ssh_G_prints_is_classified() -> None:
    unknown = set(sshconfig_read.baseline()) - set(sshconfig_read.BY_KEY) - sshconfig_read.NOT_DIRECTIVES
    assert unknown == set()


def test_each_directive_has_one_status_and_a_reason() -> None:
    assert len({d.name.lower() for d in sshconfig_read.DIRECTIVES}) == len(sshconfig_read.DIRECTIVES)
    for d in sshconfig_read.DIRECTIVES:
        assert d.status in (sshconfig_read.HONOURED, sshconfig_read.IGNORED, sshconfig_read.REFUSED) and d.why
    for name in ("ControlMaster", "ControlPath", "ControlPersist"):
        assert sshconfig_read.BY_NAME[name.lower()].status == sshconfig_read.IGNORED


def test_the_readme_table_is_generated_from_the_directive_table() -> None:
    readme = (ROOT / "README.md").read_text()
    assert sshconfig_read.readme_text(readme) == readme, "run: python -m runner.sshconfig_read --write"
    assert "| `CertificateFile` | honoured |" in sshconfig_read.directives_section()


# --- the library table ----------------------------------------------------------------------------


def test_library_table_is_what_the_installed_paramiko_implements() -> None:
    import paramiko

    t = paramiko.Transport
    assert set(LIBRARY["ciphers"]) == set(t._cipher_info)
    assert set(LIBRARY["macs"]) == set(t._mac_info)
    assert set(LIBRARY["kexalgorithms"]) == set(t._kex_info)
    assert set(LIBRARY["hostkeyalgorithms"]) == set(t._preferred_keys)
    assert set(LIBRARY["pubkeyacceptedalgorithms"]) == set(t._key_info)


# --- ssh rejects the config, or is not there ------------------------------------------------------


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@needs_ssh
def test_a_config_ssh_rejects_exits_2_with_its_message_at_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host web\n  HostName 10.0.0.1\n  Port notaport\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  vars: {{ssh_config: {cfg}}}\n  hosts:\n    web: {{}}\n")
    res = _cli("hosts", "-i", str(inv))
    assert res.exit_code == 2
    assert f"{cfg}:3: ssh rejects this config: Bad port 'notaport'." in res.stderr


@needs_ssh
def test_hosts_json_lists_the_ignored_directives(tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host web\n  HostName 10.0.0.1\nHost *\n  ControlMaster auto\n  ControlPath none\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  vars: {{ssh_config: {cfg}}}\n  hosts:\n    web: {{}}\n")
    res = _cli("hosts", "-i", str(inv), "--output", "json")
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert [i["directive"] for i in row["ignored"]] == ["ControlMaster"]
    res = _cli("hosts", "-i", str(inv))
    assert "    ignored: ControlMaster auto (ssh's own connection sharing" in res.stdout


@pytest.fixture
def no_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sshconfig_read, "SSH", "remediate-test-no-such-ssh")
    sshconfig_read._ssh_g.cache_clear()
    sshconfig_read.baseline.cache_clear()
    yield
    sshconfig_read._ssh_g.cache_clear()
    sshconfig_read.baseline.cache_clear()


def test_without_ssh_a_config_file_is_a_clear_error_saying_what_to_install(no_ssh: None, tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host web\n  HostName 10.0.0.1\n")
    with pytest.raises(InputError) as err:
        resolve(Host("web", (), {}, "t"), cfg)
    assert err.value.where == str(cfg)
    assert "ssh) is not installed" in str(err.value) and "apt-get install openssh-client" in str(err.value)


def test_without_ssh_and_without_any_config_hosts_get_sshs_defaults(
    no_ssh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sshconfig_read, "config_files", lambda _config: [])
    ep = resolve(Host("web", (), {"ansible_host": "10.0.0.2", "ansible_user": "ops"}, "t"), None)
    assert isinstance(ep, Endpoint)
    assert (ep.address, ep.port, ep.user, ep.path()) == ("10.0.0.2", 22, "ops", "direct")
    assert ep.known_hosts == (f"{HOME}/.ssh/known_hosts", f"{HOME}/.ssh/known_hosts2")
    assert ep.key_files[0] == f"{HOME}/.ssh/id_rsa" and ep.ciphers == ()  # the library's own algorithms


def test_ssh_g_is_asked_once_per_host_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ssh") is None:
        pytest.skip("the OpenSSH client is not installed")
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host web\n  HostName 10.0.0.1\n")
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(argv: list[str], **kw: Any) -> Any:
        calls.append(argv)
        return real(argv, **kw)

    monkeypatch.setattr(sshconfig_read.subprocess, "run", counting)
    for _ in range(3):
        resolve(Host("web", (), {}, "t"), cfg)
    assert len([c for c in calls if c[-1] == "web"]) == 1
