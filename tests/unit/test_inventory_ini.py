"""Ansible's INI inventory and the JSON of ``ansible-inventory --list``, as runner.inventory reads them.

The same inventories are checked against Ansible itself in test_inventory_ansible.py; here: the parser's
parts (ranges, value types, sections), every malformed line as ``file:line``, and format detection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner import inventory, inventory_ini
from runner.errors import InputError

# Ansible's own example (ansible/plugins/inventory/ini.py EXAMPLES), with Campaign vars
INI = """\
# production Campaign servers
[web]
web[01:03] instance=prod
web04:2222 ansible_host=10.0.0.4   # host:port, inline vars

[web:vars]
http_port=8080
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

; semicolon comments too
[all:vars]
has_java = False
instance = prod

[db]
db-[a:c].example.com instance=marketing

lonely ansible_host=10.0.0.99
"""


def _load(tmp_path: Path, text: str, name: str = "hosts") -> inventory.Inventory:
    path = tmp_path / name
    path.write_text(text)
    return inventory.load(path)


def test_an_ini_inventory_without_extension_loads_instead_of_failing_as_yaml(tmp_path: Path) -> None:
    inv = _load(tmp_path, INI)
    assert list(inv.hosts)[:4] == ["web01", "web02", "web03", "web04"]
    assert inv.groups["apache"] == ["tomcat1", "tomcat2"]
    assert inv.groups["web"] == ["web01", "web02", "web03", "web04", "tomcat1", "tomcat2", "jenkins1"]
    # a host line after [db] belongs to db: only the lines before the first section are "ungrouped"
    assert inv.groups["db"] == ["db-a.example.com", "db-b.example.com", "db-c.example.com", "lonely"]
    assert inv.groups["ungrouped"] == []
    web04 = inv.hosts["web04"]
    assert web04.vars["ansible_port"] == 2222 and web04.vars["ansible_host"] == "10.0.0.4"
    assert web04.vars["http_port"] == 8080  # a number, as Ansible types it
    assert web04.var("has_java") is False  # all:vars
    assert inv.hosts["jenkins1"].var("has_java") is True  # a child group over its parent over all
    assert inv.hosts["tomcat2"].vars["myvar"] == 34
    assert inv.hosts["tomcat2"].vars["mysecret"] == "03#pa33w0rd"
    assert inv.hosts["db-b.example.com"].instance == "marketing"  # host over all:vars
    assert set(inv.hosts["tomcat1"].groups) == {"web", "apache"}


def test_hosts_before_any_section_are_ungrouped(tmp_path: Path) -> None:
    inv = _load(tmp_path, "alone1\nalone2 instance=prod\n[web]\nweb1\nalone2\n")
    assert inv.groups["ungrouped"] == ["alone1"]  # alone2 is in web, so not ungrouped (as Ansible)
    assert inv.groups["all"] == ["alone1", "alone2", "web1"]
    assert inv.hosts["alone1"].groups == ()


def test_groups_named_before_they_are_declared(tmp_path: Path) -> None:
    text = "[emea:vars]\nregion=emea\n[emea:children]\nparis\n[paris]\np1\n"
    inv = _load(tmp_path, text)
    assert inv.groups["emea"] == ["p1"] and inv.hosts["p1"].vars["region"] == "emea"


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[08:10]", ["web08", "web09", "web10"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("h[1:9:4]", ["h1", "h5", "h9"]),
        ("n[:2]", ["n0", "n1", "n2"]),
        ("r[1:2]-[a:b].x", ["r1-a.x", "r1-b.x", "r2-a.x", "r2-b.x"]),
        ("plain", ["plain"]),
    ],
)
def test_host_ranges_expand_as_ansible(pattern: str, names: list[str]) -> None:
    assert inventory_ini.expand_range(pattern) == names


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("web[01:100]", "same width"),
        ("web[1:]", "has no end"),
        ("web[1:3:0]", "step"),
        ("web[1]", "[begin:end]"),
        ("web[1:x]", "two numbers or two letters"),
        ("web[c:a]", "begin must come before end"),
        ("web[0:99999]", "more than 10000"),
    ],
)
def test_bad_host_ranges(pattern: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[")):
        inventory_ini.expand_range(pattern)


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("8080", 8080),
        ("1.5", 1.5),
        ("True", True),
        ("true", "true"),  # not a Python literal: Ansible keeps the string
        ("yes", "yes"),
        ("None", None),
        ("'007'", "007"),
        ("007", "007"),
        ("[1, 'a']", [1, "a"]),
        ("(1, 2)", [1, 2]),
        ("{'a': 1}", {"a": 1}),
        ("0x10", 16),
        ("hello world", "hello world"),
        ("8080 # a comment", 8080),
        ("/usr/local/neolane/nl6/env.sh", "/usr/local/neolane/nl6/env.sh"),
    ],
)
def test_values_are_typed_as_ansible_types_them(text: str, typed: Any) -> None:
    assert inventory_ini.value(text) == typed
    assert type(inventory_ini.value(text)) is type(typed)


def test_the_runners_true_false_vars_read_ansible_booleans(tmp_path: Path) -> None:
    """``syslog_probe=true`` means true, as where Ansible's modules read it; other vars keep their type."""
    inv = _load(tmp_path, "[web]\nw1 syslog_probe=true other=true\nw2 syslog_probe=no\n")
    assert inv.hosts["w1"].var("syslog_probe") is True and inv.hosts["w1"].var("other") == "true"
    assert inv.hosts["w2"].var("syslog_probe") is False


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("[web]\nweb1 ansible_host='10.0.0.1\n", "No closing quotation", 2),
        ("[web]\nweb1 instance\n", "expected key=value after host 'web1', got 'instance'", 2),
        ("[web:hostz]\nweb1\n", "unknown type 'hostz'", 1),
        ("[web servers]\nweb1\n", "invalid section", 1),
        ("[web]\nweb1\n[web:vars]\nno_equals_sign\n", "expected key=value in [web:vars]", 4),
        ("[web]\nweb1\n[web:children]\nemea paris\n", "expected a group name", 4),
        ("[web]\nweb1\n[web:children]\nemea\n", "names group 'emea', declared nowhere", 4),
        ("[web]\nweb1\n\n[db:vars]\nx=1\n", "section [db:vars] is for a group declared nowhere", 4),
        ("[web]\nweb[01:100]\n", "same width", 2),
        ("[web]\nweb1:\n", "ends in ':'", 2),
        ("[web]\nweb$1\n", "invalid host name", 2),
        ("[web-+]\nweb1\n", "invalid group name", 1),
        ("[a:children]\nb\n[b:children]\na\n", "groups contain each other", None),
        ("[web]\nweb1 ansible_port=99999\n", "ansible_port must be a port", None),
        ("[web]\nweb1 instance=\"'x$(reboot)'\"\n", "instance must be a Campaign instance name", None),
        ("---\nall:\n", "YAML", None),
    ],
)
def test_a_malformed_ini_line_is_an_input_error_with_file_and_line(
    tmp_path: Path, text: str, fragment: str, line: int | None
) -> None:
    name = "hosts.ini" if text.startswith("---") else "hosts"
    with pytest.raises(InputError) as err:
        _load(tmp_path, text, name)
    assert fragment in str(err.value), str(err.value)
    assert name in str(err.value)
    if line is not None:
        assert f"{name}:{line}" in str(err.value)


def test_an_ini_file_named_yml_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"looks like an INI inventory: name it \*\.ini"):
        _load(tmp_path, "[web]\nweb1 instance=prod\nweb2\n", "inv.yml")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[web]\nweb1\n", "ini"),
        ("# comment\n; comment\nweb1 ansible_host=10.0.0.1\n", "ini"),
        ("web1:2222\n", "ini"),
        ("all:\n  hosts:\n", "yaml"),
        ("---\nall:\n", "yaml"),
        ("# inventory\nweb:\n  hosts:\n", "yaml"),
        ('{"_meta": {"hostvars": {}}}', "json"),
        ("", "ini"),
    ],
)
def test_format_by_content_when_the_name_has_no_extension(text: str, kind: str) -> None:
    assert inventory.detect(Path("hosts"), text) == kind


def test_format_by_extension_first() -> None:
    assert inventory.detect(Path("a.yml"), "[web]\n") == "yaml"
    assert inventory.detect(Path("a.json"), "all:\n") == "json"
    assert inventory.detect(Path("a.ini"), "all:\n") == "ini"


def test_a_dynamic_inventory_script_is_refused_with_the_way_through_ansible(tmp_path: Path) -> None:
    script = tmp_path / "ec2.py"
    script.write_text("#!/usr/bin/env python3\nprint('{}')\n")
    with pytest.raises(InputError, match="dynamic inventory script") as err:
        inventory.load(script)
    assert "ansible-inventory -i" in str(err.value)


# --- the JSON of ansible-inventory --list ------------------------------------------------------------

LISTED = {
    "_meta": {
        "hostvars": {
            "web1": {"instance": "prod", "http_port": 8080, "ansible_host": "10.0.0.1"},
            "web2": {"instance": "prod", "http_port": 8080},
            "db1": {"instance": "marketing"},
        },
        "profile": "inventory_legacy",
    },
    "all": {"children": ["ungrouped", "web", "db"]},
    "web": {"hosts": ["web1", "web2"], "children": ["canary"]},
    "canary": {"hosts": ["web2"]},
    "db": ["db1"],  # a dynamic inventory script's short form
}


def test_the_json_of_ansible_inventory_list_loads(tmp_path: Path) -> None:
    inv = _load(tmp_path, json.dumps(LISTED, indent=4), "inv.json")
    assert inv.groups["web"] == ["web1", "web2"] and inv.groups["canary"] == ["web2"]
    assert inv.groups["db"] == ["db1"]
    assert inv.hosts["web1"].vars == {"instance": "prod", "http_port": 8080, "ansible_host": "10.0.0.1"}
    assert set(inv.hosts["web2"].groups) == {"web", "canary"}


def test_the_json_of_ansible_inventory_export_keeps_group_vars_in_groups(tmp_path: Path) -> None:
    exported = {
        "_meta": {"hostvars": {"web1": {"instance": "canary"}, "web2": {}}},
        "all": {"children": ["web"], "vars": {"instance": "prod", "x": 1}},
        "web": {"hosts": ["web1", "web2"], "vars": {"http_port": 8080}},
    }
    inv = _load(tmp_path, json.dumps(exported), "inv.json")
    assert inv.hosts["web1"].vars == {"instance": "canary", "x": 1, "http_port": 8080}
    assert inv.hosts["web2"].instance == "prod"


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ('{"web": {"hosts": ["web1"],}}', "invalid JSON", 1),
        ("[1, 2]", "must be an object of groups", 1),
        ('{\n"web": {\n"hostz": ["web1"]}}', "unknown key 'hostz' in group 'web'", 2),
        ('{"web": {"hosts": "web1"}}', "hosts of group 'web' must be a list", 1),
        ('{"web": {"vars": [1]}}', "vars of group 'web' must be an object", 1),
        ('{"_meta": {"hostvars": []}}', "_meta must be an object with hostvars", 1),
        ('{"_meta": {"hostvars": {"w1": 5}}, "web": ["w1"]}', "hostvars of 'w1' must be an object", 1),
        ('{\n"web": {\n"hosts": [\n"bad host"]}}', "invalid host name 'bad host'", 4),
        ('{"_meta": {"hostvars": {"w1": {"ansible_port": "x"}}}, "web": ["w1"]}', "ansible_port", None),
    ],
)
def test_a_malformed_json_inventory_names_file_and_line(
    tmp_path: Path, text: str, fragment: str, line: int | None
) -> None:
    with pytest.raises(InputError) as err:
        _load(tmp_path, text, "inv.json")
    assert fragment in str(err.value), str(err.value)
    if line is not None:
        assert f"inv.json:{line}" in str(err.value)


def test_a_directory_mixes_yaml_ini_and_json(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("all:\n  vars: {instance: prod}\n  hosts:\n    y1: {}\n")
    (tmp_path / "hosts").write_text("[web]\nw1\nw2 instance=other\n")
    (tmp_path / "more.ini").write_text("[web]\nw3\n")
    (tmp_path / "cloud.json").write_text(json.dumps({"db": {"hosts": ["d1"]}}))
    (tmp_path / "README.md").write_text("# not an inventory")
    (tmp_path / ".hidden").write_text("not: [valid")
    (tmp_path / "hosts~").write_text("an editor's backup [")
    (tmp_path / "group_vars").mkdir()
    inv = inventory.load(tmp_path)
    assert set(inv.hosts) == {"y1", "w1", "w2", "w3", "d1"}
    assert inv.groups["web"] == ["w1", "w2", "w3"]
    assert inv.hosts["w1"].instance == "prod" and inv.hosts["w2"].instance == "other"
    assert inv.hosts["d1"].instance == "prod"  # all: vars from the YAML file reach every file's hosts


def test_validate_reports_a_bad_ini_inventory_in_the_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from runner.cli import main

    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts").write_text("[web]\nweb1 ansible_port=99999\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMEDIATE_INVENTORY", raising=False)
    res = CliRunner().invoke(main, ["validate"])
    assert res.exit_code == 2 and "inventory/hosts:2 (host web1): ansible_port must be a port" in res.stderr


def test_a_large_json_inventory_loads_in_linear_time(tmp_path: Path) -> None:
    """Where each name is written is found in one pass (a search per host took 76 s for 5000 hosts)."""
    import time

    hosts = {f"h{i}": {"instance": "prod", "ansible_host": f"10.0.{i // 250}.{i % 250}"} for i in range(5000)}
    listing = {"_meta": {"hostvars": hosts}, "web": {"hosts": list(hosts)}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(listing, indent=4))
    started = time.monotonic()
    inv = inventory.load(path)
    assert len(inv.hosts) == 5000 and inv.hosts["h4999"].source == f"{path}:{4 + 4 * 4999}"
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("deep.ini", "".join(f"[g{i}:children]\ng{i + 1}\n" for i in range(3000)) + "[g3000]\nh1\n", "too deeply"),
        ("inf.yml", "all:\n  vars: {ansible_group_priority: .inf}\n  hosts: {a: {}}\n", "whole number"),
        ("big.json", '{"web": {"vars": {"x": ' + "1" * 5000 + "}}}", "invalid JSON"),
        ("open.yml", "all:\n  hosts:\n    'a[1:2][': {}\n", "'[' without its ']'"),
        ("loop.yml", "all:\n  hosts: {a: {}}\nx:\n  children:\n    all: {}\n", "all -> x -> all"),
    ],
)
def test_odd_inventories_are_input_errors_naming_the_file(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    """Found while making sure the loader only ever raises InputError naming the file (the reliability
    suite's property): recursion, overflow and Python's digit limit, an open range, a loop through all."""
    with pytest.raises(InputError) as err:
        _load(tmp_path, text, name)
    assert fragment in str(err.value) and name in str(err.value), str(err.value)
