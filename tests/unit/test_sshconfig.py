"""OpenSSH client config resolution (runner.sshconfig): pure, no network.

Where ``ssh`` is installed, the resolved host name, port and user are also compared with what the real
``ssh -G`` prints for the same file (``-G`` only evaluates the config; it connects nowhere).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.inventory import Host
from runner.sshconfig import Resolver, check, lookup, resolve


def _host(name: str, **vars: object) -> Host:
    return Host(name, (), vars, "inv.yml:1")


def _cfg(tmp_path: Path, text: str, name: str = "config") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _ep(tmp_path: Path, cfg: Path, name: str, **kw: object):  # type: ignore[no-untyped-def]
    return Resolver(cfg, home=tmp_path, local_user="me").endpoint(name, **kw)  # type: ignore[arg-type]


def _ssh_g(cfg: Path, name: str) -> dict[str, str]:
    out = subprocess.run(["ssh", "-F", str(cfg), "-G", name], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")


# --- Include ------------------------------------------------------------------------------------


def test_include_glob_in_order_and_first_value_wins(tmp_path: Path) -> None:
    _cfg(tmp_path, "Host camp-*\n  Port 2201\n  User first\n", "conf.d/10-a.conf")
    _cfg(tmp_path, "Host camp-host\n  HostName 127.0.0.9\n  Port 2999\n", "conf.d/20-b.conf")
    cfg = _cfg(tmp_path, f"Include {tmp_path}/conf.d/*.conf\nHost *\n  User later\n")
    ep = _ep(tmp_path, cfg, "camp-host")
    assert (ep.address, ep.port, ep.user) == ("127.0.0.9", 2201, "first")
    assert ep.origin["port"] == f"{tmp_path}/conf.d/10-a.conf:2"


def test_relative_include_is_read_under_home_ssh(tmp_path: Path) -> None:
    _cfg(tmp_path, "Host only-here\n  HostName 127.0.0.7\n", ".ssh/extra/hosts.conf")
    cfg = _cfg(tmp_path, "Include extra/*.conf\n", "elsewhere/config")
    assert _ep(tmp_path, cfg, "only-here").address == "127.0.0.7"


def test_include_loop_is_refused_with_file_and_line(tmp_path: Path) -> None:
    a = tmp_path / "a.conf"
    b = _cfg(tmp_path, f"# b\nInclude {a}\n", "b.conf")
    _cfg(tmp_path, f"Host x\n  Port 1\nInclude {b}\n", "a.conf")
    with pytest.raises(InputError) as err:
        lookup("x", a)
    assert "Include loop" in str(err.value) and err.value.where == f"{b}:2"


def test_include_inside_inactive_block_does_not_apply_and_host_state_is_restored(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Port 2000\nHost nomatch\n  User nobody\n", "inc.conf")
    cfg = _cfg(tmp_path, f"Host other\n  Include {inc}\nHost web\n  Include {inc}\n  User webuser\n")
    got = lookup("web", cfg)
    # Port from the include (active block); the include's own Host ends with the file: User applies.
    assert got["port"].args == ("2000",) and got["user"].args == ("webuser",)
    assert "port" not in lookup("else", cfg)


def test_unknown_directive_in_an_included_file_is_refused_even_for_other_hosts(tmp_path: Path) -> None:
    inc = _cfg(tmp_path, "Host elsewhere\n  Frobnicate yes\n", "inc.conf")
    cfg = _cfg(tmp_path, f"Include {inc}\n")
    with pytest.raises(InputError) as err:
        lookup("web", cfg)
    assert err.value.where == f"{inc}:2" and "Frobnicate" in str(err.value)


def test_ignore_unknown_is_honoured(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "IgnoreUnknown UseKeychain,Frob*\nFrobnicate yes\nHost web\n  Port 2\n")
    assert lookup("web", cfg)["port"].args == ("2",)


# --- Host and Match -----------------------------------------------------------------------------


def test_host_patterns_and_negation(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *.prod !db.prod\n  User ops\nHost *\n  User other\n")
    assert lookup("web.prod", cfg)["user"].args == ("ops",)
    assert lookup("db.prod", cfg)["user"].args == ("other",)


def test_match_host_sees_hostname_and_originalhost_sees_the_name(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host web\n  HostName 10.1.2.3\nMatch host 10.1.*\n  Port 2022\nMatch originalhost web user me\n  User x\n",
    )
    got = lookup("web", cfg, local_user="me")
    assert got["port"].args == ("2022",) and got["user"].args == ("x",)
    assert "port" not in lookup("db", cfg)


def test_match_negated_and_all(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Match !host web*\n  Port 1\nMatch all\n  Port 2\n")
    assert lookup("db", cfg)["port"].args == ("1",)
    assert lookup("web1", cfg)["port"].args == ("2",)


@pytest.mark.parametrize("criterion", ["exec true", "canonical", "final", "localnetwork 10.0.0.0/8", "tagged x"])
def test_match_that_runs_or_needs_what_is_unsupported_is_refused(tmp_path: Path, criterion: str) -> None:
    cfg = _cfg(tmp_path, f"Host a\n  Port 1\nMatch {criterion}\n  User x\n")
    with pytest.raises(InputError) as err:
        lookup("web", cfg)
    assert err.value.where == f"{cfg}:3" and criterion.split()[0] in str(err.value)


def test_match_exec_after_a_failed_criterion_is_never_evaluated(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Match host other exec 'touch /nonexistent'\n  Port 1\n")
    assert "port" not in lookup("web", cfg)


# --- refused and harmless directives -------------------------------------------------------------


@pytest.mark.parametrize(
    "directive",
    [
        "ControlMaster auto",
        "ControlPath ~/.ssh/cm-%r@%h:%p",
        "LocalCommand echo hi",
        "PermitLocalCommand yes",
        "CanonicalizeHostname yes",
        "Tunnel yes",
        "BindAddress 127.0.0.5",
        "AddressFamily inet",
        "ProxyUseFdpass yes",
        "Ciphers aes128-ctr",
        "CertificateFile ~/.ssh/id-cert.pub",
        "KnownHostsCommand /bin/true",
        "RemoteCommand uptime",
    ],
)
def test_refused_directives_name_themselves_and_their_line(tmp_path: Path, directive: str) -> None:
    cfg = _cfg(tmp_path, f"# fleet\nHost web\n  User ops\n  {directive}\n")
    with pytest.raises(InputError) as err:
        resolve(_host("web"), cfg)
    assert err.value.where == f"{cfg}:4"
    assert directive.split()[0] in str(err.value)


def test_refused_directive_for_another_host_does_not_matter(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host legacy\n  ControlMaster auto\nHost web\n  Port 2\n")
    assert resolve(_host("web"), cfg).port == 2


@pytest.mark.parametrize(
    "directive",
    ["ForwardAgent no", "Compression yes", "LogLevel ERROR", "ControlMaster no", "ControlPath none", "BatchMode yes"],
)
def test_harmless_directives_are_accepted(tmp_path: Path, directive: str) -> None:
    cfg = _cfg(tmp_path, f"Host web\n  {directive}\n  Port 3\n")
    assert resolve(_host("web"), cfg).port == 3


def test_check_refuses_before_any_host(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host b\n  LocalCommand id\n")
    with pytest.raises(InputError):
        check([_host("a", ssh_config=str(cfg)), _host("b", ssh_config=str(cfg))], None)


# --- ProxyJump and ProxyCommand -------------------------------------------------------------------


def test_proxyjump_chain_user_host_port(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host target\n  HostName 10.0.0.5\n  ProxyJump alice@b1:2022,b2\n"
        "Host b1\n  HostName 192.0.2.1\n  User ignored\nHost b2\n  HostName 192.0.2.2\n  Port 2200\n"
        "Host *\n  User me\n",
    )
    ep = _ep(tmp_path, cfg, "target")
    hops = ep.hops()
    assert [(h.name, h.address, h.port, h.user) for h in hops] == [
        ("b1", "192.0.2.1", 2022, "alice"),
        ("b2", "192.0.2.2", 2200, "me"),
    ]
    assert ep.path() == "via b1 -> b2" and ep.describe()["via"][0]["name"] == "b1"


def test_first_jump_host_uses_its_own_proxyjump(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host target\n  ProxyJump b2\nHost b2\n  ProxyJump b1\n")
    assert [h.name for h in _ep(tmp_path, cfg, "target").hops()] == ["b1", "b2"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ssh://bob@jump.example:2200", ("bob", "jump.example", 2200)),
        ("[::1]:2201", ("me", "::1", 2201)),
        ("jump", ("me", "jump", 22)),
    ],
)
def test_proxyjump_forms(tmp_path: Path, spec: str, expected: tuple[str, str, int]) -> None:
    cfg = _cfg(tmp_path, f"Host target\n  ProxyJump {spec}\n")
    (hop,) = _ep(tmp_path, cfg, "target").hops()
    assert (hop.user, hop.address, hop.port) == expected


def test_proxyjump_none_and_first_of_jump_or_command_wins(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host direct\n  ProxyJump none\nHost cmd\n  ProxyCommand nc %h %p\nHost *\n  ProxyJump b1\n",
    )
    direct = _ep(tmp_path, cfg, "direct")
    assert direct.jump is None and direct.proxy_command is None and direct.path() == "direct"
    cmd = _ep(tmp_path, cfg, "cmd")
    assert cmd.jump is None and cmd.proxy_command == "nc cmd 22" and cmd.path() == "via ProxyCommand"


def test_proxyjump_loop_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n")
    with pytest.raises(InputError, match="ProxyJump loop"):
        _ep(tmp_path, cfg, "a")


def test_proxycommand_tokens_use_the_inventory_values(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  HostName 10.0.0.1\n  ProxyCommand ssh -W %h:%p %r@gw # for %n, 100%%\n")
    ep = resolve(_host("web", ansible_port=2201, ansible_user="ops"), cfg)
    assert ep.proxy_command == "ssh -W 10.0.0.1:2201 ops@gw # for web, 100%"
    ep = resolve(_host("web", ansible_host="10.9.9.9"), cfg)
    assert ep.proxy_command is not None and ep.proxy_command.startswith("ssh -W 10.9.9.9:22 ")


def test_unsupported_token_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  ProxyCommand nc %C\n")
    with pytest.raises(InputError) as err:
        resolve(_host("web"), cfg)
    assert err.value.where == f"{cfg}:2" and "%C" in str(err.value)


# --- the rest of what decides how to connect ------------------------------------------------------


def test_hostname_token_identity_and_known_hosts(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "Host web*\n  HostName %h.example\n  IdentityFile ~/.ssh/id_%r\n  IdentityFile /k2\n"
        "  UserKnownHostsFile %d/kh1 /kh2\n  HostKeyAlias fleet-web\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        "  ServerAliveInterval 5\n  ServerAliveCountMax 2\n  ConnectTimeout 7\n  StrictHostKeyChecking accept-new\n",
    )
    ep = _ep(tmp_path, cfg, "web1")
    assert ep.address == "web1.example"
    assert ep.key_files == (str(Path("~/.ssh/id_me").expanduser()), "/k2")
    assert ep.known_hosts == (f"{tmp_path}/kh1", "/kh2")
    assert ep.known_name == "fleet-web" and ep.identities_only and ep.agent is None
    assert (ep.alive_interval, ep.alive_count, ep.connect_timeout, ep.strict) == (5, 2, 7.0, "accept-new")


def test_defaults_and_agent_path(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host web\n  Port 2222\n  IdentityAgent /run/agent.sock\n  StrictHostKeyChecking no\n")
    ep = _ep(tmp_path, cfg, "web")
    assert ep.known_name == "[web]:2222" and ep.agent == "/run/agent.sock"
    assert ep.strict == "yes"  # "no" is treated as strict on purpose
    assert (ep.alive_interval, ep.alive_count, ep.connect_timeout) == (15, 3, 10.0)
    assert ep.known_hosts == (f"{tmp_path}/.ssh/known_hosts",)


def test_no_config_file_is_the_plain_name(tmp_path: Path) -> None:
    ep = resolve(_host("web", ansible_user="ops"), tmp_path / "absent")
    assert (ep.address, ep.port, ep.user, ep.jump) == ("web", 22, "ops", None)


# --- the same answers as the real ssh -G ----------------------------------------------------------


@needs_ssh
@pytest.mark.parametrize("name", ["camp-host", "web.prod", "db.prod", "other", "relay", "web"])
def test_same_hostname_port_user_as_ssh_G(tmp_path: Path, name: str) -> None:
    _cfg(tmp_path, "Host camp-*\n  Port 2201\n  User neolane\nHost camp-host\n  HostName 127.0.0.9\n", "d/a.conf")
    _cfg(tmp_path, "Port 2000\nHost nomatch\n  User nobody\n", "inc/web.conf")
    cfg = _cfg(
        tmp_path,
        f"Include {tmp_path}/d/*.conf\nHost web\n  Include {tmp_path}/inc/web.conf\n  User webuser\n"
        "Host *.prod !db.prod\n  User ops\n  HostName %h.internal\n"
        "Match host *.internal\n  Port 2300\nHost relay\n  ProxyJump camp-host\n  HostName 10.0.0.1\n"
        "Host *\n  User fallback\n",
    )
    ssh = _ssh_g(cfg, name)
    ep = Resolver(cfg).endpoint(name)
    assert (ep.address, str(ep.port), ep.user) == (ssh["hostname"], ssh["port"], ssh["user"])
    if "proxyjump" in ssh:
        assert ep.jump is not None and ep.jump.name == ssh["proxyjump"]
