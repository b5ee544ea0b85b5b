"""Secrets out of everything written: the one redactor, shared by the audit log and the console. Pure.

Owns: which values are secrets (environment variables whose names say so, plus the values the
inventory marks), and replacing each of them by ``***`` wherever it appears, in strings and inside
nested dicts and lists. Must not: import anything but the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
MIN_SECRET = 4  # shorter values are not treated as secrets: replacing them would garble everything
_MARKS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PASSPHRASE")


def env_secrets() -> set[str]:
    """Values of environment variables whose names say they hold a secret (PGPASSWORD, *_TOKEN...)."""
    return {v for k, v in os.environ.items() if any(m in k.upper() for m in _MARKS) and v}


class Redactor:
    """Replaces every known secret value, wherever it appears in a string, by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        known = {*self.secrets, *(s for s in secrets if len(s) >= MIN_SECRET)}
        self.secrets = sorted(known, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def __call__(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value
