"""A real Prometheus Alertmanager on loopback for the silence tests (Debian's prometheus-alertmanager).

Owns: :func:`running_alertmanager` (started on 127.0.0.1 with a free port, its storage in a temporary
directory, clustering off, a minimal config; stopped by its PID at exit) and :class:`Alertmanager`,
which reads silences back through the API v2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.receiver import closed_port

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
CONFIG = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"


@dataclass
class Alertmanager:
    url: str
    pid: int

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as answer:
            return json.loads(answer.read())

    def silences(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v2/silences"))

    def silence(self, silence_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v2/silence/{silence_id}"))

    def active(self) -> list[dict[str, Any]]:
        return [s for s in self.silences() if s["status"]["state"] == "active"]


@contextmanager
def running_alertmanager(directory: Path) -> Iterator[Alertmanager]:
    if not Path(BINARY).exists():
        raise AssertionError(f"{BINARY} is missing: sh scripts/install-system-deps.sh (prometheus-alertmanager)")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "alertmanager.yml"
    config.write_text(CONFIG)
    port = closed_port()
    log = (directory / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    am = Alertmanager(f"http://127.0.0.1:{port}", proc.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{am.url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"alertmanager did not start: {(directory / 'alertmanager.log').read_text()}")
            time.sleep(0.1)
        yield am
    finally:
        proc.terminate()  # by its PID: the process this fixture started
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
