"""The action registry and its argument specs: every action registered once with a typed spec, the specs
check playbook args, and nothing in an action depends on the clock or on chance."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from runner.actions import ACTIONS, FAMILIES, Action, ArgSpec, Context, Effect, Skip, action
from runner.actions.base import ARG_TYPES, exit_ok
from runner.inventory import Host

PACKAGE = Path(__file__).resolve().parents[2] / "runner" / "actions"


def test_every_action_is_registered_by_its_family() -> None:
    shipped = {"module_running", "processes_running", "monitor_missing", "web_sessions", "start_module", "stop_module"}
    shipped |= {"restart_module", "start_listed", "watchdog_start", "reload", "port_listening", "port_not_foreign"}
    shipped |= {"http_probe", "syslog_roundtrip", "sql", "recipient_dedup", "file_fresh", "log_search", "backlog"}
    shipped |= {"redir_scan", "redir_quarantine", "javascript", "workflow_relaunch", "shell"}
    assert len(shipped) == 24 and shipped <= set(ACTIONS)
    families = {f.__name__.rsplit(".", 1)[-1] for f in FAMILIES}
    assert {a.family for a in ACTIONS.values()} == families
    for act in ACTIONS.values():
        assert act.summary and all(isinstance(a, ArgSpec) and a.type in ARG_TYPES for a in act.args)
        assert len({a.name for a in act.args}) == len(act.args), act.name


def test_every_family_module_is_imported_by_the_package() -> None:
    # Registration happens at import: a family the package does not import would be missing from ACTIONS
    # (and from schema.json and the README) whenever nothing else happened to import it first.
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "base"}
    assert modules == {f.__name__.rsplit(".", 1)[-1] for f in FAMILIES}, (
        "FAMILIES is every module the package lists (pkgutil) but base: a family file missing from it is not "
        "an importable module name, or the listing in runner/actions/__init__.py was changed"
    )


def test_code_outside_the_package_imports_the_actions_from_one_home() -> None:
    """runner.actions is the one public home of the actions' names: no runner module, bench or test helper
    outside the package imports runner.actions.base (the unit tests of the actions themselves may)."""
    root = PACKAGE.parents[1]
    callers = [*(root / "runner").rglob("*.py"), *(root / "bench").glob("*.py"), root / "tests/unit/fakehost.py"]
    offenders = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in callers
        if PACKAGE not in path.parents
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.ImportFrom) and node.module == "runner.actions.base")
        or (isinstance(node, ast.Import) and any(a.name == "runner.actions.base" for a in node.names))
    ]
    assert not offenders, "import these names from runner.actions: " + ", ".join(offenders)


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        action("shell", "again", Effect.READ, build=lambda a, c: "true", judge=exit_ok)


@pytest.mark.parametrize("act", list(ACTIONS.values()), ids=lambda a: a.name)
def test_defaults_fit_their_own_spec(act: Action) -> None:
    for arg in act.args:
        assert not (arg.required and arg.default is not None), f"{act.name}.{arg.name}: required with a default"
        if arg.default is not None:
            assert arg.problem(arg.default) is None, f"{act.name}.{arg.name}"


def test_actions_use_no_clock_and_no_randomness() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {n.name for node in ast.walk(tree) if isinstance(node, ast.Import) for n in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"secrets", "time", "random", "uuid", "datetime"}, path.name
        assert len(path.read_text().splitlines()) < 400, f"{path.name} is too long"


@pytest.mark.parametrize(
    ("action_name", "args", "fragment"),
    [
        ("port_listening", {"module": "syslogd", "port": "{syslogd_port}", "proto": "sctp"}, "one of tcp, udp"),
        ("port_listening", {"module": "syslogd", "port": True}, "whole number or a {var} template"),
        ("port_listening", {"module": "syslogd", "port": "514"}, "whole number or a {var} template"),
        ("port_listening", {"module": "syslogd"}, "needs args ['port']"),
        ("port_listening", {"module": "nosuch", "port": 514}, "one of inMail"),
        ("module_running", {"module": "web", "colour": "red"}, "has no arg 'colour'"),
        ("restart_module", {"module": "web", "flags": ["-force"]}, "may hold -verbose"),
        ("restart_module", {"module": "web", "flags": "-verbose"}, "list of strings"),
        ("sql", {"query": "SELECT {grace}"}, "template is not true"),
        ("sql", {"query": "SELECT 1", "expect": "some"}, "one of ok, empty"),
        ("sql", {"query": 1}, "must be a {var} template"),
        ("sql", {"query": "SELECT 1", "template": "yes"}, "true or false"),
        ("log_search", {"file": "/x", "pattern": "{instance}"}, "is not a template"),
        ("log_search", {"file": "/x/{a.b}", "pattern": "a"}, "unsupported template field"),
        ("log_search", {"file": "/x", "pattern": "a", "lines": 0}, "at least 1"),
        ("backlog", {"dir": "/x", "pattern": "*; rm"}, "does not match"),
        ("file_fresh", {"dir": "/x", "max_age": "soon"}, "must be a number"),
        ("workflow_relaunch", {"from": "c", "verb": "Stop"}, "Start, Restart"),
        ("http_probe", {"url": "http://x", "headers": ["A: {b.c}"]}, "unsupported template field"),
    ],
)
def test_spec_refuses(action_name: str, args: dict[str, object], fragment: str) -> None:
    problems = ACTIONS[action_name].problems(args)
    assert problems and fragment in problems[0].what + (problems[0].hint or ""), problems


def test_spec_accepts_regex_quantifiers_and_numbers() -> None:
    assert ACTIONS["log_search"].problems({"file": "{nl6_root}/l", "pattern": "a{2,3}", "lines": 5}) == []
    assert ACTIONS["port_listening"].problems({"module": "stat", "port": 7777}) == []
    assert ACTIONS["sql"].problems({"query": "SELECT {g}", "template": True, "expect": "empty"}) == []


def test_context_falls_back_on_host_var_defaults() -> None:
    ctx = Context(Host("h", (), {"web_port": 9090}, "-"), {"mode": "full"}, run_id="r", attempt=1)
    assert (ctx.var("web_port"), ctx.var("syslogd_port"), ctx.var("mode")) == (9090, 6666, "full")
    assert ctx.var("nl6_root") == "/usr/local/neolane/nl6"
    with pytest.raises(Skip):
        ctx.var("db_host")  # no default: a step that needs it is skipped on this host
    assert (ctx.run_id, ctx.attempt) == ("r", 1)
