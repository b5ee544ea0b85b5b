"""Database actions: a SQL statement through ``psql`` on the host, and the recipient de-duplication.

Owns: the psql command line (connection vars, read-only transactions for read steps, the password in
the environment only), the commands and judges of these actions and their argument specs. Pure: no
I/O; the de-duplication's backup table is named from the run id, so one run builds one text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import IDENT, ArgSpec, Context, Effect, Skip, Verdict, action, render, template_fields

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
    read_only = bool(args.get("_read_only", True))  # set by the planner from the step's declared effect
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
        return Verdict.unsure(f"query failed (exit {rc}): {err.strip()[:300]}")
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    data: dict[str, Any] = {"rows": rows[:50], "row_count": len(rows)}
    expect = str(args.get("expect", "ok"))
    describe = str(args.get("describe", "rows"))
    sample = "; ".join(" ".join(r) for r in rows[:5])
    if expect == "empty":
        if rows:
            return Verdict(False, f"{len(rows)} {describe}: {sample}"[:400], data)
        return Verdict(True, f"no {describe}", data)
    if expect == "nonempty":
        if not rows:
            return Verdict(False, f"no {describe}", data)
        return Verdict(True, f"{len(rows)} {describe}: {sample}"[:400], data)
    if expect == "zero":
        value = rows[0][0] if rows and rows[0] else ""
        if value.strip() not in ("0", ""):
            return Verdict(False, f"{value.strip()} {describe}", data)
        return Verdict(True, f"0 {describe}", data)
    return Verdict(True, f"query ran: {sample}"[:300] if rows else "query ran", data)


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
)


def backup_table(prefix: str, run_id: str) -> str:
    """``<prefix>_<first 12 hex digits of the run id>``, lowercased: one backup table per run."""
    digits = re.sub(r"[^0-9a-f]", "", run_id.lower())[:12] or "norun"
    name = f"{prefix}_{digits}".lower()
    if not IDENT.match(name):
        raise ValueError(f"invalid backup table name {name!r}")
    return name


def _dedup_cmd(args: Mapping[str, Any], ctx: Context) -> str:
    prefix = str(args.get("backup_prefix", "NmsRecipientDedup"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", prefix):
        raise ValueError(f"invalid backup table prefix {prefix!r}")
    # A new table per run, so the restore command brings back exactly this run's rows.
    backup = backup_table(prefix, ctx.run_id)
    key = "lower(trim(sEmail))"
    # One transaction: copy every row that is not the oldest of its email into the backup table,
    # then delete exactly the rows copied. Nothing is deleted that was not backed up.
    sql = (
        "BEGIN; "  # noqa: S608 - only the validated identifier above is put into the SQL text
        f"CREATE TABLE {backup} (LIKE NmsRecipient); "
        "WITH doomed AS (SELECT r.* FROM NmsRecipient r WHERE r.sEmail IS NOT NULL AND r.sEmail <> '' AND "
        f"r.iRecipientId > (SELECT min(k.iRecipientId) FROM NmsRecipient k WHERE {key.replace('sEmail', 'k.sEmail')}"
        f" = {key.replace('sEmail', 'r.sEmail')})), "
        f"saved AS (INSERT INTO {backup} SELECT * FROM doomed RETURNING iRecipientId), "
        "gone AS (DELETE FROM NmsRecipient WHERE iRecipientId IN (SELECT iRecipientId FROM saved) "
        "RETURNING iRecipientId) "
        "SELECT (SELECT count(*) FROM saved), (SELECT count(*) FROM gone), "
        "coalesce((SELECT string_agg(iRecipientId::text, ',' ORDER BY iRecipientId) FROM "
        f"(SELECT iRecipientId FROM gone ORDER BY iRecipientId LIMIT 20) s), ''), '{backup}'; "
        "COMMIT;"
    )
    return f"{psql(ctx, read_only=False)} -c {shlex.quote(sql)}"


def _judge_dedup(args: Mapping[str, Any], ctx: Context, out: str, err: str, rc: int) -> Verdict:
    if rc != 0:
        return Verdict.unsure(f"de-duplication rolled back (exit {rc}): {err.strip()[:300]}")
    rows = [line.split("\t") for line in out.splitlines() if line.count("\t") >= 3]
    if not rows or not rows[-1][0].strip().isdigit() or not IDENT.match(rows[-1][3].strip()):
        return Verdict.unsure(f"cannot read the de-duplication result: {out.strip()[:200]!r}")
    saved, gone, ids, backup = int(rows[-1][0]), int(rows[-1][1]), rows[-1][2].strip(), rows[-1][3].strip()
    restore_sql = f"INSERT INTO NmsRecipient SELECT * FROM {backup}"  # noqa: S608 - checked identifier
    restore = (
        f"psql -h {shlex.quote(str(ctx.var('db_host')))} -p {shlex.quote(str(ctx.var('db_port')))} "
        f"-U {shlex.quote(str(ctx.var('db_user')))} -d {shlex.quote(str(ctx.var('db_name')))} "
        f"-c {shlex.quote(restore_sql)}"
    )
    data = {"backed_up": saved, "deleted": gone, "backup_table": backup, "restore": restore, "sample_ids": ids}
    if saved != gone:
        return Verdict(False, f"backed up {saved} rows but deleted {gone}: check {backup}; restore: {restore}", data)
    return Verdict(
        True,
        f"removed {gone} duplicate recipient(s) (ids {ids}{'...' if gone > 20 else ''}), "
        f"each first copied into table {backup}; restore with: {restore}",
        data,
    )


action(
    "recipient_dedup",
    "in one transaction: copy every NmsRecipient row that is not the oldest of its "
    "email into a new backup table, then delete exactly those rows",
    Effect.DISRUPT,
    build=_dedup_cmd,
    judge=_judge_dedup,
    args=[
        ArgSpec(
            "backup_prefix",
            "str",
            "the backup table's name before _<run id>",
            default="NmsRecipientDedup",
            pattern=r"[A-Za-z_][A-Za-z0-9_]{0,40}",
        )
    ],
)
