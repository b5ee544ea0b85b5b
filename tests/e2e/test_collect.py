"""remediate collect and the bundle taken before a disruptive step, on the lab: what the bundle holds is what
the host holds (hashes recomputed from the tar, pids from lab.status), no secret of the lab's or the
inventory's gets into it, a restart records its bundle, caps cut files, and a host not reached is said."""

from __future__ import annotations

import hashlib
import json
import secrets as random
import stat
import tarfile
from pathlib import Path
from typing import Any

import yaml

from lab import Lab
from tests.support.cli import Runner, read_events
from tests.support.labfix import pid_of


def open_bundle(path: Path) -> dict[str, bytes]:
    """Every member of a bundle, by its name under the bundle's own directory."""
    with tarfile.open(path) as tar:
        out = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None, member.name
            out[member.name.split("/", 1)[1]] = handle.read()
    return out


def manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(files["MANIFEST.json"])
    return doc


def entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found = [f for f in doc["files"] if f["name"] == name]
    assert found, f"{name} not in the manifest: {[f['name'] for f in doc['files']]}"
    return found[0]


def inventory_with(lab: Lab, tmp_path: Path, host: str | None = None, **host_vars: Any) -> Path:
    """The lab's inventory with vars set on ``host`` (every host when None)."""
    doc = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    if host is None:
        doc["all"].setdefault("vars", {}).update(host_vars)
    for group in [doc["all"], *doc["all"].get("children", {}).values()]:
        for name, values in (group.get("hosts") or {}).items():
            if name == host:
                values.update(host_vars)
    path = tmp_path / "inventory-collect.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def collect(remediate: Runner, *args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    return remediate.json("collect", *args, **kw)


def test_a_bundle_holds_what_the_host_holds_and_its_hashes_match(lab: Lab, remediate: Runner, host: str) -> None:
    code, doc = collect(remediate, "--host", host, "wfserver", "web")
    bundle = doc["hosts"][host]
    path = Path(bundle["path"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.parent == remediate.audit_log.parent / "bundles"  # beside the audit log, not in the cwd
    assert not (remediate.workdir / "remediate-bundles").exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == bundle["sha256"]
    files = open_bundle(path)
    manifest = manifest_of(files)
    assert code == (1 if manifest["partial"] else 0) and bundle["partial"] == manifest["partial"]
    names = {f["name"] for f in manifest["files"]}
    assert names | {"MANIFEST.json", "README.txt"} == set(files)
    for f in manifest["files"]:
        data = files[f["name"]]
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"], f["name"]
        assert f["name"] in files["README.txt"].decode()
        if f["name"] != "monitor.xml":  # Adobe's XML indicators: the lab may not print them
            assert f["status"] == "ok", f
    assert "Application server for Adobe Campaign" in files["build.txt"].decode()
    pdump = files["pdump.txt"].decode()
    for process in ("wfserver@prod", "web@default", "watchdog"):
        assert f"{process} ({pid_of(lab, host, process)})" in pdump  # the host's real processes
    wfserver_log = (lab.hdir(host) / "nl6" / "var" / "prod" / "log" / "wfserver.log").read_text()
    kept = files["logs/wfserver.log"].decode()
    assert kept and kept in wfserver_log and "since the module started" in entry(manifest, "logs/wfserver.log")["note"]
    assert "/var/prod/log/wfserver.log" in entry(manifest, "logs/wfserver.log")["source"]
    config = (lab.hdir(host) / "nl6" / "conf" / "config-prod.xml").read_text()
    assert files["conf/config-prod.xml"].decode() == config  # nothing secret in the lab's: as on the host
    assert "Filesystem" in files["df.txt"].decode() and files["memory.txt"]
    collected = [e for e in read_events(remediate.audit_log) if e["event"] == "bundle.collected"]
    assert [(e["host"], e["path"], e["sha256"]) for e in collected] == [(host, str(path), bundle["sha256"])]


def test_no_secret_of_the_host_or_the_inventory_gets_into_a_bundle(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    """The secrets the reliability suite uses (inventory vars, PGPASSWORD), the lab's monitoring and
    database passwords, and secrets written into the host's own config files and customer.sh."""
    inv_secrets = {"db_password": f"dbpw-{random.token_hex(6)}", "api_token": f"tok-{random.token_hex(6)}"}
    env = {"PGPASSWORD": f"pgpw-{random.token_hex(6)}"}
    on_host = {
        "dbcnx": f"cfgpw-{random.token_hex(6)}",
        "internal": f"intpw-{random.token_hex(6)}",
        "customer": f"custpw-{random.token_hex(6)}",
    }
    conf = lab.hdir(host) / "nl6" / "conf"
    files = {
        p: p.read_bytes()
        for p in (conf / "config-prod.xml", conf / "serverConf.xml", lab.hdir(host) / "nl6" / "customer.sh")
    }
    try:
        instance = conf / "config-prod.xml"
        lab.write(  # in one step: inMail reads config-prod.xml at each poll
            instance, instance.read_text().replace('login="', f'password="{on_host["dbcnx"]}" encrypted="1" login="')
        )
        server = conf / "serverConf.xml"
        lab.write(
            server,
            server.read_text().replace(
                "</serverconf>", f'  <xtk internalPassword="{on_host["internal"]}"/>\n</serverconf>'
            ),
        )
        customer = lab.hdir(host) / "nl6" / "customer.sh"
        lab.write(customer, customer.read_text() + f"export SITE_DB_PASSWORD='{on_host['customer']}'\n")
        assert all(secret in "".join(p.read_text() for p in files) for secret in on_host.values())
        inventory = inventory_with(lab, tmp_path, None, **inv_secrets)
        code, doc = collect(remediate, "--host", host, inventory=inventory, env=env)
        assert code in (0, 1), doc
    finally:
        for path, content in files.items():
            lab.write(path, content.decode())
    bundle = open_bundle(Path(doc["hosts"][host]["path"]))
    every = [*inv_secrets.values(), *env.values(), *on_host.values(), lab.monitoring_password()]
    every += [lab.db_password(name) for name in lab.hosts()]
    leaks = [(secret, name) for secret in every for name, data in bundle.items() if secret.encode() in data]
    assert leaks == [], leaks
    assert 'password="***"' in bundle["conf/config-prod.xml"].decode()
    assert 'internalPassword="***"' in bundle["conf/serverConf.xml"].decode()
    assert "export SITE_DB_PASSWORD=***" in bundle["customer.sh"].decode()
    assert 'login="' in bundle["conf/config-prod.xml"].decode() and "TRACE_ADDR" in bundle["customer.sh"].decode()
    audit = remediate.audit_log.read_text()
    assert not [s for s in every if s in audit]


def test_a_restart_takes_a_bundle_first_and_records_it(lab: Lab, remediate: Runner, host: str) -> None:
    before = pid_of(lab, host, "web@default")
    res = remediate("web", "--host", host, "--force", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    after = pid_of(lab, host, "web@default")
    assert before and after and after != before  # web really restarted
    events = read_events(remediate.audit_log)
    names = [e["event"] for e in events]
    taken = [e for e in events if e["event"] == "bundle.collected"]
    assert len(taken) == 1 and taken[0]["step"] == "restart_web" and taken[0]["module"] == "web"
    restart = next(i for i, e in enumerate(events) if e["event"] == "step.started" and e["step"] == "restart_web")
    assert names.index("confirmation.given") < names.index("bundle.collected") < restart
    path = Path(taken[0]["path"])
    assert path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == taken[0]["sha256"]
    files = open_bundle(path)
    assert f"web@default ({before})" in files["pdump.txt"].decode()  # taken before the restart
    assert manifest_of(files)["step"] == "restart_web" and "logs/web.log" in files
    assert str(path) in res.stdout


def test_a_file_over_its_cap_is_cut_and_the_manifest_says_so(
    lab: Lab, remediate: Runner, host: str, tmp_path: Path
) -> None:
    inventory = inventory_with(lab, tmp_path, host, collect_max_bytes=200)
    code, doc = collect(remediate, "--host", host, "wfserver", inventory=inventory)
    files = open_bundle(Path(doc["hosts"][host]["path"]))
    manifest = manifest_of(files)
    who = entry(manifest, "pdump-who.txt")
    assert who["status"] == "truncated" and who["size"] <= 200 and "collect_max_bytes 200" in who["note"]
    assert len(files["pdump-who.txt"]) == who["size"]
    assert manifest["limits"]["collect_max_bytes"] == 200
    assert code == (1 if manifest["partial"] else 0)  # cut files do not make a bundle partial
    assert all(f["size"] <= 200 for f in manifest["files"])


def test_a_host_not_reached_is_said_in_its_bundle_and_the_exit_code(
    lab: Lab, remediate: Runner, tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory-ghost.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"instance": "prod", "ssh_config": f"{lab.dir}/ssh_config"},
                    "hosts": {"ghost": {"ansible_host": f"{lab.net}.201", "ansible_port": 2222}},
                }
            }
        )
    )
    code, doc = collect(remediate, "--host", "ghost", inventory=inventory)
    assert code == 3, doc
    ghost = doc["hosts"]["ghost"]
    assert ghost["status"] == "unreachable" and ghost["partial"] is True
    manifest = manifest_of(open_bundle(Path(ghost["path"])))
    assert manifest["reached"] is False and manifest["partial"] is True
    assert all(f["status"] == "failed" and "not reached" in f["note"] for f in manifest["files"])
    assert [e for e in read_events(remediate.audit_log) if e["event"] == "host.unreachable"]


def test_no_bundle_with_no_collect_and_none_in_a_dry_run(lab: Lab, remediate: Runner, host: str) -> None:
    before = pid_of(lab, host, "web@default")
    res = remediate("web", "--host", host, "--force", "--dry-run")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "would take an evidence bundle first" in res.stdout and pid_of(lab, host, "web@default") == before
    res = remediate("web", "--host", host, "--force", "--yes", "--no-collect")
    assert res.returncode == 0, res.stdout + res.stderr
    assert pid_of(lab, host, "web@default") not in (None, before)  # restarted, with no bundle before it
    assert not [e for e in read_events(remediate.audit_log) if e["event"].startswith("bundle.")]
    assert not (remediate.audit_log.parent / "bundles").exists()
