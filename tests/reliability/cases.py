"""Hand-picked bad inputs for the reliability suite: playbooks, inventories and OpenSSH configs.

Each case is ``(id, text, mark, says)``: the file's text (str or bytes), the text of the line the error
must name as ``file:line`` (None: only the file is named) and a fragment the message must contain (None:
no fragment is asserted). Every case is given its own run of the real CLI, so each one reaches the check
it is aimed at: the error names that case's line. Case ids are unique across the suite (a figure counts
each id once).

Owns: the case tables. Must not: run anything.
"""

from __future__ import annotations

import textwrap

Case = tuple[str, str | bytes, str | None, str | None]

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
START = "    action: start_module\n    args: {module: wfserver}\n"  # the remediation step's action and args
CHECK = "    action: module_running\n    args: {module: wfserver}\nremediation"  # the check's tail
INFORM_CHECK = '  - id: sessions\n    effect: read\n    action: shell\n    args: {command: "true"}\n    inform: true\n'


def _pb(old: str, new: str) -> str:
    assert old in BASE_PLAYBOOK, old
    return BASE_PLAYBOOK.replace(old, new, 1)


def _start(extra: str) -> str:
    """The base playbook with ``extra`` lines added to the remediation step."""
    return _pb(START, START + extra)


PLAYBOOK_CASES: list[Case] = [
    ("pb_malformed_yaml", _pb("    effect: change\n", "    effect: change\n    bad: x: y\n"), "bad: x: y", None),
    (
        "pb_wrong_type_args",
        _pb("args: {module: wfserver}\n    when", "args: [module, wfserver]\n    when"),
        "args: [module",
        None,
    ),
    ("pb_unknown_top_key", BASE_PLAYBOOK + "colour: red\n", "colour: red", "colour"),
    ("pb_unknown_step_key", _start("    sudo: true\n"), "sudo: true", "sudo"),
    ("pb_unknown_action", _pb("action: start_module", "action: rm_rf"), "action: rm_rf", "rm_rf"),
    ("pb_missing_effect", _pb("    effect: change\n", ""), "- id: start", "effect"),
    ("pb_duplicate_key", _pb("title: t\n", "title: t\ntitle: u\n"), "title: u", None),
    ("pb_duplicate_step_id", _pb("- id: back", "- id: running  # again"), "running  # again", "duplicate"),
    ("pb_timeout_not_number", _start("    timeout: soon\n"), "timeout: soon", None),
    ("pb_effect_undercut", _pb("effect: change", "effect: read"), "effect: read\n    action: start", None),
    (
        "pb_change_in_check",
        _pb("effect: read\n" + CHECK, "effect: change\n" + CHECK),
        "effect: change\n    action: module_running",
        None,
    ),
    (
        "pb_template_attribute",
        _pb(START, '    action: shell\n    args: {command: "echo {nlserver.__class__}"}\n'),
        'args: {command: "echo {nlserver.__class__}"}',
        None,
    ),
    ("pb_alias_bomb", BASE_PLAYBOOK + BOMB, "*a", None),
    ("pb_huge_file", BASE_PLAYBOOK + "notes: |\n" + ("  " + "x" * 99 + "\n") * 11000, None, "larger than"),
    ("pb_not_utf8", BASE_PLAYBOOK.encode() + b"notes: \xff\xfe\n", None, None),
    # document shape
    ("pb_top_level_list", "- module: wfserver\n- checks: []\n", "- module: wfserver", "mapping"),
    ("pb_scalar_document", "wfserver\n", "wfserver", "mapping"),
    ("pb_module_mismatch", _pb("module: wfserver", "module: syslogd"), "module: syslogd", "syslogd.yml"),
    ("pb_module_empty", _pb("module: wfserver", 'module: ""'), 'module: ""', "module"),
    ("pb_module_list", _pb("module: wfserver", "module: [wfserver]"), "module: [wfserver]", "module"),
    ("pb_title_list", _pb("title: t\n", "title: [a, b]\n"), "title: [a, b]", "title"),
    ("pb_keywords_string", BASE_PLAYBOOK + "keywords: wf\n", "keywords: wf", "keywords"),
    ("pb_keywords_numbers", BASE_PLAYBOOK + "keywords: [1, 2]\n", "keywords: [1, 2]", "keywords"),
    ("pb_no_checks", BASE_PLAYBOOK.split("checks:")[0] + "checks: []\n", "checks: []", "at least one check"),
    ("pb_checks_mapping", _pb("checks:\n", "checks:\n  a: 1\nchecks_old:\n"), None, None),
    ("pb_step_is_string", _pb("checks:\n", "checks:\n  - just a string\n"), "checks:", "mapping"),
    ("pb_step_is_list", _pb("checks:\n", "checks:\n  - [id, running]\n"), "checks:", "mapping"),
    ("pb_remediation_without_verification", BASE_PLAYBOOK.split("verification:")[0], "remediation:", "verify"),
    ("pb_verification_mapping", BASE_PLAYBOOK.split("verification:")[0] + "verification: {}\n", None, None),
    # step fields
    ("pb_step_id_uppercase", _pb("- id: start", "- id: Start"), "- id: Start", "Start"),
    ("pb_step_id_number", _pb("- id: start", "- id: 5"), "- id: 5", None),
    ("pb_step_id_shell", _pb("- id: start", "- id: start;id"), "- id: start;id", None),
    ("pb_step_id_too_long", _pb("- id: start", "- id: " + "s" * 80), "- id: sss", None),
    ("pb_effect_unknown", _pb("effect: change", "effect: destroy"), "effect: destroy", "destroy"),
    ("pb_effect_list", _pb("effect: change", "effect: [change]"), "effect: [change]", None),
    ("pb_timeout_negative", _start("    timeout: -1\n"), "timeout: -1", "timeout"),
    ("pb_timeout_zero", _start("    timeout: 0\n"), "timeout: 0", "timeout"),
    ("pb_timeout_too_long", _start("    timeout: 999999\n"), "timeout: 999999", "timeout"),
    ("pb_timeout_bool", _start("    timeout: true\n"), "timeout: true", "timeout"),
    ("pb_poll_on_change", _start("    poll: {timeout: 10, interval: 1}\n"), "poll: {timeout", "poll"),
    ("pb_poll_scalar", BASE_PLAYBOOK + "    poll: 5\n", "poll: 5", "poll"),
    ("pb_poll_unknown_key", BASE_PLAYBOOK + "    poll: {timeout: 5, every: 1}\n", "poll: {timeout", "poll"),
    ("pb_poll_interval_zero", BASE_PLAYBOOK + "    poll: {timeout: 5, interval: 0}\n", "poll: {timeout", "poll"),
    # when, inform, gate, show
    ("pb_when_unknown_key", _pb("when: {failed: running}", "when: {broken: running}"), "when: {broken", "when"),
    ("pb_when_names_non_check", _pb("when: {failed: running}", "when: {failed: back}"), "- id: start", "back"),
    ("pb_when_names_nothing", _pb("when: {failed: running}", "when: {failed: nosuch}"), "- id: start", "nosuch"),
    ("pb_when_scalar", _pb("when: {failed: running}", "when: running"), "when: running", "when"),
    ("pb_when_empty", _pb("when: {failed: running}", "when: {}"), "when: {}", "when"),
    ("pb_when_number", _pb("when: {failed: running}", "when: {failed: 3}"), "when: {failed: 3}", "when"),
    (
        "pb_when_names_inform_check",
        _pb("remediation:\n", INFORM_CHECK + "remediation:\n").replace(
            "when: {failed: running}", "when: {failed: sessions}"
        ),
        "- id: start",
        "informs",
    ),
    (
        "pb_when_option_undeclared",
        _pb("when: {failed: running}", "when: {option: {mode: fast}}"),
        "when: {option",
        "option",
    ),
    ("pb_gate_on_remediation", _start("    gate: true\n"), "gate: true", "gate"),
    ("pb_gate_on_verification", BASE_PLAYBOOK + "    gate: true\n", "gate: true", "gate"),
    (
        "pb_gate_string",
        _pb("args: {module: wfserver}\nremediation", 'args: {module: wfserver}\n    gate: "yes"\nremediation'),
        'gate: "yes"',
        "gate",
    ),
    ("pb_inform_on_remediation", _start("    inform: true\n"), "inform: true", "inform"),
    (
        "pb_inform_number",
        _pb("args: {module: wfserver}\nremediation", "args: {module: wfserver}\n    inform: 1\nremediation"),
        "inform: 1",
        "inform",
    ),
    ("pb_show_scalar", _start("    show: running\n"), "show: running", "show"),
    ("pb_show_names_non_check", _start("    show: [start]\n"), "- id: start", "show"),
    ("pb_disrupt_without_interrupts", _pb("effect: change", "effect: disrupt"), "- id: start", "interrupts"),
    # args
    (
        "pb_args_unknown_arg",
        _pb("args: {module: wfserver}\n    when", "args: {module: wfserver, force: true}\n    when"),
        None,
        "force",
    ),
    ("pb_args_missing_required", _pb("args: {module: wfserver}\n    when", "args: {}\n    when"), None, "module"),
    ("pb_args_module_list", _pb("args: {module: wfserver}\n    when", "args: {module: [a]}\n    when"), None, None),
    ("pb_args_unknown_module", _pb("args: {module: wfserver}\n    when", "args: {module: rmrf}\n    when"), None, None),
    ("pb_template_index", _pb(START, '    action: shell\n    args: {command: "echo {nlserver[0]}"}\n'), None, None),
    ("pb_template_conversion", _pb(START, '    action: shell\n    args: {command: "echo {nlserver!r}"}\n'), None, None),
    (
        "pb_template_format_spec",
        _pb(START, '    action: shell\n    args: {command: "echo {nlserver:>99}"}\n'),
        None,
        None,
    ),
    ("pb_template_unclosed", _pb(START, '    action: shell\n    args: {command: "echo {nlserver"}\n'), None, None),
    ("pb_command_list", _pb(START, "    action: shell\n    args: {command: [rm, -rf, /]}\n"), None, "command"),
    # options
    ("pb_options_list", BASE_PLAYBOOK + "options: [mode]\n", "options: [mode]", "options"),
    (
        "pb_option_default_not_choice",
        BASE_PLAYBOOK + "options:\n  mode: {choices: [a, b], default: c}\n",
        None,
        "default",
    ),
    ("pb_option_unknown_key", BASE_PLAYBOOK + "options:\n  mode: {choices: [a], colour: red}\n", None, "colour"),
    ("pb_option_uppercase", BASE_PLAYBOOK + "options:\n  Mode: {choices: [a]}\n", None, "Mode"),
    ("pb_option_no_choices", BASE_PLAYBOOK + "options:\n  mode: {choices: []}\n", None, "choices"),
    # YAML itself
    ("pb_python_tag", _pb("title: t\n", "title: !!python/object/apply:os.system ['id']\n"), "title: !!python", None),
    ("pb_unknown_tag", _pb("title: t\n", "title: !secret t\n"), "title: !secret", None),
    ("pb_tab_indent", _pb("    effect: change\n", "\teffect: change\n"), None, None),
    ("pb_unterminated_quote", _pb("title: t\n", 'title: "t\n'), None, None),
    ("pb_nul_byte", _pb("title: t\n", "title: t\x00\n"), None, None),
    ("pb_undefined_alias", _pb("title: t\n", "title: *nowhere\n"), None, None),
    ("pb_duplicate_action", _start("    action: shell\n"), None, None),
    ("pb_two_documents", BASE_PLAYBOOK + "---\nmodule: wfserver\n", None, None),
    ("pb_deep_nesting", BASE_PLAYBOOK + "notes: " + "[" * 5000 + "]" * 5000 + "\n", None, None),
    ("pb_empty_file", "", None, None),
    ("pb_only_comment", "# nothing here\n", None, None),
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
HOST_VAR = "          "  # indentation of a var of lab1


def _var(name: str, value: str) -> str:
    return BASE_INVENTORY + f"{HOST_VAR}{name}: {value}\n"


INVENTORY_CASES: list[Case] = [
    ("inv_malformed_yaml", BASE_INVENTORY + "          bad: x: y\n", "bad: x: y", None),
    ("inv_wrong_type_port", BASE_INVENTORY + '          ansible_port: "22; touch /tmp/x"\n', "lab1:", "ansible_port"),
    ("inv_unknown_group_key", BASE_INVENTORY.replace("  children:", "  hostz: {}\n  children:"), "hostz", "hostz"),
    (
        "inv_vars_not_mapping",
        BASE_INVENTORY.replace("vars:\n    instance: prod", "vars: [instance]"),
        "vars: [instance]",
        None,
    ),
    ("inv_duplicate_host", BASE_INVENTORY + "        lab1: {}\n", "        lab1: {}", None),
    ("inv_hostile_host_name", BASE_INVENTORY + '        "lab1;touch /tmp/x": {}\n', "lab1;touch", "invalid host name"),
    ("inv_hostile_host_name_subst", BASE_INVENTORY + '        "$(touch /tmp/x)": {}\n', "$(touch", "invalid host name"),
    (
        "inv_hostile_host_name_backtick",
        BASE_INVENTORY + '        "`touch /tmp/x`": {}\n',
        "`touch",
        "invalid host name",
    ),
    (
        "inv_hostile_instance",
        BASE_INVENTORY.replace("instance: prod", 'instance: "prod$(touch /tmp/x)"'),
        "lab1:",
        "instance",
    ),
    (
        "inv_hostile_instance_quote",
        BASE_INVENTORY.replace("instance: prod", "instance: \"prod'; touch /tmp/x; '\""),
        "lab1:",
        "instance",
    ),
    (
        "inv_newline_in_nlserver",
        BASE_INVENTORY + '          nlserver: "/bin/true\\ntouch /tmp/x"\n',
        "lab1:",
        "nlserver",
    ),
    ("inv_hostile_group_name", BASE_INVENTORY.replace("    lab:", '    "lab;id":'), "lab;id", "invalid group name"),
    ("inv_alias_bomb", BASE_INVENTORY + "    x:\n      vars:\n" + textwrap.indent(BOMB, "        "), "*a", None),
    (
        "inv_huge_file",
        BASE_INVENTORY + "".join(f"            h{i}: {{ansible_host: 127.0.0.1}}\n" for i in range(40000)),
        None,
        "larger than",
    ),
    ("inv_not_utf8", BASE_INVENTORY.encode() + b"# \xc3\x28\n", None, None),
    # document shape
    ("inv_top_level_list", "- lab1\n- lab2\n", "- lab1", "mapping"),
    ("inv_all_is_list", "all: [lab1]\n", "all: [lab1]", "mapping"),
    (
        "inv_hosts_is_list",
        BASE_INVENTORY.replace("hosts:\n        lab1:\n          ansible_host: 127.0.0.1", "hosts: [lab1]"),
        "hosts: [lab1]",
        "mapping",
    ),
    (
        "inv_host_vars_list",
        BASE_INVENTORY.replace("lab1:\n          ansible_host: 127.0.0.1", "lab1: [a, b]"),
        "lab1: [a, b]",
        "mapping",
    ),
    (
        "inv_host_vars_scalar",
        BASE_INVENTORY.replace("lab1:\n          ansible_host: 127.0.0.1", "lab1: yes"),
        "lab1: yes",
        "mapping",
    ),
    ("inv_children_list", BASE_INVENTORY.split("  children:")[0] + "  children: [lab]\n", "children: [lab]", "mapping"),
    (
        "inv_group_contains_itself",
        BASE_INVENTORY + "      children:\n        lab: {}\n",
        "        lab: {}",
        "contains itself",
    ),
    ("inv_group_is_list", BASE_INVENTORY + "web: [lab1]\n", "web: [lab1]", "mapping"),
    ("inv_group_name_space", BASE_INVENTORY.replace("    lab:", '    "my group":'), "my group", "invalid group name"),
    ("inv_host_name_space", BASE_INVENTORY + '        "lab 2": {}\n', "lab 2", "invalid host name"),
    ("inv_host_name_path", BASE_INVENTORY + '        "../etc": {}\n', "../etc", "invalid host name"),
    ("inv_host_name_number", BASE_INVENTORY + "        42: {}\n", "42: {}", "keys must be strings"),
    ("inv_host_name_empty", BASE_INVENTORY + '        "": {}\n', '"": {}', "invalid host name"),
    (
        "inv_host_name_option",
        BASE_INVENTORY + '        "-oProxyCommand=id": {}\n',
        "-oProxyCommand",
        "invalid host name",
    ),
    ("inv_host_name_newline", BASE_INVENTORY + '        "lab2\\nlab3": {}\n', "lab2\\nlab3", "invalid host name"),
    ("inv_python_tag", BASE_INVENTORY + "          nlserver: !!python/object/apply:os.system [id]\n", "!!python", None),
    ("inv_tab_indent", BASE_INVENTORY + "\t  nlserver: x\n", None, None),
    ("inv_nul_byte", BASE_INVENTORY + "          nlserver: a\x00b\n", None, None),
    ("inv_deep_nesting", BASE_INVENTORY + "          notes: " + "[" * 5000 + "]" * 5000 + "\n", None, None),
    # typed host vars, each wrong in its own way (lab1's line is named, and the var)
    *[
        (f"inv_{name}_{tag}", _var(name, value), "lab1:", name)
        for name, cases in {
            "ansible_port": {
                "zero": "0",
                "too_big": "65536",
                "negative": "-22",
                "float": "22.5",
                "bool": "true",
                "list": "[22]",
            },
            "syslogd_port": {"text": "udp", "zero": "0"},
            "web_port": {"too_big": "80800", "null_string": '""'},
            "db_port": {"float": "5432.0", "mapping": "{port: 5432}"},
            "workflow_start_grace": {"text": "soon", "negative": "-1", "float": "1.5", "huge": "10000000000"},
            "export_max_age": {"bool": "false"},
            "syslog_probe": {"string": '"yes"', "number": "1"},
            "secret_vars": {"string": "db_password", "numbers": "[1, 2]"},
            "export_workflows": {"string": "exportAll", "bad_name": '["export-all"]', "injection": '["x;id"]'},
            "dedup_folders": {"space": '["my folder"]'},
            "nl6_root": {"newline": '"/usr/local\\n/tmp"', "list": "[/usr]", "nul": '"/usr\\0/x"'},
            "db_name": {"newline": '"campaign\\nx"'},
            "ansible_user": {"number": "0", "newline": '"root\\nx"'},
            "instance": {"space": '"prod 2"', "path": '"../prod"', "empty": '""', "dot": '"prod.1"'},
        }.items()
        for tag, value in cases.items()
    ],
]

# --- OpenSSH client configs: each refused before any host is touched, exit 2, naming file:line --------

SSH_TAIL = "Host *\n  Port 2222\n"


def _ssh(text: str) -> str:
    return text + SSH_TAIL


SSH_CASES: list[Case] = [
    ("ssh_unknown_directive", _ssh("Host *\n  Colour red\n"), "Colour red", "Bad configuration option: colour"),
    ("ssh_misspelled_directive", _ssh("Host *\n  HostNmae x\n"), "HostNmae x", "Bad configuration option: hostnmae"),
    ("ssh_match_localnetwork", _ssh("Match localnetwork 10.0.0.0/8\n  Port 22\n"), "Match localnetwork", None),
    ("ssh_match_unknown", _ssh("Match colour red\n  Port 22\n"), "Match colour", "Bad Match condition"),
    ("ssh_match_no_criteria", _ssh("Match\n  Port 22\n"), "Match\n", 'no argument after keyword "match"'),
    ("ssh_match_host_no_arg", _ssh("Match host\n  Port 22\n"), "Match host\n", "Bad Match condition"),
    (
        "ssh_local_command",
        _ssh("Host *\n  PermitLocalCommand yes\n  LocalCommand touch /tmp/pwned\n"),
        "LocalCommand",
        None,
    ),
    (
        "ssh_known_hosts_command",
        _ssh("Host *\n  KnownHostsCommand /bin/echo\n"),
        "KnownHostsCommand",
        "KnownHostsCommand",
    ),
    ("ssh_pkcs11", _ssh("Host *\n  PKCS11Provider /usr/lib/opensc.so\n"), "PKCS11Provider", None),
    ("ssh_tag", _ssh("Host *\n  Tag prod\n"), "Tag prod", None),
    ("ssh_proxycommand_bad_token", _ssh("Host *\n  ProxyCommand nc %z %p\n"), "ProxyCommand nc %z", "token %z"),
    ("ssh_proxycommand_lone_percent", _ssh("Host *\n  ProxyCommand nc %h %\n"), "ProxyCommand nc %h %", "lone %"),
    (
        "ssh_identityfile_unset_env",
        _ssh("Host *\n  IdentityFile ${REMEDIATE_NO_SUCH_VAR}/id\n"),
        "IdentityFile",
        "not set",
    ),
    ("ssh_identityfile_bad_token", _ssh("Host *\n  IdentityFile ~/.ssh/%Q\n"), "IdentityFile", "token %Q"),
    ("ssh_include_loop", "Include SELF\n" + SSH_TAIL, None, "Too many recursive configuration includes"),
    ("ssh_include_no_file", _ssh("Host *\n  Include\n"), "  Include\n", 'no argument after keyword "include"'),
    ("ssh_host_no_pattern", "Host\n  Port 22\n" + SSH_TAIL, "Host\n", 'no argument after keyword "host"'),
    ("ssh_port_zero", "Host *\n  Port 0\n", "Port 0", None),
    ("ssh_port_too_big", "Host *\n  Port 70000\n", "Port 70000", None),
    ("ssh_connecttimeout_text", _ssh("Host *\n  ConnectTimeout soon\n"), "ConnectTimeout soon", "invalid time value"),
    ("ssh_alive_negative", _ssh("Host *\n  ServerAliveInterval -5\n"), "ServerAliveInterval -5", None),
    ("ssh_directive_no_value", _ssh("Host *\n  User\n"), "  User\n", 'no argument after keyword "user"'),
    ("ssh_unterminated_quote", _ssh('Host *\n  User "neo\n'), 'User "neo', "invalid quotes"),
    ("ssh_proxyjump_empty_hop", _ssh("Host *\n  ProxyJump a,,b\n"), "ProxyJump a,,b", "Invalid ProxyJump"),
    (
        "ssh_proxyjump_bad_port",
        _ssh("Host *\n  ProxyJump bastion:http\n"),
        None,
        "jumphost loop",
    ),
    ("ssh_tunnel", _ssh("Host *\n  Tunnel yes\n"), "Tunnel yes", None),
    ("ssh_remote_command", _ssh("Host *\n  RemoteCommand touch /tmp/pwned\n"), "RemoteCommand", None),
    (
        "ssh_huge_file",
        "".join(f"# filler line {i}\n" for i in range(60000)) + _ssh("Host *\n  Colour red\n"),
        "Colour red",
        "Bad configuration option: colour",
    ),
]
