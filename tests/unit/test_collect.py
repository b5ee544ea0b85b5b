"""Evidence bundles (runner/collect.py): redaction of Adobe's config samples, caps, statuses, the manifest
and its partial mark, the tar file, and the bundle the engine takes before a disruptive step."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner import collect
from runner.audit import AuditLog
from runner.collect import Entry, Item, Limits, Status
from runner.errors import CommandTimeout, ConnectionLost
from runner.execute import Engine, RunConfig
from runner.inventory import Host
from runner.outcomes import HostStatus
from runner.redact import Redactor
from runner.wire import Result
from tests.unit.fakehost import FakeHost
from tests.unit.test_engine import WFSERVER, Campaign, _book

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adobe" / "secrets" / "config-secrets.yml"
ADOBE_DOCS = Path(os.environ.get("ADOBE_DOCS", "/work/adobe-docs"))
SAMPLES = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["samples"]
LIMITS = Limits(timeout=5, max_bytes=1000, total_max_bytes=10_000)


def rc(code: int) -> str:
    return f"{collect.RC_MARK} {code}\n"


def text_item(name: str = "pdump.txt", keep: collect.Keep = "head", shape: collect.Shape = "text") -> Item:
    return Item(name, f"source of {name}", f"what {name} is", "true", keep=keep, shape=shape)


# -- redaction -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["page"].rsplit("/", 1)[-1] for s in SAMPLES])
def test_adobe_config_samples_lose_their_secrets_and_keep_their_settings(sample: dict[str, Any]) -> None:
    if ADOBE_DOCS.is_dir():  # the sample names a page and heading that exist
        page = (ADOBE_DOCS / sample["page"]).read_text(encoding="utf-8")
        assert re.search(rf"^#+ {re.escape(sample['section'])}", page, re.M), sample["section"]
    text, found = collect.redact_config(sample["sample"])
    for secret in sample["expect"]["redacted"]:
        assert secret not in text and secret in found
        assert collect.REDACTED in text
    for kept in sample["expect"]["kept"]:
        assert kept in text
    if not sample["expect"]["redacted"]:
        assert text == sample["sample"] and found == []


def test_secret_attribute_names() -> None:
    secret = ["password", "internalPassword", "trackingPassword", "authIMSClientSecret", "authPrivateKey"]
    secret += ["phishbowlServiceAPIKey", "authIMSTAPrivateKey", "key"]
    kept = ["allowEmptyPassword", "allowUserPassword", "sessionTokenOnly", "vaultSecretPath", "targetKeySize"]
    kept += ["domainKeysReloadPeriodSec", "login", "encrypted"]
    assert [n for n in secret if not collect.secret_attribute(n)] == []
    assert [n for n in kept if collect.secret_attribute(n)] == []


def test_customer_sh_exports_of_secrets_are_replaced() -> None:
    text = (
        "# site customisations\n"
        "export TRACE_ADDR=localhost:6666\n"
        "export DB_PASSWORD='s3cret-one'\n"
        "API_KEY=k3y-value; export API_KEY\n"
        "export JAVA_HOME=/usr/lib/jvm/java\n"
        'export SITE_TOKEN="tok-value"\n'
    )
    out, found = collect.redact_customer(text)
    assert "s3cret-one" not in out and "k3y-value" not in out and "tok-value" not in out
    assert "export TRACE_ADDR=localhost:6666" in out and "export JAVA_HOME=/usr/lib/jvm/java" in out
    assert "export DB_PASSWORD=***" in out and "export SITE_TOKEN=***" in out
    assert "s3cret-one" in found and "tok-value" in found  # unquoted too, so they go from every other file


def test_a_secret_found_in_a_config_is_replaced_in_every_later_file() -> None:
    redactor = Redactor()
    config = collect.shape(
        text_item("conf/config-prod.xml", shape="config"),
        Result('<dbcnx login="c" password="pw-from-config"/>\n', rc(0), 0),
        1000,
        redactor,
    )
    log = collect.shape(
        text_item("logs/web.log", keep="tail"), Result("connect with pw-from-config failed\n", rc(0), 0), 1000, redactor
    )
    assert b"pw-from-config" not in config.data and b"pw-from-config" not in log.data
    assert b"***" in log.data


def test_known_secrets_of_the_run_are_replaced_in_every_file() -> None:
    entry = collect.shape(text_item(), Result("token abcd-1234 here\n", rc(0), 0), 1000, Redactor(["abcd-1234"]))
    assert entry.data == b"token *** here\n" and entry.status is Status.OK


# -- statuses and caps ---------------------------------------------------------------------------------


def test_a_file_over_its_cap_is_cut_and_says_so() -> None:
    body = "".join(f"line {i:04d}\n" for i in range(100))  # 1000 bytes
    head = collect.shape(text_item(), Result(body + "x", rc(141), 0), 100, Redactor())
    assert head.status is Status.TRUNCATED and len(head.data) <= 100 and head.data.startswith(b"line 0000\n")
    assert "collect_max_bytes 100" in head.note and "first" in head.note
    tail = collect.shape(text_item(keep="tail"), Result(body, rc(0), 0), 100, Redactor())
    assert tail.status is Status.TRUNCATED and tail.data.endswith(b"line 0099\n") and len(tail.data) <= 100
    assert tail.data.startswith(b"line ")  # cut at a line boundary
    whole = collect.shape(text_item(), Result(body, rc(0), 0), 1000, Redactor())
    assert whole.status is Status.OK and whole.data == body.encode()


def test_a_failing_command_is_failed_with_its_error() -> None:
    entry = collect.shape(text_item(), Result("", "nlserver: unknown command\n" + rc(1), 0), 100, Redactor())
    assert entry.status is Status.FAILED and "exit 1" in entry.note and "unknown command" in entry.note
    lost = collect.shape(text_item(), Result("half", "", 255), 100, Redactor())
    assert lost.status is Status.FAILED and "no exit status" in lost.note


def test_the_host_command_cuts_on_the_host_and_keeps_the_exit_code() -> None:
    item = text_item()
    assert collect.host_command(item, 11) == '{ ( true ); echo "@@collect rc $?" >&2; } | head -c 11'
    assert collect.host_command(text_item(keep="tail"), 11).endswith("| tail -c 11")


class Host1:
    """A fake host: answers per bundle file name (by the command's text), records what it was sent."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, float]] = []

    def __call__(self, text: str, timeout: float) -> Result:
        self.sent.append((text, timeout))
        for key, answer in self.answers.items():
            if key in text:
                if isinstance(answer, Exception):
                    raise answer
                return Result(answer, rc(0), 0)
        return Result("fine\n", rc(0), 0)


def items(*names: str) -> list[Item]:
    return [Item(n, n, n, f"cat /x/{n}") for n in names]


def test_a_timeout_and_a_dropped_host_are_noted_never_raised() -> None:
    send = Host1({"/x/b": CommandTimeout("command timed out after 5s", host="h", timeout=5)})
    entries = collect.gather(items("a", "b", "c"), send, LIMITS, Redactor())
    assert [e.status for e in entries] == [Status.OK, Status.TIMEOUT, Status.OK]
    assert "timed out" in entries[1].note
    send = Host1({"/x/b": ConnectionLost("connection lost during command", host="h")})
    entries = collect.gather(items("a", "b", "c"), send, LIMITS, Redactor())
    assert [e.status for e in entries] == [Status.OK, Status.FAILED, Status.FAILED]
    assert "connection was lost" in entries[2].note and len(send.sent) == 2  # nothing sent after the drop


def test_a_host_not_reached_gives_every_file_failed() -> None:
    entries = collect.gather(items("a", "b"), None, LIMITS, Redactor(), down="the host was not reached (refused)")
    assert all(e.status is Status.FAILED and "refused" in e.note for e in entries)
    doc = collect.manifest(entries, {"host": "h"}, LIMITS)
    assert doc["partial"] is True


def test_the_budget_skips_what_is_left_once_spent() -> None:
    ticks = iter([0.0, 0.0, 3.0, 11.0, 12.0])
    lim = Limits(timeout=5, max_bytes=1000, total_max_bytes=10_000, budget=10)
    send = Host1({})
    entries = collect.gather(items("a", "b", "c"), send, lim, Redactor(), clock=lambda: next(ticks))
    assert [e.status for e in entries] == [Status.OK, Status.OK, Status.FAILED]
    assert "collect_budget of 10s spent" in entries[2].note
    assert [t for _c, t in send.sent] == [5, 5]  # each command bounded by the time left (at most the timeout)


def test_the_total_cap_cuts_then_skips() -> None:
    lim = Limits(timeout=5, max_bytes=600, total_max_bytes=1000)
    send = Host1({"/x/": "y" * 2000})
    entries = collect.gather(items("a", "b", "c"), send, lim, Redactor())
    assert [len(e.data) for e in entries] == [600, 400, 0]
    assert [e.status for e in entries] == [Status.TRUNCATED] * 3
    assert "collect_total_max_bytes 1000: 400 left" in entries[1].note
    assert "reached collect_total_max_bytes" in entries[2].note
    assert "head -c 601" in send.sent[0][0] and "head -c 401" in send.sent[1][0] and len(send.sent) == 2


def test_partial_only_when_a_file_is_missing() -> None:
    ok, cut = Entry(text_item("a"), b"x"), Entry(text_item("b"), b"y", Status.TRUNCATED, "cut")
    assert collect.manifest([ok, cut], {}, LIMITS)["partial"] is False
    for status in (Status.FAILED, Status.TIMEOUT):
        assert collect.manifest([ok, Entry(text_item("c"), b"", status, "no")], {}, LIMITS)["partial"] is True


# -- logs since the module's start ---------------------------------------------------------------------


def log_line(stamp: str, message: str) -> str:
    return f"{stamp}\t1234\t00000000\t1\tinfo\twfserver\t{message}\n"


def test_a_log_keeps_the_lines_since_the_module_started() -> None:
    old = log_line("2026-12-03T01:00:00.000Z", "before the start")
    new = log_line("2026-12-03T02:00:00.500Z", "after the start")
    started = 1796263200.0  # 2026-12-03T02:00:00Z
    out = f"1796263300\n@@log\n{old}continued line of the old one\n{new}more of the new one\n@@uptime\n{started}\n"
    text, note, unread = collect.since_start(out)
    assert text == new + "more of the new one\n" and "since the module started (2026-12-03T02:00:00.000Z)" in note
    assert not unread
    text, note, _ = collect.since_start(f"1796263300\n@@log\n{old}{new}@@uptime\n")
    assert text == old + new and "not running" in note
    cut = f"rt of a line\n{old}{new}@@uptime\n{started}\n"  # cut on the host, but before the start: all kept
    text, _note, unread = collect.since_start(cut)
    assert text == new and unread is False
    cut = f"rt of a line\n{new}@@uptime\n{started}\n"  # cut after the start: lines since it may be lost
    text, _note, unread = collect.since_start(cut)
    assert text == new and unread is True


def test_an_absent_log_is_a_fact_not_a_failure() -> None:
    item = Item("logs/webmdl.log", "/x/webmdl.log", "w", "true", keep="tail", shape="log")
    entry = collect.shape(item, Result(f"{collect.ABSENT}\n", rc(0), 0), 100, Redactor())
    assert entry.status is Status.OK and entry.data == b"" and "no such log" in entry.note


def test_log_files_per_module() -> None:
    assert collect.log_files("web") == [("web", "web"), ("web", "webmdl")]
    assert collect.log_files("export") == [("wfserver", "wfserver"), ("wfserver", "runwf")]
    assert collect.log_files("inMail") == [("inMail", "inMail")]


def test_the_manifest_names_the_message_codes_of_the_logs() -> None:
    log = log_line("2026-12-03T02:00:00.000Z", "PGS-220000 PostgreSQL error: could not connect (iRc=-2006)")
    entries = [Entry(Item("logs/inMail.log", "s", "w", "true", shape="log"), log.encode())]
    entries.append(Entry(text_item("pdump.txt"), b"XSV-350003 in a file that is no log\n"))
    codes = collect.manifest(entries, {}, LIMITS)["error_codes"]
    assert [c["code"] for c in codes] == ["PGS-220000"] and "PostgreSQL" in codes[0]["description"]


# -- the bundle file -----------------------------------------------------------------------------------


def read_tar(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        out = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name.split("/", 1)[1]] = handle.read()
        return out


def test_the_bundle_holds_manifest_readme_and_files_whose_hashes_match(tmp_path: Path) -> None:
    entries = [Entry(text_item("pdump.txt"), b"pdump\n"), Entry(text_item("logs/web.log"), b"", Status.FAILED, "no")]
    doc = collect.manifest(entries, {"host": "lab1"}, LIMITS)
    directory = tmp_path / "bundles" / "deep"
    path, digest = collect.write_bundle(directory, "lab1-web-x", entries, doc)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    files = read_tar(path)
    manifest = json.loads(files["MANIFEST.json"])
    assert manifest["partial"] is True and manifest["host"] == "lab1"
    for f in manifest["files"]:
        assert hashlib.sha256(files[f["name"]]).hexdigest() == f["sha256"] and len(files[f["name"]]) == f["size"]
    assert "logs/web.log" in files["README.txt"].decode() and "pdump.txt" in files["README.txt"].decode()
    again, _ = collect.write_bundle(directory, "lab1-web-x", entries, doc)
    assert again != path and again.name == "lab1-web-x-2.tar.gz"  # never overwritten


def test_limits_come_from_the_host_vars_and_refuse_nonsense() -> None:
    host = Host("h", ("all",), {"collect_max_bytes": 10}, "t")
    lim = collect.limits(host.var, budget=True)
    assert (lim.max_bytes, lim.timeout, lim.budget) == (10, 20.0, 60.0)
    assert collect.limits(host.var, budget=False).budget is None
    bad = Host("bad", ("all",), {"collect_timeout": 0}, "t")
    assert collect.check_limits([host, bad]) == ["bad: collect_timeout is 0: not a whole number above 0"]


def test_the_build_is_the_banner_pdump_printed() -> None:
    banner = "12:09:54 >   Application server for Adobe Campaign Classic (7.3 23.10 build 9362@6e4ecd4) of 14/02/2024"
    entry = collect.build_entry(Entry(text_item(), f"{banner}\nweb@default (1) - 1 MB\n".encode()))
    assert entry.data == f"{banner}\n".encode() and entry.status is Status.OK
    assert collect.build_entry(Entry(text_item(), b"", Status.TIMEOUT, "t")).status is Status.FAILED


# -- before a disruptive step, in the engine -------------------------------------------------------------


class Collecting(Campaign):
    """The fake Campaign host, answering the bundle's reads too."""

    def __call__(self, command: str) -> tuple[str, str, int]:
        if collect.RC_MARK in command:
            return "evidence\n", rc(0), 0
        return super().__call__(command)


@pytest.fixture()
def chdir(tmp_path: Path) -> Iterator[Path]:
    here = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(here)


def engine_run(tmp_path: Path, **config: Any) -> tuple[FakeHost, list[dict[str, Any]], Any]:
    fake = FakeHost(Collecting({"wfserver@prod", "watchdog"}))
    log = AuditLog(tmp_path / "audit.jsonl")
    host = Host("prod1", ("all",), {"instance": "prod", "nlserver": "nlserver"}, "t")
    cfg = RunConfig(session_factory=fake.factory, yes=True, force=True, **config)
    outcomes = Engine([host], log, cfg).run(_book(tmp_path, WFSERVER))
    log.close()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    return fake, events, outcomes


def test_a_bundle_is_taken_after_the_confirmation_and_before_the_restart(tmp_path: Path) -> None:
    fake, events, outcomes = engine_run(tmp_path, collect_dir=tmp_path / "b")
    assert outcomes[0].status is HostStatus.REMEDIATED
    names = [e["event"] for e in events]
    taken = names.index("bundle.collected")
    assert names.index("confirmation.given") < taken < names.index("step.started", taken)
    record = events[taken]
    assert record["step"] == "restart_wfserver" and record["module"] == "wfserver"
    path = Path(record["path"])
    assert path.parent == (tmp_path / "b").resolve()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]
    alone = [s.command for s in fake.sent if not s.batched]
    restart = next(i for i, c in enumerate(alone) if "restart" in c)
    assert any(collect.RC_MARK in c for c in alone[:restart]) and not any(collect.RC_MARK in c for c in alone[restart:])


def test_no_bundle_with_no_collect_nor_in_a_dry_run(tmp_path: Path, chdir: Path) -> None:
    fake, events, _ = engine_run(tmp_path)  # collect_dir None: --no-collect
    assert not [e for e in events if e["event"].startswith("bundle.")]
    assert not any(collect.RC_MARK in s.command for s in fake.sent)
    fake, events, _ = engine_run(tmp_path, collect_dir=tmp_path / "b", dry_run=True)
    planned = [e for e in events if e["event"] == "step.planned" and e["step"] == "restart_wfserver"]
    assert planned and collect.DRY_RUN_NOTE in planned[0]["message"]
    assert not [e for e in events if e["event"].startswith("bundle.")] and not (tmp_path / "b").exists()
    assert not any(collect.RC_MARK in s.command for s in fake.sent)
