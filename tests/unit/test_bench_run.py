"""bench/run.py and bench/nlserver_starts.py: per-round ratios, the hosts' recorded work compared across tools,
verdicts, and explanations computed from the figures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, file: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run() -> ModuleType:
    return load("bench_run", "run.py")


@pytest.fixture(scope="module")
def starts() -> ModuleType:
    return load("bench_nlserver_starts", "nlserver_starts.py")


def work(commands: list[str], parallel: int = 4, sessions: int = 3) -> dict[str, Any]:
    return {
        "connections": 1,
        "sessions": sessions,
        "scripts": ["s"] * sessions,
        "env_sourcings": 2,
        "commands": commands,
        "parallel": parallel,
        "nlserver": ["pdump -who"],
        "unended": 0,
        "nonzero": 0,
    }


def test_paired_ratio_is_the_median_of_per_round_ratios(run: ModuleType) -> None:
    assert run.paired([1.0, 2.0, 4.0], [2.0, 2.0, 2.0]) == 1.0
    assert run.paired([2.0, 0.0], [3.0, 9.0]) == 1.5  # a round with a zero base is left out
    assert run.paired([], []) is None


def test_recorded_work_compared_across_tools(run: ModuleType) -> None:
    b = run.work_summary([{"work": {"lab1": work(["x", "y"])}}, {"work": {"lab1": work(["x", "y"], parallel=3)}}])
    assert b["consistent"] and b["parallel"] == 4 and b["commands"] == 2 and b["sessions"] == 3
    same = run.work_summary([{"work": {"lab1": work(["x", "y"])}}])
    assert run.same_work(same, b) == []
    other = run.work_summary([{"work": {"lab1": work(["x", "z"], parallel=1)}}])
    assert run.same_work(other, b) == ["lab1 commands", "at most 1 at once, not 4"]
    reconnected = run.work_summary([{"work": {"lab1": {**work(["x", "y"]), "connections": 2}}}])
    assert run.same_work(reconnected, b) == [] and reconnected["connections"] == 2  # transport: shown, not compared
    drift = run.work_summary([{"work": {"lab1": work(["x"])}}, {"work": {"lab1": work(["x", "y"])}}])
    assert not drift["consistent"]


def row(run: ModuleType, **over: Any) -> dict[str, Any]:
    def side(median: float, cpu: float, **extra: Any) -> dict[str, Any]:
        return {"median_s": median, "cpu_s": cpu, "host_cpu_s": 1.0, "ok": True, "maxrss_mb": 50.0, **extra}

    base = {
        "set": "playbooks",
        "n": 10,
        "rounds": 5,
        "commit": "abc",
        "a": side(5.0, 0.5),
        "b": side(6.0, 1.0, same_work_as_b=None),
        "c": side(20.0, 4.0, same_work_as_b=[]),
        "b_over_a": 1.2,
        "c_over_b": 3.3,
        "cpu_c_over_b": 4.0,
    }
    return {**base, **over}


def test_verdicts_and_explanations_come_from_the_row(run: ModuleType) -> None:
    results = {"fleet": [row(run)], "sets": ["playbooks"], "cold": {"python -c 'import fabric'": {"median_s": 0.25}}}
    results["targets"] = run.verdicts(results)
    ba = next(v for v in results["targets"] if v["target"].startswith("playbooks (`check all`): b/a"))
    assert (ba["value"], ba["met"]) == (1.2, False)
    text = run.why_missed(ba, results)
    assert "remediate took 6.00 s and the floor 5.00 s (medians; 1.00 s apart)" in text
    assert "the gap is 4.0 times that" in text
    assert "needs a gap of at most 0.50 s" in text
    cpu = next(v for v in results["targets"] if "CPU c/b" in v["target"])
    assert cpu["value"] == 4.0 and cpu["met"] is False
    assert "ansible-playbook 4.00 s, remediate 1.00 s" in run.why_missed(cpu, results)
    # the most CPU a runner may use is ansible's over the limit (0.40 s); against the floor's own CPU
    floor_cpu = results["fleet"][0]["a"]["cpu_s"]
    said = run.why_missed(cpu, results)
    assert "needs the runner's client CPU at most 0.40 s" in said
    assert ("no runner that connects with SSH" in said) is (floor_cpu >= 0.4), said
    results["fleet"][0]["a"]["cpu_s"] = 0.5
    assert "the floor's OpenSSH clients alone (0.50 s) already use" in run.why_missed(cpu, results)
    results["fleet"][0]["a"]["cpu_s"] = 0.1
    assert "(0.60 s less than remediate used)" in run.why_missed(cpu, results)


def test_a_row_with_different_recorded_work_meets_nothing(run: ModuleType) -> None:
    differ = row(run, b_over_a=1.0)
    differ["c"] = {**differ["c"], "same_work_as_b": ["lab1 scripts"]}
    results = {"fleet": [differ], "sets": ["playbooks"], "cold": {}}
    targets = run.verdicts(results)
    ba = next(v for v in targets if "b/a" in v["target"])
    assert ba["met"] is True  # (c) is not part of b/a
    cpu = next(v for v in targets if "CPU c/b" in v["target"])
    assert cpu["met"] is False and cpu["not_same_work"] == ["c"]


def test_nlserver_starts_named_with_the_steps_that_read_them(starts: ModuleType, tmp_path: Path) -> None:
    assert starts.words("javascript -instance:prod -file /tmp/tmp.X") == ("javascript",)
    assert starts.words("monitor -missing") == ("monitor", "-missing")
    assert starts.calls("/x/bin/nlserver pdump -who; nlserver monitor >o") == {("pdump", "-who"), ("monitor",)}
    audit = tmp_path / "audit.jsonl"
    events = [
        {
            "event": "step.started",
            "host": "lab1",
            "module": "wfserver",
            "step": "running",
            "command": "cat x",
            "snapshots": {"pdump_who": "/n/bin/nlserver pdump -who"},
        },
        {
            "event": "step.started",
            "host": "lab1",
            "module": "watchdog",
            "step": "indicators",
            "command": "/n/bin/nlserver monitor",
        },
        {"event": "step.started", "host": "lab2", "module": "web", "step": "other", "command": "nlserver monitor"},
    ]
    audit.write_text("".join(json.dumps(e) + "\n" for e in events))
    per_host = {"lab1": {"nlserver": ["monitor", "pdump -who"]}, "lab2": {"nlserver": ["monitor"]}}
    got = starts.explain(per_host, audit)
    assert got["host"] == "lab1" and got["most"] == 2 and got["per_host"] == {"lab1": 2, "lab2": 1}
    assert got["starts"] == [
        {"argv": "monitor", "steps": ["watchdog/indicators"]},
        {"argv": "pdump -who", "steps": ["wfserver/running"]},
    ]


def test_a_runs_phases_come_from_its_own_audit_log(run: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    events = [
        ("run.started", "00.000"),
        ("host.connected", "00.200"),
        ("step.started", "00.250"),
        ("step.started", "00.260"),
        ("step.finished", "00.550"),
        ("step.finished", "00.560"),
        ("run.finished", "00.600"),
    ]
    log.write_text("".join(f'{{"event": "{e}", "ts": "2026-12-03T09:00:{t}Z"}}\n' for e, t in events))
    phases = run.run_phases(log, 1.0)
    assert {k: round(v, 3) for k, v in phases.items()} == {
        "outside_s": 0.4,
        "connect_s": 0.2,
        "reads_s": 0.31,
        "rest_s": 0.09,
    }
    log.write_text('{"event": "run.started", "ts": "2026-12-03T09:00:00.000Z"}\n')
    assert run.run_phases(log, 1.0) is None  # no connection, no step: the log cannot say
