"""The files of one lab host: its directory tree, Campaign configs, nlserver wrapper, env.sh and keys.

Owns: everything under hosts/<host>/ that `up` writes once, and the configs `heal` restores.
Must not: start processes (sshd and the watchdog are started by `lab.sshd` and `lab.core`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from .base import DB_PORT, INSTANCE, MULTI, POP_MAIL_PERIOD, STAT_PORT, SYSLOG_PORT, autostart_modules
from .context import LabContext
from .sshd import HOST_KEY
from .templates import (
    CONFIG_DEFAULT,
    CONFIG_INSTANCE,
    CUSTOMER_SH,
    ENV_RECORD_SH,
    ENV_SH,
    NLSERVER,
    RECORD_SH,
    SERVERCONF,
    VAR_DIR_SH,
)

VAR_DIRS = ["log", "export", "upload"]
REDIR_DIRS = ["redir", "redir/log", "redir/url"]
SECOND_INSTANCE = "prod2"
# Host roles (lab/README.md "Host roles"): lab1 and most hosts are standalone; with 3 hosts or more, lab2
# runs two instances (prod2 with a remote stat: stat@prod) and the last host is a mid-sourced marketing
# server that is not a redirection server.
STANDALONE, TWO_INSTANCES, MID_SOURCED = "standalone", "two-instances", "mid-sourced"
# `up` with this set to 1 writes hosts that record what they receive (lab/README.md "Records")
RECORD_ENV = "REMEDIATE_LAB_RECORD"


def role_for(k: int, hosts: int) -> str:
    """The role of host lab<k> created in a lab of `hosts` hosts."""
    if hosts >= 3 and k == 2:
        return TWO_INSTANCES
    if hosts >= 3 and k == hosts:
        return MID_SOURCED
    return STANDALONE


def customer_sh(lab: LabContext, host: str, trace_addr: str | None = None, var_dir: Path | None = None) -> str:
    """The host's customer.sh: its own TRACE_ADDR (its address, 6666) unless another is given, and XTK_VAR_DIR
    only when the var/ tree was moved."""
    text = CUSTOMER_SH.format(trace_addr=trace_addr or f"{lab.addr(host)}:{SYSLOG_PORT}")
    return text + (VAR_DIR_SH.format(var_dir=var_dir) if var_dir else "")


def write_configs(lab: LabContext, host: str, pop_period: int = POP_MAIL_PERIOD) -> None:
    """config-default.xml and each config-<instance>.xml on their healthy baseline (popMailPeriodSec given)."""
    nl6, addr, info = lab.hdir(host) / "nl6", lab.addr(host), lab.info(host)
    role = info.get("role", STANDALONE)
    redirection = "true" if info.get("redirection", True) else "false"
    lab.write(nl6 / "conf" / "config-default.xml", CONFIG_DEFAULT.format(addr=addr, redirection=redirection))
    for n, instance in enumerate(lab.instances(host)):
        first = n == 0
        mid = role == MID_SOURCED
        lab.write(
            nl6 / "conf" / f"config-{instance}.xml",
            CONFIG_INSTANCE.format(
                export_attr="" if first else f' exportDirectory="{nl6}/var/{instance}/export/"',
                db_host=lab.db_host,
                db_port=DB_PORT,
                db_name=lab.db_name(host, instance),
                db_user=host,
                mta="false" if mid else "true",
                # the first instance's stat serves the host; a second instance's mta uses it (remote stat)
                stat_server=addr if first else f"{addr}:{STAT_PORT}",
                stat="true" if first and not mid else "false",
                inmail="false" if mid else "true",
                pop_period=pop_period,
            ),
        )


def _dirs(lab: LabContext, host: str) -> None:
    h = lab.hdir(host)
    nl6, var = h / "nl6", h / "nl6" / "var"
    year = time.strftime("%Y")
    dirs = [h, h / "run", h / "ssh", nl6, nl6 / "bin", nl6 / "conf", var, var / "default", var / "default/log"]
    redir = [*REDIR_DIRS, f"redir/url/{year}"] if lab.info(host).get("redirection", True) else []
    for instance in lab.instances(host):
        dirs += [var / instance] + [var / instance / d for d in VAR_DIRS + redir]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        lab.chown(d)


def _log_files(lab: LabContext, host: str) -> None:
    """An empty log file per enabled module (and the watchdog), so that a module whose first line syslogd
    missed at start-up still has its <module>.log, as on a Campaign host that has run before."""
    var = lab.hdir(host) / "nl6" / "var"
    names = ["watchdog@default", *autostart_modules(lab.hdir(host) / "nl6" / "conf", *lab.instances(host))]
    for name in names:
        module, _, instance = name.partition("@")
        path = var / ("default" if module in MULTI else instance) / "log" / f"{module}.log"
        if not path.exists():
            lab.write(path, "", in_place=True)  # syslogd may be creating it meanwhile


def _keys(lab: LabContext, host: str) -> None:
    h = lab.hdir(host)
    for path in (h / "ssh" / HOST_KEY, h / "ssh" / f"{HOST_KEY}.changed"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{host}-hostkey", "-f", str(path)],
            check=True,
            capture_output=True,
        )
        lab.chown(path, Path(str(path) + ".pub"))
    lab.write(h / "ssh" / "authorized_keys", (lab.dir / "id_ed25519.pub").read_text(), 0o600)


def host_tree(lab: LabContext, host: str, role: str = STANDALONE) -> None:
    """Write a new host's directory: host.json, nl6/ (bin, env, conf, var), its sshd keys."""
    h, addr = lab.hdir(host), lab.addr(host)
    nl6 = h / "nl6"
    instances = [INSTANCE, SECOND_INSTANCE] if role == TWO_INSTANCES else [INSTANCE]
    info = {
        "name": host,
        "address": addr,
        "role": role,
        "instance": INSTANCE,
        "instances": instances,
        "redirection": role != MID_SOURCED,
        "lab_dir": str(lab.dir),
        "record": os.environ.get(RECORD_ENV) == "1",
    }
    h.mkdir(parents=True, exist_ok=True)
    lab.write(h / "host.json", json.dumps(info, indent=1) + "\n")
    _dirs(lab, host)
    lab.write(
        nl6 / "bin" / "nlserver", NLSERVER.format(host=host, nl6=nl6, python=lab.python, entry=lab.sim_entry), 0o755
    )
    env_sh = ENV_SH.format(host=host, nl6=nl6, db_host=lab.db_host, db_port=DB_PORT)
    if info["record"]:
        env_sh += ENV_RECORD_SH.format(h=h)
        lab.write(h / "rec" / "sh", RECORD_SH.format(h=h, host=host), 0o755)
    lab.write(nl6 / "env.sh", env_sh, 0o644)
    lab.write(nl6 / "customer.sh", customer_sh(lab, host), 0o644)
    lab.write(nl6 / "conf" / "serverConf.xml", SERVERCONF.format(addr=addr, host=host))
    write_configs(lab, host)
    _log_files(lab, host)
    for instance in instances if info["redirection"] else []:
        for k in range(1, 4):
            lab.write(
                nl6 / f"var/{instance}/redir/url/{time.strftime('%Y')}/{k}.xml",
                f"<delivery id='{k}'><url id='1' source='https://www.example.com/'/>"
                f"<url id='2' source='https://www.example.com/offer/{k}'/></delivery>\n",
                0o644,
            )
    _keys(lab, host)
