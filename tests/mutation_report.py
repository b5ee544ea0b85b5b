"""docs/mutation.md from the results `mutmut run` left in mutants/ (``make mutation``).

Reads mutmut's own record of each mutant (mutants/<file>.meta) and the change each surviving mutant makes,
and writes the score per module and every survivor with the reason it survives: a judgement kept in
``REASONS`` below (an equivalent mutant: no test can tell it from the code; or a known gap), matched by
the mutant's name. A survivor no reason matches is listed as "not judged" and counted apart: a new gap
to look at. The part between the summary markers is what docs/reliability.md shows
(tests/reliability/figures.py reads it when it renders that document, and this script puts it there in
place, between the same markers).

After `mutmut run`: ``.venv/bin/python tests/mutation_report.py [--output FILE]``.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mutation.md"
RELIABILITY = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- mutation summary: begin -->", "<!-- mutation summary: end -->"
MODULES = (
    "runner/campaign_formats.py",
    "runner/redact.py",
    "runner/audit.py",
    "runner/actions/modules.py",
    "runner/actions/querydef.py",
)
KILLED = {"killed", "timeout", "caught by type check", "segfault"}

# Why each surviving mutant survives, by a glob on its name (the first match wins). "Equivalent": the
# mutated code behaves as the original for every input the program can give it. "Not reachable": no
# input reaches the mutated code. "Gap": a difference the tests do not show.
SHARED = (
    "equivalent: the shared element (dataStore) carries no autoStart or _autoStart "
    "(the-server-configuration-file.md), and ElementTree drops comments, so reading it as a module adds nothing"
)
DISPLAY_DEFAULT = (
    "equivalent: the 'label: display' text is built only for a current whose display is non-empty, so the "
    "default for a missing display is never used there"
)
END_CACHE = (
    "equivalent in outcome: the file size after our last write only spares the next emit a read of the "
    "chain's end; a wrong one makes it read it, and it finds our own last hash"
)
SHORT_ERRNO = "equivalent: the errno of the short-write error is never read, only its text reaches the AuditError"
CACHE_FIRST_USE = (
    "equivalent: structlog's lazy proxy is bound once, in __init__, and never used again (bind() rebinds the "
    "bound logger it returned), so caching its first use changes no record"
)
CODEC_CASE = "equivalent: Python's codec names are case-insensitive ('ASCII' is 'ascii', 'LATIN-1' is 'latin-1')"
REASONS: dict[str, str] = {
    "runner.campaign_formats.x__excerpt__mutmut_8": CODEC_CASE,
    "runner.campaign_formats.x__excerpt__mutmut_12": CODEC_CASE,
    "runner.campaign_formats.x_is_redir_line__mutmut_6": CODEC_CASE,
    "runner.campaign_formats.x__local__mutmut_[457]": (
        "equivalent: an ElementTree tag holds at most one '}' ('{uri}local'), so rsplit with any count, or "
        "split once, leaves the same last part"
    ),
    "runner.campaign_formats.x_parse_instance_config__mutmut_1[69]": SHARED,
    "runner.campaign_formats.x_parse_instance_config__mutmut_20": SHARED,
    "runner.campaign_formats.x_parse_monitor__mutmut_59": DISPLAY_DEFAULT,
    "runner.campaign_formats.x_parse_monitor__mutmut_6[14]": DISPLAY_DEFAULT,
    "runner.audit.xǁ_FileSinkǁmsg__mutmut_6": CODEC_CASE,
    "runner.audit.xǁ_FileSinkǁlast_hash__mutmut_4": (
        "equivalent: the first window's size (4096 or 4097 bytes) changes how much is read, not what is found"
    ),
    "runner.audit.xǁ_FileSinkǁlast_hash__mutmut_22": (
        "equivalent: pread asked for more than the file holds returns what it holds (the same tail)"
    ),
    "runner.audit.xǁ_FileSinkǁlast_hash__mutmut_23": (
        "equivalent: an empty file's 'tail' is then b'XXXX', which is not JSON and is passed over (GENESIS)"
    ),
    "runner.audit.xǁ_FileSinkǁlast_hash__mutmut_27": (
        "equivalent: the cut first line of a window is never a JSON object (a canonical record ends with the "
        "'}' of the '{' it starts with; a cut one lacks that '{' or ends in extra data), so keeping it "
        "finds nothing more"
    ),
    "runner.audit.xǁ_FileSinkǁmsg__mutmut_7": (
        "equivalent: size stays unset only if fstat of the descriptor emit has just locked fails, which it "
        "cannot (a closed descriptor fails at the lock first)"
    ),
    "runner.audit.xǁ_FileSinkǁmsg__mutmut_2[45]": END_CACHE,
    "runner.audit.xǁAuditLogǁemit__mutmut_20": END_CACHE,
    "runner.audit.x_canonical__mutmut_4": "equivalent: ensure_ascii None is false, as False",
    "runner.audit.x_line_hash__mutmut_9": CODEC_CASE,
    "runner.audit.xǁ_FileSinkǁ__init____mutmut_[234]": (
        "equivalent: the sink's written_to is read (by emit) only after a write set it"
    ),
    "runner.audit.xǁ_FileSinkǁmsg__mutmut_16": SHORT_ERRNO,
    "runner.audit.xǁ_FileSinkǁmsg__mutmut_20": SHORT_ERRNO,
    "runner.audit.xǁAuditLogǁ__init____mutmut_14": (
        "equivalent: the first emit always reads the chain's end from the file (the end cache starts at -1), "
        "which replaces this first value of prev"
    ),
    "runner.audit.xǁAuditLogǁ__init____mutmut_1[567]": (
        "equivalent: -1, -2 and None are no file size, so the first emit reads the chain's end; +1 is the "
        "size of a one-byte file, which holds no record: reading it would give GENESIS, the value prev has"
    ),
    "runner.audit.xǁAuditLogǁ__init____mutmut_2[58]": CACHE_FIRST_USE,
    "runner.audit.xǁAuditLogǁ__init____mutmut_30": CACHE_FIRST_USE,
    "runner.audit.x__redacting__mutmut_6": "equivalent: emit always passes prev, so pop needs no default",
    "runner.audit.x_syslog_listener__mutmut_24": "equivalent: propagate None is false, as False",
    "runner.audit.x_syslog_listener__mutmut_3": (
        "gap, not killed: it differs only for an IPv6 host:port target ('::1:514'); the tests use loopback "
        "addresses of 127.0.0.0/8 only"
    ),
    "runner.actions.modules.x__pdump_cmd__mutmut_[89]": (
        "equivalent: the watchdog runs once per host, so naming it with ctx.process never skips (the call "
        "is only there to skip early when a per-instance module has no instance)"
    ),
    "runner.actions.modules.x__var_dir__mutmut_[567]": (
        "not reachable: var_dir defaults to {nl6_root}/var in the host-var table and nl6_root has a default "
        "too, so ctx.var('var_dir') never skips and this fallback never runs"
    ),
    "runner.actions.querydef.x_fragment__mutmut_112": CODEC_CASE,
    "runner.actions.querydef.x_rows_of__mutmut_2": "equivalent: None is false, as False, for began and ended",
    "runner.actions.querydef.x_rows_of__mutmut_1[02]": (
        "equivalent: the console prefix expression is anchored at the line's start (no MULTILINE), so it "
        "matches once at most whatever the count"
    ),
    "runner.actions.querydef.x_rows_of__mutmut_34": (
        "equivalent: for a bare 'row', rest[4:] is '' and ''.split('\\t') is [''], what the other branch gives"
    ),
    "runner.actions.querydef.x_rows_of__mutmut_51": (
        "equivalent: the fragment always writes 'error ' then the message, so cutting one more character "
        "(the space) gives the same message once stripped"
    ),
    "runner.actions.querydef.x__judge_query__mutmut_4[2478]": (
        "equivalent: an expect other than 'empty' and 'nonempty' reads as 'ok' (and the argument spec admits "
        "only those three), so what the default is changes nothing"
    ),
    "runner.actions.querydef.x__judge_query__mutmut_7[78]": (
        "equivalent: with no rows, expect 'empty' falling through to the last return gives the same passed "
        "'no ...' verdict with the same data"
    ),
    "runner.actions.querydef.x__element__mutmut_[457]": (
        "equivalent: a schema matches SCHEMA, with exactly one ':', so split on every ':', rsplit, or split "
        "twice give the same second part"
    ),
}


def _meta() -> dict[str, dict[str, int | None]]:
    """{module path: {mutant name: mutmut's exit code}} as mutmut recorded them."""
    from mutmut.mutation.data import SourceFileMutationData

    out: dict[str, dict[str, int | None]] = {}
    for path in MODULES:
        data = SourceFileMutationData(path=path)
        data.load()
        out[path] = dict(data.exit_code_by_key)
    return out


def _change(name: str, path: str) -> tuple[list[str], list[str]]:
    """The lines a mutant removes and adds."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(name, path=path).splitlines()
    removed = [line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def reason(name: str) -> str | None:
    return next((why for pattern, why in REASONS.items() if fnmatch.fnmatchcase(name, pattern)), None)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def _short(name: str) -> str:
    """``runner.audit.xǁAuditLogǁemit__mutmut_3`` -> ``AuditLog.emit#3``."""
    qual, _sep, number = name.rpartition("__mutmut_")
    function = qual.rsplit(".", 1)[-1].removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")
    return f"{function}#{number}"


def render() -> str:
    from mutmut.stats import status_by_exit_code

    meta = _meta()
    head = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", *MODULES)
    rows, survivors = [], []
    totals: Counter[str] = Counter()
    for path, codes in meta.items():
        statuses = Counter(status_by_exit_code[code] for code in codes.values())
        killed = sum(n for s, n in statuses.items() if s in KILLED)
        totals.update(statuses)
        totals["_killed"] += killed
        rows.append(
            f"| `{path}` | {len(codes)} | {killed} | {statuses['survived']} | {statuses['no tests']} "
            f"| {statuses['timeout']} | {100 * killed / len(codes):.1f} % |"
            if codes
            else f"| `{path}` | 0 | | | | | |"
        )
        for name, code in codes.items():
            if status_by_exit_code[code] in {"survived", "no tests"}:
                survivors.append((path, name, status_by_exit_code[code]))
    total = sum(len(c) for c in meta.values())
    if not total:
        raise SystemExit("no mutmut results in mutants/: run `make mutation`")
    killed = totals["_killed"]
    unjudged = [name for _p, name, _s in survivors if reason(name) is None]
    judged = len(survivors) - len(unjudged)
    by_reason: dict[str, list[str]] = defaultdict(list)
    for _path, name, status in survivors:
        label = reason(name) or "**not judged yet** (a gap the unit tests may have)"
        by_reason[label].append(_short(name) + (" (no test runs it)" if status == "no tests" else ""))
    groups = "\n".join(
        f"- {why}: {len(names)} — {', '.join(f'`{n}`' for n in names)}" for why, names in by_reason.items()
    )
    details = []
    for path, name, status in survivors:
        removed, added = _change(name, path)
        change = " / ".join(f"`- {line}`" for line in removed) + " → " + " / ".join(f"`+ {line}`" for line in added)
        details.append(f"- `{name}` ({status}): {change}  \n  {reason(name) or '**not judged yet**'}")
    where = f"commit {head[:12]}" + (f", with uncommitted changes in: {dirty.replace(chr(10), '; ')}" if dirty else "")
    run_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = [pattern for pattern in REASONS if not any(fnmatch.fnmatchcase(n, pattern) for _p, n, _s in survivors)]
    return f"""# Mutation testing

`make mutation` runs [mutmut](https://pypi.org/project/mutmut/) {version("mutmut")} over the five modules
below (settings: `[mutmut]` in `setup.cfg`), one mutant at a time (`--max-children 1`, under `nice`), each
against the unit tests of `tests/unit/` that import or exercise these modules (mutmut runs, for each
mutant, only those of them that call the mutated function). Its working copy is the untracked `mutants/`;
`make test` never runs it. Then `tests/mutation_report.py` writes this file from mutmut's results. A
mutant is killed when a test fails with it (or it times out); the score is killed / mutants.

{BEGIN}
Run: {run_at}, {where}, mutmut {version("mutmut")}, Python {sys.version.split()[0]}.

**Score: {killed} of {total} mutants killed ({100 * killed / total:.1f} %).** {len(survivors)} survived:
{judged} judged (each with its reason below), {len(unjudged)} not judged yet.

| module | mutants | killed | survived | no test runs it | timeout | killed % |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Survivors, by reason (`function#n` is mutmut's mutant `runner.<module>.x_<function>__mutmut_<n>`; the
change each one makes is in [docs/mutation.md](mutation.md)):

{groups or "none"}
{END}

## Every survivor and the change it makes

{chr(10).join(details) or "none"}
""" + (f"\nReasons matching no survivor any more (to remove): {', '.join(f'`{p}`' for p in stale)}\n" if stale else "")


def summary(text: str) -> str:
    """The part of docs/mutation.md that docs/reliability.md shows."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOC}: no summary between {BEGIN} and {END}")
    return text[start + len(BEGIN) : end].strip()


def update_reliability(text: str, path: Path = RELIABILITY) -> bool:
    """Put ``text``'s summary between the markers of docs/reliability.md (where its renderer put them);
    False when that document has no markers (a reliability run older than this section)."""
    doc = path.read_text(encoding="utf-8")
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        return False
    path.write_text(doc[: start + len(BEGIN)] + "\n" + summary(text) + "\n" + doc[end:], encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args()
    os.chdir(ROOT)  # mutmut reads setup.cfg and mutants/ from the working directory
    text = render()
    args.output.write_text(text, encoding="utf-8")
    if args.output == DOC and not update_reliability(text):
        print(f"{RELIABILITY}: no mutation summary markers; `make reliability-figures` adds them", file=sys.stderr)
    print(summary(text).split("\n\n", 2)[1].replace("**", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
