"""The one exception tree of remediate.

Every error the runner raises on purpose derives from :class:`RemediateError`. The tree is shallow:

    RemediateError
    ├── InputError            bad invocation, playbook or inventory: nothing was run (exit 2)
    ├── TransportError        a host could not be reached or authenticated (exit 3)
    │   ├── HostKeyError      unknown or changed host key: never retried
    │   └── AuthError         authentication refused: never retried
    ├── CommandTimeout        a command exceeded its timeout (stopped on the host too)
    ├── ConnectionLost        the connection dropped while a command was running
    ├── PreconditionError     the host was reached but lacks what a run needs (lock dir, flock)
    └── AuditError            the audit log cannot be written: nothing changing may run

Messages read ``where: what (hint)`` and never contain a secret. This module imports nothing from the
rest of the package and no third-party library.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RemediateError(Exception):
    """Root of every error remediate raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.where = where
        self.what = message
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text} ({self.hint})" if self.hint else text


class InputError(RemediateError):
    """A playbook, inventory, flag or host selection is invalid; no host was touched."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        if where is None and path is not None:
            where = f"{path}:{line}" if line else path
        super().__init__(message, where=where, hint=hint)


class TransportError(RemediateError):
    """A host could not be reached; ``retryable`` says whether trying again may help."""

    retryable = True

    def __init__(self, message: str, *, host: str, hint: str | None = None) -> None:
        self.host = host
        super().__init__(message, where=host, hint=hint)


class ConnectionRefused(TransportError):
    """Nothing listens on the SSH port (TCP refused at once): worth one short retry (sshd restarting),
    not the whole connect budget."""


class HostKeyError(TransportError):
    """The host key is unknown or changed; the host is refused."""

    retryable = False


class AuthError(TransportError):
    """The host refused our credentials."""

    retryable = False


class CommandTimeout(RemediateError):
    """A command ran past its timeout; it was stopped on the host by ``timeout``."""

    def __init__(self, message: str, *, host: str, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        super().__init__(message, where=host)


class ConnectionLost(RemediateError):
    """The SSH connection dropped while a command ran: its outcome is unknown."""

    def __init__(self, message: str, *, host: str) -> None:
        self.host = host
        super().__init__(message, where=host)


class PreconditionError(RemediateError):
    """The host was reached but cannot run this: a lock directory it cannot write, a missing tool."""

    def __init__(self, message: str, *, host: str, hint: str | None = None) -> None:
        self.host = host
        super().__init__(message, where=host, hint=hint)


class AuditError(RemediateError):
    """The audit log cannot be written; the run stops before anything changing runs."""


def did_you_mean(word: str, choices: Iterable[str], listing: str) -> str:
    """A hint: the choices closest to a mistyped ``word`` first ("did you mean ...?"), then ``listing``."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    guess = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return guess + listing
