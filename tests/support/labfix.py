"""Session lab fixtures for the suites that need a Campaign lab, and the host-state helpers they share.

A suite's conftest builds its fixtures here: the lab suite on a lab of its own (directory prefix,
address block, host count), the end-to-end and reliability suites on the lab they share
(``campaign_lab`` in tests/conftest.py), so no suite meets a demo lab in the same ``make test``:

    lab = session_lab("remediate-lab-test-", NET, HOSTS)  # the lab suite
    lab, audit_log, remediate, host = shared_lab_fixtures(HOSTS)  # the e2e and reliability suites

Owns: the ``lab`` (session), ``audit_log``, ``remediate`` and ``host`` fixtures; ``healthy`` and ``pid_of``
(read from the host's process table). Must not: start a lab outside a fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from lab import Lab, temporary_lab
from tests.support.cli import Runner
from tests.support.wait import wait_until

HOST = "lab1"


def healthy(lab: Lab, name: str) -> bool:
    """The watchdog and every module the host's configs enable alive: nothing ``monitor -missing`` would
    list (``lab.status`` derives ``missing`` from the same process table)."""
    return all(p["alive"] for p in lab.processes(name).values())


def pid_of(lab: Lab, name: str, process: str) -> int | None:
    """The pid of a live process of the host (``wfserver@prod``, ``watchdog``), else None.

    Read from the host's process table alone (pid files checked against /proc), not the whole
    ``lab.status`` (ports, web probes, database), which the many tests asking only this need not pay for.
    """
    proc = lab.processes(name).get(process)
    return proc["pid"] if proc and proc["alive"] else None


def session_lab(prefix: str, net: str, hosts: int, name: str = "lab") -> Callable[..., Any]:
    """A session fixture (``lab``, or ``name``): ``hosts`` lab hosts on ``net``.x in a fresh /tmp directory,
    removed after."""

    @pytest.fixture(scope="session", name=name)
    def lab() -> Iterator[Lab]:
        with temporary_lab(prefix, net, hosts) as the_lab:
            yield the_lab

    return lab


@pytest.fixture()
def audit_log(tmp_path: Path) -> Path:
    """A fresh audit log per test (not created: the run creates it)."""
    return tmp_path / "audit.jsonl"


@pytest.fixture()
def remediate(lab: Lab, audit_log: Path, tmp_path: Path) -> Runner:
    """The real CLI against the suite's lab, run from the test's own directory."""
    return Runner(lab, audit_log, tmp_path)


@pytest.fixture()
def host(lab: Lab) -> Iterator[str]:
    """lab1, healed before and after the test, so each test starts from a healthy host."""
    lab.heal(HOST)
    wait_until(lambda: healthy(lab, HOST), 30, f"{HOST} healthy before the test")
    yield HOST
    lab.heal(HOST)


def shared_lab(hosts: int) -> Callable[..., Any]:
    """A session ``lab`` fixture standing for the root conftest's ``campaign_lab``: the end-to-end and the
    reliability suites share one lab per test process (pytest-xdist worker), one suite's test after another.
    Every test that changes a host heals it first (``host``, ``lab.heal``), as within one suite."""

    @pytest.fixture(scope="session")
    def lab(campaign_lab: Lab) -> Lab:
        assert len(campaign_lab.hosts()) >= hosts, f"the shared lab has fewer than {hosts} hosts"
        return campaign_lab

    return lab


class LabFixtures(NamedTuple):
    lab: Callable[..., Any]
    audit_log: Callable[..., Any]
    remediate: Callable[..., Any]
    host: Callable[..., Any]


def shared_lab_fixtures(hosts: int) -> LabFixtures:
    """The fixtures of a suite that runs the CLI against the shared ``campaign_lab`` (``shared_lab``)."""
    return LabFixtures(shared_lab(hosts), audit_log, remediate, host)


def stopped_by_operator(lab: Lab, name: str, process: str) -> bool:
    """``nlserver stop PROCESS`` ran on the host and no ``nlserver start PROCESS`` since.

    The simulated nlserver records a stop in ``run/stopped/PROCESS`` (the watchdog leaves such a module
    alone) and ``start`` removes that record before it returns, so a start that was sent shows here at
    once, with no wait, even while the module itself is still coming up.
    """
    return (lab.hdir(name) / "run" / "stopped" / process).exists()
