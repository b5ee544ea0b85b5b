"""Triage maps typical on-call phrasings to the right modules, from the shipped playbooks' words."""

from __future__ import annotations

import pytest

from runner import playbook, triage

BOOKS = [playbook.load_module(m) for m in playbook.available()]

CASES = [
    ("emails are not sent", {"mta", "stat"}),
    ("emails are no longer sent", {"mta", "stat"}),
    ("bounces not processed", {"inMail"}),
    ("no processes start", {"watchdog"}),
    ("logs missing", {"syslogd"}),
    ("tracking logs not forwarded", {"tracking", "trackinglogd"}),
    ("console cannot connect", {"web"}),
    ("workflow stuck", {"wfserver"}),
    ("export missing", {"export"}),
    ("import re-run duplicates", {"import"}),
]


@pytest.mark.parametrize(("symptom", "expected"), CASES)
def test_symptom_maps_to_modules(symptom: str, expected: set[str]) -> None:
    ranked = triage.rank(symptom, BOOKS)
    assert ranked, f"nothing matches {symptom!r}"
    best = ranked[0][1]
    top = {pb.module for pb, score in ranked if score == best}
    assert top == expected, [(pb.module, s) for pb, s in ranked]


def test_every_module_has_a_playbook_with_keywords() -> None:
    names = {pb.module for pb in BOOKS}
    assert names == {
        "export",
        "import",
        "inMail",
        "mta",
        "stat",
        "syslogd",
        "tracking",
        "trackinglogd",
        "watchdog",
        "web",
        "wfserver",
    }
    for pb in BOOKS:
        assert pb.keywords and pb.symptom and pb.scope


def test_unrelated_words_match_nothing() -> None:
    assert triage.rank("the coffee machine is empty", BOOKS) == []
