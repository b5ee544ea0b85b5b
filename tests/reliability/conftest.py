"""Reliability and security suite: faults over real sshd, bad input, secrets; and the figures it produces.

The suite runs against the Campaign lab it shares with the end-to-end suite (``campaign_lab`` in
tests/conftest.py: one lab per test process, one test after another; every test heals what it changes).
The CLI is driven by ``tests.support.cli.Runner``, as in the end-to-end suite.

Figures (``figures.py``): counted by the tests, written at session end to ``docs/`` only with
``REMEDIATE_WRITE_FIGURES=1`` (``make reliability-figures``), else to the untracked ``.pytest-figures/``.

Hypothesis runs under a fixed profile (``PROFILE``: derandomized, no example database, failing examples
printed with their ``@reproduce_failure`` blob), so two runs of the suite try the same generated inputs;
the property tests take their settings from that profile by name.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.reliability.figures import HOSTS, Figures, figures_dir, write
from tests.support.labfix import shared_lab_fixtures

PROFILE = "remediate-reliability"
settings.register_profile(
    PROFILE,
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(PROFILE)

lab, audit_log, remediate, host = shared_lab_fixtures(HOSTS)

FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


def _scratch(mode: int) -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="remediate-rel-", dir="/tmp"))
    d.chmod(mode)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A world-writable directory under /tmp the lab's login user can write into."""
    yield from _scratch(0o777)


@pytest.fixture()
def root_only_dir() -> Iterator[Path]:
    """A directory under /tmp the lab's login user can read but not write (owned by the suite's user, 0755)."""
    yield from _scratch(0o755)


def pytest_runtest_setup(item: pytest.Item) -> None:
    FIGURES.begin(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        FIGURES.commit(report.when == "call" and report.passed)  # outcomes count only after every assertion
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        FIGURES.tests[outcome] += 1
        if report.failed:
            FIGURES.failed.append(report.nodeid)
        if outcome == "xfailed":
            FIGURES.known_defects.append((report.nodeid, str(report.wasxfail).removeprefix("reason: ")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sum(FIGURES.tests.values()):
        write(FIGURES, figures_dir())
