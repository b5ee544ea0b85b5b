"""``--limit``: Ansible's host patterns (runner/patterns.py), checked against Ansible's own matcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner import inventory, patterns
from runner.errors import InputError

INI = """\
lonely

[web]
web[01:04]

[db]
db-[a:c]

[emea:children]
web
paris

[paris]
par1
web02

[canary]
web03
db-b

[mta]
mta1
"""

# pattern -> the hosts --limit selects, in order (checked against Ansible below)
CASES = {
    "web": ["web01", "web02", "web03", "web04"],
    "web01": ["web01"],
    "web:db": ["web01", "web02", "web03", "web04", "db-a", "db-b", "db-c"],
    "web,db": ["web01", "web02", "web03", "web04", "db-a", "db-b", "db-c"],
    "emea:&canary": ["web03"],
    "emea:!canary": ["web01", "web02", "web04", "par1"],
    "emea:&canary:!web03": [],
    "all:!emea": ["lonely", "db-a", "db-b", "db-c", "mta1"],
    "!emea": ["lonely", "db-a", "db-b", "db-c", "mta1"],
    "&canary": ["web03", "db-b"],
    "web0*": ["web01", "web02", "web03", "web04"],
    "*b": ["web01", "web02", "web03", "web04", "db-a", "db-b", "db-c"],  # the group web, the db group
    "db-?": ["db-a", "db-b", "db-c"],
    "~web0[13]": ["web01", "web03"],
    "~(web|db-)[0a]": ["web01", "web02", "web03", "web04", "db-a"],
    "web[0]": ["web01"],
    "web[1:2]": ["web02", "web03"],
    "web[2:]": ["web03", "web04"],
    "web[-1]": ["web04"],
    "paris:web02": ["par1", "web02"],
    "emea,&canary,!web03": [],
    "canary,mta": ["web03", "db-b", "mta1"],
    "ungrouped": ["lonely"],
    "all": ["lonely", "web01", "web02", "web03", "web04", "db-a", "db-b", "db-c", "par1", "mta1"],
}


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> inventory.Inventory:
    path = tmp_path_factory.mktemp("inv") / "hosts"
    path.write_text(INI)
    return inventory.load(path)


def _select(inv: inventory.Inventory, pattern: str) -> list[str]:
    return patterns.hosts_matching(pattern, list(inv.hosts), inv.groups)


@pytest.mark.parametrize(("pattern", "hosts"), list(CASES.items()))
def test_a_pattern_selects_as_ansible_limit_does(inv: inventory.Inventory, pattern: str, hosts: list[str]) -> None:
    assert sorted(_select(inv, pattern)) == sorted(hosts)


def test_the_plain_elements_keep_their_order(inv: inventory.Inventory) -> None:
    assert _select(inv, "mta:db-a:web") == ["mta1", "db-a", "web01", "web02", "web03", "web04"]


# Ansible's own --limit, through its API: InventoryManager.subset (what --limit calls) then get_hosts
ANSIBLE_LIMIT = """
import json, sys
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
manager = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
found = {}
for pattern in json.loads(sys.argv[2]):
    manager.clear_pattern_cache()
    manager.subset(pattern)
    found[pattern] = [host.name for host in manager.get_hosts("all")]
print(json.dumps(found))
"""


def test_every_case_is_what_ansible_selects(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text(INI)
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    done = subprocess.run(
        [sys.executable, "-c", ANSIBLE_LIMIT, str(path), json.dumps(list(CASES))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    ansible = json.loads(done.stdout)
    differ = {p: (sorted(ansible[p]), sorted(h)) for p, h in CASES.items() if sorted(ansible[p]) != sorted(h)}
    assert not differ, differ


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("web:^db", "unknown pattern operator '^' in '^db'"),
        ("web:+db", "unknown pattern operator '+'"),
        ("web:|db", "unknown pattern operator '|'"),
        ("web&db", "unknown pattern operator '&' in 'web&db'"),
        ("web:!!db", "unknown pattern operator '!' in '!!db'"),
        ("web:&!db", "unknown pattern operator '!' in '&!db'"),
        ("web:&", "nothing after '&'"),
        ("web:db=1", "unknown pattern operator '='"),
        ("web[0", "'[' without its ']'"),
        ("web]0", "']' without its '['"),
        ("~web(", "invalid regular expression"),
        ("", "an empty host pattern"),
        (" , ", "an empty host pattern"),
        ("web:wbe01", "'wbe01' in 'web:wbe01' matches no host and no group (did you mean 'web01'"),
        ("emea:!canry", "'canary'"),
        ("web[9]", "no host at position 9 of 4"),
        ("web[7:9]", "no host at positions 7..9 of 4"),
    ],
)
def test_a_bad_pattern_is_an_input_error_naming_the_flag(inv: inventory.Inventory, pattern: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        _select(inv, pattern)
    assert str(err.value).startswith("--limit: "), str(err.value)
    assert fragment in str(err.value), str(err.value)


def test_a_limit_file_holds_one_element_a_line(inv: inventory.Inventory, tmp_path: Path) -> None:
    """``--limit @file``: Ansible's retry files (one host a line)."""
    retry = tmp_path / "site.retry"
    retry.write_text("web02\n\n# a comment\ndb-a\n")
    assert _select(inv, f"@{retry}") == ["web02", "db-a"]
    assert _select(inv, f"@{retry},!db-a") == ["web02"]
    with pytest.raises(InputError, match="cannot read the limit file"):
        _select(inv, f"@{tmp_path / 'none'}")


def test_split_follows_ansible_and_keeps_ranges_and_regexes_whole() -> None:
    assert patterns.split("a:b:&c:!d") == ["a", "b", "&c", "!d"]
    assert patterns.split("a, b ,&c") == ["a", "b", "&c"]
    assert patterns.split("web[1:2]:db") == ["web[1:2]", "db"]
    assert patterns.split("~(?:web|db)1,mta") == ["~(?:web|db)1", "mta"]
    assert patterns.split("a:b,c") == ["a", "b", "c"]  # Ansible would take 'a:b' as one name
