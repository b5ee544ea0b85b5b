"""Host roles: lab1 standalone, lab2 with two instances (prod2 uses stat@prod), the last host mid-sourced
and not a redirection server; each role's configs are read by the runner's parser."""

from __future__ import annotations

import yaml
from labtools import nl, poll, ssh

from lab import Lab
from runner.campaign import parse_missing, parse_pdump, parse_who
from runner.campaign_formats import parse_instance_config


def conf(lab: Lab, host: str, name: str) -> str:
    return (lab.hdir(host) / "nl6" / "conf" / name).read_text()


def test_standalone_configs_in_adobes_shape(lab: Lab) -> None:
    default = parse_instance_config(conf(lab, "lab1", "config-default.xml"))
    assert default.auto_start == {"syslogd", "web", "trackinglogd"}
    prod = parse_instance_config(conf(lab, "lab1", "config-prod.xml"))
    assert prod.auto_start == {"wfserver", "mta", "stat", "inMail"} and prod.pop_mail_period == 300
    assert prod.stat_server == (lab.addr("lab1"), 7777) and prod.export_directory is None
    assert lab.status("lab1")["role"] == "standalone"


def test_two_instances_share_one_stat(lab: Lab) -> None:
    st = lab.status("lab2")
    assert st["role"] == "two-instances" and st["instances"] == ["prod", "prod2"]
    prod2 = parse_instance_config(conf(lab, "lab2", "config-prod2.xml"))
    assert "stat" in prod2.disabled and prod2.stat_server == (lab.addr("lab2"), 7777)
    names = {p.name for p in parse_pdump(nl(lab, "lab2", "pdump").stdout).processes}
    assert {"wfserver@prod2", "mta@prod2", "inMail@prod2", "stat@prod", "wfserver@prod"} <= names
    assert "stat@prod2" not in names
    who = parse_who(nl(lab, "lab2", "pdump", "-who").stdout)
    assert sorted(p.columns[0] for p in who.pool) == ["campaign_lab2", "campaign_lab2_prod2"]
    # prod2's own database: its mta sends a new delivery because stat@prod answers it
    lab.psql(
        "INSERT INTO NmsDelivery (iDeliveryId, sInternalName, sLabel, iState, iToDeliver) "
        "VALUES (50, 'DM50', 'x', 51, 3)",
        db="campaign_lab2_prod2",
    )
    poll(lambda: lab.psql("SELECT iState FROM NmsDelivery WHERE iDeliveryId=50", db="campaign_lab2_prod2") == "95")
    assert lab.psql("SELECT count(*) FROM NmsDelivery WHERE iDeliveryId=50", db="campaign_lab2") == "0"
    inv = yaml.safe_load((lab.dir / "inventory.yml").read_text())["all"]["children"]["lab"]["hosts"]
    assert inv["lab2-prod2"]["instance"] == "prod2" and inv["lab2-prod2"]["address"] == inv["lab2"]["address"]
    assert ssh(lab, "lab2-prod2", "true").returncode == 0


def test_mid_sourced_host_runs_no_mta_inmail_or_redirection(lab: Lab) -> None:
    last = lab.hosts()[-1]
    st = lab.status(last)
    assert st["role"] == "mid-sourced" and not st["redirection_server"]
    names = {p.name for p in parse_pdump(nl(lab, last, "pdump").stdout).processes}
    assert not {"mta@prod", "inMail@prod", "stat@prod", "trackinglogd@default"} & names
    assert "wfserver@prod" in names and parse_missing(nl(lab, last, "monitor", "-missing").stdout) == []
    prod = parse_instance_config(conf(lab, last, "config-prod.xml"))
    assert {"mta", "inMail"} <= prod.disabled
    assert not (lab.hdir(last) / "nl6/var/prod/redir").exists()
    assert lab.click(last, 1, 1) == 404
    assert all(st["healthy"].values()), st["healthy"]


def test_each_enabled_module_has_its_log_file(lab: Lab) -> None:
    """A module whose first line syslogd missed at start-up still has its <module>.log."""

    def logs(host: str, instance: str) -> set[str]:
        return {p.name for p in (lab.hdir(host) / "nl6" / "var" / instance / "log").glob("*.log")}

    assert logs("lab1", "default") >= {"syslogd.log", "web.log", "trackinglogd.log", "watchdog.log"}
    assert logs("lab1", "prod") >= {"wfserver.log", "mta.log", "stat.log", "inMail.log"}
    assert logs("lab2", "prod2") >= {"wfserver.log", "mta.log", "inMail.log"}
    assert logs("lab4", "prod") >= {"wfserver.log"} and logs("lab4", "default") >= {"web.log", "syslogd.log"}
