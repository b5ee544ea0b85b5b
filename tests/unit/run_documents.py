"""Fixed outcomes of a playbook run and of a check sweep, for the output format tests (test_render, test_cli_output).

Every output format is compared, byte for byte, with the text remediate printed for these outcomes.
"""

from __future__ import annotations

from runner.outcomes import HostStatus, ModuleVerdict, StepStatus
from runner.report import HostOutcome, StepOutcome

SWEEP_MODULES = ["web", "mta", "inMail"]


def run_hosts() -> list[HostOutcome]:
    """A run of the web playbook: one host remediated, one unreachable, one that could not be diagnosed."""
    fixed = HostOutcome("prod1", HostStatus.REMEDIATED, "verified after the fix", host_key="SHA256:abcd")
    fixed.steps += [
        StepOutcome(
            "web_answers",
            "check",
            "read",
            "Web server answers",
            "curl -s http://localhost:8080/r/test",
            StepStatus.FAILED,
            "/r/test answered 500",
            0,
            0.41234,
            "web",
        ),
        StepOutcome(
            "restart_web",
            "remediation",
            "disrupt",
            "Restart web",
            "nlserver restart web@prod",
            StepStatus.RAN,
            "restarted",
            0,
            12.3456,
            "web",
        ),
        StepOutcome(
            "web_answers",
            "verification",
            "read",
            "Web server answers",
            "curl -s http://localhost:8080/r/test",
            StepStatus.PASSED,
            "answered 200",
            0,
            0.2,
            "web",
        ),
    ]
    fixed.found.append("web_answers: /r/test answered 500")
    fixed.done.append("nlserver restart web@prod")
    down = HostOutcome("prod2", HostStatus.UNREACHABLE, "connection refused")
    unsure = HostOutcome("prod3", HostStatus.FAILED, "cannot diagnose: 1 check could not decide")
    unsure.steps.append(
        StepOutcome("web_answers", "check", "read", "Web server answers", None, StepStatus.UNDETERMINED, "timed out")
    )
    unsure.found.append("web_answers: timed out")
    return [fixed, down, unsure]


def sweep_hosts() -> list[HostOutcome]:
    """A check sweep of web, mta and inMail: a problem, an unreachable host, a check that could not decide."""
    problem = HostOutcome(
        "prod1",
        HostStatus.FAILED,
        "web: 2 problems",
        modules={"web": ModuleVerdict.PROBLEM, "mta": ModuleVerdict.HEALTHY, "inMail": ModuleVerdict.SKIPPED},
        found=["web: /r/test answered 500", "web: logon.jsp answered 503"],
        steps=[
            StepOutcome(
                "web_memory",
                "check",
                "read",
                "web@default's memory",
                "nlserver pdump",
                StepStatus.PASSED,
                "web@default uses 40.5 MB, below maxProcessMemoryWarningMb 1600 (Adobe's defaults) "
                '[process_memory_mb "web@default"=40.5 warning=1600 alert=1800]',
                module="web",
            ),
            StepOutcome(
                "mta_memory",
                "check",
                "read",
                "mta@prod's memory",
                "nlserver pdump",
                StepStatus.PASSED,
                "warning: mta@prod uses 1700 MB, at or above maxProcessMemoryWarningMb 1600, below "
                "maxProcessMemoryAlertMb 1800 (Adobe's defaults) "
                '[process_memory_mb "mta@prod"=1700 warning=1600 alert=1800]',
                module="mta",
            ),
        ],
        duration=2.5,
        checked_at=1_700_000_000.25,
    )
    down = HostOutcome("prod2", HostStatus.UNREACHABLE, "connection refused", checked_at=1_700_000_000.5)
    unsure = HostOutcome(
        "prod3",
        HostStatus.FAILED,
        "cannot diagnose",
        modules={"web": ModuleVerdict.UNDETERMINED, "mta": ModuleVerdict.HEALTHY, "inMail": ModuleVerdict.HEALTHY},
        found=["web: pdump timed out"],
        duration=1.0,
        checked_at=1_700_000_001.0,
    )
    return [problem, down, unsure]


def healthy_sweep() -> list[HostOutcome]:
    return [
        HostOutcome(
            "prod1",
            HostStatus.HEALTHY,
            modules={"web": ModuleVerdict.HEALTHY, "mta": ModuleVerdict.HEALTHY, "inMail": ModuleVerdict.SKIPPED},
            duration=0.75,
            checked_at=1_700_000_000.0,
        )
    ]
