"""The reliability suite's figures: session counters the tests increment, and the document they render into.

Two kinds of counter. *Measurements* ("tried", "written", "leaked", "re-run", "secret checks") are counted
when taken, before the test's assertions. *Outcomes* ("survived", "handled", "rejected", "verified") are
staged while the test runs and committed by ``conftest.pytest_runtest_logreport`` only when the test's
call phase passed, i.e. after every one of its assertions; a failing test commits none of them.

A fault is a distinct scenario with a kind name and the place it happened (``WHERE``): the suite counts
kinds, not injections, and a kind is survived when every test that injected it passed. A hand-picked bad
input has an id, counted once: the same id counted twice is an error of the suite.

At session end (``tests/reliability/conftest.py``) they are written as ``reliability.json`` and
``reliability.md`` into ``figures_dir()``: the tracked ``docs/`` only when ``REMEDIATE_WRITE_FIGURES=1``
(``make reliability-figures``), else the untracked ``.pytest-figures/``, so an ordinary ``make test``
never rewrites a tracked file.

Owns: ``Figures``, ``FIGURE_ROWS``, ``WHERE``, ``render``, ``figures_dir``, ``write``. Must not: decide a
test's outcome.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner import audit as audit_mod
from tests import mutation_report
from tests.support.cli import ROOT

HOSTS = 3  # lab hosts of the suite's session lab (named in the document)
WRITE_ENV = "REMEDIATE_WRITE_FIGURES"

# where a fault happens
WHERE = {
    "lab": "on a lab host, over its real sshd (the host, its sshd or its files misbehave)",
    "network": "on the path between client and host (loopback addresses 127.0.125.x: tarpit, relay, bastion)",
    "client": "on the machine running remediate (its config, signals, audit log, a second runner)",
}


def source_commit() -> str:
    """The commit the suite ran from, with ``-dirty`` when tracked files differ from it."""
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown (not a git checkout)"


def figures_dir() -> Path:
    """docs/ when the figures were asked for (``REMEDIATE_WRITE_FIGURES=1``, one process), else the untracked
    .pytest-figures/ (a pytest-xdist worker's own counts in .pytest-figures/<worker>/)."""
    if os.environ.get(WRITE_ENV) == "1":
        return ROOT / "docs"
    return ROOT / ".pytest-figures" / os.environ.get("PYTEST_XDIST_WORKER", "")


# (key, label, how it is counted)
FIGURE_ROWS = [
    (
        "faults_injected",
        "fault kinds injected",
        "distinct fault scenarios (kind names) a test brought about; a kind injected by two tests counts once",
    ),
    (
        "faults_survived",
        "fault kinds survived",
        "kinds whose every injecting test passed: exit code, audit log and host state as documented",
    ),
    (
        "bad_inputs_tried",
        "hand-picked bad inputs tried",
        "distinct named inputs (file, flag, hostile value, ssh_config, host output), each in a run of its own "
        "or proved to reach its check (its host/line named in the error, or its host seen in the audit log)",
    ),
    (
        "bad_inputs_handled",
        "hand-picked bad inputs handled",
        "those whose test passed: the exit code the README promises (2 for bad input, nothing run), the "
        "message naming the value's file:line, host or flag, and no injected command run",
    ),
    (
        "generated_inputs_tried",
        "generated documents tried",
        "distinct documents (by SHA-256) hypothesis fed to the inventory and playbook loaders, fixed profile",
    ),
    (
        "generated_inputs_rejected",
        "generated documents rejected (InputError naming the file)",
        "the generated documents the loader refused, counted once the test passed: these are the handled "
        "bad inputs among the generated ones",
    ),
    (
        "generated_inputs_accepted",
        "generated documents accepted as valid",
        "documents the loader accepted (valid by construction or by chance): not counted as bad inputs",
    ),
    ("audit_records_written", "audit records written", "non-empty lines of every audit log a test read"),
    (
        "audit_records_verified",
        "audit records verified (hash chain intact)",
        "records `audit.verify` accepted, counted after the reading test's assertions passed",
    ),
    ("secret_checks", "secret checks", "secret values x places searched (outputs, errors, audit log)"),
    ("secrets_leaked", "secrets leaked (must be 0)", "secret values found in a searched place"),
    (
        "reruns_after_unknown",
        "commands re-run after an unknown outcome (must be 0)",
        "extra step.started records and extra marker lines on the host after a connection drop",
    ),
]
OUTCOMES = ("bad_inputs_handled", "generated_inputs_rejected", "generated_inputs_accepted", "audit_records_verified")
DERIVED = ("faults_injected", "faults_survived")


class Figures:
    """Session counters the tests increment; rendered into reliability.md at session end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter({k: 0 for k, _, _ in FIGURE_ROWS})
        self.staged: Counter[str] = Counter()  # outcomes of the running test, committed when it passes
        self.fault_where: dict[str, str] = {}
        self.fault_tests: dict[str, list[bool]] = {}  # kind -> outcome of each test that injected it
        self.staged_faults: set[str] = set()
        self.inputs: dict[str, str] = {}  # bad input id -> the test that counted it
        self.staged_inputs: list[str] = []
        self.documents: dict[str, set[str]] = {}  # loader -> sha256 of generated documents tried
        self.tests: Counter[str] = Counter()
        self.failed: list[str] = []
        self.known_defects: list[tuple[str, str]] = []  # strict xfail: (test, reason)
        self.current = ""
        self.started = time.monotonic()

    # -- counting --------------------------------------------------------------------------------
    def add(self, key: str, n: int = 1) -> None:
        """A measurement counts now; an outcome (OUTCOMES) is staged until the test has passed."""
        assert key in self.counts and key not in DERIVED, key
        assert key != "bad_inputs_tried" and key != "bad_inputs_handled", "use bad_input(id)"
        if key in OUTCOMES:
            self.staged[key] += n
        else:
            self.counts[key] += n

    def fault(self, kind: str, where: str) -> None:
        """The test injects fault ``kind`` at ``where`` (a WHERE key); survived when the test passes."""
        assert where in WHERE, where
        assert self.fault_where.get(kind, where) == where, f"{kind}: injected at {self.fault_where[kind]} and {where}"
        self.fault_where[kind] = where
        self.staged_faults.add(kind)

    def bad_input(self, case_id: str) -> None:
        """A named hand-picked bad input reaches its check in this test; handled when the test passes."""
        owner = self.inputs.get(case_id)
        assert owner is None or owner == self.current, f"bad input {case_id!r} already counted by {owner}"
        if owner is None:
            self.inputs[case_id] = self.current
            self.counts["bad_inputs_tried"] += 1
            self.staged_inputs.append(case_id)

    def generated(self, loader: str, text: str) -> bool:
        """Count a generated document for ``loader`` once; False when it was already tried."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
        seen = self.documents.setdefault(loader, set())
        if digest in seen:
            return False
        seen.add(digest)
        self.counts["generated_inputs_tried"] += 1
        return True

    def begin(self, nodeid: str) -> None:
        self.current = nodeid
        self.staged.clear()
        self.staged_faults.clear()
        self.staged_inputs.clear()

    def commit(self, passed: bool) -> None:
        """End of a test's call phase: outcomes count only when it passed."""
        for kind in self.staged_faults:
            self.fault_tests.setdefault(kind, []).append(passed)
        if passed:
            self.counts.update(self.staged)
            self.counts["bad_inputs_handled"] += len(self.staged_inputs)
        self.begin("")

    # -- audit -----------------------------------------------------------------------------------
    def audit(self, path: Path) -> list[dict[str, Any]]:
        """The log's events: fails when it is missing, empty or does not verify; verified counted on pass."""
        assert path.exists(), f"no audit log at {path}: the run wrote no event"
        lines = [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]
        assert lines, f"the audit log {path} is empty: the run wrote no event"
        self.add("audit_records_written", len(lines))
        ok, count, message = audit_mod.verify(path)
        assert ok, f"audit log does not verify: {message}"
        assert count == len(lines), f"audit verify read {count} records of {len(lines)} lines"
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
        counts = dict(self.counts)
        counts["faults_injected"] = len(self.fault_tests)
        counts["faults_survived"] = sum(1 for runs in self.fault_tests.values() if runs and all(runs))
        faults = [
            {"kind": k, "where": self.fault_where[k], "tests": len(v), "survived": all(v)}
            for k, v in sorted(self.fault_tests.items(), key=lambda kv: (self.fault_where[kv[0]], kv[0]))
        ]
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "commit": source_commit(),
            "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, Python {platform.python_version()}",  # noqa: E501
            "seconds": round(time.monotonic() - self.started, 1),
            "tests": dict(self.tests),
            "failed_tests": self.failed,
            "known_defects": [{"test": t, "reason": r} for t, r in self.known_defects],
            "figures": {k: counts[k] for k, _, _ in FIGURE_ROWS},
            "how_counted": {k: how for k, _, how in FIGURE_ROWS},
            "faults": faults,
            "bad_inputs": sorted(self.inputs),
        }


def mutation_section() -> str:
    """The summary of docs/mutation.md (score and survivors of `make mutation`, a run of its own), between
    the markers `make mutation` rewrites in place in docs/reliability.md."""
    try:
        summary = mutation_report.summary(mutation_report.DOC.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        summary = f"No mutation run recorded ({exc}): `make mutation` writes docs/mutation.md."
    return f"{mutation_report.BEGIN}\n{summary}\n{mutation_report.END}"


def render(doc: dict[str, Any]) -> str:
    f = doc["figures"]
    rows = "\n".join(f"| {label} | {f[key]} | {how} |" for key, label, how in FIGURE_ROWS)
    faults = (
        "\n".join(
            f"| `{x['kind']}` | {x['where']} | {x['tests']} | {'yes' if x['survived'] else '**NO**'} |"
            for x in doc["faults"]
        )
        or "| (none) | | 0 | |"
    )
    where = "\n".join(f"- **{k}**: {v}" for k, v in WHERE.items())
    tests = ", ".join(f"{n} {k}" for k, n in sorted(doc["tests"].items()))
    failed = "".join(f"\n- `{t}`" for t in doc["failed_tests"]) or " none"
    defects = "".join(f"\n- `{d['test'].split('::', 1)[1]}`: {d['reason']}" for d in doc["known_defects"]) or "\nnone"
    verdict = "yes" if f["secrets_leaked"] == 0 and f["reruns_after_unknown"] == 0 else "NO"
    return textwrap.dedent("""\
        # Reliability and security figures

        Produced by `tests/reliability/` on a lab of {hosts} simulated Campaign v7 hosts behind real
        OpenSSH sshd and a real PostgreSQL. Regenerated by `make reliability-figures` (the suite with
        `REMEDIATE_WRITE_FIGURES=1`), with the raw numbers in `docs/reliability.json`; other runs of the
        suite (`make test`) write theirs to the untracked `.pytest-figures/`. Outcome counters
        ("survived", "handled", "rejected", "accepted", "verified") are staged while a test runs and
        counted only when the whole test passed; measurements ("tried", "written") are counted when taken.

        Run: {generated}, commit {commit}, {machine}, {seconds} s; tests: {tests}.
        Failed tests:{failed}

        | figure | value | how it is counted |
        |---|---|---|
        {rows}

        Zero secrets leaked and zero commands re-run after an unknown outcome: **{verdict}**.

        ## Known defects (tests marked strict xfail: they fail today, and fail the suite once fixed)
        {defects}

        ## Fault kinds

        Each row is one distinct scenario; "tests" is how many tests injected it, "survived" whether every
        one of them passed. Where the fault happened:

        {where}

        | fault kind | where | tests | survived |
        |---|---|---|---|
        {faults}

        ## What each part of the suite proves

        - `test_faults.py` (lab and client): sshd dropping connections before a run (connects retried)
          and in the middle of a changing command (status `unknown`, exit 5, never re-run); a hanging
          command (stopped on the host at its timeout, host `failed`, the other hosts go on); a slow
          restart (verification polls within its bound); connection refused for one host of several
          (exit 3, named); authentication refused, unknown and changed host keys, a missing key file
          (exit 3, no command, no retry); SIGINT and SIGTERM mid-run (`run.finished` interrupted, exit
          130, lock released); a second runner on the same host and module (exit 4, holder named);
          `kill -9` of the runner (every written line verifies, the next run reports the stale lock); the
          audit log unwritable (read-only filesystem, full filesystem, `/dev/full`, a directory, a file
          size limit reached mid-run: nothing changing runs without its record); the host's lock
          directory not writable (the runner's own precondition error, nothing changed) and its anchor
          file not writable (`anchor.failed` recorded, the remediation stands).
        - `test_network_faults.py` (network, 127.0.125.x): a tarpit that never sends a banner, a name
          that does not resolve, a bastion that is down or whose key is unknown (exit 3, one line, nothing
          sent), a ProxyJump loop (exit 2 naming the config line), a link cut mid changing command through
          a relay (keepalives end it as `unknown`, exit 5, never re-run); a positive control runs a
          command on lab1 through lab2 as bastion.
        - `test_bad_input.py` with `cases.py`: each hand-picked playbook, inventory and OpenSSH config in
          a run of its own, refused with exit 2 naming its `file:line` (and what is wrong), nothing run
          (no audit log, the broken module left down); bad flags (exit 2 naming the flag); hostile
          addresses, one per run (exit 2 naming the host); hostile free-text vars and template values
          (`;`, `$(...)`, backticks, quotes, pipes, redirects) reaching real commands on a real host, with
          a positive control proving a file a command creates would be seen; garbage, binary, ANSI,
          a 2 MB line and 10 MB `nlserver` output (a "cannot parse" check failure, no remediation);
          hypothesis property tests of the inventory and playbook loaders (InputError naming the file,
          never a traceback).
        - `test_db_views.py`: checks and dry-runs leave the database as it was, compared only when both
          views were read (an unreadable view fails the comparison with its error).
        - `test_secrets.py`: secrets from the inventory (`db_password`, `*token*`, `*secret*`,
          `secret_vars`) and the environment (`PGPASSWORD`, `*_TOKEN`) searched by value in the audit log,
          stdout and stderr of runs, dry-runs, checks, `show`, `hosts` and error messages, including inside
          command lines and host output.

        ## Mutation testing (`make mutation`)

        Not measured by this suite: `make mutation` runs mutmut over the modules that read Campaign's
        formats, redact secrets, write the audit log and build the module and query commands, and keeps its
        score and every surviving mutant, with the reason it survives, in [mutation.md](mutation.md):

        {mutation}
        """).format(
        mutation=mutation_section(),
        hosts=HOSTS,
        rows=rows,
        defects=defects,
        faults=faults,
        where=where,
        verdict=verdict,
        tests=tests,
        failed=failed,
        **{k: doc[k] for k in ("generated", "commit", "machine", "seconds")},
    )


def write(figures: Figures, directory: Path) -> None:
    """reliability.json (raw numbers) and reliability.md (rendered) into ``directory``."""
    doc = figures.document()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reliability.json").write_text(json.dumps(doc, indent=1) + "\n")
    (directory / "reliability.md").write_text(render(doc))
