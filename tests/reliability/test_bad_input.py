"""Bad input: exit 2 with a message naming the file:line or the flag, nothing touched on any host;
hostile values rejected or passed quoted (proved: the injected command never ran); unexpected host output
is a clear "cannot parse" check failure, not a crash.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lab import Lab
from runner import inventory as inventory_mod
from runner import playbook as playbook_mod
from runner import yamlfile
from runner.errors import InputError
from tests.reliability.figures import Figures
from tests.reliability.helpers import write_playbook
from tests.support.cli import Runner
from tests.support.labfix import pid_of

WF = "wfserver@prod"

# --- property-based: the loaders never end in a traceback -------------------------------------------

VALID_INVENTORY = {
    "all": {
        "vars": {"instance": "prod", "nlserver": "/usr/local/neolane/nl6/bin/nlserver", "db_port": 5432},
        "children": {
            "emea": {
                "hosts": {
                    "prod1": {"ansible_host": "127.0.0.21"},
                    "prod2": {"ansible_port": 2222, "syslogd_port": 6666},
                },
                "vars": {"db_name": "campaign", "secret_vars": ["x"]},
            }
        },
    },
}
VALID_PLAYBOOK = yaml.safe_load((Path(playbook_mod.default_dir()) / "wfserver.yml").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(
        ["$(touch /tmp/x)", "`id`", "a;b", "'\"", "\n", "\x00", "{x}", "{0}", "{a.b}", "-verbose", "read", "disrupt"]
    ),
)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=5),
        st.dictionaries(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(
                    sorted(playbook_mod.TOP_KEYS | playbook_mod.STEP_KEYS | {"all", "hosts", "vars", "children"})
                ),
            ),
            kids,
            max_size=5,
        ),
    ),
    max_leaves=25,
)
TOKENS = [
    "all:",
    "hosts:",
    "vars:",
    "children:",
    "module: wfserver",
    "checks:",
    "remediation:",
    "verification:",
    "- id: x",
    "effect: read",
    "action: shell",
    "args:",
    "command: true",
    "\n",
    "  ",
    "    ",
    "- ",
    ": ",
    "&a ",
    "*a",
    "{",
    "}",
    "[",
    "]",
    ",",
    "'",
    '"',
    "!!python/object:os.system",
    "!!binary",
    "? ",
    "---",
    "...",
    "#",
    "<<: *a",
    "%YAML 1.1",
    "\t",
    "\\",
    "\x85",
    "\ufeff",
    "~",
    "0x1F",
    "1e400",
    ".inf",
    "2001-12-14",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


def _mutations(base: Any) -> st.SearchStrategy[Any]:
    """A valid document with one value somewhere replaced by an arbitrary tree."""

    def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
        out = [prefix]
        if isinstance(node, dict):
            for k, v in node.items():
                out += paths(v, (*prefix, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out += paths(v, (*prefix, i))
        return out

    def replace(node: Any, path: tuple, value: Any) -> Any:
        if not path:
            return value
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[path[0]] = replace(node[path[0]], path[1:], value)
        return copy

    return st.tuples(st.sampled_from(paths(base)), trees).map(lambda pv: replace(base, pv[0], pv[1]))


def _dump(value: Any) -> str:
    try:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return repr(value)


documents = st.one_of(
    st.text(max_size=400),
    token_soup,
    trees.map(_dump),
    _mutations(VALID_INVENTORY).map(_dump),
    _mutations(VALID_PLAYBOOK).map(_dump),
)
PROPERTY = settings(max_examples=200)  # the rest from the suite's fixed profile (conftest.py)
_SCRATCH = Path(tempfile.mkdtemp(prefix="remediate-rel-hyp-"))
atexit.register(shutil.rmtree, _SCRATCH, True)  # module-level scratch dir: removed when the run ends


@PROPERTY
@given(text=documents)
def test_inventory_loader_only_ever_raises_input_error(text: str, figures: Figures) -> None:
    path = _SCRATCH / "inventory.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    figures.add("generated_inputs_tried")
    try:
        inventory_mod.load(path)
    except InputError as exc:
        assert str(path) in str(exc), exc  # the message names the file
    figures.add("generated_inputs_handled")


@PROPERTY
@given(text=documents)
def test_playbook_loader_only_ever_raises_input_error(text: str, figures: Figures) -> None:
    path = str(_SCRATCH / "wfserver.yml")
    figures.add("generated_inputs_tried")
    try:
        playbook_mod.parse(yamlfile.load_text(text, path), path)
    except InputError as exc:
        assert path in str(exc), exc
    figures.add("generated_inputs_handled")


# --- named bad files through the real CLI --------------------------------------------------------------

BASE_PLAYBOOK = textwrap.dedent("""\
    module: wfserver
    title: t
    scope: t
    symptom: t
    checks:
      - id: running
        effect: read
        action: module_running
        args: {module: wfserver}
    remediation:
      - id: start
        effect: change
        action: start_module
        args: {module: wfserver}
        when: {failed: running}
    verification:
      - id: back
        effect: read
        action: module_running
        args: {module: wfserver}
    """)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)

# (id, text or bytes, substring of the line the error must name, or None: only the file is named)
PLAYBOOK_CASES: list[tuple[str, str | bytes, str | None]] = [
    (
        "malformed_yaml",
        BASE_PLAYBOOK.replace("    effect: change\n", "    effect: change\n    bad: x: y\n"),
        "bad: x: y",
    ),
    (
        "wrong_type_args",
        BASE_PLAYBOOK.replace(
            "action: start_module\n    args: {module: wfserver}", "action: start_module\n    args: [module, wfserver]"
        ),
        "args: [module",
    ),
    ("unknown_top_key", BASE_PLAYBOOK + "colour: red\n", "colour: red"),
    (
        "unknown_step_key",
        BASE_PLAYBOOK.replace("    action: start_module\n", "    action: start_module\n    sudo: true\n"),
        "sudo: true",
    ),
    ("unknown_action", BASE_PLAYBOOK.replace("action: start_module", "action: rm_rf"), "action: rm_rf"),
    ("missing_field", BASE_PLAYBOOK.replace("    effect: change\n", ""), "- id: start"),
    ("duplicate_key", BASE_PLAYBOOK.replace("title: t\n", "title: t\ntitle: u\n"), "title: u"),
    ("duplicate_step_id", BASE_PLAYBOOK.replace("- id: back", "- id: running  # again"), "running  # again"),
    (
        "wrong_type_timeout",
        BASE_PLAYBOOK.replace("    action: start_module\n", "    action: start_module\n    timeout: soon\n"),
        "timeout: soon",
    ),
    ("effect_undercut", BASE_PLAYBOOK.replace("effect: change", "effect: read"), "effect: read\n    action: start"),
    (
        "change_in_check",
        BASE_PLAYBOOK.replace(
            "effect: read\n    action: module_running\n    args: {module: wfserver}\nremediation",
            "effect: change\n    action: module_running\n    args: {module: wfserver}\nremediation",
        ),
        "effect: change\n    action: module_running",
    ),
    (
        "template_attribute",
        BASE_PLAYBOOK.replace(
            "action: start_module\n    args: {module: wfserver}",
            'action: shell\n    args: {command: "echo {nlserver.__class__}"}',
        ),
        'args: {command: "echo {nlserver.__class__}"}',  # the error names the argument's own line
    ),
    ("alias_bomb", BASE_PLAYBOOK + BOMB, "*a"),
    ("huge_file", BASE_PLAYBOOK + "notes: |\n" + ("  " + "x" * 99 + "\n") * 11000, None),
    ("not_utf8", BASE_PLAYBOOK.encode() + b"notes: \xff\xfe\n", None),
]

BASE_INVENTORY = textwrap.dedent("""\
    all:
      vars:
        instance: prod
      children:
        lab:
          hosts:
            lab1:
              ansible_host: 127.0.0.1
    """)
INVENTORY_CASES: list[tuple[str, str | bytes, str | None]] = [
    ("malformed_yaml", BASE_INVENTORY + "          bad: x: y\n", "bad: x: y"),
    ("wrong_type_port", BASE_INVENTORY + '          ansible_port: "22; touch /tmp/x"\n', "lab1:"),
    ("unknown_group_key", BASE_INVENTORY.replace("  children:", "  hostz: {}\n  children:"), "hostz"),
    ("vars_not_mapping", BASE_INVENTORY.replace("vars:\n    instance: prod", "vars: [instance]"), "vars: [instance]"),
    ("duplicate_host", BASE_INVENTORY + "            lab1: {}\n", "            lab1: {}"),
    ("hostile_host_name", BASE_INVENTORY + '            "lab1;touch /tmp/x": {}\n', "lab1;touch"),
    ("hostile_host_name_subst", BASE_INVENTORY + '            "$(touch /tmp/x)": {}\n', "$(touch"),
    ("hostile_host_name_backtick", BASE_INVENTORY + '            "`touch /tmp/x`": {}\n', "`touch"),
    ("hostile_instance", BASE_INVENTORY.replace("instance: prod", 'instance: "prod$(touch /tmp/x)"'), "lab1:"),
    (
        "hostile_instance_quote",
        BASE_INVENTORY.replace("instance: prod", "instance: \"prod'; touch /tmp/x; '\""),
        "lab1:",
    ),
    ("newline_in_nlserver", BASE_INVENTORY + '          nlserver: "/bin/true\\ntouch /tmp/x"\n', "lab1:"),
    ("hostile_group_name", BASE_INVENTORY.replace("    lab:", '    "lab;id":'), "lab;id"),
    ("alias_bomb", BASE_INVENTORY + "    x:\n      vars:\n" + textwrap.indent(BOMB, "        "), "*a"),
    (
        "huge_file",
        BASE_INVENTORY + "".join(f"            h{i}: {{ansible_host: 127.0.0.1}}\n" for i in range(40000)),
        None,
    ),
    ("not_utf8", BASE_INVENTORY.encode() + b"# \xc3\x28\n", None),
]


def _line_of(text: str | bytes, mark: str | None) -> int | None:
    if mark is None:
        return None
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    index = body.index(mark) if mark in body else body.index(mark.split("\n")[0])
    # the error points at the line holding the start of the marked text (last line for multi-line marks)
    return body[:index].count("\n") + 1


@pytest.fixture(scope="module")
def wf_down(lab: Lab) -> Any:
    lab.heal("lab1")
    lab.break_("lab1", "wfserver_down")
    yield "lab1"
    lab.heal("lab1")


def _assert_nothing_touched(lab: Lab, remediate: Runner) -> None:
    remediate.assert_no_audit_log()  # an invalid input never gets as far as the audit log
    assert pid_of(lab, "lab1", WF) is None, "wfserver was started although the input was invalid"


def _cases(cases: list[tuple[str, str | bytes, str | None]], xfail: dict[str, pytest.MarkDecorator]) -> list[Any]:
    return [pytest.param(*c, id=c[0], marks=[xfail[c[0]]] if c[0] in xfail else []) for c in cases]


@pytest.mark.parametrize(("case", "text", "mark"), _cases(PLAYBOOK_CASES, {}))
def test_bad_playbook_exit_2_names_file_and_line(
    lab: Lab,
    wf_down: str,
    remediate: Runner,
    tmp_path: Path,
    figures: Figures,
    case: str,
    text: str | bytes,
    mark: str | None,
) -> None:
    d = tmp_path / "playbooks"
    d.mkdir()
    path = d / "wfserver.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    figures.add("bad_inputs_tried")
    res = remediate("wfserver", "--host", "lab1", "--yes", env={"REMEDIATE_PLAYBOOKS": str(d)})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    line = _line_of(text, mark)
    assert (f"{path}:{line}" if line else str(path)) in res.stderr, res.stderr
    _assert_nothing_touched(lab, remediate)
    figures.add("bad_inputs_handled")


@pytest.mark.parametrize(("case", "text", "mark"), _cases(INVENTORY_CASES, {}))
def test_bad_inventory_exit_2_names_file_and_line(
    lab: Lab,
    wf_down: str,
    remediate: Runner,
    tmp_path: Path,
    figures: Figures,
    case: str,
    text: str | bytes,
    mark: str | None,
) -> None:
    path = tmp_path / "inventory.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    figures.add("bad_inputs_tried")
    res = remediate("wfserver", "--host", "lab1", "--yes", inventory=path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    line = _line_of(text, mark)
    assert (f"{path}:{line}" if line else str(path)) in res.stderr, res.stderr
    _assert_nothing_touched(lab, remediate)
    figures.add("bad_inputs_handled")


FLAG_CASES = [
    (["--host", "lab1;touch /tmp/x"], "--host"),
    (["--host", "lab1", "--option", "log_precision=$(touch /tmp/x)"], "--option"),
    (["--host", "lab1", "--option", "nosuch=1"], "--option"),
    (["--host", "lab1", "--option", "novalue"], "--option"),
    (["--host", "lab1", "--forks", "0"], "--forks"),
    (["--host", "lab1", "--output", "xml"], "--output"),
    (["--group", "`id`"], "--group"),
    ([], "--host"),
]


@pytest.mark.parametrize(("args", "flag"), FLAG_CASES, ids=[" ".join(a) or "no-host" for a, _ in FLAG_CASES])
def test_bad_flag_exit_2_names_the_flag(
    lab: Lab, wf_down: str, remediate: Runner, figures: Figures, args: list[str], flag: str
) -> None:
    figures.add("bad_inputs_tried")
    res = remediate("wfserver", *args, "--yes")
    assert res.returncode == 2, res.stdout + res.stderr
    assert flag in res.stderr and "Traceback" not in res.stderr, res.stderr
    _assert_nothing_touched(lab, remediate)
    figures.add("bad_inputs_handled")


# --- hostile values passed quoted: the injected command never runs ------------------------------------


def _payloads(d: Path) -> dict[str, str]:
    return {
        "semicolon": f"x; touch {d}/semicolon",
        "subst": f"$(touch {d}/subst)",
        "backtick": f"`touch {d}/backtick`",
        "single_quote": f"x'; touch {d}/single_quote; echo '",
        "double_quote": f'x"; touch {d}/double_quote; echo "',
        "pipe": f"x | touch {d}/pipe",
        "and": f"x && touch {d}/and",
        "redirect": f"x > {d}/redirect",
        "newline": f"x\ntouch {d}/newline",
    }


def _hostile_ssh_config(lab: Lab, tmp_path: Path) -> Path:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host *\n  Port 2222\n  User {lab.user}\n  IdentityFile {lab.dir}/id_ed25519\n"
        f"  UserKnownHostsFile {lab.dir}/known_hosts\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n"
    )
    return cfg


def test_hostile_vars_are_passed_quoted_and_never_run(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    payloads = _payloads(shared_dir)
    cfg = _hostile_ssh_config(lab, tmp_path)
    nl6 = lab.hdir(host) / "nl6"
    hosts: dict[str, Any] = {}
    # address/db_host: refused (exit 2), see below; typed vars (workflow_start_grace, ports) refuse a
    # non-number at load (exit 2, runner/hostvars.py), so only free-text vars reach a command here
    string_vars = ("nlserver", "nl6_root", "db_name", "db_user")
    for name, value in payloads.items():
        if "\n" in value:
            continue  # single-line vars refuse newlines (exit 2, tested with the inventory cases)
        hosts[f"v-{name.replace('_', '-')}"] = {
            "ansible_host": lab.addr(host),
            **{k: value for k in string_vars},
        }
        hosts[f"e-{name.replace('_', '-')}"] = {
            "ansible_host": lab.addr(host),
            "nlserver_env": value,
            "nlserver": str(nl6 / "bin/nlserver"),
        }
    inventory = tmp_path / "hostile.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"vars": {"instance": "prod", "ssh_config": str(cfg)}, "hosts": hosts}})
    )
    figures.add("bad_inputs_tried", len(hosts))
    # every check of every playbook renders these vars into commands on the (real) host
    res = remediate(
        "check",
        "all",
        "--group",
        "all",
        "--forks",
        "8",
        "--reason",
        payloads["subst"],
        inventory=inventory,
        timeout=180,
    )
    assert sorted(os.listdir(shared_dir)) == [], "an injected command ran on the host"
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    events = figures.audit(remediate.audit_log)
    assert {e["host"] for e in events if e["event"] == "host.connected"} == set(hosts)
    figures.add("bad_inputs_handled", len(hosts))


def test_hostile_address_is_refused_or_quoted_never_a_crash(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    payloads = {k: v for k, v in _payloads(shared_dir).items() if "\n" not in v}
    cfg = _hostile_ssh_config(lab, tmp_path)
    hosts = {
        f"a-{k.replace('_', '-')}": {
            "ansible_host": lab.addr(host),
            "address": v,
            "nlserver": str(lab.hdir(host) / "nl6/bin/nlserver"),
        }
        for k, v in payloads.items()
    }
    inventory = tmp_path / "hostile.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"vars": {"instance": "prod", "ssh_config": str(cfg)}, "hosts": hosts}})
    )
    figures.add("bad_inputs_tried", len(hosts))
    res = remediate(
        "check", "web", "syslogd", "trackinglogd", "--group", "all", "--forks", "8", inventory=inventory, timeout=120
    )
    assert sorted(os.listdir(shared_dir)) == [], "an injected command ran on the host"
    assert "Traceback" not in res.stderr, res.stderr[-600:]
    assert res.returncode in (1, 2), res.stdout + res.stderr
    if res.returncode == 2:  # refused at load: nothing ran, nothing was logged
        assert str(inventory) in res.stderr or "address" in res.stderr
        remediate.assert_no_audit_log()
    else:
        figures.audit(remediate.audit_log)
    figures.add("bad_inputs_handled", len(hosts))


def test_hostile_template_values_in_changing_commands_never_run(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures
) -> None:
    payloads = _payloads(shared_dir)
    control = shared_dir / "control"
    fields = " ".join(f"{{p_{k}}}" for k in payloads)
    books = write_playbook(
        tmp_path / "playbooks",
        "import",
        f"""\
        - id: echo_values
          effect: change
          action: shell
          args: {{command: "printf '%s|' {fields} > /dev/null && touch {control}"}}
        """,
        checks=f"""\
        - id: read_values
          effect: read
          action: shell
          args: {{command: "printf '%s|' {fields}; false"}}
        """,
    )
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update({f"p_{k}": v for k, v in payloads.items()})
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data))
    figures.add("bad_inputs_tried", len(payloads))
    code, doc = remediate.json(
        "import", "--host", host, "--yes", inventory=inventory, env={"REMEDIATE_PLAYBOOKS": str(books)}
    )
    events = figures.audit(remediate.audit_log)
    assert code == 0, doc
    # positive control: the command itself ran and created its file, so a file an injection made would show
    assert control.exists()
    leftovers = sorted(p.name for p in shared_dir.iterdir() if p != control)
    assert leftovers == [], f"injected commands ran on the host: {leftovers}"
    started = [e for e in events if e["event"] == "step.started"]
    for value in payloads.values():  # every value is passed as one shell-quoted argument
        assert all(shlex.quote(value) in e["command"] for e in started), value
    figures.add("bad_inputs_handled", len(payloads))


# --- host output the runner did not expect -------------------------------------------------------------

SCRIPTS = {
    "garbage": "#!/bin/sh\necho 'lorem ipsum dolor'\necho '%%% 12:00:00 >>> ???'\necho 'wfserver@prod running (maybe)'\n",  # noqa: E501
    "binary": "#!/bin/sh\nprintf 'wfserver@prod (1) - 1.0 MB\\n\\000\\001\\377\\376binary\\000\\n'\n"
    "head -c 2048 /dev/urandom\n",
    "huge": "#!/bin/sh\nyes 'garbage line that is not pdump output' | head -c 10485760\n",
}


@pytest.mark.parametrize("kind", list(SCRIPTS))
def test_unexpected_host_output_is_a_cannot_parse_failure_not_a_crash(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures, kind: str
) -> None:
    shared_dir.chmod(0o755)  # world-readable: the lab's login user runs the script
    script = shared_dir / f"nlserver-{kind}"
    script.write_text(SCRIPTS[kind])
    script.chmod(0o755)
    cfg = _hostile_ssh_config(lab, tmp_path)
    inventory = tmp_path / "outputs.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"instance": "prod", "ssh_config": str(cfg)},
                    "hosts": {
                        kind: {
                            "ansible_host": lab.addr(host),
                            "nl6_root": str(lab.hdir(host) / "nl6"),
                            "nlserver": str(script),
                        }
                    },
                }
            }
        )
    )
    pid = pid_of(lab, host, WF)
    figures.add("bad_inputs_tried")
    res = remediate("wfserver", "--host", kind, "--yes", "--output", "json", inventory=inventory, timeout=120)
    assert "Traceback" not in res.stderr
    assert res.returncode == 1, res.stdout + res.stderr
    outcome = json.loads(res.stdout)["hosts"][kind]
    events = figures.audit(remediate.audit_log)
    assert outcome["status"] == "failed", outcome
    assert "cannot diagnose" in outcome["message"], outcome["message"]
    check = next(s for s in outcome["steps"] if s["id"] == "wfserver_running")
    assert "cannot parse" in check["message"], check
    assert not [e for e in events if e["event"] == "step.started" and e.get("effect") != "read"]
    assert pid_of(lab, host, WF) == pid  # nothing was done to the real module
    figures.add("bad_inputs_handled")
