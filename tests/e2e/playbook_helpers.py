"""Shared helpers for the per-module playbook tests: run a module, read the JSON report, compare host state.

State is always read through ``lab.status()`` (/proc, sockets, files, DB); the runner's report is only
used to find which steps ran.
"""

from __future__ import annotations

from typing import Any

from lab import Lab

HOST = "lab1"
INSTANCE = "prod"


def run(remediate: Any, module: str, *args: str) -> tuple[int, dict[str, Any]]:
    """``remediate MODULE --host lab1 ARGS --output json`` → (exit code, the host's report)."""
    code, doc = remediate.json(module, "--host", HOST, *args)
    return code, doc["hosts"][HOST]


def steps(report: dict[str, Any], phase: str, outcome: str | None = None) -> list[dict[str, Any]]:
    return [s for s in report["steps"] if s["phase"] == phase and (outcome is None or s["outcome"] == outcome)]


def step(report: dict[str, Any], step_id: str) -> dict[str, Any]:
    found = [s for s in report["steps"] if s["id"] == step_id]
    assert found, f"step {step_id} not in report: {[s['id'] for s in report['steps']]}"
    return found[-1]


def pids(st: dict[str, Any]) -> dict[str, int | None]:
    return {name: p["pid"] for name, p in st["processes"].items()}


DB_FACTS = ("recipients", "duplicate_email_groups", "pending_deliveries")
WORKFLOW_FACTS = ("state", "failed", "error")


def db_view(st: dict[str, Any]) -> dict[str, Any]:
    """The database facts a run must leave as they were, read strictly: a view the lab could not read
    (``DBUnavailable``: its facts raise) or a fact it lacks fails the test, so "nothing changed" is never
    two unknowns compared equal. No clock field (a workflow's last run moves on its own schedule)."""
    db = st["db"]
    assert db["reachable"] is not False, f"the lab could not read the database: {st.get('db_error')}"
    workflows = db["workflows"]
    assert isinstance(workflows, dict) and workflows, f"no workflow read from the database: {workflows!r}"
    view: dict[str, Any] = {key: db[key] for key in DB_FACTS}
    assert all(isinstance(view[key], int) for key in DB_FACTS), view
    view["workflows"] = {name: {k: w[k] for k in WORKFLOW_FACTS} for name, w in workflows.items()}
    return view


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Same processes (same pids), same DB facts, same export files and corrupted lines."""
    assert pids(after) == pids(before), f"pids changed: {pids(before)} -> {pids(after)}"
    assert db_view(after) == db_view(before)
    assert after["files"]["export_files"] == before["files"]["export_files"]
    assert after["files"]["corrupted_lines"] == before["files"]["corrupted_lines"]
    assert after["ports"] == before["ports"]


def check_healthy_run(lab: Lab, remediate: Any, module: str) -> None:
    """A healthy host: the run reports healthy, no remediation step ran, nothing on the host changed."""
    before = lab.status(HOST)
    assert before["healthy"][module], before["healthy"]
    code, report = run(remediate, module, "--yes")
    after = lab.status(HOST)
    assert code == 0, report
    assert report["status"] == "healthy", report
    assert not steps(report, "remediation"), report["steps"]
    assert report["done"] == []
    assert pids(after) == pids(before)
    assert db_view(after)["recipients"] == db_view(before)["recipients"]
    assert after["healthy"][module]


def check_dry_run(
    lab: Lab, remediate: Any, module: str, fault: str, expect_commands: list[str], extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The fault with --dry-run: the host is unchanged and the would-run commands are printed."""
    lab.break_(HOST, fault)
    before = lab.status(HOST)
    assert not before["healthy"][module], f"{fault} did not break {module}"
    res = remediate(module, "--host", HOST, "--dry-run", "--yes", *extra)
    after = lab.status(HOST)
    assert res.returncode == 0, res.stdout + res.stderr
    assert_unchanged(before, after)
    assert not after["healthy"][module]
    for command in expect_commands:
        assert command in res.stdout, f"{command!r} not shown:\n{res.stdout}"
    assert "would_run" in res.stdout
    return after
