"""Reliability and security suite: faults over real sshd, bad input, secrets; and the figures it produces.

The suite runs its own Campaign lab (own directory under /tmp, own address block 127.0.8.x by default,
env ``REMEDIATE_RELIABILITY_NET``) so it never meets the end-to-end lab in the same ``make test``.
It reuses the end-to-end ``Runner`` (the real CLI as a subprocess with no terminal) and helpers.

Figures: every test increments the session ``figures`` counters; "tried" / "written" / "leaked" /
"re-run" are measurements taken before the assertions, "survived" / "handled" / "verified" are counted
only once the test's assertions have passed. At session end the counters are written to
``docs/reliability.json`` and rendered into ``docs/reliability.md`` (set ``REMEDIATE_RELIABILITY_DOC=0``
to leave the committed documents alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lab import Lab, temporary_lab
from lab.core import read_pidfile
from runner import audit as audit_mod
from tests.e2e.conftest import REMEDIATE, ROOT, Runner, healthy, wait_for

NET = os.environ.get("REMEDIATE_RELIABILITY_NET", "127.0.8")
HOSTS = 3
DOCS = ROOT / "docs"

FIGURE_ROWS = [
    ("faults_injected", "faults injected (over real sshd, on the lab)"),
    ("faults_survived", "faults survived (exit code, audit log and host state as documented)"),
    ("bad_inputs_tried", "bad inputs tried (files, flags, hostile values, host output)"),
    ("bad_inputs_handled", "bad inputs handled (exit 2 / clear check failure, nothing injected ran)"),
    ("generated_inputs_tried", "generated inputs tried (hypothesis: playbook and inventory loaders)"),
    ("generated_inputs_handled", "generated inputs handled (InputError only, never a traceback)"),
    ("audit_records_written", "audit records written"),
    ("audit_records_verified", "audit records verified (hash chain intact)"),
    ("secret_checks", "secret checks (secret values x places searched)"),
    ("secrets_leaked", "secrets leaked (must be 0)"),
    ("reruns_after_unknown", "commands re-run after an unknown outcome (must be 0)"),
]


class Figures:
    """Session counters the tests increment; rendered into docs/reliability.md at session end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter({k: 0 for k, _ in FIGURE_ROWS})
        self.faults: Counter[str] = Counter()
        self.tests: Counter[str] = Counter()
        self.failed: list[str] = []
        self.known_defects: list[tuple[str, str]] = []  # strict xfail: (test, reason)
        self.started = time.monotonic()

    def add(self, key: str, n: int = 1) -> None:
        assert key in self.counts, key
        self.counts[key] += n

    def fault(self, name: str) -> None:
        self.faults[name] += 1

    # -- audit -----------------------------------------------------------------------------------
    def audit(self, path: Path, *, allow_partial_tail: bool = False) -> list[dict[str, Any]]:
        """Count the log's lines as written; assert the chain verifies; count them as verified."""
        if not path.exists():
            return []
        raw = path.read_bytes()
        lines = [ln for ln in raw.split(b"\n") if ln.strip()]
        self.add("audit_records_written", len(lines))
        ok, count, message = audit_mod.verify(path)
        assert ok, f"audit log does not verify: {message}"
        self.add("audit_records_verified", count)
        return [json.loads(ln) for ln in lines]

    # -- secrets ---------------------------------------------------------------------------------
    def scan(self, secrets: list[str], **places: str) -> list[str]:
        """Search every place for every secret value; count checks and leaks; return the leaks."""
        leaks = []
        for secret in secrets:
            for where, text in places.items():
                self.add("secret_checks")
                if secret in text:
                    leaks.append(f"{secret!r} in {where}")
        self.add("secrets_leaked", len(leaks))
        return leaks

    # -- output ----------------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, Python {platform.python_version()}",  # noqa: E501
            "seconds": round(time.monotonic() - self.started, 1),
            "tests": dict(self.tests),
            "failed_tests": self.failed,
            "known_defects": [{"test": t, "reason": r} for t, r in self.known_defects],
            "figures": {k: self.counts[k] for k, _ in FIGURE_ROWS},
            "faults": dict(sorted(self.faults.items())),
        }


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        FIGURES.tests[outcome] += 1
        if report.failed:
            FIGURES.failed.append(report.nodeid)
        if outcome == "xfailed":
            FIGURES.known_defects.append((report.nodeid, str(report.wasxfail).removeprefix("reason: ")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not sum(FIGURES.tests.values()) or os.environ.get("REMEDIATE_RELIABILITY_DOC") == "0":
        return
    doc = FIGURES.document()
    DOCS.mkdir(exist_ok=True)
    (DOCS / "reliability.json").write_text(json.dumps(doc, indent=1) + "\n")
    (DOCS / "reliability.md").write_text(render(doc))


def render(doc: dict[str, Any]) -> str:
    f = doc["figures"]
    rows = "\n".join(f"| {label} | {f[key]} |" for key, label in FIGURE_ROWS)
    faults = "\n".join(f"| `{name}` | {n} |" for name, n in doc["faults"].items()) or "| (none) | 0 |"
    tests = ", ".join(f"{n} {k}" for k, n in sorted(doc["tests"].items()))
    failed = "".join(f"\n- `{t}`" for t in doc["failed_tests"]) or " none"
    defects = "".join(f"\n- `{d['test'].split('::', 1)[1]}`: {d['reason']}" for d in doc["known_defects"]) \
        or "\nnone"
    verdict = "yes" if f["secrets_leaked"] == 0 and f["reruns_after_unknown"] == 0 else "NO"
    return textwrap.dedent("""\
        # Reliability and security figures

        Produced by `tests/reliability/` (part of `make test`; alone:
        `.venv/bin/python -m pytest tests/reliability -q`) on a lab of {hosts} simulated Campaign v7 hosts
        behind real OpenSSH sshd and a real PostgreSQL. Regenerated on every run of the suite, with the
        raw numbers in `docs/reliability.json`. Counters marked "survived", "handled" and "verified" are
        only incremented after the test's assertions passed.

        Run: {generated}, {machine}, {seconds} s; tests: {tests}.
        Failed tests:{failed}

        | figure | value |
        |---|---|
        {rows}

        Zero secrets leaked and zero commands re-run after an unknown outcome: **{verdict}**.

        ## Known defects (tests marked strict xfail: they fail today, and fail the suite once fixed)
        {defects}

        ## Faults injected, by kind

        | fault | times |
        |---|---|
        {faults}

        ## What each part of the suite proves

        - `test_faults.py`: sshd dropping connections before a run (connects retried) and in the middle of
          a changing command (status `unknown`, exit 5, never re-run); a hanging command (stopped on the
          host at its timeout, host `failed`, no remediation, the other hosts go on); a slow restart
          (verification polls within its bound); one unreachable host among several (exit 3, named);
          authentication failure, unknown and changed host keys (exit 3, no command, no retry); SIGINT and
          SIGTERM mid-run (`run.finished` interrupted, exit 130, host lock released); two runs on the same
          host and module (the second refused, exit 4, holder named); `kill -9` of the runner (every
          written line verifies, the in-flight `step.started` is there, the next run reports the stale
          lock); the audit log unwritable (read-only filesystem, full filesystem, `/dev/full`, a file size
          limit reached mid-run: nothing changing runs without its record).
        - `test_bad_input.py`: hypothesis property tests of the inventory and playbook loaders; malformed
          YAML, wrong types, unknown keys and actions, missing fields, duplicate keys, alias bombs, huge and
          non-UTF-8 files, bad flags (exit 2 naming file:line or the flag, nothing touched); hostile values
          (`;`, `$(...)`, backticks, quotes, newlines) in host names, instance names and vars, with a
          positive control proving that a file a command creates would be seen; garbage, binary and 10 MB
          `nlserver` output (a "cannot parse" check failure, no remediation, no crash).
        - `test_secrets.py`: secrets from the inventory (`db_password`, `*token*`, `*secret*`,
          `secret_vars`) and the environment (`PGPASSWORD`, `*_TOKEN`) searched by value in the audit log,
          stdout and stderr of runs, dry-runs, checks, `show`, `hosts` and error messages, including inside
          command lines and host output.
        """).format(hosts=HOSTS, rows=rows, defects=defects, faults=faults, verdict=verdict, tests=tests, failed=failed,
                    **{k: doc[k] for k in ("generated", "machine", "seconds")})


# --- the lab ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with temporary_lab("remediate-reliability-", NET, HOSTS) as the_lab:
        yield the_lab


@pytest.fixture()
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture()
def remediate(lab: Lab, audit_log: Path, tmp_path: Path) -> Runner:
    return Runner(lab, audit_log, tmp_path)


@pytest.fixture()
def host(lab: Lab) -> Iterator[str]:
    """lab1, healed before and after the test."""
    lab.heal("lab1")
    wait_for(lambda: healthy(lab, "lab1"), 30, "lab1 healthy before the test")
    yield "lab1"
    lab.heal("lab1")


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A world-writable directory under /tmp the lab's login user can write into."""
    d = Path(tempfile.mkdtemp(prefix="remediate-rel-", dir="/tmp"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# --- helpers ------------------------------------------------------------------------------------

def runner_env(remediate: Runner, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REMEDIATE_INVENTORY", "NO_COLOR")}
    env.update({"PYTHONPATH": str(ROOT), "REMEDIATE_AUDIT_LOG": str(remediate.audit_log)})
    env.update(extra)
    return env


def start_runner(remediate: Runner, *args: str, audit_log: Path | None = None, inventory: Path | None = None,
                 **env: str) -> subprocess.Popen[str]:
    """The real CLI in the background (no terminal), for signals and concurrent runs."""
    e = runner_env(remediate, **env)
    if audit_log is not None:
        e["REMEDIATE_AUDIT_LOG"] = str(audit_log)
    return subprocess.Popen([*REMEDIATE, *args, "-i", str(inventory or remediate.inventory)], env=e,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=remediate.workdir)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"runner still running after {timeout}s:\n{out}\n{err}") from None
    return proc.returncode, out, err


def events_of(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def wait_event(path: Path, pred: Any, timeout: float, what: str) -> dict[str, Any]:
    return wait_for(lambda: next((e for e in events_of(path) if pred(e)), None), timeout, what, interval=0.1)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def descendants(pid: int) -> list[int]:
    todo, seen = children(pid), []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def sshd_listener(lab: Lab, host: str, port: int = 2222) -> int:
    pid = read_pidfile(lab.hdir(host) / "run" / f"sshd.{port}.pid")
    assert pid, f"{host}: the lab's sshd listener is not running"
    return pid


def drop_ssh_connections(lab: Lab, host: str) -> list[int]:
    """Kill the per-connection sshd processes of a lab host (children of its listener), by pid."""
    victims = []
    for child in children(sshd_listener(lab, host)):
        victims += [child, *descendants(child)]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return victims


def lock_file(lab: Lab, host: str, module: str) -> Path:
    """The host lock of a lab host (default lock_dir: <nl6_root>/var/remediate/locks)."""
    return lab.hdir(host) / "nl6" / "var" / "remediate" / "locks" / f"{module}.lock"


def lock_is_free(lab: Lab, host: str, module: str) -> bool:
    """True when nobody holds the host lock (flock -n succeeds as the lab's login user)."""
    path = lock_file(lab, host, module)
    if not path.exists():
        return True
    return lab.run_as(["flock", "-n", "-x", str(path), "true"], check=False, timeout=10).returncode == 0


def write_playbook(directory: Path, module: str, remediation: str, *, checks: str | None = None,
                   verification: str | None = None) -> Path:
    """A custom playbook (REMEDIATE_PLAYBOOKS) with a failing check, the given remediation, and a passing verification."""  # noqa: E501
    directory.mkdir(parents=True, exist_ok=True)
    checks = checks or """\
        - id: always_fails
          effect: read
          action: shell
          args: {command: "false"}
        """
    verification = verification or """\
        - id: afterwards
          effect: read
          action: shell
          args: {command: "true"}
        """
    text = (f"module: {module}\ntitle: reliability test playbook\nscope: test\nsymptom: test\nchecks:\n"
            + textwrap.indent(textwrap.dedent(checks), "  ")
            + "remediation:\n" + textwrap.indent(textwrap.dedent(remediation), "  ")
            + "verification:\n" + textwrap.indent(textwrap.dedent(verification), "  "))
    (directory / f"{module}.yml").write_text(text)
    return directory
