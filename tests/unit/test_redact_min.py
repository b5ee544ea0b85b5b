"""Redaction at the shortest secret the redactor takes (runner.redact.MIN_SECRET) and just below it.

A secret of exactly MIN_SECRET characters is never written, in any field, nested value or key; one
character shorter is not treated as a secret (replacing it would garble everything), as documented.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import audit, redact
from runner.events import Event
from runner.inventory import Host

SHORTEST = "k9!Q"  # redact.MIN_SECRET characters


def test_the_minimum_is_what_the_tests_use() -> None:
    assert len(SHORTEST) == redact.MIN_SECRET == 4


def test_a_secret_of_the_minimum_length_is_redacted_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = audit.AuditLog(path, secrets=[SHORTEST])
    log.emit(
        Event.STEP_FINISHED,
        command=f"PGPASSWORD={SHORTEST} psql",
        message=f"auth {SHORTEST} failed",
        nested={f"key-{SHORTEST}": [f"x{SHORTEST}y", {"deep": SHORTEST}]},
    )
    log.close()
    text = path.read_text()
    assert SHORTEST not in text and text.count(redact.REDACTED) == 5
    assert audit.verify(path)[0]


def test_one_character_shorter_is_not_a_secret() -> None:
    below = SHORTEST[:-1]
    r = redact.Redactor([below])
    assert r.secrets == [] and r(f"a {below} b") == f"a {below} b"
    r.add([SHORTEST])
    assert r(f"{below} {SHORTEST}") == f"{below} {redact.REDACTED}"


@pytest.mark.parametrize("length", [redact.MIN_SECRET, redact.MIN_SECRET + 1])
def test_an_inventory_secret_at_the_minimum_reaches_the_redactor(length: int) -> None:
    value = SHORTEST + "w" * (length - len(SHORTEST))
    host = Host("h", ("all",), {"db_password": value, "instance": "prod"}, "t:1")
    assert host.secrets() == {value}
    assert redact.Redactor(host.secrets())({"m": f"connect with {value}"}) == {"m": f"connect with {redact.REDACTED}"}
