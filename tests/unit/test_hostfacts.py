"""runner.hostfacts reads a host's own settings from Adobe-shaped samples, and never guesses one.

The samples are in tests/fixtures/adobe/settings/ (each names its Adobe page and heading, checked as
test_adobe_formats checks its own); the script itself is run by a real ``sh`` on files laid out like a
Campaign install.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import hostfacts
from runner.hostfacts import MARK, HostFacts, customer_settings, mismatches, origin, parse, parse_trace_addr

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe" / "settings" / "host-settings.yml"
ADOBE_DOCS = Path(os.environ.get("ADOBE_DOCS", "/work/adobe-docs"))
ROOT, INSTANCE = "/usr/local/neolane/nl6", "prod"
SAMPLES = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["samples"]


def _out(**sections: tuple[str, int]) -> str:
    """A read's output with the given sections (text, exit code); the others empty, exit 0."""
    parts = []
    for name in hostfacts.SECTIONS:
        text, rc = sections.get(name, ("", 0))
        if name in ("serverconf", "default", "instance") and name not in sections:
            text, rc = "head: cannot open 'x' for reading: No such file or directory", 1
        if name == "systemd" and name not in sections:
            text = "LoadState=not-found"
        parts.append(f"{MARK} {name}\n{text}{'' if text.endswith(chr(10)) or not text else chr(10)}{MARK} rc {rc}")
    return "\n".join(parts) + "\n"


def _headings(page: Path) -> set[str]:
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{1,6}\s+(.+?)\s*(?:\{#[^}]*\})?\s*$", line)
        if match:
            found.add(match[1].strip())
    return found


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{s['page'].rsplit('/', 1)[-1]}:{s['file']}" for s in SAMPLES])
def test_every_sample_names_its_page_and_is_read(sample: dict[str, Any]) -> None:
    assert sample["file"] in hostfacts.SECTIONS and sample.get("note")
    if ADOBE_DOCS.is_dir():
        page = ADOBE_DOCS / sample["page"]
        assert page.is_file(), sample["page"]
        assert sample["section"] in _headings(page), f"no heading {sample['section']!r} in {sample['page']}"
    found = parse(_out(**{sample["file"]: (sample["sample"], 0)}), nl6_root=ROOT, instance=INSTANCE)
    assert found.values == sample["expect"], found
    assert found.problems == []


def test_each_setting_says_where_it_was_read() -> None:
    found = parse(
        _out(
            customer=("export TRACE_ADDR=localhost:6667\n", 0),
            default=('<serverconf><web httpPort="8090"/></serverconf>', 0),
            serverconf=('<serverconf><web httpPort="8080" controlPort="8006"/><stat port="7777"/></serverconf>', 0),
            instance=('<serverconf><stat port="7778"/></serverconf>', 0),
        ),
        nl6_root=ROOT,
        instance=INSTANCE,
    )
    assert found.values == {
        "syslogd_address": "localhost",
        "syslogd_port": 6667,
        "web_port": 8090,  # config-default.xml's, over serverConf.xml's
        "web_control_port": 8006,  # serverConf.xml's: config-default.xml does not set it
        "stat_port": 7778,  # config-prod.xml's, over serverConf.xml's
    }
    assert found.facts["syslogd_port"].source == f"TRACE_ADDR in {ROOT}/customer.sh"
    assert found.facts["web_port"].source == "config-default.xml web/@httpPort"
    assert found.facts["web_control_port"].source == "serverConf.xml web/@controlPort"
    assert found.facts["stat_port"].source == "config-prod.xml stat/@port"


def test_the_campaign_environment_is_read_when_customer_sh_does_not_say() -> None:
    found = parse(_out(env=("TRACE_ADDR=10.0.0.5:6660\n", 0)), nl6_root=ROOT, instance=INSTANCE)
    assert found.values == {"syslogd_address": "10.0.0.5", "syslogd_port": 6660}
    assert found.facts["syslogd_port"].source == "TRACE_ADDR in the Campaign environment"
    both = parse(
        _out(env=("XTK_VAR_DIR=/data/var\n", 0), customer=("export XTK_VAR_DIR=/data/var/\n", 0)),
        nl6_root=ROOT,
        instance=INSTANCE,
    )
    assert both.facts["var_dir"].source == "XTK_VAR_DIR in the Campaign environment"  # /data/var/ != /data/var


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("TRACE_ADDR=localhost:6667\n", {"TRACE_ADDR": "localhost:6667"}),
        ("  export TRACE_ADDR='localhost:6667'  # moved\n", {"TRACE_ADDR": "localhost:6667"}),
        ('export XTK_VAR_DIR="/app/log/AdobeCampaign"\n', {"XTK_VAR_DIR": "/app/log/AdobeCampaign"}),
        ("export TRACE_ADDR=localhost:1\nexport TRACE_ADDR=localhost:2\n", {"TRACE_ADDR": "localhost:2"}),
        ("export XTK_VAR_DIR=$HOME/var\n", {"XTK_VAR_DIR": None}),
        ('export XTK_VAR_DIR="${BASE}/var"\n', {"XTK_VAR_DIR": None}),
        ("# export TRACE_ADDR=localhost:9\n", {}),
        ("export ORACLE_HOME=/opt/oracle\n", {}),
    ],
)
def test_customer_sh_is_read_as_text_never_run(text: str, expect: dict[str, Any]) -> None:
    assert customer_settings(text) == expect


def test_a_setting_only_the_shell_can_work_out_is_a_problem_not_a_guess() -> None:
    found = parse(_out(customer=("export XTK_VAR_DIR=$HOME/var\n", 0)), nl6_root=ROOT, instance=INSTANCE)
    assert "var_dir" not in found.facts
    assert found.problems and "XTK_VAR_DIR" in found.problems[0] and "inventory" in found.problems[0]


@pytest.mark.parametrize(
    ("value", "expect"),
    [("localhost:6666", ("localhost", 6666)), ("127.0.0.1:666", ("127.0.0.1", 666)), ("6667", (None, 6667))],
)
def test_trace_addr(value: str, expect: tuple[str | None, int]) -> None:
    assert parse_trace_addr(value) == expect


@pytest.mark.parametrize("value", ["localhost:", "localhost:70000", "local host:1", "localhost:66a", ""])
def test_a_bad_trace_addr_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="TRACE_ADDR"):
        parse_trace_addr(value)
    found = parse(_out(customer=(f"export TRACE_ADDR='{value}'\n", 0)), nl6_root=ROOT, instance=INSTANCE)
    assert "syslogd_port" not in found.facts and found.problems


@pytest.mark.parametrize(
    ("section", "text", "problem"),
    [
        ("instance", '<serverconf><stat port="seven"/></serverconf>', "not a port number"),
        ("default", "<serverconf><web httpPort=", "not well-formed"),
        ("serverconf", "<config/>", "not <serverconf>"),
        ("instance", '<serverconf><shared><dataStore exportDirectory="$(EXPORT)/x"/></shared></serverconf>', "path"),
        ("customer", "export XTK_VAR_DIR=relative/var\n", "absolute"),
    ],
)
def test_an_unreadable_setting_is_a_problem(section: str, text: str, problem: str) -> None:
    found = parse(_out(**{section: (text, 0)}), nl6_root=ROOT, instance=INSTANCE)
    assert found.values == {}
    assert any(problem in p for p in found.problems), found.problems


def test_a_file_that_cannot_be_read_is_a_problem_one_that_is_not_there_is_not() -> None:
    denied = "head: cannot open '/usr/local/neolane/nl6/conf/config-prod.xml' for reading: Permission denied"
    found = parse(_out(instance=(denied, 1)), nl6_root=ROOT, instance=INSTANCE)
    assert found.problems == [f"{ROOT}/conf/config-prod.xml cannot be read: {denied}"]
    assert parse(_out(), nl6_root=ROOT, instance=INSTANCE).problems == []


def test_a_read_cut_short_is_a_problem() -> None:
    found = parse(f"{MARK} env\n{MARK} rc 0\n", nl6_root=ROOT, instance=INSTANCE)
    assert found.values == {} and "cut short" in found.problems[0]


def test_mismatch_and_origin() -> None:
    found = parse(
        _out(customer=("export TRACE_ADDR=localhost:6667\nexport XTK_VAR_DIR=/data/var\n", 0)),
        nl6_root=ROOT,
        instance=INSTANCE,
    )
    inventory = {"syslogd_port": 6666, "var_dir": "/data/var/", "web_port": 8080}
    (only,) = mismatches(inventory, found)  # var_dir says the same, web_port is not the host's
    assert (only.var, only.inventory, only.host) == ("syslogd_port", 6666, 6667)
    assert "the inventory's value is used" in only.describe() and "customer.sh" in only.describe()
    assert mismatches({"syslogd_port": "6667"}, found) == []
    assert origin("syslogd_port", inventory, found) == "inventory"
    assert origin("syslogd_address", inventory, found) == "host"
    assert origin("stat_port", inventory, found) == "default"


def test_an_empty_read_sets_nothing() -> None:
    assert parse(_out(), nl6_root=ROOT, instance=INSTANCE).values == {}
    assert HostFacts().values == {}


def _install(tmp: Path, customer: str | None, configs: dict[str, str]) -> Path:
    root = tmp / "nl6"
    (root / "conf").mkdir(parents=True)
    if customer is not None:
        (root / "customer.sh").write_text(customer)
    for name, text in configs.items():
        (root / "conf" / name).write_text(text)
    return root


def test_the_script_runs_in_sh_and_reads_an_install(tmp_path: Path) -> None:
    root = _install(
        tmp_path,
        "export TRACE_ADDR=localhost:6667\n",
        {"config-default.xml": '<serverconf><web httpPort="8090"/></serverconf>'},
    )
    env = {"PATH": os.environ["PATH"], "XTK_VAR_DIR": "/app/log/AdobeCampaign"}
    res = subprocess.run(
        ["sh", "-c", hostfacts.script(str(root), INSTANCE)], capture_output=True, text=True, env=env, check=False
    )
    found = parse(res.stdout, nl6_root=str(root), instance=INSTANCE)
    assert found.problems == []
    assert {k: v for k, v in found.values.items() if k != "service_manager"} == {
        "syslogd_address": "localhost",
        "syslogd_port": 6667,
        "var_dir": "/app/log/AdobeCampaign",
        "web_port": 8090,
    }


def test_the_script_quotes_the_install_path(tmp_path: Path) -> None:
    text = hostfacts.script("/opt/my nl6; rm -rf x", "prod")
    assert "'/opt/my nl6; rm -rf x/customer.sh'" in text
