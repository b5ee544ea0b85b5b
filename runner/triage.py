"""Map a symptom in plain words to the modules to check, from the playbooks' seed-table text, and a
message code (``PGS-220000``) to Adobe's meaning and the playbooks of the modules it concerns. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner import errorcodes
from runner.errorcodes import ErrorCode
from runner.playbook import Playbook

_WORD = re.compile(r"[a-z0-9:]+")
_STOP = frozenset(
    {
        "the",
        "a",
        "an",
        "are",
        "is",
        "not",
        "no",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "any",
        "some",
        "more",
        "longer",
        "anymore",
        "do",
        "does",
        "be",
        "been",
        "our",
        "we",
        "it",
        "they",
        "there",
        "from",
        "for",
        "with",
    }
)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def rank(symptom: str, playbooks: list[Playbook]) -> list[tuple[Playbook, int]]:
    """Playbooks whose symptom, scope or keywords share words with ``symptom``, best first."""
    wanted = _terms(symptom)
    scored = []
    for pb in playbooks:
        keywords = _terms(" ".join(pb.keywords))
        text = _terms(f"{pb.symptom} {pb.scope} {pb.title}")
        score = 3 * len(wanted & keywords) + len(wanted & text) + (5 if pb.module.lower() in wanted else 0)
        if score:
            scored.append((pb, score))
    return sorted(scored, key=lambda item: (-item[1], item[0].module))


@dataclass(frozen=True)
class CodeAnswer:
    """What Adobe's table says of one code (``row`` ``None``: unknown) and the playbooks that concern it."""

    code: str
    row: ErrorCode | None
    playbooks: tuple[str, ...]  # the row's modules that have a playbook (``remediate <module>``)
    restart_helps: errorcodes.RestartHelps
    database: bool


def codes(text: str, playbooks: list[Playbook]) -> list[CodeAnswer]:
    """The message codes ``text`` names (a code, or a pasted log line), each answered from Adobe's table;
    empty when ``text`` names no code (then it is a symptom in plain words: :func:`rank`)."""
    modules = {pb.module.lower(): pb.module for pb in playbooks}
    answers = []
    for code in errorcodes.find_codes(text.upper()):
        row = errorcodes.lookup(code)
        concerned = tuple(modules[m.lower()] for m in (row.modules if row else ()) if m.lower() in modules)
        answers.append(
            CodeAnswer(code, row, concerned, errorcodes.restart_helps(code), errorcodes.is_database_code(code))
        )
    return answers
