"""Service actions without a host: every service_manager x become command, start_listed, init script status."""

from __future__ import annotations

import pytest

from runner import hold, plan, playbook, wire
from runner.actions import ACTIONS, Context, Skip
from runner.actions.base import AccountRefused, become_for
from runner.inventory import Host
from runner.outcomes import Reading, Verdict

NLSERVER = "/usr/local/neolane/nl6/bin/nlserver"
ENV = "/usr/local/neolane/nl6/env.sh"


def _ctx(earlier: dict[str, Verdict] | None = None, **vars: object) -> Context:
    base = {"instance": "prod", "nlserver": NLSERVER}
    return Context(Host("prod1", (), {**base, **vars}, "inv.yml:3"), earlier=earlier or {})


WATCHDOG = f"{NLSERVER} watchdog -svc -noconsole"
BOOK = {m: playbook.load_module(m) for m in ("watchdog",)}


def _sent(ctx: Context, step: str = "start_watchdog") -> str | None:
    """The text a change sends, as the planner wraps it for the host's account (None: refused)."""
    return plan.build_alone(BOOK["watchdog"].steps_by_id[step], ctx).command


# usual-commands.md "Restart services": root -> init script or (20.1+) systemctl; else the Campaign account.
# (SSH user, manager, become, extra vars) -> how the command is reached: direct, or sudo/su to an account
CASES = [
    ("neolane", "nlserver", "none", {}, ("direct", "")),
    ("ops", "nlserver", "sudo", {}, ("sudo", "neolane")),
    ("ops", "nlserver", "sudo_campaign", {"campaign_user": "camp"}, ("sudo", "camp")),
    ("root", "nlserver", "su", {}, ("su", "neolane")),
    ("root", "systemd", "none", {}, ("direct", "")),
    ("ops", "systemd", "sudo", {}, ("sudo", "root")),
    ("root", "init", "su", {}, ("direct", "")),
    ("ops", "init", "sudo", {"nlserver_env": ENV}, ("sudo", "root")),
    ("root", "nlserver", "none", {"campaign_user": "root"}, ("direct", "")),
]


@pytest.mark.parametrize(("ssh", "manager", "become", "extra", "expected"), CASES)
def test_watchdog_start_per_service_manager_and_become(
    ssh: str, manager: str, become: str, extra: dict[str, str], expected: tuple[str, str]
) -> None:
    ctx = _ctx(service_manager=manager, become=become, **extra)
    ctx.ssh_user = ssh
    command = ACTIONS["watchdog_start"].build({}, ctx)
    account = ACTIONS["watchdog_start"].account({}, ctx)
    assert (account is wire.Account.ROOT) == (manager != "nlserver")
    reach = wire.Become(expected[0], expected[1]) if expected[0] != "direct" else wire.DIRECT  # type: ignore[arg-type]
    assert become_for(account, ctx) == reach
    env = extra.get("nlserver_env")
    assert _sent(ctx) == wire.run_as(wire.sourced(command, env), reach)


def test_through_sudo_or_su_the_script_is_a_here_document_never_a_command_line() -> None:
    secret = "PGPASSWORD='s3cret' psql -c 'SELECT 1'"
    for how in ("sudo", "su"):
        text = wire.run_as(secret, wire.Become(how, "neolane"))  # type: ignore[arg-type]
        first, _sep, rest = text.partition("\n")
        assert secret not in first and rest.startswith(secret + "\n"), text
    assert wire.exec_as("true", wire.Become("sudo", "neolane")) == "sudo -n -u neolane -- sh -c true"
    assert wire.exec_as("true", wire.Become("sudo", "root")) == "sudo -n -- sh -c true"
    assert wire.exec_as("true", wire.Become("su", "neolane")) == "su -s /bin/sh neolane -c true"


def test_campaign_is_never_started_as_root_without_being_told() -> None:
    ctx = _ctx()
    ctx.ssh_user = "root"
    with pytest.raises(AccountRefused, match=r"would run Campaign as root.*become: su or become: sudo"):
        become_for(wire.Account.CAMPAIGN, ctx)
    assert _sent(ctx) is None  # the step is not built: nothing to send


@pytest.mark.parametrize(
    ("ssh", "become", "match"),
    [
        ("ops", "none", "must run as neolane and the SSH user is ops"),
        ("ops", "su", "su would ask for a password"),
        ("ops", "doas", "become 'doas'"),
    ],
)
def test_an_account_the_session_cannot_reach_is_refused(ssh: str, become: str, match: str) -> None:
    ctx = _ctx(become=become)
    ctx.ssh_user = ssh
    with pytest.raises(AccountRefused, match=match):
        become_for(wire.Account.CAMPAIGN, ctx)


@pytest.mark.parametrize("manager", ["systemd", "init"])
def test_a_system_service_is_not_started_through_the_campaign_account(manager: str) -> None:
    ctx = _ctx(service_manager=manager, become="sudo_campaign")
    ctx.ssh_user = "ops"
    with pytest.raises(AccountRefused, match="needs root and become is sudo_campaign"):
        become_for(ACTIONS["watchdog_start"].account({}, ctx), ctx)


def test_default_is_nlserver_watchdog_in_the_campaign_account() -> None:
    assert ACTIONS["watchdog_start"].build({}, _ctx()) == WATCHDOG
    assert ACTIONS["watchdog_start"].account({}, _ctx()) is wire.Account.CAMPAIGN


def test_unknown_manager_is_skipped_not_guessed() -> None:
    with pytest.raises(Skip, match="service_manager 'upstart'"):
        ACTIONS["watchdog_start"].build({}, _ctx(service_manager="upstart"))


def _missing(*names: str) -> dict[str, Verdict]:
    return {"missing": Verdict(Reading.FAILED, "enabled but not running", {"missing": list(names)})}


def test_start_listed_starts_each_in_the_campaign_account() -> None:
    earlier = _missing("mta@prod", "trackinglogd@default")
    plain = ACTIONS["start_listed"].build({"from": "missing"}, _ctx(earlier))
    assert plain == f"{NLSERVER} start mta@prod && {NLSERVER} start trackinglogd@default"
    assert ACTIONS["start_listed"].account({}, _ctx(earlier)) is wire.Account.CAMPAIGN


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
    assert ACTIONS["service_status"].account({}, _ctx()) is wire.Account.CAMPAIGN


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


def test_the_watchdog_start_names_the_modules_monitor_missing_listed() -> None:
    """A watchdog start touches every enabled module (a hold on any one blocks it) and names the ones the
    playbook's monitor -missing check listed, so the operator sees what it would start before saying yes."""
    step = BOOK["watchdog"].steps_by_id["start_watchdog"]
    missing = Verdict(Reading.FAILED, "2 missing", {"missing": ["mta@prod", "wfserver@prod"]})
    touched = plan.touched(step, _ctx({"nothing_missing": missing}))
    assert touched == ("*", "mta@prod", "wfserver@prod")
    assert hold.what_starts(touched) == "every enabled module (mta@prod, wfserver@prod)"
    unread = Verdict(Reading.UNDETERMINED, "monitor -missing could not be read")
    assert plan.touched(step, _ctx({"nothing_missing": unread})) == ("*",)
    assert hold.what_starts(("*",)) == "every enabled module"
    assert hold.what_starts(("mta@prod",)) == "mta@prod"
