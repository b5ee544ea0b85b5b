"""``remediate check`` for monitoring: Prometheus text (node_exporter's textfile collector) and Nagios plugin.

Owns: turning a check sweep's outcomes into (a) the Prometheus text exposition format — per host and
module a state set gauge ``remediate_check_module_state{host,module,state}`` (1 for the module's state:
healthy, problem, undetermined, skipped), per host ``remediate_check_host_reachable``, the check's
duration and time — written atomically (a temp file in the same directory, then rename) so the
collector never reads half a file; and (b) one Nagios/Icinga/Zabbix plugin line with perfdata and the
plugin exit code. Pure except :func:`write_atomically`.

Nagios mapping (Monitoring Plugins guidelines: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), first that applies:
CRITICAL a module has a problem; UNKNOWN a host could not be reached (nothing could be checked there)
or the invocation was bad; WARNING a check could not decide (undetermined); OK every module healthy or
not on the host (skipped).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from runner.outcomes import HostStatus, ModuleVerdict
from runner.report import HostOutcome

STATES = {
    ModuleVerdict.HEALTHY: "healthy",
    ModuleVerdict.PROBLEM: "problem",
    ModuleVerdict.UNDETERMINED: "undetermined",
    ModuleVerdict.SKIPPED: "skipped",
}
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
_NAGIOS_WORD = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus(outcomes: Sequence[HostOutcome], modules: Sequence[str]) -> str:
    """The text format node_exporter's textfile collector reads (one family per metric, HELP and TYPE)."""
    lines = [
        "# HELP remediate_check_module_state State of a Campaign module from remediate check (1 = this state).",
        "# TYPE remediate_check_module_state gauge",
    ]
    for o in outcomes:
        for module in modules:
            verdict = o.modules.get(module)
            for state_verdict, state in STATES.items():
                lines.append(
                    f'remediate_check_module_state{{host="{_label(o.host)}",module="{_label(module)}",'
                    f'state="{state}"}} {1 if verdict == state_verdict else 0}'
                )
    families = (
        ("host_reachable", "1 when remediate check reached the host over SSH, else 0 (no module state then).", None),
        ("duration_seconds", "How long remediate check took on the host.", "duration"),
        ("timestamp_seconds", "When remediate check finished on the host (Unix time).", "checked_at"),
    )
    for name, help_text, attr in families:
        lines += [f"# HELP remediate_check_{name} {help_text}", f"# TYPE remediate_check_{name} gauge"]
        for o in outcomes:
            if attr is None:
                value: float | None = 0.0 if o.status == HostStatus.UNREACHABLE else 1.0
            else:
                value = getattr(o, attr)
            if value is not None:
                lines.append(f'remediate_check_{name}{{host="{_label(o.host)}"}} {value:.3f}')
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by a temp file in the same directory and a rename (readers see old or new)."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # the collector runs as its own user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def nagios(outcomes: Sequence[HostOutcome]) -> tuple[int, str]:
    """(plugin exit code, the one output line with perfdata)."""
    counts = dict.fromkeys(STATES.values(), 0)
    problems: list[str] = []
    unsure: list[str] = []
    unreachable = [o.host for o in outcomes if o.status == HostStatus.UNREACHABLE]
    for o in outcomes:
        for module, verdict in o.modules.items():
            counts[STATES[ModuleVerdict(verdict)]] += 1
            if verdict == ModuleVerdict.PROBLEM:
                problems.append(f"{o.host} {module}")
            elif verdict == ModuleVerdict.UNDETERMINED:
                unsure.append(f"{o.host} {module}")
    if problems:
        code, summary = NAGIOS_CRITICAL, "problem: " + ", ".join(problems)
    elif unreachable:
        code, summary = NAGIOS_UNKNOWN, "unreachable: " + ", ".join(unreachable)
    elif unsure:
        code, summary = NAGIOS_WARNING, "cannot decide: " + ", ".join(unsure)
    else:
        code, summary = NAGIOS_OK, f"{counts['healthy']} module checks healthy on {len(outcomes)} host(s)"
    extra = [f"unreachable: {', '.join(unreachable)}"] if unreachable and code != NAGIOS_UNKNOWN else []
    text = "; ".join([summary, *extra])
    duration = max((o.duration or 0.0 for o in outcomes), default=0.0)
    perf = " ".join(f"{k}={v};;;0" for k, v in counts.items())
    perf += f" unreachable={len(unreachable)};;;0 duration={duration:.3f}s;;;0"
    return code, f"REMEDIATE {_NAGIOS_WORD[code]} - {text} | {perf}"


def nagios_unknown(message: str) -> str:
    """The line for a run that could not check anything (bad input): UNKNOWN, exit 3."""
    return f"REMEDIATE UNKNOWN - {message.splitlines()[0][:300]}"
