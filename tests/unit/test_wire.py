"""runner.wire: the text a host receives for a command sent on its own, written in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from runner.inventory import Host
from runner.wire import DIRECT, Become, as_sent

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_sent_alone_sources_the_env_then_runs_in_the_campaign_account() -> None:
    host = Host("h", (), {"nlserver_env": "/opt/nl 6/env.sh"}, "t")
    assert as_sent("nlserver pdump", host, DIRECT) == ". '/opt/nl 6/env.sh' && nlserver pdump"
    assert as_sent("nlserver pdump", Host("h", (), {}, "t"), DIRECT) == "nlserver pdump"  # no env script
    wrapped = as_sent("nlserver pdump", host, Become("sudo", "neolane"))
    head, body = wrapped.split("\n", 1)
    assert head.startswith("sudo -n -u neolane -- sh -c ") and "<<'@@rmdas" in head
    assert body.startswith(". '/opt/nl 6/env.sh' && nlserver pdump\n@@rmdas")  # on stdin, never the command line


def test_the_env_and_account_pair_is_written_only_in_wire() -> None:
    """No module but runner.wire wraps ``sourced(...)`` in ``run_as(...)`` by hand: they call as_sent."""
    found = []
    for path in [*(ROOT / "runner").rglob("*.py"), *(ROOT / "bench").glob("*.py")]:
        if path.name == "wire.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "run_as"
                and node.args
                and isinstance(node.args[0], ast.Call)
                and getattr(node.args[0].func, "id", getattr(node.args[0].func, "attr", None)) == "sourced"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "use runner.wire.as_sent: " + ", ".join(found)
