"""Session lab for the lab tests: its own directory under /tmp and its own net (127.0.3)."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lab import Lab, temporary_lab

NET = os.environ.get("REMEDIATE_LAB_TEST_NET", "127.0.3")
HOSTS = 4


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with temporary_lab("remediate-lab-test-", NET, HOSTS) as lab:
        yield lab
