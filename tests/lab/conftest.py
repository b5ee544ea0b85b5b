"""Session lab for the lab tests: its own directory under /tmp and its own net (127.0.3)."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from lab import Lab

NET = os.environ.get("REMEDIATE_LAB_TEST_NET", "127.0.3")
HOSTS = 4


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    d = tempfile.mkdtemp(prefix="remediate-lab-test-", dir="/tmp")
    os.chmod(d, 0o755)  # the lab login user must traverse it
    lab = Lab(d, NET, project_inventory=False)
    try:
        lab.up(HOSTS)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(d, ignore_errors=True)
