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
from collections.abc import Callable
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
from tests.reliability.cases import INVENTORY_CASES, PLAYBOOK_CASES, SSH_CASES, Case
from tests.reliability.figures import Figures
from tests.reliability.helpers import write_playbook
from tests.support.cli import Runner
from tests.support.labfix import pid_of

# one pytest-xdist worker runs the whole file: the reliability lab's lab1 keeps wfserver down (``wf_down``)
# for every case, instead of a heal and a break each time the file's tests meet another file's on a worker
pytestmark = pytest.mark.xdist_group("test_bad_input")

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
# the suite's fixed profile (registered and loaded in conftest.py), by name, with more examples
PROFILE = settings.get_profile("remediate-reliability")
PROPERTY = settings(PROFILE, max_examples=200)
_SCRATCH = Path(tempfile.mkdtemp(prefix="remediate-rel-hyp-"))
atexit.register(shutil.rmtree, _SCRATCH, True)  # module-level scratch dir: removed when the run ends


def test_property_tests_run_under_the_fixed_profile() -> None:
    """Same inputs on every run, no example database, and a failing example printed with its blob."""
    for s in (PROFILE, settings.default, PROPERTY):
        assert s.derandomize and s.database is None and s.print_blob, s
    assert PROPERTY.max_examples == 200


def _generated(figures: Figures, loader: str, text: str, load: Callable[[], object], path: str) -> None:
    """Count a distinct generated document once: rejected (InputError naming the file) or accepted."""
    new = figures.generated(loader, text)
    try:
        load()
    except InputError as exc:
        assert path in str(exc), exc  # the message names the file
        if new:
            figures.add("generated_inputs_rejected")
        return
    if new:
        figures.add("generated_inputs_accepted")


@PROPERTY
@given(text=documents)
def test_inventory_loader_only_ever_raises_input_error(text: str, figures: Figures) -> None:
    path = _SCRATCH / "inventory.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    _generated(figures, "inventory", text, lambda: inventory_mod.load(path), str(path))


@PROPERTY
@given(text=documents)
def test_playbook_loader_only_ever_raises_input_error(text: str, figures: Figures) -> None:
    path = str(_SCRATCH / "wfserver.yml")
    _generated(figures, "playbook", text, lambda: playbook_mod.parse(yamlfile.load_text(text, path), path), path)


# --- named bad files through the real CLI --------------------------------------------------------------


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


def _assert_refused_at(res: Any, path: Path, text: str | bytes, mark: str | None, says: str | None) -> None:
    """Exit 2 (README: bad input, nothing run), no traceback, and the error names this case's file:line."""
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    line = _line_of(text, mark)
    assert (f"{path}:{line}" if line else str(path)) in res.stderr, res.stderr
    if says is not None:
        assert says in res.stderr, res.stderr


def _write(path: Path, text: str | bytes) -> None:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape"))


FILE_CASES = [("playbook", c) for c in PLAYBOOK_CASES] + [("inventory", c) for c in INVENTORY_CASES]
FILE_CASES += [("ssh_config", c) for c in SSH_CASES]


@pytest.mark.parametrize(("kind", "case"), [pytest.param(k, c, id=c[0]) for k, c in FILE_CASES])
def test_bad_file_exit_2_names_file_and_line(
    lab: Lab,
    wf_down: str,
    remediate: Runner,
    tmp_path: Path,
    shared_dir: Path,
    figures: Figures,
    kind: str,
    case: Case,
) -> None:
    """One bad playbook, inventory or OpenSSH config per run: exit 2 naming its file:line, nothing touched."""
    case_id, text, mark, says = case
    args = ["wfserver", "--host", "lab1", "--yes"]
    env: dict[str, str] = {}
    inventory = None
    if kind == "playbook":
        path = tmp_path / "playbooks" / "wfserver.yml"
        path.parent.mkdir()
        env["REMEDIATE_PLAYBOOKS"] = str(path.parent)
    elif kind == "inventory":
        path = inventory = tmp_path / "inventory.yml"
    else:
        path = tmp_path / "ssh_config"
        args += ["--ssh-config", str(path)]
        if isinstance(text, str):  # an Include of the file itself; commands that would leave a trace
            text = text.replace("SELF", str(path)).replace("/tmp/pwned", str(shared_dir / "pwned"))
    _write(path, text)
    figures.bad_input(case_id)
    res = remediate(*args, inventory=inventory, env=env)
    _assert_refused_at(res, path, text, mark, says)
    assert sorted(os.listdir(shared_dir)) == [], "a command named in the input ran"
    _assert_nothing_touched(lab, remediate)


def test_missing_ssh_config_file_is_refused(lab: Lab, wf_down: str, remediate: Runner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-config"
    res = remediate("wfserver", "--host", "lab1", "--yes", "--ssh-config", str(missing))
    assert res.returncode == 2 and str(missing) in res.stderr, res.stdout + res.stderr


# (id, arguments after the module, what the error must name); the module itself is the first argument
FLAG_CASES: list[tuple[str, list[str], str]] = [
    ("flag_host_semicolon", ["wfserver", "--host", "lab1;touch /tmp/x"], "--host"),
    ("flag_option_subst", ["wfserver", "--host", "lab1", "--option", "log_precision=$(touch /tmp/x)"], "--option"),
    ("flag_option_unknown", ["wfserver", "--host", "lab1", "--option", "nosuch=1"], "--option"),
    ("flag_option_no_value", ["wfserver", "--host", "lab1", "--option", "novalue"], "--option"),
    ("flag_option_no_name", ["wfserver", "--host", "lab1", "--option", "=x"], "--option"),
    ("flag_forks_zero", ["wfserver", "--host", "lab1", "--forks", "0"], "--forks"),
    ("flag_forks_negative", ["wfserver", "--host", "lab1", "--forks", "-1"], "--forks"),
    ("flag_forks_text", ["wfserver", "--host", "lab1", "--forks", "abc"], "--forks"),
    ("flag_forks_huge", ["wfserver", "--host", "lab1", "--forks", "100000"], "--forks"),
    ("flag_output_xml", ["wfserver", "--host", "lab1", "--output", "xml"], "--output"),
    ("flag_output_empty", ["wfserver", "--host", "lab1", "--output", ""], "--output"),
    ("flag_group_backtick", ["wfserver", "--group", "`id`"], "--group"),
    ("flag_group_unknown", ["wfserver", "--group", "nosuch"], "--group"),
    ("flag_no_host", ["wfserver"], "--host"),
    ("flag_host_empty", ["wfserver", "--host", ""], "--host"),
    ("flag_host_unknown", ["wfserver", "--host", "nosuch"], "--host"),
    ("flag_host_ssh_option", ["wfserver", "--host", "-oProxyCommand=id"], "--host"),
    ("flag_host_path", ["wfserver", "--host", "../etc"], "--host"),
    ("flag_unknown_flag", ["wfserver", "--host", "lab1", "--frobnicate"], "--frobnicate"),
    ("flag_unknown_module", ["nosuchmodule", "--host", "lab1"], "nosuchmodule"),
    ("flag_module_injection", ["wfserver;id", "--host", "lab1"], "wfserver;id"),
    (
        "flag_inventory_missing",
        ["wfserver", "--host", "lab1", "-i", "/nonexistent/inventory.yml"],
        "inventory not found",
    ),
    ("flag_dry_run_forks_zero", ["wfserver", "--host", "lab1", "--dry-run", "--forks", "0"], "--forks"),
]


@pytest.mark.parametrize(("case", "args", "flag"), FLAG_CASES, ids=[c[0] for c in FLAG_CASES])
def test_bad_flag_exit_2_names_the_flag(
    lab: Lab, wf_down: str, remediate: Runner, figures: Figures, case: str, args: list[str], flag: str
) -> None:
    figures.bad_input(case)
    res = remediate(*args, "--yes")
    assert res.returncode == 2, res.stdout + res.stderr
    assert flag in res.stderr and "Traceback" not in res.stderr, res.stderr
    _assert_nothing_touched(lab, remediate)


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
    for name in hosts:
        figures.bad_input(f"var_{name}")
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
    # each value reached the code under test: a v- host ran checks that render it into commands; an e- host's
    # env script (the hostile value, quoted) was sourced first by the read of the host's own settings,
    # which fails there, so that host stops before any check (nothing is run on a host whose settings
    # cannot be read)
    checked = {e["host"] for e in events if e["event"] == "step.finished"}  # `check` runs checks only
    value_hosts = {h for h in hosts if h.startswith("v-")}
    assert checked == value_hosts, sorted(value_hosts - checked)
    stopped = {e["host"] for e in events if e["event"] == "host.precondition_failed" and "settings" in e["message"]}
    assert stopped == set(hosts) - value_hosts, sorted(set(hosts) - value_hosts - stopped)


ADDRESS_VARS = ("address", "db_host", "ansible_host")
ADDRESS_PAYLOADS = ("semicolon", "subst", "backtick", "single_quote", "double_quote", "pipe", "and", "redirect")


@pytest.mark.parametrize("payload", ADDRESS_PAYLOADS)
@pytest.mark.parametrize("var", ADDRESS_VARS)
def test_hostile_address_is_refused_at_load_naming_its_host(
    lab: Lab, host: str, remediate: Runner, tmp_path: Path, shared_dir: Path, figures: Figures, var: str, payload: str
) -> None:
    """Each hostile address in its own run (the loader stops at the first bad host): exit 2, its host named."""
    value = _payloads(shared_dir)[payload]
    cfg = _hostile_ssh_config(lab, tmp_path)
    name = f"a-{payload.replace('_', '-')}"
    hosts = {name: {"ansible_host": lab.addr(host), "nlserver": str(lab.hdir(host) / "nl6/bin/nlserver"), var: value}}
    inventory = tmp_path / "hostile.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"vars": {"instance": "prod", "ssh_config": str(cfg)}, "hosts": hosts}})
    )
    figures.bad_input(f"address_{var}_{payload}")
    res = remediate("check", "web", "syslogd", "--host", name, inventory=inventory, timeout=120)
    assert sorted(os.listdir(shared_dir)) == [], "an injected command ran on the host"
    assert "Traceback" not in res.stderr, res.stderr[-600:]
    assert res.returncode == 2, res.stdout + res.stderr  # README: 2 = bad input, nothing was run
    assert f"{inventory}:" in res.stderr and f"(host {name})" in res.stderr, res.stderr
    assert f"{var} must be a host name or IP address" in res.stderr, res.stderr
    remediate.assert_no_audit_log()


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
    for name in payloads:
        figures.bad_input(f"template_{name}")
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


# --- host output the runner did not expect -------------------------------------------------------------

SCRIPTS = {
    "garbage": "#!/bin/sh\necho 'lorem ipsum dolor'\necho '%%% 12:00:00 >>> ???'\necho 'wfserver@prod running (maybe)'\n",  # noqa: E501
    "binary": "#!/bin/sh\nprintf 'wfserver@prod (1) - 1.0 MB\\n\\000\\001\\377\\376binary\\000\\n'\n"
    "head -c 2048 /dev/urandom\n",
    "huge": "#!/bin/sh\nyes 'garbage line that is not pdump output' | head -c 10485760\n",
    "ansi": "#!/bin/sh\nprintf '\\033[31mwfserver@prod\\033[0m \\033]0;title\\007 (\\033[2J)\\n'\n",
    "long_line": "#!/bin/sh\nhead -c 2097152 /dev/zero | tr '\\0' 'x'\n",
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
    figures.bad_input(f"output_{kind}")
    res = remediate("wfserver", "--host", kind, "--yes", "--output", "json", inventory=inventory, timeout=120)
    assert "Traceback" not in res.stderr
    assert res.returncode == 1, res.stdout + res.stderr
    outcome = json.loads(res.stdout)["hosts"][kind]
    events = figures.audit(remediate.audit_log)
    assert outcome["status"] == "failed", outcome
    assert "undetermined: " in outcome["message"], outcome["message"]
    check = next(s for s in outcome["steps"] if s["id"] == "wfserver_running")
    assert "cannot parse" in check["message"], check
    assert not [e for e in events if e["event"] == "step.started" and e.get("effect") != "read"]
    assert pid_of(lab, host, WF) == pid  # nothing was done to the real module
