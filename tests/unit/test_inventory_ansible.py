"""The runner reads an inventory as Ansible does: each one here is loaded by ``ansible-inventory --list``
(ansible-core, a dev dependency) and by runner.inventory, and the two must agree on every host, every
var of every host, and the hosts of every group. The JSON Ansible prints is then loaded back by the
runner (``-i inventory.json``, how a dynamic inventory reaches it) and must give the same inventory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner import inventory

# one pytest-xdist worker runs the whole file: ansible-inventory lists every inventory once (``listed``)
pytestmark = pytest.mark.xdist_group("test_inventory_ansible")

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"

INVENTORIES = {
    # Ansible's documented INI example (ansible/plugins/inventory/ini.py), with Campaign vars; then a
    # host:port already declared (Ansible keeps the first port), '=' and '#' inside values, literals
    "example.ini": """\
[web]
web[01:03] instance=prod
web04:2222 ansible_host=10.0.0.4   # host:port, inline vars

[web:vars]
http_port=8080
myvar=23
nlserver_env=/usr/local/neolane/nl6/env.sh

[web:children]
apache
nginx

[apache]
tomcat1
tomcat2 myvar=34 mysecret="'03#pa33w0rd'"

[nginx]
jenkins1

[nginx:vars]
has_java = True

[all:vars]
has_java = False
instance = prod

[db]
web04:2223
db1 a=b=c x="quoted # not a comment" y='[1, "a"]'

[db:vars]
q="quoted # not a comment"
n = -5
f = 1e3
t = (1,)

[all:children]
db

[ungrouped]
u1
""",
    # ranges of letters, steps and widths; children declared before their groups; a var set at
    # several depths, by siblings of one depth (the later name wins) and by a group priority
    "ranges_children.ini": """\
before1
before2:2200 role=edge

[emea:children]
paris
london

[paris]
par-[a:c].example.com
par-app[01:10:3]

[london]
lon[1:3] tier='gold'
par-b.example.com

[emea:vars]
x=emea
y=emea

[paris:vars]
x=paris
w=paris
[london:vars]
x=london
w=london

[canary]
par-app04
lon2
[canary:vars]
ansible_group_priority=5
w=canary
v=canary

[zzz]
par-app04
[zzz:vars]
v=zzz

[dc:children]
emea
[dc:vars]
y=dc
z=dc

[all:vars]
x=all
z=all
export_workflows=['exportRecipients', 'exportDaily']
""",
    # the README's YAML shape: vars at all, group and host; a host in two groups; top-level groups;
    # ranges and host:PORT in YAML keys, which Ansible expands there too
    "campaign.yml": """\
all:
  vars:
    instance: prod
    nlserver: /usr/local/neolane/nl6/bin/nlserver
  children:
    emea:
      vars: {export_workflows: [exportRecipients], web_port: 8080}
      hosts:
        prod1: {ansible_host: 127.0.0.21}
        prod2: {ansible_host: 127.0.0.22, syslogd_port: 6666}
      children:
        emea_mkt:
          vars: {instance: marketing}
          hosts:
            mkt1: {}
    us:
      vars: {web_port: 9090, region: us}
      hosts:
        prod2: {}
  hosts:
    lonely: {instance: other}
tracking:
  hosts:
    trk1: {ansible_port: 2222}
    "trk[2:3]:2200": {instance: trk}
    "pool-[a:b]":
""",
    # an inventory with group_vars/ and host_vars/ beside it (Ansible's host_group_vars plugin)
    "site/hosts": """\
[web]
web1 z=inline
web2

[emea:children]
web

[emea:vars]
x=emea
y=emea

[all:vars]
x=all
w=all
""",
}

# group_vars/ and host_vars/ of "site/hosts": group_vars/all beats every group's inventory vars,
# group_vars/GROUP beats group_vars/all, host_vars/HOST beats the host's own line
VARS_FILES = {
    "site/group_vars/all.yml": "x: group_vars_all\nv: all\n",
    "site/group_vars/all.json": '{"never": "read: all.yml comes first"}',
    "site/group_vars/emea": "y: group_vars_emea\nexport_workflows: [exportRecipients]\n",
    "site/group_vars/web/10-first.yml": "v: web_first\nu: web_first\n",
    "site/group_vars/web/20-second.yaml": "u: web_second\n",
    "site/group_vars/web/.hidden.yml": "u: hidden\n",
    "site/group_vars/nogroup.yml": "x: no such group\n",
    "site/host_vars/web1.yml": "z: host_vars\ninstance: prod\n",
}


EXPORTED = "ranges_children.ini"  # also listed with --export (group vars kept in their groups)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any], dict[str, Any]]]:
    """Per inventory: its file, ``ansible-inventory --list`` and ``--list --export`` (run side by side)."""
    assert ANSIBLE_INVENTORY.exists(), "ansible-core is a dev dependency: pip install -e '.[dev]'"
    tmp = tmp_path_factory.mktemp("ansible")
    runs = {}
    for name, text in {**VARS_FILES, **INVENTORIES}.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)
    for name in INVENTORIES:
        path = tmp / name
        for flags in ((), ("--export",)) if name == EXPORTED else ((),):
            cmd = [str(ANSIBLE_INVENTORY), "-i", str(path), "--list", *flags]
            runs[name, flags] = (path, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env(tmp)))
    docs: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for (name, flags), (_path, proc) in runs.items():
        stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"ansible-inventory failed on {name}"
        docs[name, flags] = json.loads(stdout)
    return {name: (tmp / name, docs[name, ()], docs.get((name, ("--export",)), docs[name, ()])) for name in INVENTORIES}


def _members(listing: dict[str, Any], group: str) -> list[str]:
    """Every host of a group of ``ansible-inventory --list``, its children's included, in Ansible's order."""
    body = listing.get(group) or {}
    found = list(body.get("hosts", []))
    for child in body.get("children", []):
        found.extend(_members(listing, child))
    return list(dict.fromkeys(found))


def _assert_same(inv: inventory.Inventory, listing: dict[str, Any]) -> None:
    hostvars = listing["_meta"]["hostvars"]
    assert set(inv.hosts) == set(hostvars) | set(_members(listing, "all"))
    for name, host in inv.hosts.items():
        assert dict(host.vars) == hostvars.get(name, {}), name
    groups = [g for g in listing if g != "_meta"]
    assert set(inv.groups) == set(groups) | {"ungrouped"}
    for group in groups:
        if group == "all":
            assert set(inv.groups["all"]) == set(inv.hosts)
        else:
            assert inv.groups[group] == _members(listing, group), group
        # a host's groups: each group whose hosts it is in (all and ungrouped aside)
        for name in _members(listing, group):
            if group not in ("all", "ungrouped"):
                assert group in inv.hosts[name].groups, (name, group)


@pytest.mark.parametrize("name", list(INVENTORIES))
def test_the_runner_loads_what_ansible_inventory_lists(listed: dict[str, Any], name: str) -> None:
    path, listing, _export = listed[name]
    _assert_same(inventory.load(path), listing)


@pytest.mark.parametrize("name", list(INVENTORIES))
def test_the_json_ansible_prints_loads_back_as_the_same_inventory(
    listed: dict[str, Any], tmp_path: Path, name: str
) -> None:
    """``ansible-inventory -i ANY --list > inv.json``: how any dynamic inventory reaches the runner."""
    _path, listing, _exported = listed[name]
    printed = tmp_path / "inv.json"
    printed.write_text(json.dumps(listing, indent=4))
    _assert_same(inventory.load(printed), listing)


def test_group_vars_and_host_vars_beside_the_inventory_are_read(listed: dict[str, Any]) -> None:
    path, listing, _ = listed["site/hosts"]
    web1 = listing["_meta"]["hostvars"]["web1"]
    assert (web1["x"], web1["y"], web1["z"], web1["v"], web1["u"]) == (
        "group_vars_all",
        "group_vars_emea",
        "host_vars",
        "web_first",
        "web_second",
    )
    assert inventory.load(path).hosts["web1"].vars == web1
    assert inventory.load(path.parent).hosts["web2"].vars == listing["_meta"]["hostvars"]["web2"]


def test_the_json_of_list_export_loads_back_as_the_same_inventory(listed: dict[str, Any], tmp_path: Path) -> None:
    """``--export`` keeps group vars in their groups: the runner merges them as Ansible did."""
    _path, listing, exported = listed[EXPORTED]
    assert exported != listing and "vars" in exported["all"]
    printed = tmp_path / "inv.json"
    printed.write_text(json.dumps(exported, indent=4))
    _assert_same(inventory.load(printed), listing)


def test_the_comparison_sees_a_difference(listed: dict[str, Any], tmp_path: Path) -> None:
    """The check above is not blind: one var changed in Ansible's listing fails it."""
    path, listing, _ = listed["ranges_children.ini"]
    changed = json.loads(json.dumps(listing))
    assert listing["_meta"]["hostvars"]["par-app04"]["v"] == "canary"  # its priority over the name's order
    changed["_meta"]["hostvars"]["par-app04"]["v"] = "zzz"
    with pytest.raises(AssertionError):
        _assert_same(inventory.load(path), changed)
