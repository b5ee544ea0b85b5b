"""The one table of host vars: every inventory var the runner reads, with its type, default and meaning.

Owns: :data:`VARS` (name -> :class:`HostVar`), the validation of a host's vars against it (the inventory
calls :func:`problems`), the defaults actions fall back on (:func:`default`, :data:`DEFAULTS`), where the
run lock lives (:func:`lock_dir`), the ``{var}`` fields of templates (:func:`template_fields`), and which
inventory vars nothing reads (:func:`unused`: a misspelled ``syslog_port``). Pure: no I/O. Imports
nothing from the rest of the package, so the inventory, the actions and the engine can all read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

from runner import kinds
from runner.templates import template_fields

# a host var's type: a kind of runner.kinds (``str`` here is a single-line string, kinds' ``line``)
VarType = Literal[
    "int",
    "str",
    "port",
    "address",
    "instance",
    "seconds",
    "minutes",
    "count",
    "rows",
    "bool",
    "secret",
    "list[str]",
    "names",
    "ratio",
    "int",
]
SECRET_NAME = re.compile(r"(password|passwd|secret|token|passphrase)", re.IGNORECASE)


@dataclass(frozen=True)
class HostVar:
    """One host var: its name, type (a kind of :mod:`runner.kinds`), default (None: none) and meaning."""

    name: str
    type: VarType
    meaning: str
    default: Any = None
    choices: tuple[str, ...] = ()  # for a str var: the only values it may take

    @property
    def kind(self) -> str:
        return "line" if self.type == "str" else self.type

    def problem(self, value: Any) -> tuple[str, str | None] | None:
        """(what is wrong, hint) when ``value`` does not fit, else None. Never shows a secret value."""
        secret = self.type == "secret" or bool(SECRET_NAME.search(self.name))
        trouble = kinds.problem(self.kind, value, choices=self.choices, secret=secret)
        if trouble is None:
            return None
        hint = "letters, digits, '_' and '-'" if self.type == "instance" else None
        return f"{self.name} {trouble}", hint


_TABLE = (
    # how the runner reaches the host
    HostVar("ansible_host", "address", "address SSH connects to (else the OpenSSH config's HostName, else the name)"),
    HostVar("ansible_port", "port", "SSH port (else the OpenSSH config's Port, else 22)"),
    HostVar("ansible_user", "str", "SSH login (else the OpenSSH config's User, else the local user)"),
    HostVar("ansible_ssh_private_key_file", "str", "SSH private key, tried before the OpenSSH config's"),
    HostVar("ssh_config", "str", "OpenSSH client config for this host (--ssh-config overrides it)", "~/.ssh/config"),
    HostVar("lock_dir", "str", "where run locks live on the host (default <nl6_root>/var/remediate/locks)"),
    HostVar(
        "parallel_reads",
        "count",
        "read commands of one check batch run at once on the host (1: one after another); changes never overlap",
        4,
    ),
    HostVar(
        "anchor_file",
        "str",
        "where each changing run appends its audit chain head on the host (default <lock_dir>/audit-anchors.jsonl)",
    ),
    HostVar(
        "anchor_keep",
        "int",
        "anchor records the host's anchor file keeps: an append past it drops the oldest (at least 1 is kept)",
        1000,
    ),
    HostVar("secret_vars", "list[str]", "more vars whose values are secrets (replaced by *** in output and audit)"),
    # evidence bundles (remediate collect, and the bundle taken before a disruptive step)
    HostVar("collect_timeout", "seconds", "seconds each command of an evidence bundle may run (then stopped)", 20),
    HostVar("collect_max_bytes", "int", "bytes kept of each file of an evidence bundle (more is cut, and said)", 2**21),
    HostVar("collect_total_max_bytes", "int", "bytes kept of all the files of one evidence bundle", 20 * 2**20),
    HostVar(
        "collect_budget",
        "seconds",
        "seconds the evidence bundle before a disruptive step may take; what is not read by then is skipped, said",
        60,
    ),
    # the Campaign install
    HostVar("instance", "instance", "the Campaign instance (wfserver@<instance>, mta@<instance> ...)"),
    HostVar("nlserver", "str", "the nlserver command", "nlserver"),
    HostVar("nlserver_env", "str", "a script sourced before each command (non-interactive SSH does not)"),
    HostVar("nl6_root", "str", "the Campaign install directory", "/usr/local/neolane/nl6"),
    # A default may name other vars ({nl6_root}/var). The vars below it marked "the host's" are read from
    # the host once per run (runner.hostfacts): an inventory value overrides the host's, and is reported
    # when the two differ.
    HostVar(
        "var_dir",
        "str",
        "the Campaign var/ tree: logs, redir, exports; the host's XTK_VAR_DIR (customer.sh, installation/using/"
        "configuring-campaign-server.md) where it sets one",
        "{nl6_root}/var",
    ),
    HostVar("address", "address", "where web and stat listen (syslogd: syslogd_address)", "127.0.0.1"),
    HostVar(
        "syslogd_address",
        "address",
        "where syslogd listens and the modules send their log records: the host's TRACE_ADDR (customer.sh, "
        "production/using/configuration.md) where it sets one, else local (the list of open ports: 6666/udp (local))",
        "localhost",
    ),
    HostVar(
        "syslogd_port",
        "port",
        "syslogd's udp port: the host's TRACE_ADDR where it sets one, else 6666 (the list of open ports; "
        "configuration.md says 666: Adobe's pages disagree)",
        6666,
    ),
    HostVar("web_port", "port", "the web module's HTTP port (Tomcat): the host's web/@httpPort", 8080),
    HostVar(
        "web_control_port",
        "port",
        "the web module's Tomcat control port: the host's web/@controlPort (shown by remediate hosts; no step "
        "uses it: a playbook may, e.g. port_listening)",
        8005,
    ),
    HostVar(
        "front_web_port",
        "port",
        "the front web server's HTTP port at address (Apache/IIS with Campaign's module, installation/using/"
        "integration-into-a-web-server-for-linux.md; /r/test through it, failure-to-connect.md)",
        80,
    ),
    HostVar("stat_port", "port", "the stat module's udp port: the host's stat/@port (email-deliverability.md)", 7777),
    HostVar(
        "export_dir",
        "str",
        "where exports are written: the host's dataStore/@exportDirectory (the-server-configuration-file.md; "
        "Adobe's default $(XTK_INSTALL_DIR)/var/$(INSTANCE_NAME)/export/, under var_dir here)",
        "{var_dir}/{instance}/export",
    ),
    HostVar(
        "syslog_probe",
        "bool",
        "true where syslogd's record format is known, so a test record may be sent (Adobe does not document it)",
        False,
    ),
    # the Campaign database (database checks are skipped, not failed, without db_host, db_name, db_user)
    HostVar("db_host", "address", "the Campaign database server"),
    HostVar("db_port", "port", "the Campaign database port", 5432),
    HostVar("db_name", "str", "the Campaign database name"),
    HostVar("db_user", "str", "the database login (its password in ~/.pgpass on the host, or db_password)"),
    HostVar("db_password", "secret", "the database password (a secret)"),
    # thresholds the playbooks' checks use
    HostVar("workflow_start_grace", "seconds", "seconds before a pending workflow start counts as stuck", 120),
    HostVar(
        "delivery_pending_minutes",
        "minutes",
        "minutes a delivery may stay in 51 Start pending (by its @lastModified, an undocumented column: inferred) "
        "before the mta check reports it; never a reason to restart",
        10,
    ),
    HostVar(
        "export_max_age", "seconds", "seconds since an export workflow last finished (26 h: a daily export)", 93600
    ),
    HostVar(
        "tracking_max_age",
        "seconds",
        "seconds since the option NmsTracking_LastConsolidation (configuring-campaign-options.md); the Tracking "
        "workflow runs hourly (about-technical-workflows.md), so the default allows two periods",
        7200,
    ),
    # what the site runs (Adobe leaves these to each site)
    HostVar("tracking_workflow", "str", "internal name of the Tracking technical workflow", "tracking"),
    HostVar("export_workflows", "names", "internal names of this site's export workflows (never guessed from names)"),
    HostVar("export_full_workflow", "str", "internal name of the site's full-export workflow (mode full runs it)"),
    HostVar("import_workflows", "names", "internal names of this site's import workflows"),
    HostVar("dedup_folders", "names", "recipient folders (internal names) where de-duplication may delete rows"),
    HostVar(
        "import_folders",
        "names",
        "recipient folders (internal names) the site's imports write into: the duplicate check reads only these "
        "(unset: not checked; no check groups every recipient)",
    ),
    HostVar(
        "import_window_days",
        "count",
        "days back (by @created) a recipient counts as an import's: the duplicate check and the de-duplication "
        "read only recipients created within them (an import and its re-run are recent)",
        7,
    ),
    HostVar(
        "delivery_log_window",
        "seconds",
        "seconds back (by @lastModified, NmsBroadLogRcp's tsLastModified, database-cleanup-workflow.md) the "
        'mta check reads delivery logs: never the whole table, "the largest table in the system"',
        86400,
    ),
    HostVar(
        "delivery_log_limit",
        "rows",
        "at most this many deliveries (lineCount) the mta check lists with Pending delivery logs in its window",
        20,
    ),
    HostVar(
        "import_limit",
        "rows",
        "at most this many rows (lineCount) each import check reads of the recipients in its folders and window",
        200,
    ),
    HostVar(
        "pop3_server", "str", "the bounce mailbox's POP3 server as host:port (inMail polls it); unset: not checked"
    ),
    HostVar(
        "pop3_encryption",
        "str",
        "the Bounce mails account's Encryption (installation/using/external-accounts.md): pop3 (plain), starttls "
        "(POP3 + STARTTLS: a plain greeting first), pop3s (TLS from the first byte), default (By default); "
        "unset: pop3s on port 995, pop3 on 110; on another port a plain greeting is tried, and none means the "
        "probe cannot tell (undetermined, never unreachable)",
        None,
        ("default", "pop3", "starttls", "pop3s"),
    ),
    HostVar(
        "pop3_oauth",
        "bool",
        "true when the Bounce mails account uses Microsoft OAuth 2.0 (external-accounts.md): the probe cannot "
        "tell whether inMail gets in, so it says it cannot probe",
        False,
    ),
    HostVar(
        "quarantine_max_share",
        "ratio",
        "largest share of a tracking log's lines that may be set aside as corrupted; above it nothing is moved",
        0.01,
    ),
    HostVar(
        "soap_probe_login",
        "str",
        "a monitoring operator for the opt-in SOAP Logon probe (unset: no logon probe; never admin)",
    ),
    HostVar(
        "soap_probe_password_env",
        "str",
        "the environment variable on the operator's machine holding that operator's password",
        "REMEDIATE_SOAP_PASSWORD",
    ),
    HostVar(
        "ping_session_token",
        "str",
        "the session token /nl/jsp/ping.jsp is called with (__sessiontoken=, production/using/monitoring-"
        "processes.md): a monitoring operator's login in a sessionTokenOnly security zone; Adobe's netreport "
        "uses the operator monitoring, which 'already exists'",
        "monitoring",
    ),
    HostVar(
        "service_manager",
        "str",
        "how the watchdog is started: systemd (systemctl start nlserver, Adobe's advice from 20.1; the host's "
        "when its systemd has a unit nlserver), init (/etc/init.d/nlserver6 start) or nlserver (nlserver "
        "watchdog -svc -noconsole)",
        "nlserver",
        ("systemd", "init", "nlserver"),
    ),
    HostVar(
        "become",
        "str",
        "how the SSH user reaches the Campaign account (nlserver, files under the install) and root (the "
        "service manager) when it is not that account: none, sudo (sudo -n to either), sudo_campaign (sudo -n "
        "-u <campaign_user> only) or su (the SSH user is root). With none, a host where Campaign would run "
        "as another account than campaign_user (as root, say) is refused",
        "none",
        ("none", "sudo", "sudo_campaign", "su"),
    ),
    HostVar(
        "campaign_user",
        "str",
        "the Linux account Campaign runs as (Adobe: neolane); root only where the site's Campaign really runs as root",
        "neolane",
    ),
    # on-call across a fleet: incidents and alert silences (README, "Team features")
    HostVar(
        "require_incident",
        "bool",
        "true where a run with a disruptive step needs --incident (refused before any host is touched without it)",
        False,
    ),
    HostVar(
        "alertmanager_url",
        "str",
        "the Alertmanager a disruptive step silences this host's alerts in (http://HOST:PORT; overrides the "
        "config file's)",
    ),
    HostVar(
        "silence_matchers",
        "list[str]",
        "the silence's matchers, each NAME=VALUE (also !=, =~, !~) with {host}, {address} and {module} filled in "
        "(default: instance=~<address>(:[0-9]+)?, module=<module>)",
    ),
    HostVar(
        "silence_required",
        "bool",
        "true where a disruptive step is refused (exit 4) when its Alertmanager silence cannot be created",
        False,
    ),
)
VARS: dict[str, HostVar] = {v.name: v for v in _TABLE}
DEFAULTS: Mapping[str, Any] = MappingProxyType({v.name: v.default for v in _TABLE if v.default is not None})


class HasVars(Protocol):
    def var(self, key: str, default: Any = None) -> Any: ...


def default(name: str) -> Any:
    """The default of host var ``name``; None when it has none (or is not in the table)."""
    known = VARS.get(name)
    return known.default if known is not None else None


def problems(values: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(what, hint) for each var of one host that does not fit its type in the table."""
    out = []
    for name, value in values.items():
        known = VARS.get(name)
        trouble = known.problem(value) if known is not None and value is not None else None
        if trouble is not None:
            out.append(trouble)
    return out


def lock_dir(host: HasVars) -> str:
    """Where the run lock lives on the host: ``lock_dir``, else ``<nl6_root>/var/remediate/locks``."""
    explicit = host.var("lock_dir")
    if explicit:
        return str(explicit)
    return f"{host.var('nl6_root') or default('nl6_root')}/var/remediate/locks"


def fields_in(values: Iterable[Any]) -> set[str]:
    """Every ``{var}`` named by these values (strings, or lists of them); malformed templates name none."""
    out: set[str] = set()
    for value in values:
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    out.update(template_fields(text))
                except ValueError:
                    continue
    return out


def unused(names: Iterable[str], used: Iterable[str] = ()) -> list[str]:
    """The ``names`` (an inventory's vars) that nothing reads: not in the table, not a ``{var}`` in ``used``
    (pass :func:`runner.playbook.template_vars` of the loaded playbooks), not a secret."""
    read = set(VARS) | set(used)
    return sorted({n for n in names if n not in read and not SECRET_NAME.search(n)})


def describe(var: HostVar) -> str:
    """The type in words, for the README."""
    return kinds.words(var.kind)
