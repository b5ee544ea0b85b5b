"""nlserver javascript runs the runner's queryDef fragments on the instance's database and refuses the rest."""

from __future__ import annotations

import re
from typing import Any

from labtools import nl, poll, ssh

from lab import Lab
from lab.sim.nlsim.querydef import translate
from runner.actions import ACTIONS, Context
from runner.actions.database import dedup_scripts
from runner.actions.querydef import combined_command, fragment, rows_of
from runner.inventory import Host

CTX = Context(Host("lab1", (), {"instance": "prod", "grace": 2, "names": ["tracking", "exportRecipients"]}, "-"))


def run_js(lab: Lab, host: str, script: str, instance: str = "prod") -> tuple[int, str, str]:
    path = lab.hdir(host) / "run" / "test-script.js"
    lab.write(path, script + "\n")
    r = nl(lab, host, "javascript", f"-instance:{instance}", "-file", str(path))
    return r.returncode, r.stdout, r.stderr


def query(lab: Lab, args: dict[str, Any], host: str = "lab1", instance: str = "prod") -> list[list[str]]:
    key, js = fragment(args, CTX)
    rc, out, err = run_js(lab, host, js, instance)
    rows, problem = rows_of(key, out)
    assert rc == 0 and rows is not None, (problem, out, err)
    return rows


def test_workflow_query_with_conditions_and_order(lab: Lab) -> None:
    rows = query(
        lab,
        {
            "schema": "xtk:workflow",
            "select": ["@internalName", "@state", "@failed"],
            "where": ["@internalName IN ({names})", "@failed = 0 AND NOT @state IS NULL"],
            "order_by": ["@internalName"],
        },
    )
    assert rows == [["exportRecipients", "11", "0"], ["tracking", "11", "0"]]


def test_recipient_duplicates_grouped_with_link_and_functions(lab: Lab) -> None:
    lab.psql(
        "INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId) VALUES (5001, ' USER7@example.com', 1)",
        db="campaign_lab1",
    )
    try:
        rows = query(
            lab,
            {
                "schema": "nms:recipient",
                "select": ["Lower(Ltrim(Rtrim(@email)))", "Count(@id)", "Min(@id)"],
                "where": ["[folder/@name] = 'nmsRootRecipient'"],
                "group_by": ["Lower(Ltrim(Rtrim(@email)))"],
                "having": ["Count(@id) > 1"],
            },
        )
        assert rows == [["user7@example.com", "2", "7"]]
    finally:
        lab.psql("DELETE FROM NmsRecipient WHERE iRecipientId = 5001", db="campaign_lab1")


def test_delivery_logs_dates_and_limit(lab: Lab) -> None:
    rows = query(
        lab,
        {
            "schema": "nms:broadLogRcp",
            "select": ["[delivery/@id]", "Count(@id)"],
            "where": ["@status = 1", "@lastModified < SubDays(GetDate(), 5)"],
            "group_by": ["[delivery/@id]"],
            "order_by": ["[delivery/@id]"],
            "limit": 1,
        },
    )
    assert rows == [["1", "120"]]
    assert query(lab, {"schema": "nms:subscription", "select": ["[recipient/@id]"], "limit": 2}) == [["1"], ["4"]]


def test_several_fragments_in_one_call_and_errors_are_caught(lab: Lab) -> None:
    good = {"schema": "nms:delivery", "select": ["@internalName"], "where": ["@state = 95"], "order_by": ["@id"]}
    unknown_schema = {"schema": "nms:nothing", "select": ["@id"]}
    unknown_attr = {"schema": "xtk:workflow", "select": ["@nothing"]}
    keys = [fragment(a, CTX)[0] for a in (good, unknown_schema, unknown_attr)]
    script = "\n".join(fragment(a, CTX)[1] for a in (good, unknown_schema, unknown_attr))
    assert "javascript -instance:prod" in combined_command([script], CTX)
    rc, out, _ = run_js(lab, "lab1", script)
    assert rc == 0
    assert rows_of(keys[0], out)[0] == [["DM1"], ["DM2"], ["DM3"]]
    assert (rows_of(keys[1], out)[1] or "").startswith("XTK-170024")
    assert (rows_of(keys[2], out)[1] or "").startswith("XSV-350023")
    assert all(line[:2].isdigit() and " >   @@qd " in line for line in out.splitlines() if "@@qd" in line)


def test_literals_are_bound_not_spliced() -> None:
    args = {
        "schema": "nms:recipient",
        "select": ["@id"],
        "where": ["Lower(@email) IN ('a@b.c', 'x -- y')", "@created > SubHours(GetDate(), 36)"],
        "having": ["Count(@id) >= 2"],
        "group_by": ["@id"],
        "limit": 7,
    }
    xml = re.search(r"<queryDef.*</queryDef>", fragment(args, CTX)[1])
    assert xml
    sql, params, aliases, element = translate(xml.group(0))
    assert params == ["a@b.c", "x -- y", "36", "2", "7"] and aliases == ["c0"] and element == "recipient"
    assert not any(p in sql for p in ("a@b.c", "x -- y", "36")) and "$5::int" in sql


def test_second_instance_queries_its_own_database(lab: Lab) -> None:
    lab.psql("UPDATE XtkWorkflow SET sLabel='prod2 tracking' WHERE iWorkflowId=1", db="campaign_lab2_prod2")
    rows = query(lab, {"schema": "xtk:workflow", "select": ["@label"], "where": ["@id = 1"]}, "lab2", "prod2")
    assert rows == [["prod2 tracking"]]
    assert query(lab, {"schema": "xtk:workflow", "select": ["@label"], "where": ["@id = 1"]}, "lab2") == [["Tracking"]]


def test_sql_helpers_log_info_and_workflow_calls(lab: Lab) -> None:
    rc, out, err = run_js(
        lab,
        "lab1",
        'var n = sqlGetInt("SELECT count(*) FROM NmsRecipient WHERE iFolderId = 2");\n'
        'logInfo("prospects: " + n);\n'
        "sqlExec(\"UPDATE NmsRecipient SET sCompany = 'js' WHERE iRecipientId = 3\"); "
        'logInfo("after: " + sqlGetInt("SELECT count(*) FROM NmsRecipient WHERE sCompany = \'js\'"))\n'
        'xtk.workflow.Restart("exportRecipientsFull");',
    )
    assert rc == 0, err
    assert _said(out) == ["prospects: 80", "after: 1"]
    assert (
        lab.psql("SELECT sCommand FROM XtkWorkflowJob ORDER BY iWorkflowJobId DESC LIMIT 1", db="campaign_lab1")
        == "restart"
    )
    lab.psql("UPDATE NmsRecipient SET sCompany = 'Company 4' WHERE iRecipientId = 3", db="campaign_lab1")


def test_anything_else_is_refused_before_running(lab: Lab) -> None:
    rc, out, err = run_js(lab, "lab1", "sqlExec(\"UPDATE NmsRecipient SET sCompany = 'no'\");\nvar x = 1 + 1;")
    assert rc == 1 and _said(out) == []  # the banner, and nothing the script would have logged
    assert "JST-310000 Error while compiling script" in err and "line 2" in err
    assert err.split(" >   ")[0].replace(":", "").isdigit()
    assert lab.psql("SELECT count(*) FROM NmsRecipient WHERE sCompany = 'no'", db="campaign_lab1") == "0"
    rc, _, err = run_js(lab, "lab1", 'xtk.workflow.Start("noSuchWorkflow");')
    assert rc == 1 and "XTK-170006" in err


def test_the_runner_stops_and_starts_the_tracking_workflow(lab: Lab) -> None:
    """workflow_stop (xtk.workflow.Stop, then a poll for @state 20) as the tracking playbook sends it, over
    SSH, then xtk.workflow.Start: the workflow goes 11 -> 20 -> 11."""
    host = "lab3"
    nlserver = str(lab.hdir(host) / "nl6/bin/nlserver")
    ctx = Context(Host(host, (), {"instance": "prod", "nlserver": nlserver, "tracking_workflow": "tracking"}, "-"))
    state = "SELECT iState FROM XtkWorkflow WHERE sInternalName='tracking'"
    try:
        assert lab.psql(state, db=f"campaign_{host}") == "11"
        command = ACTIONS["workflow_stop"].build({"workflow": "{tracking_workflow}", "wait": 20}, ctx)
        r = ssh(lab, host, command, timeout=60)
        assert r.returncode == 0 and "@@stopped" in r.stdout, r.stdout + r.stderr
        assert lab.psql(state, db=f"campaign_{host}") == "20"
        rc, _, err = run_js(lab, host, 'xtk.workflow.Start("tracking");')
        assert rc == 0, err
        poll(lambda: lab.psql(state, db=f"campaign_{host}") == "11", timeout=10)
    finally:
        lab.heal(host)


def test_pending_workflow_starts_and_no_last_run(lab: Lab) -> None:
    lab.break_("lab3", "wfserver_hung")  # a start of exportRecipients is queued and stays pending
    try:
        args = {
            "schema": "xtk:workflowJob",
            "select": ["[workflow/@internalName]", "@command", "@created"],
            "where": ["@status = 0", "@created < SubSeconds(GetDate(), 0)"],
            "order_by": ["@created"],
        }
        rows = query(lab, args, host="lab3")
        assert [r[:2] for r in rows] == [["exportRecipients", "start"]] and rows[0][2].endswith("Z")
    finally:
        lab.heal("lab3")
    # no page names a last-run attribute: refused, as a build without one would (tracking reads its option)
    key, js = fragment({"schema": "xtk:workflow", "select": ["@internalName", "@lastRun"]}, CTX)
    rc, out, _err = run_js(lab, "lab3", js)
    assert rc == 0 and (rows_of(key, out)[1] or "").startswith("XSV-350023 Unable to find node '@lastRun'")


def test_import_dedup_scripts_of_the_runner(lab: Lab) -> None:
    lab.break_("lab3", "import_duplicates")
    try:
        count, delete = dedup_scripts([1], "lab_dedup_backup")
        rc, out, err = run_js(lab, "lab3", count)
        assert rc == 0, err
        said = _said(out)
        assert said[0].endswith(" rows 12") and len(said) == 6
        # delivery logs, tracking logs, subscriptions, subscription history, group memberships pointing at
        # the 12 same-folder copies
        assert [s.rsplit(" ", 1)[1] for s in said[1:]] == ["3", "2", "4", "1", "1"]
        rc, out, err = run_js(lab, "lab3", delete)
        assert rc == 0, err
        assert _said(out)[-1].endswith(" left 11")  # the copies something points at stay
        assert lab.psql("SELECT count(*) FROM lab_dedup_backup", db="campaign_lab3") == "12"
    finally:
        lab.psql("DROP TABLE IF EXISTS lab_dedup_backup", db="campaign_lab3")
        lab.heal("lab3")


def _said(out: str) -> list[str]:
    """What the script logged with logInfo: console lines after the banner every nlserver command prints."""
    return [ln.split(">   ", 1)[1] for ln in out.splitlines() if ">   " in ln and "Adobe Campaign" not in ln]
