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

from .base import DB_PORT, INSTANCE
from .context import LabContext
from .sshd import HOST_KEY
from .templates import CONFIG_DEFAULT, CONFIG_INSTANCE, ENV_SH, NLSERVER, SERVERCONF

VAR_DIRS = [
    "log",
    "redir",
    "redir/log",
    "redir/url",
    "export",
    "upload",
    "inmail",
    "inmail/mailbox",
    "inmail/processed",
]


def write_configs(lab: LabContext, host: str) -> None:
    """config-default.xml and config-<instance>.xml on their healthy baseline."""
    nl6, addr = lab.hdir(host) / "nl6", lab.addr(host)
    lab.write(nl6 / "conf" / "config-default.xml", CONFIG_DEFAULT.format(addr=addr))
    lab.write(
        nl6 / "conf" / f"config-{INSTANCE}.xml",
        CONFIG_INSTANCE.format(addr=addr, db_host=lab.db_host, db_port=DB_PORT, host=host),
    )


def _dirs(lab: LabContext, host: str) -> None:
    h = lab.hdir(host)
    nl6, var = h / "nl6", h / "nl6" / "var"
    year = time.strftime("%Y")
    dirs = [h, h / "run", h / "ssh", nl6, nl6 / "bin", nl6 / "conf", var, var / "default", var / "default/log"]
    dirs += [var / INSTANCE] + [var / INSTANCE / d for d in VAR_DIRS] + [var / INSTANCE / f"redir/url/{year}"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        lab.chown(d)


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


def host_tree(lab: LabContext, host: str) -> None:
    """Write a new host's directory: host.json, nl6/ (bin, env, conf, var), its sshd keys."""
    h, addr = lab.hdir(host), lab.addr(host)
    nl6 = h / "nl6"
    _dirs(lab, host)
    info = {
        "name": host,
        "address": addr,
        "instance": INSTANCE,
        "db_host": lab.db_host,
        "db_port": DB_PORT,
        "db_name": f"campaign_{host}",
        "db_user": host,
        "lab_dir": str(lab.dir),
    }
    lab.write(h / "host.json", json.dumps(info, indent=1) + "\n")
    lab.write(
        nl6 / "bin" / "nlserver", NLSERVER.format(host=host, nl6=nl6, python=lab.python, entry=lab.sim_entry), 0o755
    )
    lab.write(nl6 / "env.sh", ENV_SH.format(host=host, nl6=nl6, db_host=lab.db_host, db_port=DB_PORT), 0o644)
    lab.write(nl6 / "customer.sh", "# site customisations (sourced by env.sh)\n", 0o644)
    lab.write(nl6 / "conf" / "serverConf.xml", SERVERCONF.format(addr=addr, host=host))
    write_configs(lab, host)
    for k in range(1, 4):
        lab.write(
            nl6 / f"var/{INSTANCE}/redir/url/{time.strftime('%Y')}/{k}.xml",
            f"<delivery id='{k}'><url id='1' source='https://www.example.com/'/></delivery>\n",
            0o644,
        )
    _keys(lab, host)
