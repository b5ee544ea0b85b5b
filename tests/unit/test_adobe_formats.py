"""The parsers of runner.campaign read every sample of tests/fixtures/adobe as Adobe's pages show it.

Each fixture names the Adobe page it comes from; where Adobe's markdown is checked out (ADOBE_DOCS,
default /work/adobe-docs) the page and its section must exist. Well-formed tracking lines are judged
by real ``grep -E`` in the C locale and by the Python regex, which must agree.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import campaign, campaign_formats
from runner.campaign_formats import ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adobe"
ADOBE_DOCS = Path(os.environ.get("ADOBE_DOCS", "/work/adobe-docs"))
INSTALL_DIR, INSTANCE = "/usr/local/neolane/nl6", "prod"


def _load() -> list[tuple[str, int, str, dict[str, Any]]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, sample in enumerate(doc["samples"]):
            cases.append((path.name, index, doc["format"], sample))
    return cases


CASES = _load()
IDS = [f"{name}[{index}]" for name, index, _, _ in CASES]


def _headings(page: Path) -> set[str]:
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(?:#{1,6}\s+|\+\+\+)(.+?)\s*(?:\{#[^}]*\})?\s*$", line)
        if match:
            found.add(match[1].strip())
    return found


def test_fixtures_exist() -> None:
    formats = {fmt for _, _, fmt, _ in CASES}
    assert {"pdump", "who", "missing", "console", "r_test", "soap_fault", "redir_line", "states", "config"} <= formats
    assert len(CASES) >= 50


@pytest.mark.parametrize(("name", "index", "fmt", "sample"), CASES, ids=IDS)
def test_fixture_names_its_adobe_page(name: str, index: int, fmt: str, sample: dict[str, Any]) -> None:
    assert re.fullmatch(r"help/[\w./-]+\.md", str(sample.get("page", ""))), "page: must be a help/...md path"
    assert sample.get("section") and sample.get("note"), "section: and note: are required"
    assert isinstance(sample.get("sample"), str)
    assert sample.get("valid", True) in (True, False)
    if ADOBE_DOCS.is_dir():
        page = ADOBE_DOCS / sample["page"]
        assert page.is_file(), f"{sample['page']} is not in {ADOBE_DOCS}"
        assert sample["section"] in _headings(page), f"no heading {sample['section']!r} in {sample['page']}"


def _check(obj: Any, expect: dict[str, Any]) -> None:
    for key, want in expect.items():
        got = getattr(obj, key)
        if isinstance(got, frozenset):
            got = sorted(got)
        elif isinstance(got, tuple):
            got = list(got)
        assert got == want, f"{key}: {got!r} != {want!r}"


def _judge(fmt: str, text: str, expect: dict[str, Any]) -> None:
    if fmt in ("pdump", "who"):
        who = campaign.parse_who(text) if fmt == "who" else None
        dump = who.pdump if who else campaign.parse_pdump(text)
        if "processes" in expect:
            assert {p.name: p.pid for p in dump.processes} == expect["processes"]
        for proc, mem in expect.get("memory_mb", {}).items():
            assert dump.find(proc).memory_mb == mem  # type: ignore[union-attr]
        if "no_tasks" in expect:
            assert dump.no_tasks is expect["no_tasks"]
        if who is not None:
            assert [vars(c) for c in who.connections] == expect["connections"]
            assert [{**vars(p), "columns": list(p.columns)} for p in who.pool] == expect["pool"]
    elif fmt == "missing":
        assert campaign.parse_missing(text) == expect["missing"]
    elif fmt == "console":
        _check(campaign.parse_console(text), expect)
    elif fmt == "r_test":
        _check(campaign_formats.parse_r_test(text), expect)
    elif fmt == "soap_fault":
        fault = campaign_formats.parse_soap_fault(text)
        if "fault" in expect:
            assert fault is None and expect["fault"] is None
        else:
            assert fault is not None
            _check(fault, expect)
    elif fmt == "redir_line":
        assert campaign_formats.is_redir_line(text)
        assert campaign_formats.is_redir_line(text.encode("utf-8"))
    elif fmt == "states":
        for enum_name, want in expect.items():
            if isinstance(want, int):
                assert getattr(campaign_formats, enum_name) == want
                continue
            enum = getattr(campaign_formats, enum_name)
            assert {value: enum(value).label for value in want} == want
    elif fmt == "config":
        config = campaign_formats.parse_instance_config(text)
        export_dir = expect.pop("export_dir", None)
        _check(config, expect)
        if export_dir is not None:
            assert config.export_dir(INSTALL_DIR, INSTANCE) == export_dir
    elif fmt == "log_line":
        _check(campaign_formats.parse_log_line(text), expect)
    elif fmt == "tracking_servers":
        assert campaign_formats.parse_tracking_servers(text) == expect["urls"]
    elif fmt == "date_display":
        assert list(campaign_formats.parse_date_display(text)) == expect["fields"]
    elif fmt == "ping":
        _check(campaign_formats.parse_ping(text), expect)
    elif fmt == "monitor":
        found = {ind.name: ind for ind in campaign_formats.parse_monitor(text)}
        assert set(found) == set(expect["indicators"])
        for name, want in expect["indicators"].items():
            _check(found[name], want)
    elif fmt == "request":
        root = ET.fromstring(text)
        assert any(el.tag.endswith("}Logon") for el in root.iter())
    else:
        pytest.fail(f"no parser for format {fmt!r}")


def _refused(fmt: str, text: str) -> None:
    if fmt == "redir_line":
        assert not campaign_formats.is_redir_line(text)
        return
    parse = {
        "pdump": campaign.parse_pdump,
        "who": campaign.parse_who,
        "missing": campaign.parse_missing,
        "console": campaign.parse_console,
        "r_test": campaign_formats.parse_r_test,
        "soap_fault": campaign_formats.parse_soap_fault,
        "config": campaign_formats.parse_instance_config,
        "log_line": campaign_formats.parse_log_line,
        "tracking_servers": campaign_formats.parse_tracking_servers,
        "date_display": campaign_formats.parse_date_display,
        "ping": campaign_formats.parse_ping,
        "monitor": campaign_formats.parse_monitor,
    }[fmt]
    with pytest.raises(ParseError):
        parse(text)


@pytest.mark.parametrize(("name", "index", "fmt", "sample"), CASES, ids=IDS)
def test_parser_reads_the_sample(name: str, index: int, fmt: str, sample: dict[str, Any]) -> None:
    if sample.get("valid", True):
        _judge(fmt, sample["sample"], dict(sample.get("expect", {})))
    else:
        _refused(fmt, sample["sample"])


# ---- pdump -who: sessions are counted, an unknown layout is undetermined --------------------------


def _sample(name: str, index: int) -> str:
    text: str = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["samples"][index]["sample"]
    return text


def test_who_adobe_layout_counts_sessions() -> None:
    who = campaign.parse_who(_sample("pdump-who.yml", 0))
    assert len(who.connections) == 2
    assert [c.login for c in who.connections] == ["formation_fr|tracking", "internal|monitoring"]
    assert who.pdump.find("web@default") is not None


@pytest.mark.parametrize(
    "text",
    [
        "12:00:00 >   Application server for Adobe Campaign Classic (7.3)\nweb@default (1) - 1 MB\nSessions: 0\n",
        "12:00:00 >   Application server for Adobe Campaign Classic (7.3)\nweb@default (1) - 1 MB\n",
        "12:00:00 >   Application server for Adobe Campaign Classic (7.3)\nweb@default (1) - 1 MB\n"
        "Connections ---\nUser IP\nadmin 10.0.0.1\n",
    ],
)
def test_who_unrecognised_layout_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        campaign.parse_who(text)


def test_who_no_tasks_means_no_session() -> None:
    who = campaign.parse_who("12:00:00 > Application server for Adobe Campaign Classic (7.3)\nNo tasks\n")
    assert who.pdump.no_tasks and who.connections == [] and who.pool == []


# ---- tracking lines: Adobe's expression, grep -E and the Python regex agree ------------------------


def _grep_matches(lines: list[str], tmp_path: Path) -> set[int]:
    grep = shutil.which("grep")
    assert grep is not None, "grep is needed (it is on every Debian)"
    assert all("\n" not in line for line in lines)
    path = tmp_path / "0x0000000000000001.log"
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n")
    env = {**os.environ, "LC_ALL": "C"}
    res = subprocess.run(
        [grep, "-a", "-n", "-E", campaign_formats.REDIR_LINE_GREP, str(path)], capture_output=True, env=env, check=False
    )
    assert res.returncode in (0, 1), res.stderr
    return {int(line.split(b":", 1)[0]) - 1 for line in res.stdout.splitlines()}


REDIR = [s for _, _, fmt, s in CASES if fmt == "redir_line"]


def test_redir_fixtures_match_grep_and_python(tmp_path: Path) -> None:
    lines = [s["sample"] for s in REDIR]
    valid = {i for i, s in enumerate(REDIR) if s.get("valid", True)}
    assert valid and len(valid) < len(lines)
    assert _grep_matches(lines, tmp_path) == valid
    assert {i for i, line in enumerate(lines) if campaign_formats.is_redir_line(line)} == valid


def test_redir_regex_agrees_with_grep_on_mutated_lines(tmp_path: Path) -> None:
    rng = random.Random(20240315)
    alphabet = [*"\t\\.:,-xXTZ 0aF9g-/()é\x00\x7f\x1f\r;", "\t\t"]
    seeds = [s["sample"] for s in REDIR if s.get("valid", True)]
    lines = []
    for _ in range(3000):
        chars = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4 and chars:
                del chars[min(pos, len(chars) - 1)]
            elif action < 0.7:
                chars.insert(pos, rng.choice(alphabet))
            elif chars:
                chars[min(pos, len(chars) - 1)] = rng.choice(alphabet)
        lines.append("".join(chars))
    by_python = {i for i, line in enumerate(lines) if campaign_formats.is_redir_line(line)}
    by_grep = _grep_matches(lines, tmp_path)
    assert by_python == by_grep, [lines[i] for i in sorted(by_python ^ by_grep)][:5]
    assert 0 < len(by_grep) < len(lines)  # both outcomes exercised


ADOBE_COMMAND = yaml.safe_load((FIXTURES / "redir-log-lines.yml").read_text(encoding="utf-8"))["adobe_command"]


def _sed_expression(text: str) -> set[str]:
    return set(re.findall(r"sed -nE '/(.+?)/!p'", text))


def test_redir_expression_is_adobes_verbatim() -> None:
    """Runs everywhere (CI included): Adobe's command as sampled is the runner's and the lab's one file."""
    from lab.sim.nlsim import formats as lab_formats

    shipped = (Path(campaign_formats.__file__).parent / "redir_line.ere").read_text(encoding="ascii")
    assert _sed_expression(ADOBE_COMMAND["text"]) == {shipped.strip("\n")} == {campaign_formats.REDIR_LINE_ERE}
    assert lab_formats.EXPRESSION == campaign_formats.REDIR_LINE_ERE
    assert Path(lab_formats.EXPRESSION_FILE).resolve() == (Path(campaign_formats.__file__).parent / "redir_line.ere")
    page = ADOBE_DOCS / ADOBE_COMMAND["page"]
    if page.is_file():  # where Adobe's markdown is checked out: the sample is the page's own text
        text = page.read_text(encoding="utf-8")
        assert ADOBE_COMMAND["text"] in text and _sed_expression(text) == {campaign_formats.REDIR_LINE_ERE}


def test_grep_with_adobes_own_text_agrees_with_the_runner_and_the_lab(tmp_path: Path) -> None:
    """grep -E (on every CI machine) with the expression taken from Adobe's command, not from the runner,
    judges the samples and their mutations as the runner's and the lab's Python readings do."""
    from lab.sim.nlsim import formats as lab_formats

    grep = shutil.which("grep")
    assert grep is not None, "grep is needed (it is on every Debian)"
    (expression,) = _sed_expression(ADOBE_COMMAND["text"])
    rng = random.Random(20261203)
    seeds = [s["sample"] for s in REDIR]
    lines = [*seeds]
    for _ in range(1500):
        chars = list(rng.choice(seeds))
        pos = rng.randrange(len(chars) + 1)
        chars.insert(pos, rng.choice([*"\t\\.:,-x 0aFg/()é\x7f\x1f;", "\t\t"]))
        lines.append("".join(chars))
    path = tmp_path / "0x0000000000000002.log"
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n")
    res = subprocess.run(
        [grep, "-a", "-n", "-E", expression.replace("\\t", "\t"), str(path)],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    assert res.returncode in (0, 1), res.stderr
    by_grep = {int(line.split(b":", 1)[0]) - 1 for line in res.stdout.splitlines()}
    assert 0 < len(by_grep) < len(lines)
    assert {i for i, line in enumerate(lines) if campaign_formats.is_redir_line(line)} == by_grep
    assert {i for i, line in enumerate(lines) if lab_formats.is_redir_line(line.encode("utf-8"))} == by_grep


# ---- states: only what Adobe names ----------------------------------------------------------------


def test_state_enums_hold_only_documented_values() -> None:
    documented: dict[str, set[int]] = {}
    for _, _, fmt, sample in CASES:
        if fmt == "states":
            for enum_name, values in sample["expect"].items():
                if isinstance(values, dict):
                    documented.setdefault(enum_name, set()).update(values)
    for enum_name, values in documented.items():
        assert {int(member) for member in getattr(campaign_formats, enum_name)} == values, enum_name
    assert {51, 55, 61, 62, 71, 72, 75} == campaign_formats.ACTIVE_DELIVERY_STATES


# ---- config: defaults and refusals ----------------------------------------------------------------


def test_config_stat_server_absent_means_mta_cannot_start() -> None:
    config = campaign_formats.parse_instance_config('<serverconf><mta autoStart="true"/></serverconf>')
    assert config.stat_server is None and config.auto_start == {"mta"}


@pytest.mark.parametrize(
    "text",
    [
        "<config><mta autoStart='true'/></config>",
        "<serverconf><mta autoStart='yes'/></serverconf>",
        "<serverconf><mta statServerAddress='stat:udp'/></serverconf>",
        "<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><serverconf><mta statServerAddress='&a;'/></serverconf>",
    ],
)
def test_config_refused(text: str) -> None:
    with pytest.raises(ParseError):
        config = campaign_formats.parse_instance_config(text)
        assert config.stat_server is not None  # the property raises for a bad port
