"""Campaign-aware step actions: each turns its args and a host's vars into one exact shell command and
judges the command's result.

Owns: the catalogue of actions (:data:`ACTIONS`), one module per family, each action registered where it
is defined with its typed argument spec and the smallest effect it may be declared with (a restart can
never be declared ``read``), and the reading of host output into a verdict. Every value put into a
command is shell-quoted. Pure: no I/O, no clock, no randomness; the engine runs the commands.
"""

from __future__ import annotations

from runner.actions import config, database, files, logs, modules, network, querydef, scripts, service, tracking, web
from runner.actions.base import (
    ACTIONS,
    DEFAULT_VARS,
    Action,
    ArgSpec,
    Context,
    Effect,
    Skip,
    Verdict,
    action,
    render,
    template_fields,
)

FAMILIES = (modules, network, database, querydef, files, logs, scripts, web, tracking, service, config)

__all__ = [
    "ACTIONS",
    "DEFAULT_VARS",
    "FAMILIES",
    "Action",
    "ArgSpec",
    "Context",
    "Effect",
    "Skip",
    "Verdict",
    "action",
    "render",
    "template_fields",
]
