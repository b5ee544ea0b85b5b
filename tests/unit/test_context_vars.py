"""Context.var: a playbook option, else the inventory, else the host's own setting, else the table's default."""

from __future__ import annotations

import pytest

from runner.actions import Context, Skip
from runner.inventory import Host


def _ctx(inventory: dict[str, object], facts: dict[str, object], options: dict[str, str] | None = None) -> Context:
    return Context(Host("prod1", (), {"instance": "prod", **inventory}, "-"), dict(options or {}), facts=facts)


def test_the_host_setting_wins_over_the_default() -> None:
    ctx = _ctx({}, {"syslogd_port": 6667, "syslogd_address": "localhost"})
    assert ctx.var("syslogd_port") == 6667
    assert ctx.var("web_port") == 8080  # the host said nothing: the table's default


def test_the_inventory_wins_over_the_host_and_an_option_over_both() -> None:
    ctx = _ctx({"syslogd_port": 514}, {"syslogd_port": 6667})
    assert ctx.var("syslogd_port") == 514
    assert _ctx({"web_port": 80}, {"web_port": 8090}, {"web_port": "81"}).var("web_port") == "81"


def test_a_default_may_name_other_vars_and_takes_their_values() -> None:
    assert _ctx({}, {}).var("var_dir") == "/usr/local/neolane/nl6/var"
    assert _ctx({"nl6_root": "/opt/nl6"}, {}).var("export_dir") == "/opt/nl6/var/prod/export"
    moved = _ctx({"nl6_root": "/opt/nl6"}, {"var_dir": "/app/log/AdobeCampaign"})
    assert moved.var("var_dir") == "/app/log/AdobeCampaign"
    assert moved.var("export_dir") == "/app/log/AdobeCampaign/prod/export"  # follows the host's XTK_VAR_DIR
    assert _ctx({}, {"export_dir": "/data/export/prod"}).var("export_dir") == "/data/export/prod"


def test_a_var_nobody_gives_is_a_skip() -> None:
    with pytest.raises(Skip, match="db_host"):
        _ctx({}, {}).var("db_host")
    with pytest.raises(Skip, match="instance"):  # a default that names a missing var
        Context(Host("prod1", (), {}, "-"), {}).var("export_dir")


def test_a_systemd_unit_on_the_host_starts_the_watchdog_with_systemctl_unless_the_inventory_says() -> None:
    from runner.actions import ACTIONS
    from runner.wire import Account

    start = ACTIONS["watchdog_start"]
    systemd = _ctx({}, {"service_manager": "systemd"})
    assert start.build({}, systemd) == "systemctl start nlserver"
    assert start.account({}, systemd) is Account.ROOT  # the service as a whole is root's
    told = _ctx({"service_manager": "nlserver"}, {"service_manager": "systemd"})
    assert start.build({}, told) == "nlserver watchdog -svc -noconsole" and start.account({}, told) is Account.CAMPAIGN
    assert start.build({}, _ctx({}, {})) == "nlserver watchdog -svc -noconsole"  # no unit: the default


def test_a_systemd_unit_whose_root_cannot_be_reached_says_what_to_set() -> None:
    from runner.actions import ACTIONS
    from runner.actions.base import AccountRefused

    host = Host("prod1", (), {"instance": "prod"}, "-")
    ctx = Context(host, {}, ssh_user="neolane", facts={"service_manager": "systemd"})
    with pytest.raises(AccountRefused, match=r"unit nlserver.*needs root.*service_manager: nlserver"):
        ACTIONS["watchdog_start"].build({}, ctx)
    sudo = Context(Host("prod1", (), {"instance": "prod", "become": "sudo"}, "-"), {}, ssh_user="neolane")
    sudo.facts = {"service_manager": "systemd"}
    assert ACTIONS["watchdog_start"].build({}, sudo) == "systemctl start nlserver"
