"""Tracking consolidation: redir log lines into NmsTrackingLogRcp, outcome on the Tracking workflow and in
the option NmsTracking_LastConsolidation.

Owns: what `nlserver tracking` and the wfserver's tracking run do. Must not: skip a corrupted line
silently (it stops the run and names `file:line`, as Campaign's tracking does).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re

from .common import var_dir
from .db import Queryable, lit
from .formats import REDIR_GLOB, is_redir_line


class TrackingError(Exception):
    """A redir log line could not be parsed (message names file:line)."""


def redir_dir() -> str:
    return var_dir("redir", "log")


_TS = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?")


def _hex(value: bytes) -> int | None:
    number = int(value, 16) if value else None
    return number if number is not None and number < 2**31 else None


def _log_id(text: bytes) -> int:
    """The line id's digits after "x" as a bigint (hashed when they are not hex or do not fit)."""
    with contextlib.suppress(ValueError):
        if (number := int(text, 16)) < 2**63:
            return number
    return int(hashlib.sha1(text).hexdigest()[:15], 16)


def consolidate(db: Queryable) -> tuple[int, int]:
    """(files read, rows inserted) after loading every redir log line not yet in the database.

    A line that does not match Adobe's expression stops the run, naming `file:line`; a well-formed line
    without a log id (Adobe's expression allows every field empty) carries nothing to load and is skipped.
    """
    files = sorted(glob.glob(os.path.join(redir_dir(), REDIR_GLOB)))
    rows = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for n, raw in enumerate(data.split(b"\n"), 1):
            if not raw:
                continue
            if not is_redir_line(raw):
                shown = raw[:60].decode("latin-1").encode("unicode_escape").decode("ascii")
                raise TrackingError(f"TRK-110004 Invalid tracking log line at {path}:{n}: '{shown}'")
            p = raw.split(b"\t")
            if len(p[0]) <= 3:
                continue
            ts = p[1].decode() if _TS.fullmatch(p[1]) else None
            ids = [_hex(p[k]) for k in (2, 3, 4)]
            rows.append(
                f"({_log_id(p[0][3:])},{lit(ids[0])},{lit(ids[1])},{lit(ids[2])},{lit(ts)},{lit(p[0].decode())})"
            )
    inserted = 0
    for i in range(0, len(rows), 500):
        r = db.query(
            "WITH ins AS (INSERT INTO NmsTrackingLogRcp (iTrackingLogId, iDeliveryId, iRecipientId, iUrlId, "
            "tsLog, sSourceId) VALUES {} ON CONFLICT (iTrackingLogId) DO NOTHING RETURNING 1) "
            "SELECT count(*) FROM ins".format(",".join(rows[i : i + 500]))
        )
        inserted += int(r[0][0] or 0)
    return len(files), inserted


def tracking_run(db: Queryable) -> tuple[int, int]:
    """Run the tracking consolidation and record the outcome on the Tracking workflow."""
    try:
        nfiles, inserted = consolidate(db)
    except TrackingError as e:
        db.query(
            f"UPDATE XtkWorkflow SET iFailed=1, sErrorMessage={lit(str(e))}, tsLastRun=now() "
            "WHERE sInternalName='tracking'"
        )
        raise
    db.query(
        "UPDATE XtkWorkflow SET iFailed=0, sErrorMessage=NULL, iState=11, tsLastRun=now(), tsLastSuccess=now() "
        "WHERE sInternalName='tracking'"
    )
    # "Last time the tracking information has been consolidated" (configuring-campaign-options.md)
    db.query(
        "INSERT INTO XtkOption (sName, tsTimeStampValue) VALUES ('NmsTracking_LastConsolidation', now()) "
        "ON CONFLICT (sName) DO UPDATE SET tsTimeStampValue=now()"
    )
    return nfiles, inserted
