"""Tracking consolidation: redir log lines into NmsTrackingLogRcp, outcome on the Tracking workflow.

Owns: what `nlserver tracking` and the wfserver's tracking run do. Must not: skip a corrupted line
silently (it stops the run and names `file:line`, as Campaign's tracking does).
"""

from __future__ import annotations

import glob
import os

from .common import var_dir
from .db import Queryable, lit
from .formats import REDIR_GLOB, TRACK_RE


class TrackingError(Exception):
    """A redir log line could not be parsed (message names file:line)."""


def redir_dir() -> str:
    return var_dir("redir", "log")


def consolidate(db: Queryable) -> tuple[int, int]:
    """(files read, rows inserted) after loading every redir log line not yet in the database."""
    files = sorted(glob.glob(os.path.join(redir_dir(), REDIR_GLOB)))
    rows = []
    for path in files:
        with open(path, errors="replace") as f:
            for n, raw in enumerate(f, 1):
                line = raw.rstrip("\n")
                if not line:
                    continue
                if not TRACK_RE.match(line):
                    shown = line[:60].encode("unicode_escape", "replace").decode("ascii", "replace")
                    raise TrackingError(f"TRK-110004 Invalid tracking log line at {path}:{n}: '{shown}'")
                p = line.split("\t")
                ts, source = lit(p[1].replace("/", "-")), lit(p[0])
                rows.append(f"({int(p[0][3:], 16)},{p[2]},{p[3]},{p[4]},{ts},{source})")
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
    return nfiles, inserted
