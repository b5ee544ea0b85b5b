"""The host's settings win (issue 18, item 6), on the lab: TRACE_ADDR and XTK_VAR_DIR in customer.sh move
syslogd and the var/ tree; a run reads them from the host and finds a healthy host healthy, touching
nothing; an inventory var that says otherwise is reported (and used: never a restart on it); ``hosts
--host`` shows each setting, where it comes from, the mismatch and the holds.

Every state is read through ``lab.status()`` (pids, sockets, files) and the files themselves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lab import Lab
from tests.e2e.playbook_helpers import run, step, steps
from tests.support.cli import Runner
from tests.support.wait import wait_until


def _syslogd_pid(lab: Lab, host: str) -> int:
    proc = lab.status(host)["processes"]["syslogd@default"]
    assert proc["alive"], proc
    return int(proc["pid"])


def _inventory(lab: Lab, tmp_path: Path, host: str, **vars_: Any) -> Path:
    """The lab's inventory with ``vars_`` set on ``host`` (an operator's inventory that says otherwise)."""
    doc = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    doc["all"]["children"]["lab"]["hosts"][host].update(vars_)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _token_in(log: Path, report: dict[str, Any]) -> bool:
    record = step(report, "records_written")
    assert record["outcome"] == "passed", record
    token = re.search(r"remediate-syslog-probe-[\w-]+", record["command"] or "")
    assert token is not None, record
    return token.group(0) in log.read_text()


def test_trace_addr_moving_syslogd_to_another_port_reads_healthy(lab: Lab, remediate: Runner, host: str) -> None:
    lab.break_(host, "syslogd_moved")
    st = lab.status(host)
    addr = lab.addr(host)
    assert st["settings"]["syslogd"] == f"{addr}:6667" and st["healthy"]["syslogd"]
    pid = _syslogd_pid(lab, host)
    assert st["ports"]["udp/6667"]["pids"] == [pid] and "udp/6666" not in st["ports"]
    code, report = run(remediate, "syslogd", "--yes")
    assert code == 0, report
    assert report["status"] == "healthy", report
    assert not steps(report, "remediation"), report["steps"]
    assert "6667" in step(report, "syslogd_bound")["message"]
    # the test record went to udp 6667 and reached the log file
    assert _token_in(Path(lab.hdir(host)) / "nl6/var/default/log/remediate.log", report)
    after = lab.status(host)
    assert _syslogd_pid(lab, host) == pid and after["ports"]["udp/6667"]["pids"] == [pid]
    read = [e for e in remediate.events() if e["event"] == "settings.read"]
    assert read and read[0]["settings"]["syslogd_port"]["value"] == 6667
    assert "customer.sh" in read[0]["settings"]["syslogd_port"]["source"]


def test_an_inventory_port_that_contradicts_trace_addr_is_reported_and_restarts_nothing(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    lab.break_(host, "syslogd_moved")
    pid = _syslogd_pid(lab, host)
    inventory = _inventory(lab, tmp_path, host, syslogd_port=6666)
    code, doc = remediate.json("syslogd", "--host", host, "--yes", inventory=inventory)
    report = doc["hosts"][host]
    assert code == 1, report  # the checks were given 6666: syslogd runs and listens on 6667
    assert "no remediation step applies" in report["message"], report["message"]
    assert "listens on udp" in report["message"] and "not on 6666" in report["message"], report["message"]
    assert step(report, "syslogd_bound")["outcome"] == "undetermined"
    assert any("the inventory says 6666, the host says 6667" in s for s in report["settings"]), report
    assert not [s for s in steps(report, "remediation") if s["outcome"] == "ran"]
    assert _syslogd_pid(lab, host) == pid
    (mismatch,) = [e for e in remediate.events() if e["event"] == "host.setting_mismatch"]
    assert (mismatch["var"], mismatch["inventory_value"], mismatch["host_value"]) == ("syslogd_port", 6666, 6667)


def test_syslogd_bound_on_loopback_reads_healthy(lab: Lab, remediate: Runner, host: str) -> None:
    lab.break_(host, "syslogd_loopback")
    port = lab.loopback_port(host)
    st = lab.status(host)
    assert st["settings"]["syslogd"] == f"127.0.0.1:{port}" and st["healthy"]["syslogd"]
    pid = _syslogd_pid(lab, host)
    assert st["ports"][f"udp/{port}"]["pids"] == [pid]
    code, report = run(remediate, "syslogd", "--yes")
    assert code == 0, report
    assert report["status"] == "healthy", report
    assert not steps(report, "remediation"), report["steps"]
    bound = step(report, "syslogd_bound")["message"]
    assert f"udp {port} at localhost" in bound and "127.0.0.1" in bound, bound
    assert _token_in(Path(lab.hdir(host)) / "nl6/var/default/log/remediate.log", report)
    assert _syslogd_pid(lab, host) == pid
    code, doc = remediate.json("check", "syslogd", "--host", host)
    assert code == 0 and doc["hosts"][host]["modules"] == {"syslogd": "healthy"}, doc


def test_a_moved_xtk_var_dir_still_finds_the_redir_files(lab: Lab, remediate: Runner, host: str) -> None:
    lab.break_(host, "var_dir_moved")
    moved = Path(lab.hdir(host)) / "app/log/AdobeCampaign"
    assert lab.status(host)["settings"]["var_dir"] == str(moved)
    assert not (Path(lab.hdir(host)) / "nl6/var").exists()
    lab.click(host, 1, 12, 1, "h")  # an open/click: trackinglogd writes a redir line in the moved tree
    redir = moved / "prod/redir/log"
    wait_until(lambda: list(redir.glob("0x*.log")), 10, "trackinglogd writes the line under XTK_VAR_DIR")
    pids = {name: p["pid"] for name, p in lab.status(host)["processes"].items()}
    code, doc = remediate.json("check", "trackinglogd", "syslogd", "--host", host)
    assert doc["hosts"][host]["modules"] == {"trackinglogd": "healthy", "syslogd": "healthy"}, doc
    assert code == 0, doc
    # the syslogd playbook's test record is looked for under the moved tree, and found there
    code, report = run(remediate, "syslogd", "--yes")
    assert code == 0 and report["status"] == "healthy", report
    assert _token_in(moved / "default/log/remediate.log", report)
    assert {name: p["pid"] for name, p in lab.status(host)["processes"].items()} == pids


def test_hosts_shows_the_host_settings_a_mismatch_and_the_holds(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    lab.break_(host, "syslogd_moved")
    inventory = _inventory(lab, tmp_path, host, syslogd_port=6666)
    code, doc = remediate.json("hold", "mta", "--host", host, "--reason", "INC-9 bad send", inventory=inventory)
    assert code == 0, doc
    try:
        res = remediate("hosts", "--host", host, "--output", "json", inventory=inventory)
        assert res.returncode == 0, res.stderr
        (row,) = yaml.safe_load(res.stdout)
        settings = row["settings"]
        assert settings["syslogd_port"] == {"value": 6666, "from": "inventory", "source": "inventory"}
        assert settings["syslogd_address"]["value"] == lab.addr(host)
        assert (
            settings["syslogd_address"]["from"] == "host" and "TRACE_ADDR in" in settings["syslogd_address"]["source"]
        )
        assert settings["web_port"] == {"value": 8080, "from": "host", "source": "config-default.xml web/@httpPort"}
        assert settings["var_dir"] == {
            "value": str(Path(lab.hdir(host)) / "nl6/var"),
            "from": "default",
            "source": "default",
        }
        (mismatch,) = row["mismatches"]
        assert (mismatch["var"], mismatch["inventory_value"], mismatch["host_value"]) == ("syslogd_port", 6666, 6667)
        assert [h["process"] for h in row["holds"]] == ["mta@prod"] and row["holds"][0]["reason"] == "INC-9 bad send"
        text = remediate("hosts", "--host", host, inventory=inventory)
        assert text.returncode == 0, text.stderr
        assert "mismatch: syslogd_port: the inventory says 6666, the host says 6667" in text.stdout
        assert "syslogd_address: " + lab.addr(host) + "  (TRACE_ADDR in " in text.stdout
        assert "held: mta@prod is held by" in text.stdout
    finally:
        remediate("release", "mta", "--host", host, inventory=inventory)
