"""Service actions without a host: every service_manager x become command, start_listed, init script status."""

from __future__ import annotations

import shlex

import pytest

from runner.actions import ACTIONS, Context, Skip
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

NLSERVER = "/usr/local/neolane/nl6/bin/nlserver"
ENV = "/usr/local/neolane/nl6/env.sh"


def _ctx(earlier: dict[str, Verdict] | None = None, **vars: object) -> Context:
    base = {"instance": "prod", "nlserver": NLSERVER}
    return Context(Host("prod1", (), {**base, **vars}, "inv.yml:3"), earlier=earlier or {})


WATCHDOG = f"{NLSERVER} watchdog -svc -noconsole"
# usual-commands.md "Restart services": root -> init script or (20.1+) systemctl; else the Campaign account.
CASES = [
    ("nlserver", "none", {}, WATCHDOG),
    ("nlserver", "sudo", {}, f"sudo -n -u neolane -- {WATCHDOG}"),
    ("nlserver", "sudo_campaign", {"campaign_user": "camp"}, f"sudo -n -u camp -- {WATCHDOG}"),
    (
        "nlserver",
        "sudo_campaign",
        {"nlserver_env": ENV},
        f"sudo -n -u neolane -- sh -c {shlex.quote(f'. {ENV} && {WATCHDOG}')}",
    ),
    ("systemd", "none", {}, "systemctl start nlserver"),
    ("systemd", "sudo", {}, "sudo -n systemctl start nlserver"),
    ("init", "none", {}, "/etc/init.d/nlserver6 start"),
    ("init", "sudo", {"nlserver_env": ENV}, "sudo -n /etc/init.d/nlserver6 start"),
]


@pytest.mark.parametrize(("manager", "become", "extra", "expected"), CASES)
def test_watchdog_start_per_service_manager_and_become(
    manager: str, become: str, extra: dict[str, str], expected: str
) -> None:
    ctx = _ctx(service_manager=manager, become=become, **extra)
    assert ACTIONS["watchdog_start"].build({}, ctx) == expected


@pytest.mark.parametrize("manager", ["systemd", "init"])
def test_a_system_service_is_not_started_through_the_campaign_account(manager: str) -> None:
    with pytest.raises(Skip, match="needs root and become is sudo_campaign"):
        ACTIONS["watchdog_start"].build({}, _ctx(service_manager=manager, become="sudo_campaign"))


def test_default_is_nlserver_watchdog_as_the_ssh_user() -> None:
    assert ACTIONS["watchdog_start"].build({}, _ctx()) == WATCHDOG


def test_unknown_manager_or_become_is_skipped_not_guessed() -> None:
    with pytest.raises(Skip, match="service_manager 'upstart'"):
        ACTIONS["watchdog_start"].build({}, _ctx(service_manager="upstart"))
    with pytest.raises(Skip, match="become 'doas'"):
        ACTIONS["watchdog_start"].build({}, _ctx(become="doas"))


def _missing(*names: str) -> dict[str, Verdict]:
    return {"missing": Verdict(Reading.FAILED, "enabled but not running", {"missing": list(names)})}


def test_start_listed_starts_each_in_the_campaign_account() -> None:
    earlier = _missing("mta@prod", "trackinglogd@default")
    plain = ACTIONS["start_listed"].build({"from": "missing"}, _ctx(earlier))
    assert plain == f"{NLSERVER} start mta@prod && {NLSERVER} start trackinglogd@default"
    sudo = ACTIONS["start_listed"].build({"from": "missing"}, _ctx(earlier, become="sudo"))
    sudo_u = "sudo -n -u neolane --"
    assert sudo == f"{sudo_u} {NLSERVER} start mta@prod && {sudo_u} {NLSERVER} start trackinglogd@default"


def test_start_listed_refuses_what_is_not_a_module_name() -> None:
    with pytest.raises(Skip, match="not a module@instance"):
        ACTIONS["start_listed"].build({"from": "missing"}, _ctx(_missing("mta@prod; rm -rf /")))
    with pytest.raises(Skip, match="lists no missing module"):
        ACTIONS["start_listed"].build({"from": "missing"}, _ctx(_missing()))
    with pytest.raises(Skip, match="no result"):
        ACTIONS["start_listed"].build({"from": "other"}, _ctx(_missing("mta@prod")))


def test_init_status_command_runs_the_script_only_where_it_exists() -> None:
    cmd = ACTIONS["service_status"].build({}, _ctx())
    assert cmd.startswith("if [ -x /etc/init.d/nlserver6 ]; then /etc/init.d/nlserver6 status >/dev/null;")
    assert "sudo -n -u neolane -- /etc/init.d/nlserver6 status" in ACTIONS["service_status"].build(
        {}, _ctx(become="sudo")
    )


def _status(out: str, rc: int = 0) -> Verdict:
    return ACTIONS["service_status"].judge({}, _ctx(), out, "", rc)


def test_init_status_exit_codes_as_adobe_documents_them() -> None:
    # administration.md: 0 all processes executed, 1 a process missing, 2 none, another value an error.
    assert _status("@@initstatus 0\n").passed
    one = _status("@@initstatus 1\n")
    assert one.failed and "a process is missing" in one.message and one.data["status_exit"] == 1
    two = _status("@@initstatus 2\n")
    assert two.failed and "no process is running" in two.message
    assert _status("@@initstatus 3\n").undetermined
    absent = _status("@@initstatus absent\n")
    assert absent.not_applicable and absent.clear and not absent.passed
    assert _status("", rc=124).undetermined
