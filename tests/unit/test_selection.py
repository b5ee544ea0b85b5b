"""Which hosts a command acts on: ``--host``/``--group`` narrowed by ``--limit`` and ``--rerun-failed``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from runner import auditview
from runner.audit import AuditLog
from runner.cli import main
from runner.cli.selection import hosts_from_flags
from runner.errors import InputError
from runner.events import Event
from runner.outcomes import HostStatus

INI = """\
[web]
web[1:4] instance=prod

[db]
db1 instance=prod

[emea:children]
web
[emea:vars]
region=emea

[canary]
web2
"""


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(INI)
    return path


def _names(inv: Path, **flags: Any) -> list[str]:
    base = {"inventory": inv, "hosts": (), "groups": (), "ssh_config": None}
    return [host.name for host in hosts_from_flags({**base, **flags})]


def test_limit_narrows_the_hosts_of_host_and_group(inv: Path) -> None:
    assert _names(inv, groups=("emea",), limit="!canary") == ["web1", "web3", "web4"]
    assert _names(inv, groups=("web", "db"), limit="web[1:2]:db*") == ["web2", "web3", "db1"]
    assert _names(inv, hosts=("web1", "db1"), limit="emea") == ["web1"]


def test_limit_alone_narrows_all_as_ansible_playbook_limit(inv: Path) -> None:
    assert _names(inv, limit="emea:&canary") == ["web2"]
    assert _names(inv, limit="all:!emea") == ["db1"]
    assert _names(inv, limit="db1:web4") == ["web4", "db1"]  # inventory order


def test_a_limit_that_leaves_nothing_says_so(inv: Path) -> None:
    with pytest.raises(InputError, match=r"--limit: 'db1' leaves none of the hosts of --host/--group"):
        _names(inv, groups=("web",), limit="db1")
    with pytest.raises(InputError, match=r"--limit: 'web:&db' selects no host"):
        _names(inv, limit="web:&db")


def test_nothing_selected_names_every_way_to_select(inv: Path) -> None:
    with pytest.raises(InputError, match=r"--host/--group/--limit: no host selected"):
        _names(inv)


def _log_run(log: Path, outcome: dict[str, HostStatus], finished: bool = True) -> str:
    audit = AuditLog(log)
    audit.emit(Event.RUN_STARTED, module="wfserver", hosts=list(outcome), dry_run=False)
    if finished:
        audit.emit(Event.RUN_FINISHED, module="wfserver", status="finished", exit_code=1, hosts=outcome)
    audit.close()
    return audit.run_id


def test_rerun_failed_picks_the_hosts_that_did_not_end_healthy(inv: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    outcome = {
        "web1": HostStatus.HEALTHY,
        "web2": HostStatus.FAILED,
        "web3": HostStatus.REMEDIATED,
        "web4": HostStatus.UNREACHABLE,
        "db1": HostStatus.NOT_APPLICABLE,
    }
    run = _log_run(log, outcome)
    _log_run(log, {"web1": HostStatus.FAILED})  # another run in the same log
    assert _names(inv, rerun_failed=run, audit_log=log) == ["web2", "web4"]
    assert _names(inv, rerun_failed=run, audit_log=log, limit="!web4") == ["web2"]
    assert _names(inv, rerun_failed=run, audit_log=log, groups=("canary",)) == ["web2"]
    with pytest.raises(InputError, match="none of the hosts of --host/--group is among those to rerun"):
        _names(inv, rerun_failed=run, audit_log=log, hosts=("web1",))


def test_rerun_failed_counts_each_way_a_host_can_end(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    outcome = {f"h{i}": status for i, status in enumerate(HostStatus)}
    run = _log_run(log, outcome)
    again = auditview.hosts_to_rerun(auditview.load(log), run, str(log))
    healthy = {HostStatus.HEALTHY, HostStatus.REMEDIATED, HostStatus.NOT_APPLICABLE, HostStatus.RELEASED}
    assert again == [host for host, status in outcome.items() if status not in healthy]
    assert "h1" not in again and len(again) == len(HostStatus) - 4


def test_a_run_with_no_end_reruns_every_host(inv: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    run = _log_run(log, {"web1": HostStatus.HEALTHY, "db1": HostStatus.HEALTHY}, finished=False)
    assert _names(inv, rerun_failed=run, audit_log=log) == ["web1", "db1"]


def test_a_run_that_ended_healthy_leaves_nothing_to_rerun(inv: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    run = _log_run(log, {"web1": HostStatus.HEALTHY, "web2": HostStatus.REMEDIATED})
    with pytest.raises(SystemExit) as done:
        _names(inv, rerun_failed=run, audit_log=log)
    assert done.value.code == 0


def test_a_host_of_the_run_gone_from_the_inventory(inv: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    run = _log_run(log, {"web9": HostStatus.FAILED})
    with pytest.raises(InputError, match="--rerun-failed: host 'web9' of that run is no longer in the inventory"):
        _names(inv, rerun_failed=run, audit_log=log)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--rerun-failed", "0123abcd"], ["--rerun-failed: no run '0123abcd' in the audit log", "audit.jsonl"]),
        (["--limit", "web:^db"], ["--limit: unknown pattern operator '^'"]),
        (["-l", "web&db"], ["--limit: unknown pattern operator '&'"]),
        (["--limit", "emea:!wbe1"], ["--limit: 'wbe1' in 'emea:!wbe1' matches no host", "did you mean 'web1'"]),
    ],
)
def test_bad_selection_input_exits_2_naming_the_flag(
    inv: Path, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    log = tmp_path / "audit.jsonl"
    _log_run(log, {"web1": HostStatus.FAILED})
    for command in (["wfserver"], ["check", "wfserver"], ["hold", "wfserver", "--reason", "r"]):
        res = CliRunner().invoke(main, [*command, "-i", str(inv), "--audit-log", str(log), *args])
        assert res.exit_code == 2, (command, res.stderr)
        for fragment in fragments:
            assert fragment.replace("audit.jsonl", str(log)) in res.stderr, res.stderr


def test_a_missing_audit_log_names_the_flag_and_the_log(inv: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["wfserver", "-i", str(inv), "--audit-log", str(tmp_path / "no.jsonl"), "--rerun-failed", "x"]
    )
    assert res.exit_code == 2
    assert "--rerun-failed: no run 'x':" in res.stderr and "no.jsonl" in res.stderr


def test_hosts_lists_what_a_limit_selects(inv: Path) -> None:
    res = CliRunner().invoke(main, ["hosts", "-i", str(inv), "--limit", "emea:!canary", "--output", "json"])
    assert res.exit_code == 0, res.stderr
    assert [row["host"] for row in json.loads(res.stdout)] == ["web1", "web3", "web4"]


def test_limit_completes_the_element_being_typed(inv: Path) -> None:
    from runner.cli.frame import complete_limit, run_options

    command = run_options(click.command("x")(lambda **_: None))
    ctx = click.Context(command, info_name="x")
    ctx.params["inventory"] = inv
    param = next(p for p in command.params if p.name == "limit")
    assert complete_limit(ctx, param, "emea:!can") == ["emea:!canary"]
    assert complete_limit(ctx, param, "w") == ["web", "web1", "web2", "web3", "web4"]
    assert complete_limit(ctx, param, "db1,&e") == ["db1,&emea"]
