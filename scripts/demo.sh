#!/usr/bin/env bash
# make demo: one lab host, wfserver broken, repaired by `remediate wfserver --host lab1`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
R=.venv/bin/remediate
export REMEDIATE_AUDIT_LOG="${REMEDIATE_AUDIT_LOG:-$PWD/.lab-audit.jsonl}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Start the Campaign lab (one simulated Campaign v7 host behind a real OpenSSH sshd)"
$PY -m lab up --hosts 1
say "The lab host is healthy: remediate wfserver --host lab1"
$R wfserver --host lab1
say "Break it: the lab stops wfserver@prod (workflows no longer run)"
$PY -m lab break lab1 wfserver_down
$PY -m lab status lab1 | sed -n '1,20p'
say "Diagnose without changing anything: remediate wfserver --host lab1 --dry-run"
$R wfserver --host lab1 --dry-run --reason "demo: workflows not running"
say "Without a terminal to confirm on, the start is refused: wfserver may have been stopped on purpose (exit 4)"
$R wfserver --host lab1 --reason "demo: workflows not running" </dev/null || echo "(exit $?: nothing was started)"
say "Repair, confirmed: remediate wfserver --host lab1 --yes"
$R wfserver --host lab1 --yes --reason "demo: workflows not running"
say "What the lab itself says now"
$PY -m lab status lab1 | sed -n '1,20p'
say "The audit log of these runs ($REMEDIATE_AUDIT_LOG) is intact"
$R audit verify "$REMEDIATE_AUDIT_LOG"
printf '\nThe lab is still up: try `%s check all --host lab1`, `%s -m lab break lab1 watchdog_down`.\nStop it with `make lab-down`.\n' "$R" "$PY"
