"""The table of Adobe's message codes holds what Adobe's pages say, and nothing else.

Each row is checked against tests/fixtures/adobe/error-codes.md (the page's sentences, committed, so CI
fails without Adobe's markdown); where Adobe's markdown is checked out (ADOBE_DOCS, default
/work/adobe-docs) each sentence must be on its page under its heading, and every code a page names must be
in the table.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from runner import errorcodes
from runner.actions import ACTIONS, Context
from runner.campaign_formats import ParseError
from runner.inventory import Host

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe" / "error-codes.md"
ADOBE_DOCS = Path(os.environ.get("ADOBE_DOCS", "/work/adobe-docs"))
ROWS = list(errorcodes.TABLE.values())
IDS = [row.code for row in ROWS]


def _blanks(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _sections() -> dict[str, dict[str, object]]:
    """``{code: {"page": ..., "section": ..., "quotes": [...]}}`` from the fixture."""
    found: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = found.setdefault(line[3:].strip(), {"quotes": []})
        elif current is not None and line.startswith(("page: ", "section: ")):
            key, _, value = line.partition(": ")
            current[key] = value.strip()
        elif current is not None and line.startswith("> "):
            quotes = current["quotes"]
            assert isinstance(quotes, list)
            quotes.append(line[2:])
    return found


SECTIONS = _sections()


def _meaning_pattern(meaning: str) -> re.Pattern[str]:
    """Adobe's words, ``...`` standing for a value the page fills in."""
    return re.compile(".+?".join(re.escape(part) for part in _blanks(meaning).split("...")))


def test_the_table_has_the_codes_the_brief_names_and_only_well_formed_ones() -> None:
    wanted = {"PGS-220000", "ODB-240000", "ODB-240007", "BAS-010007", "INT-150012", "JST-310027"}
    wanted |= {"JST-310040", "XTK-170024", "TIM-030008"}
    assert wanted <= set(errorcodes.TABLE)
    for code, row in errorcodes.TABLE.items():
        assert row.code == code and errorcodes.CODE.fullmatch(code)
        assert row.restart_helps in ("yes", "no", "unknown")
        assert row.meaning and row.why and row.section
        assert row.level in ("error", "warning", "info")
        assert re.fullmatch(r"[\w./-]+\.md", row.page) and not row.page.startswith("help/")


def test_every_row_has_a_fixture_section_and_every_section_a_row() -> None:
    assert set(SECTIONS) == set(errorcodes.TABLE)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_each_row_says_what_its_fixture_sentences_say(row: errorcodes.ErrorCode) -> None:
    section = SECTIONS[row.code]
    assert section["page"] == f"help/{row.page}"
    assert section["section"] == row.section
    quotes = section["quotes"]
    assert isinstance(quotes, list) and quotes
    text = _blanks(" ".join(quotes))
    assert row.code in text, f"{row.code} is not in its sentences"
    assert _meaning_pattern(row.meaning).search(text), f"{row.meaning!r} is not Adobe's words for {row.code}"


def test_database_and_connection_errors_are_no_reason_to_restart() -> None:
    for row in ROWS:
        if row.database or "connection" in row.why:
            assert row.restart_helps == "no", row.code
    assert {row.code[:3] for row in ROWS if row.database} == {"PGS", "ODB"}


@pytest.mark.skipif(not ADOBE_DOCS.is_dir(), reason="Adobe's markdown is not checked out (ADOBE_DOCS)")
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_each_sentence_is_on_its_page_under_its_heading(row: errorcodes.ErrorCode) -> None:
    page = ADOBE_DOCS / "help" / row.page
    assert page.is_file(), f"help/{row.page} is not in {ADOBE_DOCS}"
    lines = page.read_text(encoding="utf-8").splitlines()
    heading = next(
        (i for i, line in enumerate(lines) if re.match(rf"^#{{1,6}}\s+{re.escape(row.section)}\s*(\{{#.*)?$", line)),
        None,
    )
    assert heading is not None, f"no heading {row.section!r} in help/{row.page}"
    after = _blanks("\n".join(lines[heading:]))
    quotes = SECTIONS[row.code]["quotes"]
    assert isinstance(quotes, list)
    for quote in quotes:
        assert _blanks(quote) in after, f"not under {row.section!r} in help/{row.page}: {quote[:80]!r}"


@pytest.mark.skipif(not ADOBE_DOCS.is_dir(), reason="Adobe's markdown is not checked out (ADOBE_DOCS)")
def test_every_code_a_page_names_is_in_the_table() -> None:
    named = set()
    for page in (ADOBE_DOCS / "help").rglob("*.md"):
        named |= set(errorcodes.find_codes(page.read_text(encoding="utf-8", errors="replace")))
    assert named, "no code found in Adobe's pages: is ADOBE_DOCS the checkout?"
    assert named <= set(errorcodes.TABLE), sorted(named - set(errorcodes.TABLE))


def test_find_codes_in_order_each_once_and_only_codes() -> None:
    line = "IOB-090020 Error in SSL library: 'IOB-090013 error:14090086:SSL routines (code 336134278)' IOB-090020"
    assert errorcodes.find_codes(line) == ["IOB-090020", "IOB-090013"]
    assert errorcodes.find_codes("ISO-8859-1 NEO-29146 xPGS-220000 PGS-2200001 pgs-220000") == []


def test_lookup_names_known_codes_and_never_guesses_unknown_ones() -> None:
    row = errorcodes.lookup(" pgs-220000 ")
    assert row is not None and row.meaning == "PostgreSQL error" and row.restart_helps == "no"
    assert errorcodes.lookup("PGS-220001") is None
    assert errorcodes.describe("PGS-220000") == "PGS-220000 (PostgreSQL error)"
    assert errorcodes.describe("INM-090031") == "INM-090031 (unknown: not in Adobe's documented table)"
    assert errorcodes.restart_helps("INM-090031") == "unknown"


def test_database_families_stay_database_errors_when_the_number_is_unknown() -> None:
    assert errorcodes.is_database_code("PGS-220000") and errorcodes.is_database_code("ODB-240007")
    assert errorcodes.is_database_code("PGS-220042") and errorcodes.restart_helps("ODB-249999") == "no"
    assert errorcodes.lookup("PGS-220042") is None
    assert not errorcodes.is_database_code("BAS-010007") and not errorcodes.is_database_code("INM-090031")


def test_codes_of_a_log_line_in_adobes_layout() -> None:
    line = "2021-05-31T08:42:18.210Z\t66462\t66501\t1\terror\tlog\tBAS-010007 Function not implemented (iRc=-55)"
    entry, codes = errorcodes.in_log_line(line)
    assert entry.level == "error" and entry.code == "BAS-010007"
    assert codes == [("BAS-010007", errorcodes.TABLE["BAS-010007"])]
    _entry, unknown = errorcodes.in_log_line(line.replace("BAS-010007", "XYZ-123456"))
    assert unknown == [("XYZ-123456", None)]
    with pytest.raises(ParseError):
        errorcodes.in_log_line(line.replace("\t", "    "))


# --- the log checks name the codes they count ----------------------------------------------------------

NOW = 1_700_000_000
CTX = Context(Host("prod1", (), {"instance": "prod", "nl6_root": "/nl6"}, "inv.yml:3"))
ARGS = {"file": "{nl6_root}/var/{instance}/log/inMail.log", "window": 3600}
PGS = "PGS-220000 PostgreSQL error: could not connect to server 10.0.0.5:5432: Connection refused (iRc=-2006)"


def _line(seconds_ago: int, level: str, message: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - seconds_ago))
    return f"{stamp}.120Z\t7830\t7831\t1\t{level}\tinMail\t{message}"


def _log(*lines: str) -> str:
    return f"{NOW}\n@@log\n" + "\n".join(lines) + "\n"


def test_a_database_code_is_counted_named_and_said_to_be_no_reason_to_restart() -> None:
    lines = (_line(50, "error", PGS), _line(40, "error", PGS), _line(30, "error", "XYZ-123456 Something (iRc=-1)"))
    module = ACTIONS["log_errors"].judge(ARGS, CTX, _log(*lines), "", 0)
    assert module.failed and "2 database error line(s) left out" in module.message
    assert "codes in the window: PGS-220000 x2 (PostgreSQL error; a module restart cannot help)" in module.message
    assert "XYZ-123456 x1 (unknown: not in Adobe's documented table)" in module.message
    assert module.data["codes"]["PGS-220000"] == {
        "count": 2,
        "meaning": "PostgreSQL error",
        "page": "integrations/using/troubleshooting-the-acs-connector.md",
        "restart_helps": "no",
    }
    assert module.data["codes"]["XYZ-123456"]["restart_helps"] == "unknown"
    database = ACTIONS["log_errors"].judge({**ARGS, "errors": "database"}, CTX, _log(*lines), "", 0)
    assert database.failed and "PGS-220000 x2 (PostgreSQL error" in database.message


def test_an_unknown_number_of_a_database_family_is_a_database_error_without_a_meaning() -> None:
    verdict = ACTIONS["log_errors"].judge(ARGS, CTX, _log(_line(5, "error", "PGS-229999 (iRc=-2006)")), "", 0)
    assert verdict.passed and "1 database error line(s) left out" in verdict.message
    assert "PGS-229999 x1 (unknown: not in Adobe's documented table; a database error)" in verdict.message


def test_codes_are_counted_only_since_the_module_started() -> None:
    args = {**ARGS, "module": "inMail", "errors": "all"}  # BAS-010007: a code a restart cannot fix
    lines = (_line(600, "error", PGS), _line(20, "error", "BAS-010007 Function not implemented (iRc=-55)"))
    out = _log(*lines) + f"@@uptime\n{NOW - 100}.000\n"
    verdict = ACTIONS["log_errors_since_start"].judge(args, CTX, out, "", 0)
    assert (
        verdict.failed and "codes since inMail@prod started: BAS-010007 x1 (Function not implemented" in verdict.message
    )
    assert "PGS-220000" not in verdict.message and set(verdict.data["codes"]) == {"BAS-010007"}
    clean = ACTIONS["log_errors_since_start"].judge(args, CTX, _log(_line(600, "error", PGS)) + "@@uptime\n", "", 0)
    assert "PGS-220000 x1" in clean.message  # not running: every error of the window counts
