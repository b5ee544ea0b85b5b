"""End-to-end fixtures: a session Campaign lab (real sshd, real PostgreSQL) and the real CLI.

The lab runs in its own directory and address block (127.0.4.x by default, env ``REMEDIATE_E2E_NET``)
so it never meets a demo lab or the lab suite's lab; the reliability suite shares it (``campaign_lab`` in
tests/conftest.py), one test after another. Every test gets a fresh audit log and runs
``remediate`` as a subprocess with no terminal, exactly as CI and cron would (``tests.support.cli``);
state is asserted through ``lab.status()``, which reads /proc, sockets, files and the database, not the
runner's output.
"""

from __future__ import annotations

import os

from tests.support.labfix import shared_lab_fixtures

NET = os.environ.get("REMEDIATE_E2E_NET", "127.0.4")
HOSTS = 3

lab, audit_log, remediate, host = shared_lab_fixtures(HOSTS)
