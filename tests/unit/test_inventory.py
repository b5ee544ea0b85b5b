from __future__ import annotations

from pathlib import Path

import pytest

from runner import inventory
from runner.errors import InputError

INV = """\
all:
  vars:
    instance: prod
    db_port: 5432
    db_password: s3cret-value
  children:
    emea:
      vars: {instance: emea, web_port: 8080}
      children:
        emea_prod:
          vars: {web_port: 9090}
          hosts:
            prod1: {ansible_host: 127.0.0.11, ansible_port: 2222}
            prod2:
      hosts:
        mkt1: {instance: marketing}
    us:
      hosts:
        prod2: {ansible_user: neolane}
"""


def _load(tmp_path: Path, text: str, name: str = "inv.yml") -> inventory.Inventory:
    p = tmp_path / name
    p.write_text(text)
    return inventory.load(p)


def test_vars_precedence_host_over_deeper_group_over_all(tmp_path: Path) -> None:
    inv = _load(tmp_path, INV)
    prod1 = inv.hosts["prod1"]
    assert prod1.var("web_port") == 9090  # deeper group wins
    assert prod1.var("instance") == "emea"  # group over all
    assert prod1.var("db_port") == 5432
    assert inv.hosts["mkt1"].var("instance") == "marketing"  # host over group
    assert inv.hosts["prod2"].var("ansible_user") == "neolane"
    assert set(inv.hosts["prod2"].groups) == {"emea", "emea_prod", "us"}


def test_groups_and_selection(tmp_path: Path) -> None:
    inv = _load(tmp_path, INV)
    assert [h.name for h in inv.hosts_named(groups=["emea"])] == ["mkt1", "prod1", "prod2"]
    assert [h.name for h in inv.hosts_named(["mkt1"], ["emea_prod"])] == ["mkt1", "prod1", "prod2"]
    assert len(inv.hosts_named(groups=["all"])) == 3
    with pytest.raises(InputError, match="unknown host 'nope'"):
        inv.hosts_named(["nope"])
    with pytest.raises(InputError, match="unknown group"):
        inv.hosts_named(groups=["nope"])


def test_secrets_by_name(tmp_path: Path) -> None:
    inv = _load(tmp_path, INV)
    assert "s3cret-value" in inv.hosts["prod1"].secrets()


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("all:\n  hosts:\n    a: {ansible_port: 99999}\n", "ansible_port must be a port", None),
        ("all:\n  hosts:\n    'a;rm -rf /': {}\n", "invalid host name", 3),
        ("all:\n  hosts:\n    a: {instance: 'x$(reboot)'}\n", "instance must be a Campaign instance name", None),
        ("all:\n  hots:\n    a: {}\n", "unknown key 'hots'", 2),
        ("all:\n  hosts:\n    a: {}\n    a: {}\n", "duplicate key 'a'", 4),
        ("all:\n  vars: &x {a: 1}\n  hosts:\n    h: *x\n", "anchors and aliases", 4),
        ("all: [1, 2]\n", "must be a mapping", None),
        ('all:\n  hosts:\n    a: {nlserver: "a\\nb"}\n', "single-line", None),
        ("all:\n  hosts:\n    a: {workflow_start_grace: soon}\n", "whole number of seconds", None),
        ("all:\n  hosts:\n    a: {syslog_probe: 'yes'}\n", "syslog_probe must be true or false", None),
        ("all:\n  hosts:\n    a: {syslog_probe: 1}\n", "syslog_probe must be true or false", None),
        ("all:\n  vars: {db_password: [x]}\n  hosts:\n    a: {}\n", "a secret value (not shown)", None),
        ("- just\n- a list\n", "mapping of groups", 1),
        ("all:\n  hosts:\n    a: {x: [unclosed\n", "invalid YAML", None),
    ],
)
def test_bad_inventory_is_an_input_error_with_file_and_line(
    tmp_path: Path, text: str, fragment: str, line: int | None
) -> None:
    with pytest.raises(InputError) as err:
        _load(tmp_path, text)
    assert fragment in str(err.value)
    assert "inv.yml" in str(err.value)
    if line is not None:
        assert f"inv.yml:{line}" in str(err.value)


def test_directory_merges_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("all:\n  hosts:\n    h1: {instance: one}\n")
    (tmp_path / "b.yaml").write_text("web:\n  hosts:\n    h2: {}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    inv = inventory.load(tmp_path)
    assert set(inv.hosts) == {"h1", "h2"}
    assert inv.groups["web"] == ["h2"]


def test_empty_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no inventory file \(\*\.yml"):
        inventory.load(tmp_path)
    with pytest.raises(InputError, match="inventory not found"):
        inventory.load(tmp_path / "nope.yml")


def test_huge_file_refused(tmp_path: Path) -> None:
    p = tmp_path / "big.yml"
    p.write_text("all:\n  vars:\n    x: '" + "a" * (2 * 1024 * 1024) + "'\n")
    with pytest.raises(InputError, match="larger than"):
        inventory.load(p)


def test_a_malformed_secret_vars_is_reported_not_a_crash(tmp_path: Path) -> None:
    """Found by the reliability suite's generated inventories: secret_vars holding a list."""
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    a:\n      secret_vars:\n        - []\n")
    with pytest.raises(InputError, match="secret_vars must be a list of strings"):
        inventory.load(path)


def test_true_false_vars_take_ansible_booleans_in_ini_and_json_not_in_yaml(tmp_path: Path) -> None:
    """``"true"``, ``yes``, ``1``: what Ansible's modules take as true; its INI reader and the JSON of
    ansible-inventory keep such values strings. YAML has its own booleans (a quoted 'yes' is refused
    above)."""
    listed = tmp_path / "inv.json"
    listed.write_text('{"_meta": {"hostvars": {"c": {"syslog_probe": "true", "note": "true"}}}, "web": ["c"]}')
    c = inventory.load(listed).hosts["c"]
    assert c.var("syslog_probe") is True and c.var("note") == "true"
    ini = _load(tmp_path, "[web]\nw1 syslog_probe=yes\n[web:vars]\nsyslog_probe=0\n[db]\nd1\n", "hosts")
    assert ini.hosts["w1"].var("syslog_probe") is True and ini.hosts["d1"].var("syslog_probe") is None


def test_group_vars_and_host_vars_files_beside_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[web]\nw1\nw2 instance=own\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("instance: prod\nweb_port: 8080\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "w2.yml").write_text("web_port: 9090\n")
    inv = inventory.load(tmp_path / "hosts")
    assert inv.hosts["w1"].vars == {"instance": "prod", "web_port": 8080}
    assert inv.hosts["w2"].vars == {"instance": "own", "web_port": 9090}  # host line over group_vars
    (tmp_path / "group_vars" / "web.yml").write_text("- a list\n")
    with pytest.raises(InputError, match=r"web.yml:1: the vars of group_vars/web must be a mapping"):
        inventory.load(tmp_path / "hosts")
    (tmp_path / "group_vars" / "web.yml").write_text("instance: prod\nweb_port: [\n")
    with pytest.raises(InputError, match=r"web.yml:\d: invalid YAML"):
        inventory.load(tmp_path / "hosts")
    (tmp_path / "group_vars" / "web.yml").write_text("web_port: 99999\n")
    with pytest.raises(InputError, match="web_port must be a port"):
        inventory.load(tmp_path / "hosts")
