"""wfserver@<instance>: takes queued workflow commands and runs the lab's three workflows.

Owns: XtkWorkflowJob processing (pending -> taken; start, restart = stop then start, stop -> @state 20),
the export file, the 10-minute tracking re-run and the workflow state columns.
Must not: import anything outside the standard library.
"""

from __future__ import annotations

import os
import time

from .common import PROC, conf_attr, log, ready, var_dir
from .db import DBError, DBHolder, Queryable
from .tracking import TrackingError, tracking_run

# recurring workflows and their period (s): between two runs they stay started (@state 11)
RECURRING = {"tracking": 600, "exportRecipients": 86400}
STARTED, PAUSED, FINISHED = 11, 13, 20


def export_dir() -> str:
    """dataStore/@exportDirectory of the instance, else Adobe's default var/<instance>/export/."""
    configured = conf_attr("dataStore", "exportDirectory", "", path=".//shared/dataStore")
    return configured or var_dir("export")


def _export(db: Queryable, name: str, wid: str) -> None:
    """exportRecipients: the recipients changed since its last success (a delta); any other export: all."""
    d = export_dir()
    os.makedirs(d, exist_ok=True)
    where = ""
    if name in RECURRING:
        where = (
            " WHERE tsLastModified >= coalesce((SELECT tsLastSuccess FROM XtkWorkflow WHERE iWorkflowId="
            f"{int(wid)}), '-infinity')"
        )
    rows = db.query(
        f"SELECT iRecipientId, sEmail, sFirstName, sLastName, iFolderId FROM NmsRecipient{where} ORDER BY 1"
    )
    path = os.path.join(d, "{}_{}.csv".format(name, time.strftime("%Y%m%d%H%M%S")))
    with open(path + ".tmp", "w") as f:
        f.write("id;email;firstName;lastName;folderId\n")
        for r in rows:
            f.write(";".join(x or "" for x in r) + "\n")
    os.replace(path + ".tmp", path)
    log("info", f"Export: {len(rows)} row(s) written to {path}")


def run_workflow(db: Queryable, wid: str, name: str) -> None:
    log("info", f"Workflow '{name}' ({wid}) started")
    db.query(f"UPDATE XtkWorkflow SET iState={STARTED}, tsLastStart=now() WHERE iWorkflowId={int(wid)}")
    if name == "tracking":
        try:
            nfiles, inserted = tracking_run(db)
            log("info", f"Tracking: {inserted} line(s) consolidated from {nfiles} file(s)")
        except TrackingError as e:
            log("error", str(e))
        return
    if name.startswith("export"):
        _export(db, name, wid)
    end = STARTED if name in RECURRING else FINISHED
    db.query(
        f"UPDATE XtkWorkflow SET iState={end}, iFailed=0, sErrorMessage=NULL, tsLastRun=now(), tsLastSuccess=now() "
        f"WHERE iWorkflowId={int(wid)}"
    )
    log("info", f"Workflow '{name}' ({wid}) " + ("waiting for its next run" if end == STARTED else "finished"))


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
                db.query(f"UPDATE XtkWorkflowJob SET iStatus=1, tsProcessed=now() WHERE iWorkflowJobId={int(jid or 0)}")
                log("info", f"Command '{cmd}' on workflow '{name}' taken into account")
                if cmd == "stop":  # stopped: @state 20 until a Start (errors and history are kept)
                    db.query(f"UPDATE XtkWorkflow SET iState={FINISHED} WHERE iWorkflowId={int(wid or 0)}")
                    log("info", f"Workflow '{name}' ({wid}) stopped")
                else:
                    run_workflow(db, str(wid), str(name))
            for name, period in RECURRING.items():
                due = db.query(
                    f"SELECT iWorkflowId FROM XtkWorkflow WHERE sInternalName='{name}' AND iState={STARTED} AND "
                    f"iFailed=0 AND (tsLastRun IS NULL OR tsLastRun < now() - interval '{int(period)} seconds')"
                )
                for (wid,) in due:
                    run_workflow(db, str(wid), name)
        except (DBError, OSError) as e:
            log("error", f"{e} (iRc=-2006)")
        PROC.stop.wait(1.0)
