from __future__ import annotations

import subprocess

import pytest

from runner import hostvars, plan
from runner.actions import Context
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.playbook import Step, When, parse
from runner.transport import remote_command
from runner.wire import Result


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
    b = plan.batch([("a", "echo $CAMPAIGN_X", 5.0)], f". {env}")
    assert plan.unbatch(b, _sh(b.script))["a"].stdout == "42"
    b = plan.batch([("a", "echo hi", 5.0)], f". {tmp_path}/missing.sh")
    res = _sh(b.script)
    assert res.exit_code != 0 and plan.unbatch(b, res) == {}


def test_unbatch_of_truncated_output_drops_unfinished_steps() -> None:
    b = plan.batch([("a", "echo 1", 5.0), ("b", "echo 2", 5.0)], "")
    full = _sh(b.script)
    cut = Result(full.stdout[: full.stdout.index(" O 1")], "", -1)
    assert list(plan.unbatch(b, cut)) == ["a"]


def test_remote_command_runs_the_script_from_stdin_and_bounds_it() -> None:
    cmd = remote_command(2.5)
    assert cmd.startswith("timeout -k 5 3 sh -c ")
    script = "echo 'a b'; rm -f \"$x\"; cat; echo rc=$?"
    assert script not in cmd and "echo" not in cmd  # the script is not on the command line
    run = subprocess.run(["sh", "-c", cmd], input=script, capture_output=True, text=True)
    assert (run.stdout, run.returncode) == ("a b\nrc=0\n", 0)  # children see stdin at its end
    assert subprocess.run(["sh", "-c", remote_command(5)], input="exit 7", text=True).returncode == 7


def test_no_step_text_reaches_a_command_line(tmp_path) -> None:
    """A secret in a step (the SOAP probe's password) is in no process's argv while the batch runs."""
    secret = "s3cret-" + "x" * 12
    step = f"printf '%s' {secret} >/dev/null; {{ cat /proc/[0-9]*/cmdline 2>/dev/null; true; }} > {tmp_path}/argv"
    b = plan.batch([("a", step, 5.0)], "")
    run = subprocess.run(["sh", "-c", remote_command(b.timeout)], input=b.script, capture_output=True, text=True)
    assert plan.unbatch(b, Result(run.stdout, run.stderr, run.returncode))["a"].exit_code == 0
    seen = (tmp_path / "argv").read_bytes()
    assert secret.encode() not in seen and f"{tmp_path}/argv".encode() not in seen


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
    down = {"c1": Verdict(Reading.FAILED, ""), "c2": Verdict(Reading.PASSED, "")}
    up = {"c1": Verdict(Reading.PASSED, ""), "c2": Verdict(Reading.PASSED, "")}
    assert [s.id for s in plan.steps_to_run(book, down, {"level": "a"})] == ["r1", "r3"]
    assert [s.id for s in plan.steps_to_run(book, up, {"level": "a"})] == ["r3"]
    assert [s.id for s in plan.steps_to_run(book, up, {"level": "b"})] == ["r2", "r3"]
    assert book.remediation[1].when == When(passed=("c1",), option=(("level", "b"),))


def test_start_listed_uses_check_data_and_quotes() -> None:
    book = _book()
    host = Host("h", (), {"instance": "prod", "nlserver": "/opt/nl 6/bin/nlserver"}, "-")
    ctx = Context(host, {}, {"c2": Verdict(Reading.FAILED, "", {"missing": ["mta@prod", "web@default"]})})
    planned = plan.build(book.remediation[2], ctx)
    assert planned.command == "'/opt/nl 6/bin/nlserver' start mta@prod && '/opt/nl 6/bin/nlserver' start web@default"
    ctx = Context(host, {}, {"c2": Verdict(Reading.FAILED, "", {"missing": ["x; reboot"]})})
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
    lab = Host("h", (), {"instance": "prod", "syslog_probe": True, "syslogd_address": "127.0.0.9"}, "-")
    assert "/dev/udp/127.0.0.9/6666" in (plan.build(step, Context(lab, {})).command or "")


def _run_batch(b: plan.Batch) -> dict[str, Result]:
    run = subprocess.run(["sh", "-c", remote_command(b.timeout)], input=b.script, capture_output=True, text=True)
    return plan.unbatch(b, Result(run.stdout, run.stderr, run.returncode))


def test_parallel_reads_overlap_and_keep_each_steps_result(tmp_path) -> None:
    # a and b each wait (bounded) for the other's file: only steps that really run at once both pass
    meet = (
        "touch {t}/{me}; i=0; while [ ! -e {t}/{other} ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done;"
        " test -e {t}/{other}"
    )
    items = [
        ("a", meet.format(t=tmp_path, me="A", other="B") + " && echo a-out", 5.0),
        ("b", meet.format(t=tmp_path, me="B", other="A") + " && { echo b-err >&2; exit 3; }", 5.0),
        ("c", "echo c-out", 5.0),
    ]
    together = _run_batch(plan.batch(items, "", parallel=2))
    assert (together["a"].stdout, together["a"].exit_code) == ("a-out", 0)
    assert (together["b"].stderr, together["b"].exit_code) == ("b-err", 3)
    assert (together["c"].stdout, together["c"].exit_code) == ("c-out", 0)
    for f in ("A", "B"):
        (tmp_path / f).unlink()
    one_by_one = _run_batch(plan.batch(items, "", parallel=1))
    assert one_by_one["a"].exit_code == 1  # b had not started: a gave up waiting
    assert one_by_one["c"].stdout == "c-out"


def test_parallel_reads_is_a_bounded_count() -> None:
    var = hostvars.VARS["parallel_reads"]
    assert var.default == 4
    assert var.problem(1) is None and var.problem(64) is None
    for bad in (0, 65, True, "4", 2.5):
        assert var.problem(bad) is not None
    try:
        plan.batch([("a", "true", 1.0)], "", parallel=0)
    except ValueError as exc:
        assert "parallel" in str(exc)
    else:
        raise AssertionError("parallel=0 accepted")


# --- snapshots: what several steps of a batch read of the host is read once --------------------------

_WHO = "\n".join(
    [
        "14:02:11 > Application server for Adobe Campaign Classic (7.3 23.1 build 9362@a1b2c3d) of 15/03/2024",
        "web@default (9984) - 50.1 Mo",
        "watchdog (2273) - 6.6 Mo",
        "wfserver@prod (9987) - 8.8 Mo",
        "",
        "Connections ------------------------------------------------------",
        "Last Access IP Instance Login ",
        "15/03/2024 14:01:58 127.0.0.1 default internal|monitoring",
        "",
        "Connection pool --------------------------------------------------",
        "Datasource Server Provider Login ",
        "default xxxxx myserver myprovider test400",
    ]
)  # Adobe's pdump -who layout (tests/fixtures/adobe/pdump-who.yml, usual-commands.md)


def _nlserver(tmp_path, pdump_rc: int = 0):  # type: ignore[no-untyped-def]
    """A stand-in nlserver that appends each start's argv to a file and answers in Adobe's layouts."""
    starts = tmp_path / "starts"
    (tmp_path / "who.txt").write_text(_WHO + "\n")
    script = tmp_path / "nlserver"
    banner = _WHO.splitlines()[0]
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {starts}\n'
        'case "$*" in\n'
        f"  'pdump -who') cat {tmp_path}/who.txt; exit {pdump_rc} ;;\n"
        f"  pdump) sed '/^Connections -/,$d' {tmp_path}/who.txt; exit {pdump_rc} ;;\n"
        f"  'monitor -missing') echo '{banner}'; echo 'mta@prod' ;;\n"
        "  javascript*) echo '@@opt NmsTracking_ServerUrlList begin'; echo '@@opt NmsTracking_ServerUrlList end' ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    return script, starts


def _snapshot_ctx(nlserver) -> Context:  # type: ignore[no-untyped-def]
    import getpass

    user = getpass.getuser()
    host = Host("h", ("all",), {"instance": "prod", "nlserver": str(nlserver), "campaign_user": user}, "t:1")
    return Context(host, ssh_user=user, run_id="r1")


def _snapshot_steps() -> list[tuple[str, Step]]:
    from runner.actions import Effect

    def step(sid: str, action: str, args: dict[str, object]) -> Step:
        return Step(sid, sid, "check", Effect.READ, action, dict(args), None, None, 30.0, None, None, 1)

    query = {"schema": "xtk:workflow", "select": ["@internalName"], "where": ["@failed = 1"], "expect": "empty"}
    return [
        ("wfserver", step("wfserver_running", "module_running", {"module": "wfserver"})),
        ("wfserver", step("no_stuck_workflows", "query", query)),
        ("web", step("web_running", "module_running", {"module": "web"})),
        ("web", step("web_sessions", "web_sessions", {})),
        ("watchdog", step("processes_running", "processes_running", {})),
        ("watchdog", step("watchdog_running", "module_running", {"module": "watchdog"})),
        ("watchdog", step("nothing_missing", "monitor_missing", {})),
        ("mta", step("mta_running", "module_running", {"module": "mta"})),
        ("tracking", step("tracking_servers_answer", "tracking_servers", {})),
    ]


def test_a_batch_starts_each_snapshot_once_and_every_step_reads_it(tmp_path) -> None:
    nlserver, starts = _nlserver(tmp_path)
    ctx = _snapshot_ctx(nlserver)
    reads = plan.read_batch(_snapshot_steps(), ctx)
    assert reads.batch is not None
    res = _sh(reads.batch.script)
    results = plan.unbatch(reads.batch, res)
    started = starts.read_text().splitlines()
    # pdump -who serves pdump (its lines up to "Connections"), monitor -missing once, one javascript
    assert sorted(s.split(" -instance")[0] for s in started) == ["javascript", "monitor -missing", "pdump -who"]
    verdicts = {}
    for module, p in reads.todo:
        verdicts[f"{module}/{p.key}"] = plan.judge(p.step, ctx, results[reads.keys[f"{module}/{p.key}"]])
    assert verdicts["wfserver/wfserver_running"].passed, verdicts["wfserver/wfserver_running"].message
    assert verdicts["web/web_running"].passed and verdicts["watchdog/watchdog_running"].passed
    assert verdicts["mta/mta_running"].failed  # listed by monitor -missing: enabled, not running
    assert verdicts["web/web_sessions"].passed and "internal|monitoring" in verdicts["web/web_sessions"].message
    # every step that replays a snapshot says which, and the batch names the command that took it
    assert reads.reads["wfserver/wfserver_running"] == ("pdump_who", "missing")
    assert reads.snapshots["pdump_who"] == f"{nlserver} pdump -who"


@pytest.mark.parametrize("rc", [1, 255])
def test_a_failed_snapshot_leaves_its_readers_undetermined(tmp_path, rc: int) -> None:
    nlserver, _starts = _nlserver(tmp_path, pdump_rc=rc)
    ctx = _snapshot_ctx(nlserver)
    reads = plan.read_batch(_snapshot_steps(), ctx)
    assert reads.batch is not None
    results = plan.unbatch(reads.batch, _sh(reads.batch.script))
    for module, p in reads.todo:
        if module in ("wfserver", "web") and p.key.endswith("_running"):
            verdict = plan.judge(p.step, ctx, results[reads.keys[f"{module}/{p.key}"]])
            assert verdict.undetermined, (p.key, verdict.message)


def test_a_replay_goes_wherever_the_command_went(tmp_path) -> None:
    """In ``$(...)`` (``$((`` would be arithmetic), in a pipeline, and before ``;`` with its exit code."""
    (tmp_path / "s_pdump.o").write_text("web@default (9984) - 50.1 Mo\n")
    (tmp_path / "s_pdump.e").write_text("warn\n")
    (tmp_path / "s_pdump.r").write_text("3 12\n")
    r = plan.replay("pdump")
    script = (
        f"RMD_SNAP={tmp_path}; export RMD_SNAP; d=$({r}); echo \"[$d]\"; p=$({r} | sed -n 's/.*(\\(.*\\)).*/\\1/p'); "
        f'echo "pid=$p"; {r} >/dev/null; echo "rc=$?"'
    )
    run = _sh(script)
    assert run.stdout.splitlines() == ["[web@default (9984) - 50.1 Mo]", "pid=9984", "rc=3"], run
    assert run.stderr.count("warn") == 3


def test_a_snapshot_that_left_no_exit_code_replays_as_255(tmp_path) -> None:
    script = f"RMD_SNAP={tmp_path}; export RMD_SNAP; " + plan.replay("pdump") + "; echo rc=$?"
    (tmp_path / "s_pdump.o").write_text("half")
    run = _sh(script)
    assert run.stdout.endswith("rc=255\n")
