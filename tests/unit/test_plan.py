from __future__ import annotations

import subprocess

from runner import plan
from runner.actions import Context, Verdict
from runner.inventory import Host
from runner.playbook import When, parse
from runner.transport import Result, remote_command


def _sh(script: str) -> Result:
    res = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    return Result(res.stdout, res.stderr, res.returncode)


def test_batch_round_trip_keeps_each_step_apart() -> None:
    items = [
        ("a", "printf 'one\\ntwo\\n'; echo err-a >&2", 5.0),
        ("b", "printf 'no newline'; exit 3", 5.0),
        ("c", "echo '@@rmd0000000000000000 E 0 0'; true", 5.0),  # output cannot forge a frame
        ("d", "sleep 5", 1.0),
    ]
    b = plan.batch(items, "")
    out = plan.unbatch(b, _sh(b.script))
    assert out["a"].stdout == "one\ntwo" and out["a"].stderr == "err-a" and out["a"].exit_code == 0
    assert out["b"].stdout == "no newline" and out["b"].exit_code == 3
    assert out["c"].stdout.startswith("@@rmd") and out["c"].exit_code == 0
    assert out["d"].exit_code == 124  # stopped by the host-side timeout
    assert 0.9 <= out["d"].duration < 4


def test_batch_sources_env_once_and_fails_cleanly(tmp_path) -> None:
    env = tmp_path / "env.sh"
    env.write_text("export CAMPAIGN_X=42\n")
    b = plan.batch([("a", "echo $CAMPAIGN_X", 5.0)], f". {env} && ")
    assert plan.unbatch(b, _sh(b.script))["a"].stdout == "42"
    b = plan.batch([("a", "echo hi", 5.0)], f". {tmp_path}/missing.sh && ")
    res = _sh(b.script)
    assert res.exit_code != 0 and plan.unbatch(b, res) == {}


def test_unbatch_of_truncated_output_drops_unfinished_steps() -> None:
    b = plan.batch([("a", "echo 1", 5.0), ("b", "echo 2", 5.0)], "")
    full = _sh(b.script)
    cut = Result(full.stdout[: full.stdout.index(" O 1")], "", -1)
    assert list(plan.unbatch(b, cut)) == ["a"]


def test_remote_command_quotes_and_bounds() -> None:
    cmd = remote_command("echo 'a b'; rm -f \"$x\"", 2.5)
    assert cmd.startswith("timeout -k 5 3 sh -c ")
    assert (
        subprocess.run(["sh", "-c", remote_command("echo 'a b'", 2)], capture_output=True, text=True).stdout == "a b\n"
    )


def _book():
    return parse(
        {
            "module": "wfserver",
            "title": "t",
            "scope": "s",
            "symptom": "y",
            "options": {"level": {"choices": ["a", "b"]}},
            "checks": [
                {"id": "c1", "effect": "read", "action": "module_running", "args": {"module": "wfserver"}},
                {"id": "c2", "effect": "read", "action": "monitor_missing"},
            ],
            "remediation": [
                {
                    "id": "r1",
                    "effect": "change",
                    "action": "start_module",
                    "args": {"module": "wfserver"},
                    "when": {"failed": "c1"},
                },
                {
                    "id": "r2",
                    "effect": "disrupt",
                    "action": "restart_module",
                    "args": {"module": "wfserver"},
                    "when": {"passed": ["c1"], "option": {"level": "b"}},
                    "interrupts": "x",
                },
                {"id": "r3", "effect": "change", "action": "start_listed", "args": {"from": "c2"}},
            ],
            "verification": [
                {"id": "v1", "effect": "read", "action": "module_running", "args": {"module": "wfserver"}}
            ],
        },
        "wfserver.yml",
    )


def test_when_rules_pick_steps() -> None:
    book = _book()
    down = {"c1": Verdict(False, ""), "c2": Verdict(True, "")}
    up = {"c1": Verdict(True, ""), "c2": Verdict(True, "")}
    assert [s.id for s in plan.selected(book, down, {"level": "a"})] == ["r1", "r3"]
    assert [s.id for s in plan.selected(book, up, {"level": "a"})] == ["r3"]
    assert [s.id for s in plan.selected(book, up, {"level": "b"})] == ["r2", "r3"]
    assert book.remediation[1].when == When(passed=("c1",), option=(("level", "b"),))


def test_start_listed_uses_check_data_and_quotes() -> None:
    book = _book()
    host = Host("h", (), {"instance": "prod", "nlserver": "/opt/nl 6/bin/nlserver"}, "-")
    ctx = Context(host, {}, {"c2": Verdict(False, "", {"missing": ["mta@prod", "web@default"]})})
    planned = plan.build(book.remediation[2], ctx)
    assert planned.command == "'/opt/nl 6/bin/nlserver' start mta@prod && '/opt/nl 6/bin/nlserver' start web@default"
    ctx = Context(host, {}, {"c2": Verdict(False, "", {"missing": ["x; reboot"]})})
    assert plan.build(book.remediation[2], ctx).command is None


def test_missing_instance_is_a_skip_not_a_crash() -> None:
    book = _book()
    planned = plan.build(book.checks[0], Context(Host("h", (), {}, "-"), {}))
    assert planned.command is None and "instance" in (planned.skip or "")


def test_shared_batch_runs_each_distinct_command_once() -> None:
    items = [("a", "echo $$; echo x", 5.0), ("b", "echo $$; echo x", 9.0), ("c", "echo other", 5.0)]
    b, keys = plan.shared_batch(items, "")
    assert len(b.keys) == 2 and keys["a"] == keys["b"] != keys["c"]
    assert b.timeout >= 9.0 + 5.0  # the longest timeout of a shared command is kept
    out = plan.unbatch(b, _sh(b.script))
    assert out[keys["a"]].stdout == out[keys["b"]].stdout  # one execution, one pid
    assert out[keys["c"]].stdout == "other"


def test_syslog_test_record_only_where_the_format_is_known() -> None:
    from runner.playbook import load_module

    book = load_module("syslogd")
    step = next(s for s in book.checks if s.action == "syslog_roundtrip")
    plain = Host("h", (), {"instance": "prod"}, "-")
    planned = plan.build(step, Context(plain, {}))
    assert planned.command is None and "syslog_probe" in (planned.skip or "")
    lab = Host("h", (), {"instance": "prod", "syslog_probe": True, "address": "127.0.0.9"}, "-")
    assert "/dev/udp/127.0.0.9/6666" in (plan.build(step, Context(lab, {})).command or "")
