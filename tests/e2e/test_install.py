"""remediate as a user installs it: sdist -> wheel -> a fresh virtualenv outside the checkout.

The checkout's files are copied to a temporary directory (so the build writes nothing into the checkout),
an sdist is built there, a wheel is built from that sdist alone (so both carry the playbooks), and the
wheel is installed with its dependencies into a new virtualenv. The installed ``remediate`` then runs from
a directory outside the checkout with no PYTHONPATH: list, validate, show, --version, shell completion and
one repair against the suite's lab, whose real state is read back through ``lab.status``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import Lab
from tests.support.labfix import pid_of

# one pytest-xdist worker runs the whole file: one wheel build and one installed virtualenv for the module
pytestmark = pytest.mark.xdist_group("test_install")

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in (ROOT / "playbooks").glob("*.yml"))  # what the checkout ships
WF = "wfserver@prod"


class Installed:
    def __init__(self, base: Path, venv: Path, wheel: Path) -> None:
        self.base = base
        self.venv = venv
        self.wheel = wheel
        self.bin = venv / "bin" / "remediate"
        self.cwd = base / "elsewhere"
        self.cwd.mkdir()

    def env(self, **extra: str) -> dict[str, str]:
        drop = ("PYTHONPATH", "REMEDIATE_PLAYBOOKS", "REMEDIATE_INVENTORY", "VIRTUAL_ENV", "NO_COLOR")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        env["REMEDIATE_AUDIT_LOG"] = str(self.base / "audit.jsonl")
        env.update(extra)
        return env

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin), *args],
            cwd=self.cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )


def _sh(*argv: str | Path, cwd: Path) -> str:
    res = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, f"{' '.join(map(str, argv))}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _copy_checkout(dest: Path) -> None:
    """The files git would ship (tracked, plus new ones not ignored), as they are in the working tree."""
    listed = _sh("git", "ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("install")
    src, dist = base / "src", base / "dist"
    src.mkdir()
    started = time.monotonic()
    _copy_checkout(src)
    build_sdist = "from setuptools import build_meta as b; print(b.build_sdist(r'%s'))" % dist  # noqa: UP031
    sdist = dist / _sh(sys.executable, "-c", build_sdist, cwd=src).strip().splitlines()[-1]
    unpacked = base / "sdist"
    shutil.unpack_archive(sdist, unpacked)
    (project,) = unpacked.iterdir()
    _sh(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, project, cwd=base)
    (wheel,) = dist.glob("remediate-*.whl")
    venv = base / "venv"
    _sh(sys.executable, "-m", "venv", venv, cwd=base)
    _sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=base)
    print(f"\nbuild + fresh venv install: {time.monotonic() - started:.1f}s")
    yield Installed(base, venv, wheel)


def test_wheel_and_sdist_carry_the_playbooks(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("runner/_playbooks/"))
    assert shipped == sorted([*(f"{m}.yml" for m in MODULES), "schema.json"])
    ours = {p.name for p in (ROOT / "playbooks").glob("*.yml")}
    assert ours <= set(shipped)
    assert not any(n.startswith(("tests/", "playbooks/")) for n in names)
    # the runner and its playbooks, not the lab simulator (a test and demo tool of the checkout)
    assert not [n for n in names if n.startswith("lab/") or "/lab/" in n], "the wheel ships the lab"
    assert {n.split("/")[0] for n in names if not n.startswith("remediate-")} == {"runner"}
    assert "remediate-0.1.0.data/data/share/man/man1/remediate.1" in names  # written at build time (setup.py)
    # the sdist is what the wheel is built from: runner, playbooks, setup.py; no lab, tests or build output
    (sdist,) = installed.wheel.parent.glob("remediate-*.tar.gz")
    with tarfile.open(sdist) as tar:
        files = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    assert {"setup.py", "pyproject.toml", "runner/cli/manpage.py", "playbooks/wfserver.yml"} <= set(files)
    assert not [f for f in files if f.startswith(("lab/", "tests/", "build/"))], files


def test_installed_cli_finds_its_own_playbooks(installed: Installed) -> None:
    site = installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    res = installed("list", "--output", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["module"] for r in rows] == sorted(MODULES, key=str)
    assert {r["source"] for r in rows} == {"shipped"}
    assert all(Path(r["file"]).parent == site / "runner" / "_playbooks" for r in rows), rows[0]["file"]
    res = installed("validate")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ok  ") == len(MODULES)
    res = installed("show", "wfserver", "--commands")
    assert res.returncode == 0, res.stderr
    assert "$ nlserver" in res.stdout
    assert f"playbook file: {site / 'runner' / '_playbooks' / 'wfserver.yml'} (shipped)" in res.stdout
    res = installed("--version")
    assert res.returncode == 0 and f"{site / 'runner' / '_playbooks'}  (shipped)" in res.stdout
    assert f"inventory: {installed.cwd / 'inventory'}" in res.stdout
    python = str(installed.venv / "bin" / "python")
    run = {"cwd": installed.cwd, "env": installed.env(), "capture_output": True, "text": True, "timeout": 60}
    no_lab = subprocess.run([python, "-c", "import lab"], **run)
    assert no_lab.returncode == 1 and "No module named 'lab'" in no_lab.stderr, no_lab.stderr
    # remediate(1): installed beside the command, where man finds it, and the installed CLI's own page
    page = installed.venv / "share" / "man" / "man1" / "remediate.1"
    current = subprocess.run([python, "-m", "runner.cli.manpage", "--check", str(page)], **run)
    assert current.returncode == 0, current.stdout + current.stderr
    text = page.read_text()
    assert text.startswith('.\\" remediate(1)') and "\\fB\\-\\-dry\\-run\\fR" in text and "\\fBwfserver\\fR" in text
    if shutil.which("man"):
        env = {k: v for k, v in run["env"].items() if k != "MANPATH"}  # man derives its path from PATH
        found = subprocess.run(["man", "-w", "remediate"], **{**run, "env": env})
        assert found.returncode == 0 and found.stdout.strip() == str(page), found.stdout + found.stderr
        shown = subprocess.run(["man", "-l", str(page)], **{**run, "env": {**env, "MANPAGER": "cat"}})
        assert shown.returncode == 0 and "REMEDIATE(1)" in shown.stdout, shown.stderr


def test_installed_cli_takes_site_playbooks_and_completes(installed: Installed) -> None:
    site = installed.base / "site"
    site.mkdir(mode=0o755)
    os.chmod(site, 0o755)
    (site / "webmdl.yml").write_text(
        "module: webmdl\ntitle: redirection module\nscope: webmdl answers\nsymptom: tracking links fail\n"
        "checks:\n  - id: probe\n    effect: read\n    action: shell\n    args: {command: 'echo ok'}\n"
    )
    os.chmod(site / "webmdl.yml", 0o644)
    res = installed("--playbooks", str(site), "list", "--output", "json")
    assert res.returncode == 0, res.stderr
    assert {r["module"]: r["source"] for r in json.loads(res.stdout)}["webmdl"] == "--playbooks"
    out = installed(_REMEDIATE_COMPLETE="bash_complete", COMP_WORDS="remediate w", COMP_CWORD="1").stdout
    assert out.split() == ["plain,watchdog", "plain,web", "plain,wfserver"]
    out = installed(
        _REMEDIATE_COMPLETE="bash_complete", COMP_WORDS="remediate w", COMP_CWORD="1", REMEDIATE_PLAYBOOKS=str(site)
    ).stdout
    assert "plain,webmdl" in out.split()
    assert "_remediate_completion" in installed(_REMEDIATE_COMPLETE="bash_source").stdout


def test_installed_cli_repairs_a_lab_host(installed: Installed, lab: Lab, host: str) -> None:
    inventory = str(Path(lab.dir) / "inventory.yml")
    out = installed(
        _REMEDIATE_COMPLETE="bash_complete",
        COMP_WORDS=f"remediate check wfserver -i {inventory} --host l",
        COMP_CWORD="6",
    ).stdout
    assert f"plain,{host}" in out.split()
    lab.break_(host, "wfserver_down")
    assert pid_of(lab, host, WF) is None
    res = installed("check", "wfserver", "--host", host, "-i", inventory, "--output", "json")
    doc: dict[str, Any] = json.loads(res.stdout)
    assert res.returncode == 1, res.stderr
    assert doc["hosts"][host]["status"] != "healthy"
    res = installed("wfserver", "--host", host, "-i", inventory, "--yes", "--output", "json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0, res.stderr
    assert doc["hosts"][host]["status"] == "remediated"
    assert pid_of(lab, host, WF) is not None  # the real process is back
    events = [json.loads(line) for line in (installed.base / "audit.jsonl").read_text().splitlines()]
    started = [e for e in events if e["event"] == "run.started" and e.get("module") == "wfserver"]
    assert started and "/runner/_playbooks/wfserver.yml" in started[-1]["playbook"]
