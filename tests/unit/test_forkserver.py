"""The suites' warm fork server (tests.support.forkserver) stands for ``python -m runner``: the same exit
code, stdout and stderr for the same arguments, environment and directory, each run a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, _forkable
from tests.support.forkserver import SERVER


def _exec(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    res = subprocess.run(
        [sys.executable, "-m", "runner", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return res.returncode, res.stdout, res.stderr


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR")}
    return {**base, "PYTHONPATH": str(ROOT), "REMEDIATE_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["triage", "ODB-240000"],
        ["triage", "XYZ-000001"],
        ["show", "wfserver", "--output", "json"],
        ["nosuchcommand"],
        ["wfserver", "--host", "lab1", "-i", "missing-inventory.yml"],
        ["validate", "playbooks"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_forked_run_prints_and_exits_as_the_executed_command(
    argv: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    assert SERVER.available(), SERVER.broken
    cwd = ROOT if argv[0] == "validate" else tmp_path
    forked = SERVER.run(argv, env, str(cwd), 60)
    assert forked == _exec(argv, env, cwd)


def test_a_forked_run_has_its_own_environment_directory_and_pid(env: dict[str, str], tmp_path: Path) -> None:
    """A playbook directory named by the environment of one run only, and a relative path read from the
    run's own directory: the next run, with the worker's environment, sees neither."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "wfserver.yml").write_text("module: wfserver\nchecks: [\n")
    code, out, err = SERVER.run(["list"], {**env, "REMEDIATE_PLAYBOOKS": "books"}, str(tmp_path), 60)
    assert code == 2 and "wfserver.yml" in err, (code, out, err)
    code, out, err = SERVER.run(["list"], env, str(tmp_path), 60)
    assert code == 0 and "wfserver" in out, (code, out, err)
    assert SERVER.proc is not None and SERVER.proc.poll() is None  # the server itself ran none of it


def test_runs_that_change_how_python_starts_are_executed(env: dict[str, str]) -> None:
    assert _forkable(env)
    assert not _forkable({**env, "PYTHONHASHSEED": "1"})
    other_locale = "C.UTF-8" if os.environ.get("LC_ALL") != "C.UTF-8" else "POSIX"
    assert not _forkable({**env, "LC_ALL": other_locale})
    assert not _forkable({**env, "PYTHONPATH": "/elsewhere"})
    assert not _forkable({**env, "REMEDIATE_TEST_EXEC": "1"})
