"""Adobe's documented message codes (``PGS-220000``, ``BAS-010007``, ...): what each means, where Adobe says
so, and whether a restart of a module can answer it.

Owns: the table of every code an Adobe page names with an explanation (``TABLE``), finding codes in a text
or a module log line (``find_codes``, ``in_log_line``) and naming them (``lookup``, ``describe``). A code
that is not in the table is *unknown*: its meaning is never guessed. The sentences each row relies on are
in ``tests/fixtures/adobe/error-codes.md``, naming their pages; ``docs/fidelity.md`` has the row. Pure: no
I/O. Must not: import a runner layer (actions, playbook, ...); only :mod:`runner.campaign_formats`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from runner.campaign_formats import LogLine, parse_log_line

RestartHelps = Literal["yes", "no", "unknown"]

# A message code as Adobe's pages print it: three capitals, a dash, six digits (``ODB-240000``).
CODE = re.compile(r"\b([A-Z]{3}-\d{6})\b")


@dataclass(frozen=True)
class ErrorCode:
    """One code Adobe documents. ``meaning`` is Adobe's words (``...`` stands for a value the page fills
    in); ``page`` a path under ``help/``, ``section`` the heading it sits under; ``why`` what the page says
    that decides ``restart_helps``; ``database``: a database or data source error (no module restart fixes
    one); ``level``: the level Adobe shows it at."""

    code: str
    meaning: str
    modules: tuple[str, ...]
    page: str
    section: str
    restart_helps: RestartHelps
    why: str
    database: bool = False
    level: str = "error"


_LEGACY_OAUTH = (
    "pipelined's authentication is configured with the legacy Omniture base OAuth: the page's fix is to upgrade "
    "the authentication (Adobe I/O)"
)
_PIPELINE_PAGE = "integrations/using/pipeline-troubleshooting.md"

_ROWS = (
    ErrorCode(
        "PGS-220000",
        "PostgreSQL error",
        ("wfserver",),
        "integrations/using/troubleshooting-the-acs-connector.md",
        "Troubleshoot the ACS Connector",
        "no",
        "a database error: the [ACS] Profile delivery log replication workflow fails on a duplicate key; the "
        "page's fix is a change to the workflow's Update tracking URLs activity",
        database=True,
    ),
    ErrorCode(
        "ODB-240000",
        "ODBC error",
        (),
        "installation/using/configure-fda-teradata.md",
        "External account troubleshooting",
        "no",
        "a data source error (Data source name not found and no default driver specified): the page's fix is "
        "the ODBC driver's name (ODBCDriverName in the external account's options)",
        database=True,
    ),
    ErrorCode(
        "ODB-240007",
        "Teradata: will use '...' as session time zone",
        (),
        "installation/using/configure-fda-teradata.md",
        "Time zone",
        "no",
        "an information message (nlserver -verbose), not an error; a wrong zone is set with the TimeZoneName "
        "option of the external account",
        database=True,
        level="info",
    ),
    ErrorCode(
        "TIM-030008",
        "Date '...': missing character(s)",
        (),
        "installation/using/configure-fda-teradata.md",
        "External account troubleshooting",
        "no",
        "a connection error when testing the external account: the page's fix is installing the ODBC driver "
        "and setting LD_LIBRARY_PATH (Linux) / PATH (Windows) for the Campaign server",
    ),
    *(
        ErrorCode(code, meaning, ("pipelined",), _PIPELINE_PAGE, "Pipeline troubleshooting", "no", _LEGACY_OAUTH)
        for code, meaning in (
            ("BAS-010007", "Function not implemented"),
            ("INT-150012", "The HTTP query returned a 'Forbidden' type error (403)"),
        )
    ),
    ErrorCode(
        "JST-310027",
        "all URLs ... allowlist are allowed, but the JS interpreter emits a warning",
        (),
        "installation/using/url-permissions.md",
        "Configure URL permissions (on-premise)",
        "no",
        "a warning of the urlPermission Warning mode (serverConf.xml): the URL is to be added to the allowlist",
        level="warning",
    ),
    ErrorCode(
        "JST-310040",
        "You can ignore all warnings and errors with the JST-310040 code",
        (),
        "migration/using/testing-the-migration.md",
        "Verification process",
        "no",
        "a message of the migration's verification (config -postupgrade -check) that the page says to ignore",
    ),
    ErrorCode(
        "XTK-170024",
        "The temporary '...' schema is not defined in the current context",
        (),
        "rn/using/release-2021.md",
        "Release 21.1.3 - Build 9330",
        "no",
        "a delivery preview failure the release note lists as fixed in build 9330 (NEO-29440): a build upgrade "
        "fixes it",
    ),
    ErrorCode(
        "IOB-090020",
        "Error in SSL library",
        ("wfserver",),
        "rn/using/release-2021.md",
        "Release 21.1.3 - Build 9330",
        "no",
        "a workflow's Javascript activity HTTP request with a port in the host name failed; the release note "
        "lists it as fixed in build 9330 (NEO-29146): a build upgrade fixes it",
    ),
    ErrorCode(
        "IOB-090013",
        "certificate verify failed",
        ("wfserver",),
        "rn/using/release-2021.md",
        "Release 21.1.3 - Build 9330",
        "no",
        "the SSL detail inside IOB-090020 (certificate verify failed); the release note lists it as fixed in "
        "build 9330 (NEO-29146): a build upgrade fixes it",
    ),
)

TABLE: dict[str, ErrorCode] = {row.code: row for row in _ROWS}
# The families of the table's database codes (``PGS``, ``ODB``): a code of one is a database error even
# when its number is not in the table (its meaning stays unknown).
DATABASE_FAMILIES = frozenset(row.code[:3] for row in _ROWS if row.database)
UNKNOWN = "unknown: not in Adobe's documented table"


def lookup(code: str) -> ErrorCode | None:
    """The table's row for ``code`` (any case, surrounding blanks ignored); ``None`` when it is unknown."""
    return TABLE.get(code.strip().upper())


def find_codes(text: str) -> list[str]:
    """Every message code in ``text``, in order of appearance, each once (``IOB-090020 ... 'IOB-090013 ...'``
    gives both)."""
    return list(dict.fromkeys(CODE.findall(text)))


def is_database_code(code: str) -> bool:
    """A database error code: a database row of the table, or a code of one of their families."""
    row = lookup(code)
    return row.database if row is not None else code.strip().upper()[:3] in DATABASE_FAMILIES


def restart_helps(code: str) -> RestartHelps:
    """``yes``/``no``/``unknown`` for ``code``; an unknown code is ``unknown``, a database family's ``no``."""
    row = lookup(code)
    if row is not None:
        return row.restart_helps
    return "no" if is_database_code(code) else "unknown"


def describe(code: str) -> str:
    """``PGS-220000 (PostgreSQL error)``, ``XYZ-123456 (unknown: not in Adobe's documented table)``."""
    row = lookup(code)
    return f"{code} ({row.meaning if row is not None else UNKNOWN})"


def in_log_line(line: str) -> tuple[LogLine, list[tuple[str, ErrorCode | None]]]:
    """A module log line in Adobe's layout, and the codes its message names with their rows (``None``:
    unknown). A line not in the layout is a :class:`runner.campaign_formats.ParseError`."""
    entry = parse_log_line(line)
    return entry, [(code, lookup(code)) for code in find_codes(entry.message)]
