"""Opening the audit log of a run.

Owns: the audit log a run writes (``--audit-log``, else the default place), with every secret of its
hosts and of the environment registered with both the log and the console before anything is written
or printed, and the ``--syslog`` copy. Must not: write events (the run frame and the engine do).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner import console

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host


def open_audit_log(path: Path | None, hosts: list[Host], syslog: str | None = None) -> AuditLog:
    from runner import audit
    from runner.redact import env_secrets

    secrets: set[str] = set(env_secrets())
    for host in hosts:
        secrets |= host.secrets()
    console.add_secrets(secrets)
    log = audit.AuditLog(path or audit.default_path(), secrets=secrets)
    if syslog:
        log.listeners.append(audit.syslog_listener(syslog))
    return log
