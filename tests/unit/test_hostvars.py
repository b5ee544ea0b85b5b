"""The host var table: every var the runner reads is in it, with a type that the inventory enforces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner import hostvars, playbook
from runner.actions import DEFAULT_VARS
from runner.inventory import Host

RUNNER = Path(__file__).resolve().parents[2] / "runner"


def test_every_var_read_in_the_runner_is_in_the_table() -> None:
    read: set[str] = set()
    for path in RUNNER.rglob("*.py"):
        read |= set(re.findall(r"\bvar\(\s*[\"']([a-z_0-9]+)[\"']", path.read_text()))
        read |= set(re.findall(r"vars\.get\(\s*[\"']([a-z_0-9]+)[\"']", path.read_text()))
    assert read, "no var read found: the pattern above is stale"
    assert sorted(read - set(hostvars.VARS)) == []


def test_every_template_var_of_the_shipped_playbooks_is_in_the_table() -> None:
    books = [playbook.load_module(m) for m in playbook.available()]
    assert sorted(playbook.template_vars(books) - set(hostvars.VARS)) == []


def test_defaults_and_their_view() -> None:
    assert hostvars.default("nl6_root") == "/usr/local/neolane/nl6"
    assert hostvars.default("syslogd_port") == 6666 and hostvars.default("db_host") is None
    assert hostvars.default("not_a_var") is None
    assert DEFAULT_VARS["web_port"] == 8080 and "db_host" not in DEFAULT_VARS
    for var in hostvars.VARS.values():
        if var.default is not None:
            assert var.problem(var.default) is None, var.name


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"syslogd_port": 70000}, "syslogd_port must be a port number"),
        ({"ansible_port": True}, "ansible_port must be a port number"),
        ({"workflow_start_grace": "5"}, "whole number of seconds"),
        ({"syslog_probe": "yes"}, "syslog_probe must be true or false"),
        ({"instance": "x$(reboot)"}, "instance must be a Campaign instance name"),
        ({"db_host": "a b"}, "host name or IP address"),
        ({"nlserver": "a\nb"}, "single-line"),
        ({"secret_vars": "api_key"}, "must be a list of strings"),
    ],
)
def test_problems(values: dict[str, object], fragment: str) -> None:
    found = hostvars.problems(values)
    assert found and fragment in found[0][0]


def test_a_secret_value_is_never_shown() -> None:
    what, _hint = hostvars.problems({"db_password": "line1\nhunter2"})[0]
    assert "hunter2" not in what and "not shown" in what


def test_lock_dir() -> None:
    assert hostvars.lock_dir(Host("h", (), {}, "-")) == "/usr/local/neolane/nl6/var/remediate/locks"
    assert hostvars.lock_dir(Host("h", (), {"nl6_root": "/nl6"}, "-")) == "/nl6/var/remediate/locks"
    assert hostvars.lock_dir(Host("h", (), {"lock_dir": "/run/l", "nl6_root": "/nl6"}, "-")) == "/run/l"


def test_unused_names_a_misspelled_var_but_not_template_vars_or_secrets() -> None:
    names = ["syslog_port", "instance", "smtp_password", "my_dir", "mode"]
    assert hostvars.unused(names) == ["mode", "my_dir", "syslog_port"]
    book = playbook.parse(
        {
            "module": "wfserver",
            "title": "t",
            "scope": "s",
            "symptom": "y",
            "options": {"mode": {"choices": ["a"]}},
            "checks": [{"id": "c", "effect": "read", "action": "shell", "args": {"command": "ls {my_dir} {mode}"}}],
        },
        "wfserver.yml",
    )
    assert playbook.template_vars([book]) == {"my_dir"}
    assert hostvars.unused(names, playbook.template_vars([book])) == ["mode", "syslog_port"]
