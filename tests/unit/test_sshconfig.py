"""Where and how to reach a host (runner.sshconfig): what ``ssh -G`` resolves, mapped onto the runner.

``ssh -G`` only evaluates the config, it connects nowhere; tests that need it are skipped where the
OpenSSH client is not installed (tests/unit/test_ssh_g.py covers the fallback without it).
"""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest

from runner import sshconfig_read
from runner.errors import InputError
from runner.inventory import Host
from runner.sshconfig import LIBRARY, Resolver, check, config_path, lookup, resolve

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
HOME = sshconfig_read.home()
ME = getpass.getuser()


def _host(name: str, **vars: object) -> Host:
    return Host(name, (), vars, "inv.yml:1")


def _cfg(tmp_path: Path, text: str, name: str = "config") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _ep(cfg: Path, name: str, **kw: object):  # type: ignore[no-untyped-def]
    return Resolver(cfg).endpoint(name, **kw)  # type: ignore[arg-type]


# --- Include, Host and Match: ssh's own evaluation ------------------------------------------------


def test_include_glob_in_order_and_first_value_wins(tmp_path: Path) -> None:
    _cfg(tmp_path, "Host camp-*\n  Port 2201\n  User first\n", "conf.d/10-a.conf")
    _cfg(tmp_path, "Host camp-host\n  HostName 127.0.0.9\n  Port 2999\n", "conf.d/20-b.conf")
    cfg = _cfg(tmp_path, f"Include {tmp_path}/conf.d/*.conf\nHost *\n  User later\n")
    ep = _ep(cfg, "camp-host")
    assert (ep.address, ep.port, ep.user) == ("127.0.0.9", 2201, "first")


def test_include_inside_inactive_block_does_not_apply(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Port 2000\nHost nomatch\n  User nobody\n", "inc.conf")
    cfg = _cfg(tmp_path, f"Host other\n  Include {inc}\nHost web\n  Include {inc}\n  User webuser\n")
    web = _ep(cfg, "web")
    assert (web.port, web.user) == (2000, "webuser")
    assert _ep(cfg, "else").port == 22


def test_host_patterns_and_negation(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *.prod !db.prod\n  User ops\nHost *\n  User other\n")
    assert _ep(cfg, "web.prod").user == "ops"
    assert _ep(cfg, "db.prod").user == "other"


def test_match_host_sees_hostname_and_originalhost_sees_the_name(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        f"Host web\n  HostName 10.1.2.3\nMatch host 10.1.*\n  Port 2022\nMatch originalhost web user {ME}\n  User x\n",
    )
    web = _ep(cfg, "web")
    assert (web.port, web.user) == (2022, "x")
    assert _ep(cfg, "db").port == 22


def test_match_exec_runs_as_ssh_runs_it(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    cfg = _cfg(tmp_path, f'Match exec "test -e {flag}"\n  Port 2100\n')
    assert _ep(cfg, "web").port == 22
    flag.write_text("")
    assert _ep(_cfg(tmp_path, cfg.read_text(), "again"), "web").port == 2100


def test_a_config_ssh_rejects_is_its_message_at_its_line(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Host elsewhere\n  Frobnicate yes\n", "inc.conf")
    cfg = _cfg(tmp_path, f"Include {inc}\n")
    with pytest.raises(InputError) as err:
        _ep(cfg, "web")
    assert err.value.where == f"{inc}:2" and "Bad configuration option: frobnicate" in str(err.value)


def test_ignore_unknown_is_honoured(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "IgnoreUnknown UseKeychain,Frob*\nFrobnicate yes\nUseKeychain yes\nHost web\n  Port 2\n")
    assert _ep(cfg, "web").port == 2


# --- refused, ignored, honoured -------------------------------------------------------------------


@pytest.mark.parametrize(
    "directive",
    [
        "PermitLocalCommand yes",
        "RemoteCommand uptime",
        "Tunnel yes",
        "ProxyUseFdpass yes",
        "KnownHostsCommand /bin/true",
        "BindInterface lo",
        "VerifyHostKeyDNS yes",
        "NoHostAuthenticationForLocalhost yes",
        "RekeyLimit 1G",
        "SessionType none",
        "PKCS11Provider /usr/lib/opensc-pkcs11.so",
        "RevokedHostKeys /etc/ssh/revoked",
    ],
)
def test_refused_directives_name_themselves_and_their_line(tmp_path: Path, directive: str) -> None:
    cfg = _cfg(tmp_path, f"# fleet\nHost web\n  User ops\n  {directive}\n")
    with pytest.raises(InputError) as err:
        resolve(_host("web"), cfg)
    assert err.value.where == f"{cfg}:4"
    assert directive.split()[0] in str(err.value) and "not supported" in str(err.value)


def test_refused_directive_found_through_include_and_for_another_host_does_not_matter(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Host legacy\n  # ssh would run it\n  RemoteCommand tmux attach\n", "inc.conf")
    cfg = _cfg(tmp_path, f"Include {inc}\nHost web\n  Port 2\n")
    assert resolve(_host("web"), cfg).port == 2
    with pytest.raises(InputError) as err:
        resolve(_host("legacy"), cfg)
    assert err.value.where == f"{inc}:3"


@pytest.mark.parametrize(
    "directive",
    [
        "ControlMaster auto",
        "ControlPath ~/.ssh/cm-%r@%h:%p",
        "ControlPersist 10m",
        "ForwardAgent yes",
        "LocalCommand echo hi",
        "SendEnv LANG",
        "Compression yes",
        "LogLevel ERROR",
        "BatchMode yes",
    ],
)
def test_directives_the_runner_may_ignore_are_accepted(tmp_path: Path, directive: str) -> None:
    cfg = _cfg(tmp_path, f"Host web\n  {directive}\n  Port 3\n")
    ep = resolve(_host("web"), cfg)
    assert ep.port == 3
    if directive.split()[0] != "Compression":
        assert directive.split()[0] in {d for d, _v, _w in ep.ignored}
    assert ep.describe().get("ignored", []) == [{"directive": d, "value": v, "why": w} for d, v, w in ep.ignored]


def test_control_directives_are_ignored_with_their_reason(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *\n  ControlMaster auto\n  ControlPath /tmp/cm-%r@%h:%p\n  ControlPersist 10m\n")
    ignored = {d: (v, w) for d, v, w in resolve(_host("web", ansible_user="ops"), cfg).ignored}
    assert ignored["ControlMaster"][0] == "auto"
    assert ignored["ControlPath"][0] == "/tmp/cm-ops@web:22"
    assert ignored["ControlPersist"][0] == "600"
    assert "connection sharing" in ignored["ControlPath"][1]


def test_address_family_bind_address_canonicalize_and_compression(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host *\n  AddressFamily inet\n  BindAddress 127.0.0.5\n  CanonicalizeHostname yes\n  Compression yes\n",
    )
    ep = resolve(_host("web"), cfg)
    assert (ep.address_family, ep.bind_address, ep.compression) == ("inet", "127.0.0.5", True)


def test_check_refuses_before_any_host_in_host_order(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host b\n  RemoteCommand id\nHost c\n  Tunnel yes\n")
    hosts = [_host(n, ssh_config=str(cfg)) for n in ("a", "b", "c")]
    with pytest.raises(InputError) as err:
        check(hosts, None)
    assert err.value.where == f"{cfg}:2"


# --- algorithm lists ------------------------------------------------------------------------------


def test_algorithm_lists_keep_ssh_order_within_the_library(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host *\n  Ciphers ^aes256-ctr\n  MACs -hmac-sha1*\n"
        "  KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha1\n"
        "  HostKeyAlgorithms +ssh-rsa\n  PubkeyAcceptedAlgorithms +ssh-rsa\n",
    )
    ep = resolve(_host("web"), cfg)
    assert ep.ciphers[0] == "aes256-ctr" and set(ep.ciphers) <= set(LIBRARY["ciphers"])
    assert not any(m.startswith("hmac-sha1") for m in ep.macs)
    assert ep.kex == ("curve25519-sha256@libssh.org",)  # OpenSSH's name, the library's; group14-sha1 it lacks
    assert "ssh-rsa" not in ep.host_key_types and "ssh-ed25519" in ep.host_key_types
    assert "ssh-ed25519-cert-v01@openssh.com" in ep.pubkey_types


@pytest.mark.parametrize(
    ("directive", "name"),
    [
        ("Ciphers chacha20-poly1305@openssh.com", "Ciphers"),
        ("MACs umac-128-etm@openssh.com", "MACs"),
        ("KexAlgorithms sntrup761x25519-sha512@openssh.com", "KexAlgorithms"),
        ("HostKeyAlgorithms ssh-rsa", "HostKeyAlgorithms"),
        ("PubkeyAcceptedKeyTypes ssh-rsa", "PubkeyAcceptedAlgorithms"),
    ],
)
def test_nothing_in_common_with_the_library_is_refused_at_its_line(tmp_path: Path, directive: str, name: str) -> None:
    cfg = _cfg(tmp_path, f"Host web\n  Port 2\n  {directive}\n")
    with pytest.raises(InputError) as err:
        resolve(_host("web"), cfg)
    assert err.value.where == f"{cfg}:3"
    assert f"{name} leaves no algorithm" in str(err.value) and "paramiko offers" in str(err.value)


# --- ProxyJump and ProxyCommand -------------------------------------------------------------------


def test_proxyjump_chain_user_host_port(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host target\n  HostName 10.0.0.5\n  ProxyJump alice@b1:2022,b2\n"
        "Host b1\n  HostName 192.0.2.1\n  User ignored\nHost b2\n  HostName 192.0.2.2\n  Port 2200\n"
        "Host *\n  User me\n",
    )
    ep = _ep(cfg, "target")
    assert [(h.name, h.address, h.port, h.user) for h in ep.hops()] == [
        ("b1", "192.0.2.1", 2022, "alice"),
        ("b2", "192.0.2.2", 2200, "me"),
    ]
    assert ep.path() == "via b1 -> b2" and ep.describe()["via"][0]["name"] == "b1"


def test_first_jump_host_uses_its_own_proxyjump(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host target\n  ProxyJump b2\nHost b2\n  ProxyJump b1\n")
    assert [h.name for h in _ep(cfg, "target").hops()] == ["b1", "b2"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ssh://bob@jump.example:2200", ("bob", "jump.example", 2200)),
        ("[::1]:2201", (ME, "::1", 2201)),
        ("jump", (ME, "jump", 22)),
    ],
)
def test_proxyjump_forms(tmp_path: Path, spec: str, expected: tuple[str, str, int]) -> None:
    cfg = _cfg(tmp_path, f"Host target\n  ProxyJump {spec}\n")
    (hop,) = _ep(cfg, "target").hops()
    assert (hop.user, hop.address, hop.port) == expected


def test_proxyjump_none_and_first_of_jump_or_command_wins(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host direct\n  ProxyJump none\nHost cmd\n  ProxyCommand nc %h %p\nHost *\n  ProxyJump b1\n")
    direct = _ep(cfg, "direct")
    assert direct.jump is None and direct.proxy_command is None and direct.path() == "direct"
    cmd = _ep(cfg, "cmd")
    assert cmd.jump is None and cmd.proxy_command == "nc cmd 22" and cmd.path() == "via ProxyCommand"


def test_proxyjump_loop_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n")
    with pytest.raises(InputError, match="ProxyJump loop"):
        _ep(cfg, "a")


def test_proxycommand_tokens_use_the_inventory_values(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  HostName 10.0.0.1\n  ProxyCommand ssh -W %h:%p %r@gw # for %n, 100%%\n")
    ep = resolve(_host("web", ansible_port=2201, ansible_user="ops"), cfg)
    assert ep.proxy_command == "ssh -W 10.0.0.1:2201 ops@gw # for web, 100%"
    ep = resolve(_host("web", ansible_host="10.9.9.9"), cfg)
    assert ep.proxy_command is not None and ep.proxy_command.startswith("ssh -W 10.9.9.9:22 ")


def test_unsupported_token_is_refused_at_its_line(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  ProxyCommand nc %C\n")
    with pytest.raises(InputError) as err:
        resolve(_host("web"), cfg)
    assert err.value.where == f"{cfg}:2" and "%C" in str(err.value)


# --- the rest of what decides how to connect ------------------------------------------------------


def test_tokens_identity_certificate_and_known_hosts(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host web*\n  HostName %h.example\n  IdentityFile ~/.ssh/id_%r\n  IdentityFile /k2\n"
        "  CertificateFile %d/certs/%n-cert.pub\n"
        "  UserKnownHostsFile %d/kh1 /kh2\n  HostKeyAlias fleet-web\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        "  ServerAliveInterval 5\n  ServerAliveCountMax 2\n  ConnectTimeout 7\n  StrictHostKeyChecking accept-new\n",
    )
    ep = _ep(cfg, "web1")
    assert ep.address == "web1.example"
    assert ep.key_files == (f"{HOME}/.ssh/id_{ME}", "/k2")
    assert ep.certificate_files == (f"{HOME}/certs/web1-cert.pub",)
    assert ep.known_hosts == (f"{HOME}/kh1", "/kh2")
    assert ep.known_name == "fleet-web" and ep.identities_only and ep.agent is None
    assert (ep.alive_interval, ep.alive_count, ep.connect_timeout, ep.strict) == (5, 2, 7.0, "accept-new")


def test_env_in_paths_and_an_unset_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDIATE_TEST_KEYS", "/keys")
    text = "Host web\n  IdentityFile ${REMEDIATE_TEST_KEYS}/id\nHost db\n  IdentityFile ${NOPE_UNSET_X}/id\n"
    cfg = _cfg(tmp_path, text)
    assert _ep(cfg, "web").key_files == ("/keys/id",)
    with pytest.raises(InputError) as err:
        _ep(cfg, "db")
    assert "NOPE_UNSET_X" in str(err.value) and err.value.where == f"{cfg}:4"


def test_defaults_and_agent_path(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  Port 2222\n  IdentityAgent /run/agent.sock\n  StrictHostKeyChecking no\n")
    ep = _ep(cfg, "web")
    assert ep.known_name == "[web]:2222" and ep.agent == "/run/agent.sock"
    assert ep.strict == "yes"  # "no" is treated as strict on purpose
    assert (ep.alive_interval, ep.alive_count, ep.connect_timeout) == (15, 3, 10.0)
    assert ep.known_hosts == (f"{HOME}/.ssh/known_hosts", f"{HOME}/.ssh/known_hosts2")
    assert ep.key_files[0] == f"{HOME}/.ssh/id_rsa"  # ssh's default identities
    assert ep.ignored == ()


def test_inventory_key_replaces_the_default_identities_and_goes_first(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  Port 2\nHost db\n  IdentityFile /db_key\n")
    assert resolve(_host("web", ansible_ssh_private_key_file="/inv_key"), cfg).key_files == ("/inv_key",)
    assert resolve(_host("db", ansible_ssh_private_key_file="/inv_key"), cfg).key_files == ("/inv_key", "/db_key")


def test_no_config_file_is_the_plain_name(tmp_path: Path) -> None:
    ep = resolve(_host("web", ansible_user="ops"), tmp_path / "absent")
    assert (ep.address, ep.port, ep.user, ep.jump) == ("web", 22, "ops", None)


def test_inventory_values_win_over_the_config(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  HostName 10.0.0.1\n  Port 2200\n  User cfg\n")
    ep = resolve(_host("web", ansible_host="10.0.0.9", ansible_port=2201, ansible_user="inv"), cfg)
    assert (ep.address, ep.port, ep.user) == ("10.0.0.9", 2201, "inv")


def test_config_path_and_lookup(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host known\n  HostName 10.0.0.1\n")
    assert config_path(_host("web"), None) is None  # ssh's own files
    assert config_path(_host("web", ssh_config=str(cfg)), None) == cfg
    with pytest.raises(InputError, match="no OpenSSH config"):
        config_path(_host("web"), tmp_path / "missing")
    assert lookup("known", cfg)["hostname"] == "10.0.0.1"
    assert "hostname" not in lookup("unknown", cfg)


# --- file:line of a refusal: the line in the block ssh applied to this host -----------------------


def test_refusal_names_the_line_in_the_block_applied_to_this_host(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host a\n  RemoteCommand uptime\nHost b\n  HostName 127.0.0.1\n  RemoteCommand uptime\n")
    with pytest.raises(InputError) as err:
        resolve(_host("b"), cfg)
    assert err.value.where == f"{cfg}:5"
    with pytest.raises(InputError) as err:
        resolve(_host("a"), cfg)
    assert err.value.where == f"{cfg}:2"


def test_refusal_in_match_blocks_and_includes_first_value_wins(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Host other\n  RekeyLimit 2G\nHost b\n  RekeyLimit 1G\n", "inc.conf")
    cfg = _cfg(
        tmp_path,
        "Host a\n  RekeyLimit 1G\nMatch all\n  User ops\nMatch user nobody\n  RekeyLimit 1G\n"
        f"Match originalhost b\n  Include {inc}\n  RekeyLimit 3G\n",
    )
    with pytest.raises(InputError) as err:
        resolve(_host("b"), cfg)
    # ssh prints 1073741824 0: the line is found by its keyword, in the blocks ssh applied, first one
    assert err.value.where == f"{inc}:4"
    cfg.write_text("Match user nobody\n  RekeyLimit 1G\nMatch all\n  ControlPersist 10m\n  RekeyLimit 1G\n")
    with pytest.raises(InputError) as err:
        resolve(_host("b"), cfg)
    assert err.value.where == f"{cfg}:5"


def test_applied_blocks_as_ssh_reports_them(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *\n  Port 2\nMatch all\n  User x\nMatch host nomatch\n  Port 3\nHost b c\n  Port 4\n")
    real = str(cfg.resolve())
    got = sshconfig_read.applied(sshconfig_read.Query("b", cfg))
    assert got == {(real, 1), (real, 3), (real, 7)}
