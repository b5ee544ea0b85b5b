"""export, import, wfserver and syslogd playbooks without a host: what each selects, builds and refuses.

The de-duplication command is run for real by ``sh`` against a stand-in ``nlserver`` that answers the
count script and the delete script with the console lines Campaign's ``logInfo`` prints, so the shell
logic that decides between refusing and deleting is exercised, not read.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner import plan
from runner.actions import ACTIONS, Context, Effect, Skip, querydef
from runner.actions.database import backup_table, dedup_scripts
from runner.inventory import Host
from runner.outcomes import Reading, Verdict
from runner.playbook import load_module

VARS = {"instance": "prod", "nlserver": "nlserver", "export_workflows": ["exportRecipients"]}
RUN = "0123456789abcdef0123456789abcdef"


def _ctx(options: dict[str, str] | None = None, earlier: dict[str, Verdict] | None = None, **extra: object) -> Context:
    return Context(Host("prod1", (), {**VARS, **extra}, "-"), options or {}, earlier or {}, run_id=RUN)


def _ids(steps) -> list[str]:
    return [s.id for s in steps]


# --- wfserver: waiting start requests are reported, a restart needs --force ------------------------


def test_wfserver_stuck_requests_alone_never_restart() -> None:
    pb = load_module("wfserver")
    stuck = {
        "wfserver_running": Verdict(Reading.PASSED, "up"),
        "no_stuck_workflows": Verdict(Reading.FAILED, "1 waiting"),
    }
    assert plan.steps_to_run(pb, stuck, {"log_precision": "default"}) == []
    assert _ids(plan.steps_to_run(pb, stuck, {"log_precision": "default"}, force=True)) == ["restart_wfserver"]
    assert _ids(plan.steps_to_run(pb, stuck, {"log_precision": "verbose"})) == ["restart_verbose"]
    down = {
        "wfserver_running": Verdict(Reading.FAILED, "down"),
        "no_stuck_workflows": Verdict(Reading.FAILED, "1 waiting"),
    }
    assert _ids(plan.steps_to_run(pb, down, {"log_precision": "default"}, force=True)) == ["start_wfserver"]
    assert pb.checks[0].gate and pb.checks[0].action == "module_running"


def test_wfserver_stuck_check_is_a_query_on_workflow_jobs_with_the_grace() -> None:
    pb = load_module("wfserver")
    step = pb.steps_by_id["no_stuck_workflows"] if pb.steps_by_id else pb.checks[1]
    assert plan.build(step, _ctx()).command
    cmd = querydef.fragment(step.args, _ctx(workflow_start_grace=90))[1]
    assert 'schema="xtk:workflowJob"' in cmd and "SubSeconds(GetDate(), 90)" in cmd and "@status = 0" in cmd
    assert "psql" not in cmd


def test_wfserver_job_checks_say_inferred_and_report_only() -> None:
    """No page names xtk:workflowJob's attributes: every step reading them says inferred, and none acts."""
    pb = load_module("wfserver")
    readers = [s for s in pb.steps() if s.action == "query" and s.args["schema"] == "xtk:workflowJob"]
    assert [s.id for s in readers] == ["no_stuck_workflows"]  # a check only: verification is pdump's
    assert all("inferred" in s.title and s.inform for s in readers)
    assert "inferred" in pb.notes and "only informs" in pb.notes
    for step in pb.remediation:  # a failed inferred check alone never selects a step
        assert step.when is not None and "no_stuck_workflows" not in step.when.failed


# --- export: named workflows, failed or paused; modes ----------------------------------------------


def test_export_reads_named_workflows_failed_and_paused_apart() -> None:
    pb = load_module("export")
    failed, paused = pb.steps_by_id["export_workflows_failed"], pb.steps_by_id["export_workflows_paused"]
    assert "psql" not in (plan.build(failed, _ctx()).command or "psql")
    cmd = querydef.fragment(failed.args, _ctx())[1]
    assert "@internalName IN ('exportRecipients')" in cmd and '"@failed = 1"' in cmd
    assert "@state" not in cmd.split("<where>")[1]  # a started state between runs (e.g. 11) is healthy
    cmd = querydef.fragment(paused.args, _ctx())[1]
    assert '"@state = 13"' in cmd and '"@failed = 0"' in cmd  # paused without error: maybe on purpose
    assert "LIKE" not in cmd
    assert plan.build(failed, Context(Host("h", (), {"instance": "prod"}, "-"))).command is None  # no names: skip
    informs = {s.id for s in pb.checks if s.inform}
    assert informs == {"export_workflows_to_relaunch", "export_workflows_known", "export_file_fresh"}


FAILED = Verdict(Reading.FAILED, "1", {"rows": [["exportRecipients", "13", "1", "Export recipients"]]})
PAUSED = Verdict(Reading.FAILED, "1", {"rows": [["exportRecipients", "13", "0", "Export recipients"]]})
CLEAN = Verdict(Reading.PASSED, "")
UP = Verdict(Reading.PASSED, "up")


def test_export_modes_pick_exactly_their_step() -> None:
    pb = load_module("export")
    failed = {"export_workflows_failed": FAILED, "export_workflows_paused": CLEAN, "wfserver_running": UP}
    assert _ids(plan.steps_to_run(pb, failed, {"mode": "delta"})) == ["relaunch_delta"]
    assert _ids(plan.steps_to_run(pb, failed, {"mode": "restart"})) == ["relaunch_restart"]
    healthy = {"export_workflows_failed": CLEAN, "export_workflows_paused": CLEAN, "wfserver_running": UP}
    assert _ids(plan.steps_to_run(pb, healthy, {"mode": "full"})) == ["run_full_export"]
    down = {**failed, "wfserver_running": Verdict(Reading.FAILED, "down")}
    assert _ids(plan.steps_to_run(pb, down, {"mode": "delta"})) == ["start_wfserver", "relaunch_delta"]


def test_export_paused_without_error_is_started_only_on_confirmation() -> None:
    """A pause may be an operator's: its Start is a confirmed step (disrupt), never the unconfirmed delta."""
    pb = load_module("export")
    paused = {"export_workflows_failed": CLEAN, "export_workflows_paused": PAUSED, "wfserver_running": UP}
    chosen = plan.steps_to_run(pb, paused, {"mode": "delta"})
    assert _ids(chosen) == ["resume_paused"]
    resume = chosen[0]
    assert resume.effect is Effect.DISRUPT and resume.show == ("export_workflows_paused",)
    assert "on purpose" in (resume.interrupts or "")
    cmd = plan.build(resume, _ctx(earlier={"export_workflows_paused": PAUSED})).command or ""
    assert 'xtk.workflow.Start("exportRecipients");' in cmd
    delta = pb.steps_by_id["relaunch_delta"]  # in error: confirmed too (xtk.workflow.Start is an inferred name)
    assert delta.effect is Effect.DISRUPT and delta.args["from"] == "export_workflows_failed"
    assert "inferred" in delta.title and "asked for first" in (delta.interrupts or "")
    both = {**paused, "export_workflows_failed": FAILED}
    assert _ids(plan.steps_to_run(pb, both, {"mode": "delta"})) == ["relaunch_delta", "resume_paused"]


def test_export_says_what_start_and_restart_keep_as_adobe_does() -> None:
    """workflow/using/starting-a-workflow.md: Start clears the instance variables, Restart keeps them."""
    pb = load_module("export")
    text = " ".join([pb.notes, *(s.title for s in pb.remediation), pb.options["mode"].help])
    assert "Start clears the workflow's instance variables" in text
    assert "Restart keeps the instance variables" in text
    assert "neither clears an incremental history" not in text.lower()
    for start in ("relaunch_delta", "resume_paused", "run_full_export"):
        assert "Start clears the workflow's instance variables" in pb.steps_by_id[start].title
    assert "keeps the instance variables" in pb.steps_by_id["relaunch_restart"].title
    assert "clears the workflow's instance variables" in ACTIONS["workflow_relaunch"].summary


def test_export_relaunch_takes_names_from_the_query_rows() -> None:
    pb = load_module("export")
    step = pb.steps_by_id["relaunch_delta"]
    cmd = plan.build(step, _ctx(earlier={"export_workflows_failed": FAILED})).command or ""
    assert 'xtk.workflow.Start("exportRecipients");' in cmd and "javascript -instance:prod" in cmd
    restart = pb.steps_by_id["relaunch_restart"]
    assert restart.args["from"] == "export_workflows_to_relaunch"
    assert 'xtk.workflow.Restart("exportRecipients")' in (
        plan.build(restart, _ctx(earlier={"export_workflows_to_relaunch": PAUSED})).command or ""
    )


def test_export_full_runs_the_named_full_workflow_or_is_refused_with_the_reason() -> None:
    pb = load_module("export")
    step = pb.steps_by_id["run_full_export"]
    cmd = plan.build(step, _ctx(export_full_workflow="exportRecipientsFull")).command or ""
    assert 'xtk.workflow.Start("exportRecipientsFull");' in cmd
    refused = plan.build(step, _ctx())
    assert refused.command is None
    assert "export_full_workflow" in (refused.skip or "") and "incremental history" in (refused.skip or "")
    forged = plan.build(step, _ctx(export_full_workflow='x"); evil("'))
    assert forged.command is None and "not a workflow internal name" in (forged.skip or "")


def test_workflow_relaunch_takes_from_or_workflow_var_not_both() -> None:
    action = ACTIONS["workflow_relaunch"]
    assert action.problems({"verb": "Start"})
    assert action.problems({"verb": "Start", "from": "a", "workflow_var": "export_full_workflow"})
    assert not action.problems({"verb": "Start", "workflow_var": "export_full_workflow"})


# --- import: report by default; delete only in dedup_folders, refused while referenced ------------


def test_import_reports_by_default_and_deletes_only_with_the_option() -> None:
    pb = load_module("import")
    dupes = {
        "no_duplicate_emails": Verdict(Reading.FAILED, "20"),
        "no_duplicates_in_dedup_folders": Verdict(Reading.FAILED, "12"),
    }
    assert plan.steps_to_run(pb, dupes, {"dedup": "report"}) == []
    assert _ids(plan.steps_to_run(pb, dupes, {"dedup": "delete"})) == ["deduplicate"]
    check = querydef.fragment(pb.checks[0].args, _ctx(import_folders=["nmsRootRecipient"]))[1]
    assert 'schema="nms:recipient"' in check and "Count(@id) &gt; 1" in check
    assert "Lower(Ltrim(Rtrim(@email)))" in check and "Length(Ltrim(Rtrim(@email))) &gt; 0" in check


def test_import_reads_use_only_adobes_functions_and_never_every_recipient() -> None:
    """Ltrim/Rtrim, not Trim (defining-filter-conditions.md); each recipient read is scoped to named folders
    and to a recent creation window (@created), never the whole table."""
    pb = load_module("import")
    readers = [s for s in pb.steps() if s.action == "query" and s.args["schema"] == "nms:recipient"]
    assert len(readers) == 3
    for step in readers:
        text = repr(step.args)
        assert "Trim(" not in text.replace("Ltrim(", "").replace("Rtrim(", "")
        where = step.args["where"]
        assert any(w.startswith("[folder/@name] IN ({") for w in where)
        assert "@created > SubDays(GetDate(), {import_window_days})" in where
        assert step.args.get("limit") == "{import_limit}"  # lineCount: a host var, 200 unless set
    check = pb.steps_by_id["no_duplicate_emails"]
    built = querydef.fragment(check.args, _ctx(import_folders=["crm"], import_window_days=3))[1]
    assert "[folder/@name] IN ('crm')" in built and "@created &gt; SubDays(GetDate(), 3)" in built
    assert "SubDays(GetDate(), 7)" in ACTIONS["query"].build(check.args, _ctx(import_folders=["crm"]))  # default
    skipped = plan.build(check, _ctx())  # no import_folders: not checked, and says why
    assert skipped.command is None and "import_folders" in (skipped.skip or "")


FOLDERS = Verdict(Reading.PASSED, "", {"rows": [["1", "nmsRootRecipient"], ["2", "prospects"]]})
DUPES = Verdict(Reading.FAILED, "12 duplicated")


def test_dedup_is_refused_without_dedup_folders_or_with_an_unknown_folder() -> None:
    args = {"folders_from": "dedup_folder_ids", "duplicates_from": "no_duplicates_in_dedup_folders"}
    earlier = {"dedup_folder_ids": FOLDERS, "no_duplicates_in_dedup_folders": DUPES}
    with pytest.raises(Skip, match="limited to the folders named by dedup_folders"):
        ACTIONS["recipient_dedup"].build(args, _ctx(earlier=earlier))
    with pytest.raises(Skip, match="nosuch, not a folder"):
        ACTIONS["recipient_dedup"].build(args, _ctx(earlier=earlier, dedup_folders=["nosuch"]))
    clean = {**earlier, "no_duplicates_in_dedup_folders": Verdict(Reading.PASSED, "none")}
    with pytest.raises(Skip, match="nothing to delete"):
        ACTIONS["recipient_dedup"].build(args, _ctx(earlier=clean, dedup_folders=["prospects"]))


def test_dedup_sql_is_portable_and_limited_to_the_folder_ids() -> None:
    count, delete = dedup_scripts([2], "nmsrecipientdedup_0123")
    for text in (count, delete):
        assert "r.iFolderId IN (2)" in text and "k.iFolderId IN (2)" in text
        assert "LENGTH(TRIM(r.sEmail)) > 0" in text  # no '' literal: on Oracle '' is NULL
        assert "'" not in text and "::" not in text and "LIMIT" not in text and "string_agg" not in text
    for table in ("NmsBroadLogRcp", "NmsTrackingLogRcp", "NmsSubscription", "NmsSubHisto", "NmsRcpGrpRel"):
        assert f"FROM {table} x WHERE x.iRecipientId IN (" in count  # data-model-description.md
    assert "CREATE TABLE nmsrecipientdedup_0123 AS SELECT r.* FROM NmsRecipient r" in delete
    assert "DELETE FROM NmsRecipient WHERE iRecipientId IN (SELECT b.iRecipientId FROM nmsrecipientdedup_0123 b)" in (
        delete
    )
    assert delete.count("NOT EXISTS") == 5
    assert "DELETE" not in count and "CREATE" not in count


def test_dedup_sql_keeps_to_the_creation_window_in_portable_sql() -> None:
    """The window is ANSI INTERVAL 'n' DAY (PostgreSQL and Oracle), on both the row deleted and the row kept."""
    count, delete = dedup_scripts([1, 2], "b_1", window_days=7)
    for text in (count, delete):
        assert "r.tsCreated > CURRENT_TIMESTAMP - INTERVAL '7' DAY" in text
        assert "k.tsCreated > CURRENT_TIMESTAMP - INTERVAL '7' DAY" in text
    for bad in (0, 65):
        with pytest.raises(ValueError, match="import_window_days"):
            dedup_scripts([1], "b_1", window_days=bad)
    args = {"folders_from": "dedup_folder_ids", "duplicates_from": "no_duplicates_in_dedup_folders"}
    earlier = {"dedup_folder_ids": FOLDERS, "no_duplicates_in_dedup_folders": DUPES}
    built = ACTIONS["recipient_dedup"].build(args, _ctx(earlier=earlier, dedup_folders=["prospects"]))
    assert "INTERVAL '\"'\"'7'\"'\"' DAY" in built  # the default window, inside the shell-quoted script


FAKE = """#!/bin/sh
# stand-in nlserver: answers like logInfo lines; the count script and the delete script are told apart
f=$(echo "$@" | sed 's/.*-file //')
echo "$@" >> "{log}"
if grep -q 'CREATE TABLE' "$f"; then
  printf '12:00:00 >   @@dedup backed_up 12\\n12:00:01 >   @@dedup left {left}\\n'
else
  printf '12:00:00 >   @@dedup rows {rows}\\n'
  printf '12:00:00 >   @@dedup ref nms:broadLogRcp {bl}\\n12:00:00 >   @@dedup ref nms:trackingLogRcp 0\\n'
  printf '12:00:00 >   @@dedup ref nms:subscription 0\\n12:00:00 >   @@dedup ref nms:subHisto {sh}\\n'
  printf '12:00:00 >   @@dedup ref NmsRcpGrpRel {grp}\\n'
fi
"""


def _run_dedup(tmp_path: Path, rows: int, bl: int, left: int = 0, sh: int = 0, grp: int = 0) -> tuple[Verdict, int]:
    log = tmp_path / "calls"
    fake = tmp_path / "nlserver"
    fake.write_text(FAKE.format(log=log, rows=rows, bl=bl, left=left, sh=sh, grp=grp))
    fake.chmod(0o755)
    ctx = Context(
        Host("prod1", (), {"instance": "prod", "nlserver": str(fake), "dedup_folders": ["nmsRootRecipient"]}, "-"),
        {"dedup": "delete"},
        {"dedup_folder_ids": FOLDERS, "no_duplicates_in_dedup_folders": DUPES},
        run_id=RUN,
    )
    args = {"folders_from": "dedup_folder_ids", "duplicates_from": "no_duplicates_in_dedup_folders"}
    cmd = ACTIONS["recipient_dedup"].build(args, ctx)
    res = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30, check=False)
    calls = log.read_text().count("\n") if log.exists() else 0
    return ACTIONS["recipient_dedup"].judge(args, ctx, res.stdout, res.stderr, res.returncode), calls


def test_dedup_refused_while_delivery_logs_point_at_the_rows(tmp_path: Path) -> None:
    verdict, calls = _run_dedup(tmp_path, rows=12, bl=3)
    assert calls == 1  # the delete script never ran
    assert verdict.failed and "refused" in verdict.message
    assert (
        "3 delivery logs (nms:broadLogRcp)" in verdict.message and "platform/using/updating-data.md" in verdict.message
    )
    assert "Merge selected lines" in verdict.message


def test_dedup_refused_while_group_memberships_or_subscription_history_point_at_the_rows(tmp_path: Path) -> None:
    verdict, calls = _run_dedup(tmp_path, rows=12, bl=0, sh=1, grp=2)
    assert calls == 1  # the delete script never ran
    assert verdict.failed and "refused" in verdict.message
    assert "2 group memberships (NmsRcpGrpRel)" in verdict.message
    assert "1 subscription history rows (nms:subHisto)" in verdict.message


def test_dedup_deletes_backs_up_and_prints_the_restore_command(tmp_path: Path) -> None:
    verdict, calls = _run_dedup(tmp_path, rows=12, bl=0)
    assert calls == 2
    backup = backup_table("NmsRecipientDedup", RUN)
    assert verdict.passed and f"copied into table {backup}" in verdict.message
    assert verdict.data["deleted"] == 12 and verdict.data["backup_table"] == backup
    restore = verdict.data["restore"]
    assert f"INSERT INTO NmsRecipient SELECT b.* FROM {backup} b WHERE NOT EXISTS" in restore
    assert "javascript -instance:prod" in restore and restore in verdict.message


def test_dedup_keeps_rows_pointed_at_meanwhile_and_says_so(tmp_path: Path) -> None:
    verdict, _calls = _run_dedup(tmp_path, rows=12, bl=0, left=2)
    assert verdict.passed and verdict.data["deleted"] == 10 and "2 row(s) were pointed at meanwhile" in verdict.message


def test_dedup_with_nothing_to_delete_stops_after_counting(tmp_path: Path) -> None:
    verdict, calls = _run_dedup(tmp_path, rows=0, bl=0)
    assert calls == 1 and verdict.passed and "no duplicate recipient to delete" in verdict.message


# --- syslogd: gate on its own module; the record probe stays opt-in -----------------------------


def test_syslogd_gate_and_probe_opt_in() -> None:
    pb = load_module("syslogd")
    assert pb.checks[0].gate and pb.checks[0].args == {"module": "syslogd"}
    probe = next(s for s in pb.checks if s.action == "syslog_roundtrip")
    skipped = plan.build(probe, _ctx())
    assert skipped.command is None and "syslog_probe" in (skipped.skip or "")


# Every step that sends a workflow action by its JavaScript name (xtk.workflow.Start/Stop/Restart: no page
# shows those names; the console's actions are documented) is confirmed or opt-in. The one exception is the
# start that ends Adobe's corrupted-line procedure, which follows that procedure's confirmed stop.
AFTER_A_CONFIRMED_STOP = {
    ("tracking", "start_tracking_workflow"): ("stop_tracking_workflow", "quarantine_corrupted_lines")
}


def test_steps_on_inferred_workflow_calls_are_confirmed_or_opt_in() -> None:
    from runner.paths import shipped_modules

    seen = 0
    for module in shipped_modules():
        pb = load_module(module)
        for step in pb.remediation:
            script = str(step.args.get("script", "")) + str(step.args.get("verb", ""))
            if step.action != "workflow_relaunch" and "xtk.workflow." not in script:
                continue
            seen += 1
            opt_in = step.when is not None and any(
                value != pb.options[name].default for name, value in dict(step.when.option).items()
            )
            if (module, step.id) in AFTER_A_CONFIRMED_STOP:
                for earlier in AFTER_A_CONFIRMED_STOP[(module, step.id)]:
                    before = pb.steps_by_id[earlier]
                    assert before.effect is Effect.DISRUPT and before.when is not None, earlier
                    assert step.when is not None and set(step.when.failed) <= set(before.when.failed), earlier
                continue
            assert step.effect is Effect.DISRUPT or opt_in, f"{module}/{step.id} runs an inferred call unasked"
    assert seen >= 6
