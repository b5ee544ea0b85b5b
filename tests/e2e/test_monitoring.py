"""remediate check feeding monitoring, on the lab: a real node_exporter serves the Prometheus text file over
HTTP (loopback), and the Nagios plugin line and exit code follow the Monitoring Plugins guidelines."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from lab import Lab
from tests.support.cli import Runner
from tests.support.wait import wait_until

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


def _states(text: str) -> dict[tuple[str, str], str]:
    """(host, module) -> the state whose sample is 1."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "remediate_check_module_state" and s.value == 1:
                out[(s.labels["host"], s.labels["module"])] = s.labels["state"]
    return out


@pytest.fixture()
def node_exporter(lab: Lab, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    if not Path(NODE_EXPORTER).exists():
        pytest.skip("prometheus-node-exporter is not installed (scripts/install-system-deps.sh installs it)")
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    address = f"{lab.addr('lab1').rsplit('.', 1)[0]}.240:9100"
    log = (tmp_path / "node_exporter.log").open("w")
    proc = subprocess.Popen(
        [
            NODE_EXPORTER,
            f"--web.listen-address={address}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={textdir}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{address}/metrics"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return proc.poll() is not None  # stop waiting if it died; the assertion below says so

    try:
        wait_until(up, 20, f"node_exporter answering on {url}")
        assert proc.poll() is None, (tmp_path / "node_exporter.log").read_text()
        yield textdir, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())


def test_node_exporter_serves_check_results(
    lab: Lab, host: str, remediate: Runner, node_exporter: tuple[Path, str]
) -> None:
    textdir, url = node_exporter
    target = textdir / "remediate.prom"
    res = remediate("check", "all", "--host", host, "--output", "prometheus", "--output-file", str(target))
    assert res.returncode in (0, 1), res.stderr
    assert res.stdout == ""  # written to the file only
    served = _states(_metrics(url))
    assert served == _states(target.read_text())
    assert served[(host, "wfserver")] == "healthy"
    assert len({m for h, m in served if h == host}) == 11
    assert "remediate_check_duration_seconds" in _metrics(url)

    lab.break_(host, "wfserver_down")
    res = remediate("check", "wfserver", "--host", host, "--output", "prometheus", "--output-file", str(target))
    assert res.returncode == 1
    assert _states(_metrics(url))[(host, "wfserver")] == "problem"
    assert [p.name for p in textdir.iterdir()] == ["remediate.prom"]  # no temp file left for the collector


def test_nagios_exit_codes_in_every_state(lab: Lab, host: str, remediate: Runner, tmp_path: Path) -> None:
    def nagios(*extra: str, inventory: Path | None = None) -> tuple[int, str]:
        res = remediate("check", "wfserver", "--host", host, "--output", "nagios", *extra, inventory=inventory)
        assert res.stdout.count("\n") == 1, res.stdout + res.stderr
        return res.returncode, res.stdout.strip()

    code, line = nagios()
    assert code == 0 and line.startswith("REMEDIATE OK - ") and " | healthy=1;;;0" in line
    lab.break_(host, "wfserver_down")
    code, line = nagios()
    assert code == 2 and line.startswith(f"REMEDIATE CRITICAL - problem: {host} wfserver")
    lab.heal(host)
    lab.break_(host, "command_hangs")  # pdump never answers: the check cannot decide
    # the shipped playbook with 3 s check timeouts, so that the hung read ends quickly
    book = yaml.safe_load((PLAYBOOKS / "wfserver.yml").read_text())
    for check in book["checks"]:
        check["timeout"] = 3
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "wfserver.yml").write_text(yaml.safe_dump(book, sort_keys=False))
    res = remediate(
        "check", "wfserver", "--host", host, "--output", "nagios", env={"REMEDIATE_PLAYBOOKS": str(tmp_path / "books")}
    )
    assert res.stdout.count("\n") == 1, res.stdout + res.stderr
    code, line = res.returncode, res.stdout.strip()
    assert code == 1 and line.startswith(f"REMEDIATE WARNING - undetermined: {host} wfserver"), line
    lab.heal(host)

    inventory = yaml.safe_load(remediate.inventory.read_text())
    for group in [inventory["all"], *inventory["all"].get("children", {}).values()]:
        for name, values in (group.get("hosts") or {}).items():
            if name == host:
                values["ansible_port"] = 1  # nothing listens there
    broken = tmp_path / "inventory.yml"
    broken.write_text(yaml.safe_dump(inventory))
    code, line = nagios(inventory=broken)
    assert code == 3 and line.startswith(f"REMEDIATE UNKNOWN - unreachable: {host}")
    code, line = nagios("--group", "no-such-group")
    assert code == 3 and line.startswith("REMEDIATE UNKNOWN - ")
