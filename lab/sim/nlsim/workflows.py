"""wfserver@<instance>: takes queued workflow commands and runs the lab's three workflows.

Owns: XtkWorkflowJob processing (pending -> taken), the export file, the 10-minute tracking re-run and
the workflow state columns. Must not: import anything outside the standard library.
"""

from __future__ import annotations

import os
import time

from .common import PROC, log, ready, var_dir
from .db import DBError, DBHolder, Queryable
from .tracking import TrackingError, tracking_run


def _export(db: Queryable, name: str) -> None:
    d = var_dir("export")
    os.makedirs(d, exist_ok=True)
    rows = db.query("SELECT iRecipientId, sEmail, sFirstName, sLastName, iFolderId FROM NmsRecipient ORDER BY 1")
    path = os.path.join(d, "{}_{}.csv".format(name, time.strftime("%Y%m%d%H%M%S")))
    with open(path + ".tmp", "w") as f:
        f.write("id;email;firstName;lastName;folderId\n")
        for r in rows:
            f.write(";".join(x or "" for x in r) + "\n")
    os.replace(path + ".tmp", path)
    log("info", f"Export: {len(rows)} row(s) written to {path}")


def run_workflow(db: Queryable, wid: str, name: str) -> None:
    log("info", f"Workflow '{name}' ({wid}) started")
    db.query(f"UPDATE XtkWorkflow SET iState=11, tsLastStart=now() WHERE iWorkflowId={wid}")
    if name == "tracking":
        try:
            nfiles, inserted = tracking_run(db)
            log("info", f"Tracking: {inserted} line(s) consolidated from {nfiles} file(s)")
        except TrackingError as e:
            log("error", str(e))
        return
    if name.startswith("export"):
        _export(db, name)
    db.query(
        "UPDATE XtkWorkflow SET iState=20, iFailed=0, sErrorMessage=NULL, tsLastRun=now(), tsLastSuccess=now() "
        f"WHERE iWorkflowId={wid}"
    )
    log("info", f"Workflow '{name}' ({wid}) finished")


def mod_wfserver() -> None:
    db = DBHolder()
    ready()
    log("info", "Workflow server started")
    while not PROC.stop.is_set():
        try:
            jobs = db.query(
                "SELECT j.iWorkflowJobId, j.iWorkflowId, j.sCommand, w.sInternalName FROM XtkWorkflowJob j "
                "JOIN XtkWorkflow w ON w.iWorkflowId=j.iWorkflowId WHERE j.iStatus=0 ORDER BY 1"
            )
            for jid, wid, cmd, name in jobs:
                db.query(f"UPDATE XtkWorkflowJob SET iStatus=1, tsProcessed=now() WHERE iWorkflowJobId={jid}")
                log("info", f"Command '{cmd}' on workflow '{name}' taken into account")
                run_workflow(db, str(wid), str(name))
            due = db.query(
                "SELECT iWorkflowId FROM XtkWorkflow WHERE sInternalName='tracking' AND iState=11 AND "
                "iFailed=0 AND (tsLastRun IS NULL OR tsLastRun < now() - interval '10 minutes')"
            )
            for (wid,) in due:
                run_workflow(db, str(wid), "tracking")
        except (DBError, OSError) as e:
            log("error", f"{e} (iRc=-2006)")
        PROC.stop.wait(1.0)
