"""The reliability suite's figures: session counters the tests increment, and the document they render into.

Every test increments the session ``Figures`` counters; "tried" / "written" / "leaked" / "re-run" are
measurements taken before the assertions, "survived" / "handled" / "verified" are counted only once the
test's assertions have passed. At session end (``tests/reliability/conftest.py``) they are written as
``reliability.json`` and ``reliability.md`` into ``figures_dir()``: the tracked ``docs/`` only when
``REMEDIATE_WRITE_FIGURES=1`` (``make reliability-figures``), else the untracked ``.pytest-figures/``, so an
ordinary ``make test`` never rewrites a tracked file.

Owns: ``Figures``, ``FIGURE_ROWS``, ``render``, ``figures_dir``, ``write``. Must not: decide a test's outcome.
"""

from __future__ import annotations

import json
import os
import platform
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner import audit as audit_mod
from tests.support.cli import ROOT

HOSTS = 3  # lab hosts of the suite's session lab (named in the document)
WRITE_ENV = "REMEDIATE_WRITE_FIGURES"


def figures_dir() -> Path:
    """docs/ when the figures were asked for (``REMEDIATE_WRITE_FIGURES=1``), else the untracked .pytest-figures/."""
    return ROOT / "docs" if os.environ.get(WRITE_ENV) == "1" else ROOT / ".pytest-figures"


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
    """Session counters the tests increment; rendered into reliability.md at session end."""

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
        """Count the log's lines as written; assert it has some and the chain verifies; count them as verified."""
        assert path.exists(), f"no audit log at {path}: the run wrote no event"
        lines = [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]
        assert lines, f"the audit log {path} is empty: the run wrote no event"
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


def render(doc: dict[str, Any]) -> str:
    f = doc["figures"]
    rows = "\n".join(f"| {label} | {f[key]} |" for key, label in FIGURE_ROWS)
    faults = "\n".join(f"| `{name}` | {n} |" for name, n in doc["faults"].items()) or "| (none) | 0 |"
    tests = ", ".join(f"{n} {k}" for k, n in sorted(doc["tests"].items()))
    failed = "".join(f"\n- `{t}`" for t in doc["failed_tests"]) or " none"
    defects = "".join(f"\n- `{d['test'].split('::', 1)[1]}`: {d['reason']}" for d in doc["known_defects"]) or "\nnone"
    verdict = "yes" if f["secrets_leaked"] == 0 and f["reruns_after_unknown"] == 0 else "NO"
    return textwrap.dedent("""\
        # Reliability and security figures

        Produced by `tests/reliability/` on a lab of {hosts} simulated Campaign v7 hosts behind real
        OpenSSH sshd and a real PostgreSQL. Regenerated by `make reliability-figures` (the suite with
        `REMEDIATE_WRITE_FIGURES=1`), with the raw numbers in `docs/reliability.json`; other runs of the
        suite (`make test`) write theirs to the untracked `.pytest-figures/`. Counters marked "survived",
        "handled" and "verified" are only incremented after the test's assertions passed.

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
        """).format(
        hosts=HOSTS,
        rows=rows,
        defects=defects,
        faults=faults,
        verdict=verdict,
        tests=tests,
        failed=failed,
        **{k: doc[k] for k in ("generated", "machine", "seconds")},
    )


def write(figures: Figures, directory: Path) -> None:
    """reliability.json (raw numbers) and reliability.md (rendered) into ``directory``."""
    doc = figures.document()
    directory.mkdir(exist_ok=True)
    (directory / "reliability.json").write_text(json.dumps(doc, indent=1) + "\n")
    (directory / "reliability.md").write_text(render(doc))
