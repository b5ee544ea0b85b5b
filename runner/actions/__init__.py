"""Campaign-aware step actions: each turns its args and a host's vars into one exact shell command and
judges the command's result.

Owns: the catalogue of actions (:data:`ACTIONS`), one module per family, each action registered where it
is defined with its typed argument spec and the effects it may be declared with (a restart can never be
declared ``read``), and the reading of host output into a verdict. Every value put into a command is
shell-quoted. The families are every module of this package but ``base``, found by listing the package,
so a new family file cannot be left out. This package is the one public home of the actions' names:
code outside it imports them from ``runner.actions``, never from ``runner.actions.base``. Pure: no
I/O, no clock, no randomness; the engine runs the commands.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from runner.actions.base import (
    ACTIONS,
    DEFAULT_VARS,
    SNAPSHOTS,
    AccountRefused,
    Action,
    ArgSpec,
    Context,
    Effect,
    Skip,
    action,
    become_for,
    render,
)

FAMILIES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if info.name != "base"
)

__all__ = [
    "ACTIONS",
    "DEFAULT_VARS",
    "FAMILIES",
    "SNAPSHOTS",
    "AccountRefused",
    "Action",
    "ArgSpec",
    "Context",
    "Effect",
    "Skip",
    "action",
    "become_for",
    "render",
]
