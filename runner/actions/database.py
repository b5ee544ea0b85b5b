"""Database actions: a SQL statement through ``psql`` (an opt-in backend), and the recipient de-duplication.

Owns: the psql command line (connection vars, read-only transactions for read steps, the password in
the environment only); the de-duplication through ``nlserver javascript`` (the instance's own
connection: ``sqlGetInt``/``sqlExec``, documented in installation/using/scripting-coding-guidelines.md and
production/using/rdbms-specific-recommendations.md) with SQL that runs on PostgreSQL and Oracle; the
commands and judges of these actions and their argument specs. Pure: no I/O; the de-duplication's
backup table is named from the run id, so one run builds one text.
"""

# ruff: noqa: S608 - SQL here is built only from fixed text, checked identifiers (IDENT) and integers

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, action, render
from runner.outcomes import Reading, Verdict
from runner.templates import template_fields
from runner.wire import sourced

DB_VARS = ("db_host", "db_name", "db_user")
SQL_EXPECT = ("ok", "empty", "nonempty", "zero")


def psql(ctx: Context, *, read_only: bool) -> str:
    """``psql`` for the host's Campaign database: unaligned, tab-separated, stops at the first error."""
    for name in DB_VARS:
        if ctx.host.var(name) is None:
            raise Skip(f"no database access for host {ctx.host.name}: the inventory gives no {name!r}")
    env = ["PGCONNECT_TIMEOUT=5"]
    if read_only:
        env.append("PGOPTIONS='-c default_transaction_read_only=on'")
    password = ctx.host.var("db_password")
    if password is not None:
        env.append(f"PGPASSWORD={shlex.quote(str(password))}")
    return " ".join(
        [
            *env,
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "\"$(printf '\\t')\"",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            shlex.quote(str(ctx.var("db_host"))),
            "-p",
            shlex.quote(str(ctx.var("db_port"))),
            "-U",
            shlex.quote(str(ctx.var("db_user"))),
            "-d",
            shlex.quote(str(ctx.var("db_name"))),
        ]
    )


def _sql_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    read_only = ctx.effect is Effect.READ  # a read step's statement runs in a read-only transaction
    query = str(args["query"])
    if args.get("template"):
        # Only numbers may be put into SQL text; anything else would be an injection vector.
        for name in template_fields(query):
            if not re.fullmatch(r"\d{1,9}", str(ctx.var(name))):
                raise Skip(f"{name} must be a whole number to be used in SQL, got {ctx.var(name)!r}")
        query = render(query, ctx, quote=False)
    return f"{psql(ctx, read_only=read_only)} -c {shlex.quote(query)}"


def _judge_sql(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict(Reading.UNDETERMINED, f"query failed (exit {rc}): {err.strip()[:300]}")
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    data: dict[str, Any] = {"rows": rows[:50], "row_count": len(rows)}
    expect = str(args.get("expect", "ok"))
    describe = str(args.get("describe", "rows"))
    sample = "; ".join(" ".join(r) for r in rows[:5])
    if expect == "empty":
        if rows:
            return Verdict(Reading.FAILED, f"{len(rows)} {describe}: {sample}"[:400], data)
        return Verdict(Reading.PASSED, f"no {describe}", data)
    if expect == "nonempty":
        if not rows:
            return Verdict(Reading.FAILED, f"no {describe}", data)
        return Verdict(Reading.PASSED, f"{len(rows)} {describe}: {sample}"[:400], data)
    if expect == "zero":
        value = rows[0][0] if rows and rows[0] else ""
        if value.strip() not in ("0", ""):
            return Verdict(Reading.FAILED, f"{value.strip()} {describe}", data)
        return Verdict(Reading.PASSED, f"0 {describe}", data)
    return Verdict(Reading.PASSED, f"query ran: {sample}"[:300] if rows else "query ran", data)


def _sql_valid(args: Mapping[str, Any]) -> str | None:
    fields = template_fields(str(args.get("query", "")))
    if fields and not args.get("template"):
        return f"query has {{{fields[0]}}} but template is not true: the field would reach the database as written"
    return None


action(
    "sql",
    "a SQL statement through psql (read steps run in a read-only transaction)",
    Effect.READ,
    build=_sql_cmd,
    judge=_judge_sql,
    args=[
        ArgSpec("query", "template", "the SQL statement", required=True),
        ArgSpec("expect", "enum", "what passes: ok (it ran), empty, nonempty, zero", default="ok", choices=SQL_EXPECT),
        ArgSpec("describe", "str", "what a row is, for the message", default="rows"),
        ArgSpec("template", "bool", "fill {var} fields of the query (whole numbers only)", default=False),
    ],
    validate=_sql_valid,
    pages=("production/using/rdbms-specific-recommendations.md",),
)


def backup_table(prefix: str, run_id: str) -> str:
    """``<prefix>_<first 12 hex digits of the run id>``, lowercased: one backup table per run."""
    digits = re.sub(r"[^0-9a-f]", "", run_id.lower())[:12] or "norun"
    name = f"{prefix}_{digits}".lower()
    if not IDENT.match(name):
        raise ValueError(f"invalid backup table name {name!r}")
    return name


# --- recipient de-duplication through nlserver javascript --------------------------------------

DEDUP = "@@dedup"
# Tables whose rows point at a recipient by its iRecipientId (configuration/using/data-model-description.md):
# delivery logs, tracking logs, subscriptions and their history (NmsSubHisto), and static group
# memberships (NmsRcpGrpRel, the relation table of iRecipientId and iGroupId). While one of them points at
# a row to delete, the deletion is refused: deleting would leave them pointing at nothing, and Adobe's
# documented way to fold two profiles into one is the merge (platform/using/updating-data.md).
REFERENCING = (
    ("nms:broadLogRcp", "NmsBroadLogRcp", "delivery logs"),
    ("nms:trackingLogRcp", "NmsTrackingLogRcp", "tracking logs"),
    ("nms:subscription", "NmsSubscription", "subscriptions"),
    ("nms:subHisto", "NmsSubHisto", "subscription history rows"),
    ("NmsRcpGrpRel", "NmsRcpGrpRel", "group memberships"),
)
MERGE_HINT = (
    "merge each of these profiles into the one kept with Adobe's merge (select both in the recipient list, "
    'Merge selected lines..., platform/using/updating-data.md "Merge data"), then run again'
)
# how far back a recipient counts as the import's (its @created / tsCreated): ANSI INTERVAL 'n' DAY, which
# PostgreSQL and Oracle both read; Oracle's default precision holds two digits, so at most 64 days
WINDOW_VAR = "import_window_days"


def _ids(verdict: Verdict | None, source: str) -> list[tuple[int, str]]:
    if verdict is None:
        raise Skip(f"check {source!r} has no result to take the folders from")
    out = []
    for row in verdict.data.get("rows", []):
        if len(row) < 2 or not row[0].strip().isdigit() or not IDENT.match(row[1].strip()):
            raise Skip(f"check {source!r} gave {row!r}, not a folder id and name: nothing deleted")
        out.append((int(row[0]), row[1].strip()))
    return out


def dedup_scope(args: Mapping[str, Any], ctx: Context) -> tuple[list[int], list[str]]:
    """The folder ids deletion is limited to (those ``dedup_folders`` names), or Skip with the reason."""
    names = ctx.host.var("dedup_folders")
    if not names:
        raise Skip(
            f"deleting duplicates is limited to the folders named by dedup_folders, and the inventory names "
            f"none for host {ctx.host.name}: nothing deleted (the checks above report every duplicate)"
        )
    wanted = [str(n) for n in names]
    if not all(IDENT.match(n) for n in wanted):
        raise ValueError(f"dedup_folders holds a name that is not an internal name: {wanted!r}")
    source = str(args["folders_from"])
    found = _ids(ctx.earlier.get(source), source)
    known = {name for _id, name in found}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise Skip(f"dedup_folders names {', '.join(unknown)}, not a folder of this instance: nothing deleted")
    dupes_from = args.get("duplicates_from")
    if dupes_from is not None:
        verdict = ctx.earlier.get(str(dupes_from))
        if verdict is not None and verdict.clear:
            raise Skip(f"no email is duplicated within {', '.join(wanted)}: nothing to delete there")
    return sorted({i for i, name in found if name in wanted}), wanted


def _doomed(folder_ids: list[int], window_days: int | None = None) -> str:
    """Rows of those folders whose email (case and spaces ignored) an older row of those folders holds;
    with ``window_days``, both rows created within that many days (what one import and its re-run made)."""
    scope = ", ".join(str(i) for i in folder_ids)
    recent = ""
    if window_days is not None:
        if not 1 <= int(window_days) <= 64:
            raise ValueError(f"{WINDOW_VAR} must be 1 to 64 days, got {window_days!r}")
        recent = f" AND {{t}}.tsCreated > CURRENT_TIMESTAMP - INTERVAL '{int(window_days)}' DAY"
    # LENGTH(TRIM(...)) > 0 also leaves out NULL and empty emails on Oracle, where '' is NULL.
    return (
        f"r.iFolderId IN ({scope}){recent.format(t='r')} AND LENGTH(TRIM(r.sEmail)) > 0 AND r.iRecipientId > "
        f"(SELECT MIN(k.iRecipientId) FROM NmsRecipient k WHERE k.iFolderId IN ({scope}){recent.format(t='k')} "
        "AND LOWER(TRIM(k.sEmail)) = LOWER(TRIM(r.sEmail)))"
    )


def dedup_scripts(folder_ids: list[int], backup: str, window_days: int | None = None) -> tuple[str, str]:
    """(count script, delete script): plain, portable SQL (PostgreSQL and Oracle) in sqlGetInt/sqlExec.

    The first counts the rows to delete and the rows of other tables pointing at them. The second
    copies the rows to delete into ``backup`` (CREATE TABLE ... AS SELECT), then deletes only rows that
    are in the backup and that nothing points at (a row pointed at meanwhile is kept), and counts what
    is left of the backup in NmsRecipient. Each statement is one SQL statement; an error stops the script.
    With ``window_days`` only recipients created within that many days count (the check's window).
    """
    if not IDENT.match(backup) or not folder_ids:
        raise ValueError(f"invalid backup table {backup!r} or empty folder list")
    doomed = _doomed(folder_ids, window_days)
    ids = f"SELECT r.iRecipientId FROM NmsRecipient r WHERE {doomed}"
    count = [f'logInfo("{DEDUP} rows " + sqlGetInt("SELECT COUNT(*) FROM NmsRecipient r WHERE {doomed}"));']
    for schema, table, _words in REFERENCING:
        count.append(
            f'logInfo("{DEDUP} ref {schema} " + sqlGetInt("SELECT COUNT(*) FROM {table} x '
            f'WHERE x.iRecipientId IN ({ids})"));'
        )
    unreferenced = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.iRecipientId = NmsRecipient.iRecipientId)"
        for _s, table, _w in REFERENCING
    )
    delete = [
        f'sqlExec("CREATE TABLE {backup} AS SELECT r.* FROM NmsRecipient r WHERE {doomed}");',
        f'logInfo("{DEDUP} backed_up " + sqlGetInt("SELECT COUNT(*) FROM {backup}"));',
        f'sqlExec("DELETE FROM NmsRecipient WHERE iRecipientId IN (SELECT b.iRecipientId FROM {backup} b) '
        f'AND {unreferenced}");',
        f'logInfo("{DEDUP} left " + sqlGetInt("SELECT COUNT(*) FROM NmsRecipient n '
        f'WHERE n.iRecipientId IN (SELECT b.iRecipientId FROM {backup} b)"));',
    ]
    return "\n".join(count), "\n".join(delete)


def restore_command(backup: str, ctx: Context) -> str:
    """The command that puts the backed-up rows back (those not in NmsRecipient again), on the host."""
    sql = (
        f"INSERT INTO NmsRecipient SELECT b.* FROM {backup} b WHERE NOT EXISTS "
        "(SELECT 1 FROM NmsRecipient n WHERE n.iRecipientId = b.iRecipientId)"
    )
    script = f'sqlExec("{sql}"); logInfo("{DEDUP} restored " + sqlGetInt("SELECT COUNT(*) FROM {backup}"));'
    return sourced(
        f"f=$(mktemp) && printf '%s\\n' {shlex.quote(script)} > \"$f\" && "
        f'{ctx.nlserver} javascript -instance:{shlex.quote(str(ctx.var("instance")))} -file "$f"; rm -f "$f"',
        ctx.host.var("nlserver_env"),
    )


def _dedup_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    prefix = str(args.get("backup_prefix", "NmsRecipientDedup"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", prefix):
        raise ValueError(f"invalid backup table prefix {prefix!r}")
    folder_ids, _names = dedup_scope(args, ctx)
    # A new table per run, so the restore command brings back exactly this run's rows.
    backup = backup_table(prefix, ctx.run_id)
    count, delete = dedup_scripts(folder_ids, backup, int(ctx.var(WINDOW_VAR)))
    js = f'{ctx.nlserver} javascript -instance:{shlex.quote(str(ctx.var("instance")))} -file "$f"'
    # Two calls: the second (backup, delete) runs only when the first found rows to delete and no
    # other table pointing at them. The shell decides, so no JavaScript control flow is needed.
    return (
        'f=$(mktemp) && o=$(mktemp) || exit 97; trap \'rm -f "$f" "$o"\' EXIT; '
        f'printf \'%s\\n\' {shlex.quote(count)} > "$f"; {js} > "$o" 2>&1; rc=$?; cat "$o"; '
        "[ $rc -eq 0 ] || exit $rc; "
        f"grep -Eq '{DEDUP} rows [0-9]+$' \"$o\" || exit 3; "
        f"if grep -Eq '{DEDUP} ref [^ ]+ [1-9][0-9]*$' \"$o\"; then echo '{DEDUP} refused'; exit 2; fi; "
        f"if grep -Eq '{DEDUP} rows 0$' \"$o\"; then echo '{DEDUP} nothing'; exit 0; fi; "
        f"printf '%s\\n' {shlex.quote(delete)} > \"$f\"; {js}"
    )


def _marks(out: str) -> dict[str, int]:
    """``@@dedup <what> [<schema>] <n>`` lines as {what or schema: n}; flags (refused, nothing) as 1."""
    found: dict[str, int] = {}
    for line in out.splitlines():
        at = line.find(DEDUP + " ")
        if at < 0:
            continue
        words = line[at + len(DEDUP) + 1 :].split()
        if len(words) == 1:
            found[words[0]] = 1
        elif len(words) == 2 and words[1].isdigit():
            found[words[0]] = int(words[1])
        elif len(words) == 3 and words[0] == "ref" and words[2].isdigit():
            found[words[1]] = int(words[2])
    return found


def _judge_dedup(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    found = _marks(out)
    names = ", ".join(str(n) for n in ctx.host.var("dedup_folders") or [])
    rows = found.get("rows")
    refs = {schema: found.get(schema, 0) for schema, _t, _w in REFERENCING}
    data: dict[str, Any] = {"rows": rows, "references": refs, "folders": names}
    if found.get("refused") and rc == 2:
        pointing = ", ".join(
            f"{n} {words} ({schema})" for (schema, _t, words), n in zip(REFERENCING, refs.values(), strict=True) if n
        )
        return Verdict(
            Reading.FAILED,
            f"refused: {pointing} still point at the {rows} duplicate recipient(s) to delete in {names}; "
            f"nothing deleted, no table created; {MERGE_HINT}",
            data,
        )
    if found.get("nothing") and rc == 0:
        return Verdict(Reading.PASSED, f"no duplicate recipient to delete in {names}", data)
    if rc != 0 or rows is None:
        tail = (err.strip() or out.strip()).splitlines()[-2:]
        return Verdict(
            Reading.UNDETERMINED, f"de-duplication did not finish (exit {rc}): {' / '.join(tail)[:300]}", data
        )
    if "backed_up" not in found or "left" not in found:
        return Verdict(Reading.UNDETERMINED, f"cannot read the de-duplication result: {out.strip()[-200:]!r}", data)
    backup = backup_table(str(args.get("backup_prefix", "NmsRecipientDedup")), ctx.run_id)
    saved, left = found["backed_up"], found["left"]
    restore = restore_command(backup, ctx)
    data.update({"backed_up": saved, "deleted": saved - left, "kept": left, "backup_table": backup, "restore": restore})
    kept = f"; {left} row(s) were pointed at meanwhile and are kept" if left else ""
    return Verdict(
        Reading.PASSED,
        f"removed {saved - left} duplicate recipient(s) in {names}, each first copied into table {backup} (kept)"
        f"{kept}; restore with: {restore}",
        data,
    )


action(
    "recipient_dedup",
    "through nlserver javascript (sqlGetInt/sqlExec, portable SQL): in the folders dedup_folders names, among "
    "the recipients created within import_window_days, copy every one that is not the oldest of its email into "
    "a new backup table, then delete exactly those rows; refused while delivery logs, tracking logs, "
    "subscriptions, their history or group memberships point at them",
    Effect.DISRUPT,
    build=_dedup_cmd,
    judge=_judge_dedup,
    args=[
        ArgSpec(
            "folders_from", "check", "the query check on xtk:folder giving @id, @name of dedup_folders", required=True
        ),
        ArgSpec("duplicates_from", "check", "the check of duplicates within dedup_folders (passed: nothing to do)"),
        ArgSpec(
            "backup_prefix",
            "str",
            "the backup table's name before _<run id>",
            default="NmsRecipientDedup",
            pattern=r"[A-Za-z_][A-Za-z0-9_]{0,40}",
        ),
    ],
    pages=("configuration/using/data-model-description.md", "platform/using/updating-data.md"),
)
