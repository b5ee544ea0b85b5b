"""Holds: what the host-side scripts print, read back; the fail-safe readings; and that a run honours a hold
(nothing sent, --force --yes included) over the in-memory host."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner import hold
from runner.outcomes import HostStatus
from tests.unit.fakehost import FakeHost
from tests.unit.test_engine import WFSERVER, Campaign, _run

NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def _sh(script: str) -> tuple[str, int]:
    res = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
    return res.stdout, res.returncode


def _line(process: str = "mta@prod", until: datetime | None = None) -> str:
    return hold.record(process, "alice", "INC-7 bad send", NOW, until, "r1")


def test_place_list_release_round_trip_on_a_real_shell(tmp_path: Path) -> None:
    locks = str(tmp_path / "locks")
    out, rc = _sh(hold.place_script(locks, "mta@prod", _line()))
    assert rc == 0 and out == ""
    (found,) = hold.parse_list(locks, *_sh(hold.list_script(locks)))
    assert (found.process, found.by, found.reason, found.since, found.problem) == (
        "mta@prod",
        "alice",
        "INC-7 bad send",
        "2026-12-02T21:00:00Z",
        None,
    )
    out, rc = _sh(hold.release_script(locks, "mta@prod"))
    assert rc == 0 and hold.released(out)
    assert hold.parse_list(locks, *_sh(hold.list_script(locks))) == []
    out, rc = _sh(hold.release_script(locks, "mta@prod"))
    assert rc == 0 and not hold.released(out)


def test_no_lock_directory_yet_means_no_hold(tmp_path: Path) -> None:
    assert hold.parse_list(str(tmp_path / "none"), *_sh(hold.list_script(str(tmp_path / "none")))) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not JSON"),
        ('{"process": "mta@prod"}', "is not a hold record"),
        (json.dumps({"process": "web@default", "by": "a", "reason": "r", "since": "s"}), "names 'web@default'"),
        (json.dumps({"process": "mta@prod", "by": "a", "reason": "r", "since": "s", "until": 5}), "until"),
    ],
)
def test_a_hold_that_cannot_be_parsed_still_holds(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "mta@prod.hold").write_text(content)
    (found,) = hold.parse_list(str(tmp_path), *_sh(hold.list_script(str(tmp_path))))
    assert found.process == "mta@prod" and found.problem is not None and problem in found.problem
    assert str(tmp_path / "mta@prod.hold") in found.describe()
    assert hold.blocking([found], ("mta@prod",), NOW) == [found]
    assert not found.expired(NOW + timedelta(days=3650))  # a broken hold never expires


def test_a_listing_that_fails_holds_every_module() -> None:
    (every,) = hold.parse_list("/x/locks", "@@rmdhold X cannot read the directory\n", 3)
    assert every.process == hold.EVERY and "cannot read the directory" in (every.problem or "")
    assert hold.blocking([every], ("wfserver@prod",), NOW) == [every]


def test_a_file_cut_off_mid_listing_still_holds() -> None:
    (cut,) = hold.parse_list("/x", '@@rmdhold F /x/mta@prod.hold\n{"process": "mt', 0)
    assert cut.process == "mta@prod" and "cut off" in (cut.problem or "")


def test_which_holds_stand_in_the_way() -> None:
    mta = hold.Hold("mta@prod", "a", "r", "s", None, "f")
    old = hold.Hold("web@default", "a", "r", "s", "2026-12-01T00:00:00Z", "f")
    assert hold.blocking([mta, old], ("wfserver@prod",), NOW) == []
    assert hold.blocking([mta, old], ("mta@prod",), NOW) == [mta]
    assert hold.blocking([mta, old], ("web@default",), NOW) == []  # expired
    assert hold.blocking([mta, old], (hold.EVERY,), NOW) == [mta]  # the watchdog would start it
    assert hold.blocking([mta], (), NOW) == []


def test_until_relative_or_absolute_never_in_the_past() -> None:
    assert hold.parse_until("2h", NOW) == NOW + timedelta(hours=2)
    assert hold.parse_until("30m", NOW) == NOW + timedelta(minutes=30)
    assert hold.parse_until("2026-12-03T08:00:00Z", NOW) == datetime(2026, 12, 3, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="in the past"):
        hold.parse_until("2026-12-01T08:00:00Z", NOW)
    with pytest.raises(ValueError):
        hold.parse_until("tomorrow", NOW)


def test_a_held_module_is_not_started_even_with_force_and_yes(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}), holds={"wfserver@prod.hold": _line("wfserver@prod")})
    outcomes, events = _run(tmp_path, WFSERVER, fake, force=True, yes=True)
    assert outcomes[0].status is HostStatus.HELD
    assert "held by alice" in outcomes[0].message and "INC-7 bad send" in outcomes[0].message
    assert fake.changes() == []  # nothing was sent
    honoured = [e for e in events if e["event"] == "hold.honoured"]
    assert honoured and honoured[0]["hold"]["by"] == "alice"


def test_a_hold_on_another_module_does_not_stop_this_one(tmp_path: Path) -> None:
    fake = FakeHost(Campaign({"watchdog"}), holds={"mta@prod.hold": _line("mta@prod")})
    outcomes, _events = _run(tmp_path, WFSERVER, fake, yes=True)
    assert outcomes[0].status is HostStatus.REMEDIATED
    assert fake.changes() == ["nlserver start wfserver@prod"]
    assert outcomes[0].holds and outcomes[0].holds[0]["process"] == "mta@prod"  # shown, not enforced here
