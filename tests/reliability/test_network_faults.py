"""Faults on the path between the runner and a host: a tarpit, a name that does not resolve, a bastion
that is down or whose key is unknown, a ProxyJump loop, and a link cut in the middle of a changing command.

The lab's own sshd hosts are the targets (lab2 doubles as the bastion of lab1); the misbehaving pieces
(tarpit, relay, the dead bastion's address) live on 127.0.125.x, through ``lab.bastion``'s helpers.
Each fault ends with the exit code the README gives it, no command run on the host it could not reach,
and an audit log that verifies.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab import Lab
from lab.bastion import Relay, Tarpit
from runner import retry
from tests.reliability.figures import Figures
from tests.reliability.helpers import lock_is_free, wait_event, write_playbook
from tests.support.cli import Runner, finish
from tests.support.wait import wait_until

# one pytest-xdist worker runs the whole file: fixed addresses in 127.0.125
pytestmark = pytest.mark.xdist_group("test_network_faults")

NET = "127.0.125"
PORT = 2222
DEAD_BASTION, RELAY, TARPIT = f"{NET}.2", f"{NET}.3", f"{NET}.5"
MOD = "import"  # module name of the custom playbooks


@dataclass
class Paths:
    cfg: Path
    inventory: Path
    playbooks: Path
    marker: Path


def _config(lab: Lab, known_hosts: Path, empty: Path) -> str:
    lab1, lab2 = lab.addr("lab1"), lab.addr("lab2")
    return f"""Host tarpit
  HostName {TARPIT}
  Port {PORT}
  ConnectTimeout 2
Host nowhere
  HostName no-such-host.invalid
  Port {PORT}
Host via-bastion via-dead-bastion via-unknown-bastion
  HostName {lab1}
  Port {PORT}
Host via-bastion
  ProxyJump bastion
Host via-dead-bastion
  ProxyJump dead-bastion
Host via-unknown-bastion
  ProxyJump unknown-bastion
Host bastion
  HostName {lab2}
  Port {PORT}
Host dead-bastion
  HostName {DEAD_BASTION}
  Port {PORT}
  ConnectTimeout 3
Host unknown-bastion
  HostName {lab2}
  Port {PORT}
  UserKnownHostsFile {empty}
Host relayed
  HostName {RELAY}
  Port {PORT}
  HostKeyAlias relayed-lab1
  ServerAliveInterval 1
  ServerAliveCountMax 3
Host loop-a
  HostName {lab1}
  Port {PORT}
  ProxyJump loop-b
Host loop-b
  HostName {lab2}
  Port {PORT}
  ProxyJump loop-a
Host *
  User {lab.user}
  IdentityFile {lab.dir}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {known_hosts}
  StrictHostKeyChecking yes
  ConnectTimeout 5
"""


NAMES = ("tarpit", "nowhere", "via-bastion", "via-dead-bastion", "via-unknown-bastion", "relayed", "loop-a")


@pytest.fixture()
def paths(lab: Lab, tmp_path: Path, shared_dir: Path) -> Paths:
    lab_kh = (Path(lab.dir) / "known_hosts").read_text()
    lab1_key = next(ln for ln in lab_kh.splitlines() if ln.startswith(f"[{lab.addr('lab1')}]:{PORT} "))
    known = tmp_path / "known_hosts"
    known.write_text(lab_kh + "relayed-lab1 " + lab1_key.split(" ", 1)[1] + "\n")
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(_config(lab, known, empty))
    nl6 = lab.hdir("lab1") / "nl6"
    host_vars = {"nlserver": f"{nl6}/bin/nlserver", "nl6_root": str(nl6)}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"instance": "prod", "ssh_config": str(cfg)},
                    "hosts": {n: dict(host_vars) for n in NAMES},
                }
            }
        )
    )
    marker = shared_dir / "ran"
    books = write_playbook(
        tmp_path / "playbooks",
        MOD,
        f"""\
        - id: slow_change
          effect: change
          action: shell
          args: {{command: "echo ran >> {marker}; sleep 30"}}
          timeout: 60
        """,
        checks=f"""\
        - id: probe
          effect: read
          action: shell
          args: {{command: "set -- $SSH_CONNECTION; echo $3 >> {shared_dir}/probed; false"}}
        """,
    )
    return Paths(cfg, inventory, books, marker)


def _check(remediate: Runner, paths: Paths, name: str, timeout: float = 120) -> tuple[int, str, str, float]:
    start = time.monotonic()
    res = remediate(
        "check", MOD, "--host", name, inventory=paths.inventory, env={"REMEDIATE_PLAYBOOKS": str(paths.playbooks)}
    )
    return res.returncode, res.stdout, res.stderr, time.monotonic() - start


def _nothing_ran(remediate: Runner, figures: Figures, shared_dir: Path) -> None:
    events = figures.audit(remediate.audit_log)
    assert not [e for e in events if e["event"] == "step.started"], "a command was sent"
    assert not (shared_dir / "probed").exists(), "a command ran on a host"


def test_bastion_path_works_as_the_positive_control(
    lab: Lab, host: str, remediate: Runner, paths: Paths, shared_dir: Path
) -> None:
    """lab1 through lab2 runs the probe on lab1: the faults below fail for their own reason, not the config."""
    code, out, err, _ = _check(remediate, paths, "via-bastion")
    assert code == 1 and "Traceback" not in err, out + err  # the probe check exits 1: a failed check
    assert (shared_dir / "probed").read_text().split() == [lab.addr("lab1")]


def test_tarpit_no_ssh_banner_is_unreachable_within_its_bound(
    lab: Lab, remediate: Runner, paths: Paths, shared_dir: Path, figures: Figures
) -> None:
    policy = retry.ConnectPolicy()
    waits = sum(min(policy.initial * 2**k, policy.max_wait) + policy.initial for k in range(policy.attempts - 1))
    bound = min(policy.attempts * 2 + waits, policy.budget + 2) + 5  # ConnectTimeout 2, + interpreter start-up
    with Tarpit(TARPIT, PORT):
        figures.fault("tarpit: the port accepts and never sends an SSH banner", "network")
        code, out, err, elapsed = _check(remediate, paths, "tarpit")
    assert code == 3, out + err
    assert f"no SSH banner from {TARPIT}:{PORT} within 2s (is this an SSH server?)" in out, out
    assert "Traceback" not in err and "paramiko" not in err and elapsed < bound, (err, elapsed, bound)
    _nothing_ran(remediate, figures, shared_dir)


UNREACHABLE = {  # host -> (fault kind, what the one-line message says)
    "nowhere": (
        "host name does not resolve (HostName no-such-host.invalid)",
        "cannot resolve host name 'no-such-host.invalid'",
    ),
    "via-dead-bastion": (
        "bastion down: nothing listens at the ProxyJump host",
        f"bastion dead-bastion: connection refused by {DEAD_BASTION}:{PORT}",
    ),
    "via-unknown-bastion": (
        "bastion host key not in the client's known_hosts",
        "bastion unknown-bastion: host key for",
    ),
}


@pytest.mark.parametrize("name", list(UNREACHABLE))
def test_unreachable_path_is_exit_3_in_one_line_and_nothing_runs(
    lab: Lab, remediate: Runner, paths: Paths, shared_dir: Path, figures: Figures, name: str
) -> None:
    kind, says = UNREACHABLE[name]
    figures.fault(kind, "network")
    code, out, err, _ = _check(remediate, paths, name)
    assert code == 3, out + err
    assert says in out and "Traceback" not in err, out + err
    _nothing_ran(remediate, figures, shared_dir)


def test_proxyjump_loop_is_bad_input_before_any_host(
    lab: Lab, remediate: Runner, paths: Paths, shared_dir: Path, figures: Figures
) -> None:
    figures.fault("ProxyJump loop (a jumps through b, b through a)", "network")
    code, out, err, _ = _check(remediate, paths, "loop-a")
    assert code == 2, out + err  # README: bad input, nothing was run
    assert "ProxyJump loop" in err and f"{paths.cfg}:" in err and "Traceback" not in err, err
    remediate.assert_no_audit_log()
    assert not (shared_dir / "probed").exists()


@pytest.fixture()
def relay(lab: Lab) -> Iterator[Relay]:
    with Relay(RELAY, PORT, (lab.addr("lab1"), PORT)) as r:
        yield r


def test_link_cut_mid_changing_command_is_unknown_and_not_rerun(
    lab: Lab, host: str, remediate: Runner, paths: Paths, relay: Relay, figures: Figures
) -> None:
    """The relay stops forwarding (no FIN, no RST): keepalives end the run as unknown, exit 5, never re-run."""
    proc = remediate.start(
        MOD,
        "--host",
        "relayed",
        "--output",
        "json",
        inventory=paths.inventory,
        REMEDIATE_PLAYBOOKS=str(paths.playbooks),
    )
    try:
        wait_event(
            remediate.audit_log,
            lambda e: e["event"] == "step.started" and e.get("step") == "slow_change",
            60,
            "the changing step to start",
        )
        wait_until(lambda: paths.marker.exists(), 10, "the changing command to run on the host")
        figures.fault("link cut mid changing command (relay goes silent, no FIN/RST)", "network")
        relay.cut()
        cut_at = time.monotonic()
        code, out, err = finish(proc, 60)
        took = time.monotonic() - cut_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    relay.close()  # the host side of the dead link ends: the run's lock on lab1 goes with it
    wait_until(lambda: lock_is_free(lab, "lab1", MOD), 30, "the cut run's lock on lab1 to be released")
    events = figures.audit(remediate.audit_log)
    started = [e for e in events if e["event"] == "step.started" and e.get("step") == "slow_change"]
    ran = paths.marker.read_text().split()
    figures.add("reruns_after_unknown", max(0, len(started) - 1) + max(0, len(ran) - 1))
    assert code == 5, out + err
    assert json.loads(out)["hosts"]["relayed"]["status"] == "unknown", out
    assert len(started) == 1 and ran == ["ran"], (started, ran)
    # ServerAliveInterval 1 x CountMax 3, + slack for the run's ending on a busy machine (make test runs four
    # workers on two cores); without keepalives the run would wait for the 60 s step timeout
    assert took < 1 * (3 + 1) + 20, took
    assert "Traceback" not in err


def test_a_host_that_drops_mid_collection_gives_a_partial_bundle_not_a_crash(
    lab: Lab, host: str, remediate: Runner, paths: Paths, relay: Relay, tmp_path: Path, figures: Figures
) -> None:
    """``remediate collect`` through the relay while lab1's ``nlserver pdump`` hangs (lab fault command_hangs),
    so the collection is under way when the relay goes silent: keepalives end the connection; the bundle is
    still written, says it is partial and why, and the run exits 1 (partial), not with a traceback."""
    bundles = tmp_path / "bundles"
    hung = lab.hdir(host) / "run" / "hung"
    lab.break_(host, "command_hangs")
    proc = remediate.start(
        "collect", "--host", "relayed", "--output", "json", inventory=paths.inventory, REMEDIATE_BUNDLES=str(bundles)
    )
    try:
        wait_until(lambda: any(hung.glob("*.pid")), 60, "a collection command to hang on the host")
        figures.fault("link cut mid evidence collection (relay goes silent, no FIN/RST)", "network")
        relay.cut()
        code, out, err = finish(proc, 90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        relay.close()
        lab.heal(host)
    figures.audit(remediate.audit_log)
    assert code == 1 and "Traceback" not in err, out + err
    bundle = json.loads(out)["hosts"]["relayed"]
    assert bundle["partial"] is True and Path(bundle["path"]).parent == bundles, bundle
    with tarfile.open(bundle["path"]) as tar:
        (name,) = [m for m in tar.getnames() if m.endswith("/MANIFEST.json")]
        handle = tar.extractfile(name)
        assert handle is not None
        manifest = json.loads(handle.read())
    assert manifest["partial"] is True
    lost = [f for f in manifest["files"] if "the connection was lost" in (f.get("note") or "")]
    assert lost and all(f["status"] == "failed" for f in lost), manifest["files"]
