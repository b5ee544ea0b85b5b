"""One type system: an action arg and a host var of the same kind are checked and described alike."""

from __future__ import annotations

import pytest

from runner import hostvars, kinds
from runner.actions import ArgSpec
from runner.hostvars import HostVar


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("port", 6666, 70000),
        ("bool", True, "yes"),
        ("count", 4, 0),
        ("ratio", 0.5, 2),
        ("names", ["exportRecipients"], ["a b"]),
        ("address", "127.0.0.1", "a b"),
        ("int", 3, "3"),
    ],
)
def test_each_kind_accepts_and_refuses(kind: str, good: object, bad: object) -> None:
    assert kinds.problem(kind, good) is None
    assert kinds.problem(kind, bad) is not None and kinds.words(kind) in str(kinds.problem(kind, bad))


def test_arg_and_host_var_of_one_kind_say_the_same() -> None:
    arg = ArgSpec("port", "int", "a port")
    var = HostVar("some_port", "port", "a port")
    assert arg.problem(True) == "must be a whole number, got bool True"
    assert var.problem(True) == ("some_port must be a port number (1-65535), got bool True", None)
    assert arg.kind_text() == kinds.words("int") and hostvars.describe(var) == kinds.words("port")


def test_every_declared_type_is_a_kind() -> None:
    from runner.actions import ACTIONS

    for var in hostvars.VARS.values():
        assert var.kind in kinds.KINDS, var.name
    for act in ACTIONS.values():
        for arg in act.args:
            assert arg.type in kinds.KINDS, (act.name, arg.name)


def test_a_secret_is_never_shown_whatever_the_kind() -> None:
    assert "hunter2" not in str(kinds.problem("line", "hunter2\nx", secret=True))
    assert "hunter2" not in str(HostVar("db_password", "secret", "x").problem("hunter2\n"))


def test_templates_where_allowed_only() -> None:
    assert kinds.problem("int", "{syslogd_port}", template=True) is None
    assert "template" in str(kinds.problem("int", "6666", template=True))
    assert "would be sent as written" in str(kinds.problem("str", "ls {nl6_root}"))
    assert kinds.problem("template", "ls {nl6_root}") is None
    assert "unsupported template field" in str(kinds.problem("template", "{a.b}"))


def test_a_template_field_is_recognised_by_one_pattern_everywhere() -> None:
    """The kinds' "is not a template" check and the JSON Schema's template pattern are runner.templates'
    own ``{var}`` field: what the parser takes for a field, they take for one, and nothing else."""
    import json
    import re

    from runner import schema, templates

    for text in ("{nlserver_env}", "{_x1}"):
        assert templates.template_fields(text) and templates.FIELD.fullmatch(text)
        assert kinds.problem("str", text) is not None  # a field in a str that is no template
    for text in ("{0}", "{a.b}", "{}", "{ x }"):
        assert not templates.FIELD.fullmatch(text) and kinds.problem("str", text) is None
    patterns = set(re.findall(r'"pattern": ("\\\\\{[^"]*")', json.dumps(schema.schema())))
    assert patterns == {json.dumps(templates.FIELD.pattern)}, patterns
