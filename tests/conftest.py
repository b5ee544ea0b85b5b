"""Root of the test suites. ``tests`` is a package, so pytest puts the project root on ``sys.path`` when it
imports this file, and every suite (tests/lab included, whose modules are not in a package) imports the
shared infrastructure as ``tests.support``. Fixtures live in each suite's conftest, built from
``tests.support.labfix``; no suite imports another suite's conftest.
"""

import os

import pytest

from tests.support.labfix import session_lab

# Under pytest-xdist (`make test` runs the suites on several workers) each worker starts its own labs, so
# each takes its own address blocks: worker gwN moves every suite's block (the env var or the suite's
# default third octet) to 127.(10 + 2N).x, and the spare block of the lab tests to 127.(11 + 2N).x.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and _WORKER[2:].isdigit():
    _SECOND = 10 + 2 * int(_WORKER[2:])
    for _var, _default in (
        ("REMEDIATE_E2E_NET", "127.0.4"),
        ("REMEDIATE_LAB_TEST_NET", "127.0.3"),
        ("REMEDIATE_E2E_NETWORK_NET", "127.0.65"),
        ("REMEDIATE_E2E_FLEET_NET", "127.0.70"),
    ):
        _third = os.environ.get(_var, _default).split(".")[2]
        os.environ[_var] = f"127.{_SECOND}.{_third}"
    os.environ["REMEDIATE_LAB_SPARE_NET"] = f"127.{_SECOND + 1}.{os.environ['REMEDIATE_LAB_TEST_NET'].split('.')[2]}"


def pytest_configure(config: pytest.Config) -> None:
    """On the controller, before any worker starts: the pytest versions known not to group (see below)."""
    if not _WORKER and config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} ignores pytest-xdist's xdist_group (--dist loadgroup would not group): "
            "install the pinned versions (make setup)"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a run whose ``--dist loadgroup`` would not group: the files that start labs of fixed size or
    build a wheel once (``pytestmark = pytest.mark.xdist_group``) would then run on every worker. pytest
    9.2 ignores the node id suffix that pytest-xdist 3.8 groups by (pyproject pins pytest below it)."""
    if not (_WORKER and getattr(config.option, "loadgroup", False)):  # set on the workers by pytest-xdist
        return
    lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid.split("::")[-1]]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup is not grouping ({len(lost)} marked tests without their group, e.g. {lost[0]}): "
            "this pytest does not keep pytest-xdist's group suffix; install the pinned versions (make setup)"
        )


# The Campaign lab the end-to-end and reliability suites share (tests.support.labfix.shared_lab): 3 hosts
# on REMEDIATE_E2E_NET (127.0.4 by default), started on first use by each test process, removed at its end.
CAMPAIGN_LAB_HOSTS = 3


campaign_lab = session_lab(
    "remediate-e2e-", os.environ.get("REMEDIATE_E2E_NET", "127.0.4"), CAMPAIGN_LAB_HOSTS, name="campaign_lab"
)
