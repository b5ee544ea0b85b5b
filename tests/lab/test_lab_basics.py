from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import yaml
from labtools import log_path, nl, poll, ssh

from lab import Lab
from lab.core import MODULES, read_pidfile

BANNER = re.compile(
    r"^\d\d:\d\d:\d\d >   Application server for Adobe Campaign Classic \(7\.\d \d\d\.\d+ build "
    r"\d+@[0-9a-f]{40}\) of \d\d/\d\d/\d{4}$"
)
LINE = re.compile(r"^(watchdog|[A-Za-z]+@[a-z]+) \((\d+)\) - \d+\.\d (MB|Mb|Mo)$")


def pdump(lab: Lab, host: str) -> dict[str, int]:
    r = nl(lab, host, "pdump")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert BANNER.match(lines[0]), lines[0]
    out = {}
    for ln in lines[1:]:
        if ln.lower().startswith("no task"):
            continue
        m = LINE.match(ln)
        assert m, ln
        out[m.group(1)] = int(m.group(2))
    return out


def test_ssh_strict_host_key_checking(lab: Lab) -> None:
    r = ssh(lab, "lab1", "true")
    assert r.returncode == 0, r.stderr
    cfg = (lab.dir / "ssh_config").read_text()
    assert "StrictHostKeyChecking yes" in cfg and "Host lab4" in cfg
    kh = (lab.dir / "known_hosts").read_text().splitlines()
    assert kh[0].startswith(f"[{lab.addr('lab1')}]:2222 ssh-ed25519 ")


def test_inventory_and_env(lab: Lab) -> None:
    inv = yaml.safe_load((lab.dir / "inventory.yml").read_text())
    h = inv["all"]["children"]["lab"]["hosts"]["lab2"]
    assert h["address"] == lab.addr("lab2") and not {"db_host", "db_name", "db_user", "db_password"} & set(h)
    top = inv["all"]["vars"]
    assert top["ssh_config"] == str(lab.dir / "ssh_config") and top["pop3_server"] == f"{lab.net}.251:1110"
    assert top["export_workflows"] == ["exportRecipients"] and top["export_full_workflow"] == "exportRecipientsFull"
    assert "password" not in (lab.dir / "inventory.yml").read_text()
    psql = yaml.safe_load((lab.dir / "inventory-psql.yml").read_text())["all"]["children"]["lab"]["hosts"]
    assert psql["lab2"]["db_name"] == "campaign_lab2" and psql["lab2-prod2"]["db_name"] == "campaign_lab2_prod2"
    assert psql["lab2"]["db_user"] == "lab2" and "password" not in (lab.dir / "inventory-psql.yml").read_text()
    # env.sh under dash prints nothing; psql works with the host's pgpass; tools exist for the login user
    r = ssh(
        lab,
        "lab2",
        f". {h['nlserver_env']} && nlserver pdump >/dev/null && psql -Atc 'select count(*) from "
        "NmsRecipient' && ss -lunp | grep -c ':6666' && curl -s http://"
        f"{h['address']}:8080/r/test && command -v find stat timeout >/dev/null",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "200"
    assert "status='OK'" in r.stdout
    r = subprocess.run(["dash", "-c", f". {h['nlserver_env']}"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


def test_pdump_and_monitor(lab: Lab) -> None:
    procs = pdump(lab, "lab1")
    assert set(procs) == {"watchdog", *MODULES}
    for name, pid in procs.items():
        assert Path(f"/proc/{pid}").exists(), name
    r = nl(lab, "lab1", "monitor", "-missing")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1 and BANNER.match(r.stdout.splitlines()[0])
    assert nl(lab, "lab1", "start", "nosuchmodule@prod").returncode != 0
    r = nl(lab, "lab1", "pdump", "-who")
    assert r.returncode == 0 and "Connection pool ---" in r.stdout


def test_watchdog_restarts_crashed_module_not_stopped_one(lab: Lab) -> None:
    before = pdump(lab, "lab1")["mta@prod"]
    os.kill(before, signal.SIGKILL)
    after = poll(lambda: (p := pdump(lab, "lab1").get("mta@prod")) and p != before and p, timeout=5)
    assert after != before
    r = nl(lab, "lab1", "stop", "inMail@prod")
    assert r.returncode == 0 and "Stop requested for 'inMail@prod'" in r.stdout
    time.sleep(2.0)
    assert "inMail@prod" not in pdump(lab, "lab1")
    assert "inMail@prod" in nl(lab, "lab1", "monitor", "-missing").stdout.splitlines()
    r = nl(lab, "lab1", "start", "inMail@prod")
    assert r.returncode == 0 and "Running task 'inMail@prod'" in r.stdout and "Server started" in r.stdout
    poll(lambda: "inMail@prod" in pdump(lab, "lab1"), timeout=5)
    r = nl(lab, "lab1", "restart", "wfserver@prod")
    assert r.returncode == 0
    poll(lambda: "wfserver@prod" in pdump(lab, "lab1"), timeout=5)


def test_syslog_datagram_lands_in_log(lab: Lab) -> None:
    marker = uuid.uuid4().hex
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(f"wfserver@prod\tinfo\tprobe {marker}".encode(), (lab.addr("lab1"), 6666))
    s.sendto(f"web@default\t4242\twarning\tprobe {marker}".encode(), (lab.addr("lab1"), 6666))
    poll(lambda: marker in log_path(lab, "lab1", "prod/log/wfserver.log").read_text(), timeout=5)
    line = poll(
        lambda: [ln for ln in log_path(lab, "lab1", "default/log/web.log").read_text().splitlines() if marker in ln],
        timeout=5,
    )[0]
    f = line.split("\t")
    assert f[0].endswith("Z") and f[1] == "4242" and f[3] == "1" and f[4] == "warning" and f[5] == "web"
    # modules really log through syslogd
    assert "Workflow server started" in log_path(lab, "lab1", "prod/log/wfserver.log").read_text()


def test_export_workflow_and_tracking_utility(lab: Lab) -> None:
    js = lab.hdir("lab1") / "run" / "start.js"
    lab.write(js, 'xtk.workflow.Start("exportRecipients");\n')
    before = set((lab.hdir("lab1") / "nl6/var/prod/export").glob("*.csv"))
    time.sleep(1.1)  # export file names carry the second
    r = nl(lab, "lab1", "javascript", "-instance:prod", f"-file:{js}")
    assert r.returncode == 0, r.stderr
    poll(lambda: set((lab.hdir("lab1") / "nl6/var/prod/export").glob("*.csv")) - before, timeout=10)
    st = lab.status("lab1")
    assert st["db"]["workflows"]["exportRecipients"]["state"] == 11  # recurring: started between runs
    assert st["db"]["workflows"]["exportRecipientsFull"]["state"] == 20
    assert lab.click("lab1", 3, 77) == 302
    r = nl(lab, "lab1", "tracking", "-instance:prod", "-download", "-update")
    assert r.returncode == 0, r.stderr
    assert lab.psql("SELECT count(*) FROM NmsTrackingLogRcp WHERE iRecipientId=77", db="campaign_lab1") != "0"


def test_status_json_cli(lab: Lab) -> None:
    r = subprocess.run(
        ["python", "-m", "lab", "--dir", str(lab.dir), "--net", lab.net, "status", "lab3", "--json"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert all(st["healthy"].values()), st["healthy"]
    assert st["ports"]["udp/6666"]["owner_ok"] and st["db"]["recipients"] == 200


def test_up_twice_is_harmless(lab: Lab) -> None:
    pids = {p: read_pidfile(p) for p in lab.pidfiles()}
    lab.up(len(lab.hosts()))
    assert {p: read_pidfile(p) for p in lab.pidfiles()} == pids


def scan_lab_processes(d: Path) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(p / "cwd")
        except OSError:
            continue
        if str(d) in cmd or cwd.startswith(str(d)):
            found.append(int(p.name))
    return found


def test_down_leaves_no_process(tmp_path_factory: object) -> None:
    import tempfile

    d = tempfile.mkdtemp(prefix="remediate-lab-down-", dir="/tmp")
    os.chmod(d, 0o755)
    lab = Lab(d, "127.0.5", project_inventory=False)
    try:
        lab.up(2)
        lab.break_("lab1", "syslogd_port_taken")
        lab.break_("lab2", "sshd_drops")
        pids = [read_pidfile(p) for p in lab.pidfiles()]
        assert len([p for p in pids if p]) >= 10
        assert scan_lab_processes(Path(d))
    finally:
        lab.down()
    assert all(not Path(f"/proc/{p}").exists() or read_pidfile(Path("/nonexistent")) for p in pids if p)
    for p in pids:
        if p:
            assert (
                not Path(f"/proc/{p}/cmdline").exists()
                or str(d).encode() not in Path(f"/proc/{p}/cmdline").read_bytes()
            )
    time.sleep(0.5)
    assert scan_lab_processes(Path(d)) == []
