"""How a command ends early: an error as one line on stderr and an exit code, and SIGTERM as Ctrl-C.

Owns: :func:`fail` (``remediate: where: what (hint)``, exit 2 unless told otherwise) and turning SIGTERM
into KeyboardInterrupt, so a run stopped by its supervisor ends ``interrupted`` like one stopped by
Ctrl-C. Must not: pick a run's exit code from its hosts (:func:`runner.report.exit_code` does).
"""

from __future__ import annotations

import signal
import sys
from typing import Any, NoReturn

from runner.console import out
from runner.outcomes import ExitCode


def fail(exc: Exception, code: int = ExitCode.INPUT) -> NoReturn:
    out(f"remediate: {exc}", err=True)
    sys.exit(code)


def sigterm_interrupts() -> None:
    """From now on SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""

    def handler(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
