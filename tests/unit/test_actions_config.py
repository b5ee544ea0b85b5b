"""stat_server without a host: its command, and its verdict on Adobe's config samples (tests/fixtures/adobe).

Configs are the samples of config.yml (each names its Adobe page); the pdump banner and process lines
are pdump.yml's layout. Local or remote, own or shared, listening or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.actions import ACTIONS, Context
from runner.inventory import Host
from runner.outcomes import Verdict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
CONFIGS = yaml.safe_load((FIXTURES / "config.yml").read_text())["samples"]
BANNER = "12:09:54 >   Application server for Adobe Campaign Classic (7.X YY.R build XXX@SHA1) of DD/MM/YYYY\n"
NAMES = (
    "camp1\ncamp1.example.com\n1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.0.0.5/24 brd 10.0.0.255\n"
)


def _config(page: str, section: str, index: int = 0) -> str:
    found = [s["sample"] for s in CONFIGS if s["page"].endswith(page) and s["section"] == section]
    return str(found[index])


STANDALONE = _config("the-server-configuration-file.md", "dataStore")  # mta/stat enabled, statServerAddress localhost
MID_SOURCED = _config("the-server-configuration-file.md", "inMail")  # mta/stat disabled, stat1.example.com:7778
DEMO = _config("standalone-deployment.md", "Installing and configuring (single machine)")  # mta on, stat not
REMOTE = _config("email-deliverability.md", "Coordinates of the statistics server")  # emailStatServer:7777


def _ctx(instance: str = "prod", **vars: Any) -> Context:
    return Context(Host("camp1", (), {"instance": instance, "nlserver": "nlserver", **vars}, "inv.yml:1"))


def _out(
    instance: str, processes: str = "", ss: str = "", server: str | None = None, names: str = NAMES, rc: int = 0
) -> str:
    server_part = (
        f"@@statsrv serverconf\n{server}\n@@statsrv rc 0\n" if server else "@@statsrv serverconf\n\n@@statsrv rc 1\n"
    )
    return (
        f"{server_part}@@statsrv instance\n{instance}\n@@statsrv rc {rc}\n"
        f"@@statsrv pdump\n{BANNER}{processes or 'No tasks'}\n\n@@statsrv rc 0\n"
        f"@@statsrv ss\n{ss}@@statsrv rc 0\n@@statsrv names\n{names}@@statsrv rc 0\n"
    )


def _judge(out: str, ctx: Context | None = None, **args: Any) -> Verdict:
    return ACTIONS["stat_server"].judge(args, ctx or _ctx(), out, "", 0)


LISTEN_LOCAL = "UNCONN 0      0          127.0.0.1:7777       0.0.0.0:*\n"
STAT = "stat@prod (5988) - 1.5 MB\nmta@prod (7831) - 15.6 MB\nwatchdog (27369) - 3.1 MB\n"


def test_command_reads_both_configs_pdump_sockets_and_names() -> None:
    cmd = ACTIONS["stat_server"].build({}, _ctx(nl6_root="/usr/local/neolane/nl6"))
    assert "cat /usr/local/neolane/nl6/conf/serverConf.xml" in cmd
    assert "cat /usr/local/neolane/nl6/conf/config-prod.xml" in cmd
    assert "nlserver pdump" in cmd and "ss -H -lun" in cmd and "ip -o addr show" in cmd


def test_own_stat_running_and_listening_is_healthy() -> None:
    verdict = _judge(_out(STANDALONE, STAT, LISTEN_LOCAL))
    assert verdict.passed and not verdict.not_applicable, verdict.message
    assert verdict.data["local"] and verdict.data["own_enabled"] and verdict.data["stat_server"] == "localhost:7777"


def test_own_stat_enabled_not_running_is_a_finding() -> None:
    verdict = _judge(_out(STANDALONE, "mta@prod (7831) - 15.6 MB\n"))
    assert verdict.failed and "enabled (autoStart) and not running" in verdict.message


def test_own_stat_running_but_not_listening_is_a_finding() -> None:
    out = _out(STANDALONE, STAT, "UNCONN 0 0 127.0.0.1:6666 0.0.0.0:*\n")
    verdict = _judge(out)
    assert verdict.failed and "nothing listens on udp localhost:7777" in verdict.message
    assert _judge(out, aspect="listening").failed  # the one case a restart fits


def test_listening_aspect_fails_only_for_the_own_running_stat() -> None:
    assert _judge(_out(STANDALONE, STAT, LISTEN_LOCAL), aspect="listening").passed
    assert _judge(_out(STANDALONE, "mta@prod (7831) - 15.6 MB\n"), aspect="listening").passed  # not running: a start
    # the shared stat of another instance, down: reported by the server aspect, never a restart of this one
    demo = _out(DEMO, "mta@demo (7831) - 15.6 MB\n")
    assert _judge(demo, _ctx("demo")).failed
    assert _judge(demo, _ctx("demo"), aspect="listening").passed


def test_shared_stat_of_another_instance_is_not_applicable() -> None:
    # standalone-deployment.md's config-demo.xml: mta on, stat not enabled for this instance, localhost.
    shared = "stat@prod (5988) - 1.5 MB\nmta@demo (7831) - 15.6 MB\n"
    verdict = _judge(_out(DEMO, shared, LISTEN_LOCAL), _ctx("demo"))
    assert verdict.not_applicable and "stat@prod (pid 5988)" in verdict.message and "shared" in verdict.message


def test_local_address_with_nothing_listening_and_no_own_stat_is_reported_not_started() -> None:
    verdict = _judge(_out(DEMO, "mta@demo (7831) - 15.6 MB\n"), _ctx("demo"))
    assert verdict.failed and "not started here" in verdict.message


def test_remote_stat_server_is_reported_never_local() -> None:
    remote_only = REMOTE.replace("<mta ", '<mta autoStart="true" ')
    verdict = _judge(_out(remote_only, "mta@prod (7831) - 15.6 MB\n", LISTEN_LOCAL))
    assert verdict.not_applicable and "emailStatServer:7777" in verdict.message and "another host" in verdict.message
    assert not verdict.data["local"] and verdict.data["listening"] == []


def test_address_of_this_host_by_ip_is_local_and_other_ips_are_not() -> None:
    conf = STANDALONE.replace('statServerAddress="localhost"', 'statServerAddress="10.0.0.5"')
    ok = _judge(_out(conf, STAT, "UNCONN 0 0 10.0.0.5:7777 0.0.0.0:*\n"))
    assert ok.passed and ok.data["local"]
    # the same port bound on another address of the machine is not where mta sends
    other = _judge(_out(conf, STAT, "UNCONN 0 0 10.0.0.6:7777 0.0.0.0:*\n"))
    assert other.failed
    far = conf.replace("10.0.0.5", "10.0.0.9").replace('<stat autoStart="true"/>', "")
    assert _judge(_out(far, "mta@prod (7831) - 15.6 MB\n")).not_applicable
    assert _judge(_out(far, "mta@prod (7831) - 15.6 MB\n"), _ctx(address="10.0.0.9")).failed  # the address var


def test_mid_sourced_instance_has_no_stat_to_check() -> None:
    verdict = _judge(_out(MID_SOURCED, "wfserver@prod (7832) - 11.5 MB\n"))
    assert verdict.not_applicable and "neither mta nor stat" in verdict.message


def test_empty_address_where_mta_is_enabled_is_a_finding() -> None:
    empty = '<serverconf>\n  <mta autoStart="true"/>\n</serverconf>\n'
    verdict = _judge(_out(empty, "mta@prod (7831) - 15.6 MB\n"))
    assert verdict.failed and "statServerAddress is empty" in verdict.message
    assert _judge(_out(empty, ""), aspect="address").failed
    assert _judge(_out(STANDALONE, ""), aspect="address").passed


def test_server_conf_enables_stat_unless_the_instance_disables_it() -> None:
    server = '<serverconf>\n  <stat autoStart="true"/>\n</serverconf>\n'
    conf = '<serverconf>\n  <mta autoStart="true" statServerAddress="localhost"/>\n</serverconf>\n'
    assert _judge(_out(conf, "mta@prod (7831) - 15.6 MB\n", server=server)).data["own_enabled"]
    off = conf.replace("</serverconf>", '  <stat autoStart="false"/>\n</serverconf>')
    assert not _judge(_out(off, "mta@prod (7831) - 15.6 MB\n", server=server)).data["own_enabled"]


@pytest.mark.parametrize(
    "out",
    [
        "",
        _out(STANDALONE, rc=1),
        _out(_config("enterprise-deployment.md", "Installing and configuring the application server 1")),
        _out(STANDALONE).replace(BANNER + "No tasks", "Segmentation fault"),
    ],
)
def test_what_cannot_be_read_is_undetermined(out: str) -> None:
    assert _judge(out).undetermined
