"""Guards for a newcomer's first contact: ``remediate list`` marks the playbooks with disruptive steps, and
nothing the runner or its playbooks say outside the lab mentions the lab (``make lab``, ``lab1``,
``python -m lab``)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from click.testing import CliRunner

from runner.cli import main

ROOT = Path(__file__).resolve().parents[2]
LAB_WORDS = re.compile(r"make lab|\blab1\b|python -m lab\b")


def test_list_marks_wfserver_disruptive_and_not_watchdog() -> None:
    res = CliRunner().invoke(main, ["list"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    heads = {ln.split()[0]: ln for ln in res.stdout.splitlines() if ln and not ln[0].isspace()}
    assert "[disruptive steps" in heads["wfserver"], heads["wfserver"]
    assert "[disruptive steps" not in heads["watchdog"], heads["watchdog"]


def _code_without_comments(path: Path) -> str:
    """The source of a module less its comments (its strings and docstrings stay)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return " ".join(tok.string for tok in tokens if tok.type != tokenize.COMMENT)


def test_no_lab_wording_in_the_runner_or_the_playbooks() -> None:
    found = []
    for path in sorted((ROOT / "runner").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        text = _code_without_comments(path) if path.suffix == ".py" else path.read_text(errors="replace")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in LAB_WORDS.finditer(text)]
    for path in sorted((ROOT / "playbooks").iterdir()):
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in LAB_WORDS.finditer(path.read_text())]
    assert found == []


def test_the_lab_wording_guard_sees_strings_not_comments(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text('# run make lab first\nHINT = "start it with python -m lab up"\n')
    assert LAB_WORDS.findall(_code_without_comments(sample)) == ["python -m lab"]
