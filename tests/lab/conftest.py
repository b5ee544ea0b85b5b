"""Session lab for the lab tests: its own directory under /tmp and its own net (127.0.3 by default,
env ``REMEDIATE_LAB_TEST_NET``)."""

from __future__ import annotations

import os

from tests.support.labfix import session_lab

NET = os.environ.get("REMEDIATE_LAB_TEST_NET", "127.0.3")
HOSTS = 4

lab = session_lab("remediate-lab-test-", NET, HOSTS)
