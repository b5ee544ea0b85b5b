"""What a host receives and what it answers: the one place a step's text is wrapped for the host.

Owns: :class:`Result` (what one command did on the host), :data:`KILL_AFTER` (the host-side grace
between TERM and KILL), :func:`sourced`, the Campaign environment sourced before a command
(non-interactive SSH does not source it), :func:`run_as`, the account a command runs in
(:class:`Account`, reached as :class:`Become` says), and :func:`as_sent`, both for one host. Every
command sent on its own is wrapped by :func:`as_sent`, and a read batch sources the environment once
for all its steps, so the audit records exactly the text the host receives. Pure: imports nothing from
the rest of the package.
Must not: connect or run (that is :mod:`runner.transport`), or choose what to send (:mod:`runner.plan`).
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

KILL_AFTER = 5  # seconds between TERM and KILL when a command times out on the host
STDIN_SCRIPT = 'eval "$(cat)"'  # a shell that runs the script it reads on its stdin


@dataclass
class Result:
    """What one command did on the host."""

    stdout: str
    stderr: str
    exit_code: int
    duration: float = 0.0


def env_line(env: object) -> str:
    """The line that sources the host's Campaign environment script (empty when there is none)."""
    return f". {shlex.quote(str(env))}" if env else ""


def sourced(command: str, env: object) -> str:
    """``command`` run after the host's Campaign environment script ``env`` (as is, without one)."""
    line = env_line(env)
    return f"{line} && {command}" if line else command


class Account(StrEnum):
    """The account a step's command must run in on the host (Adobe: Campaign runs as its own account,
    production/using/administration.md; only the service as a whole is root's)."""

    CAMPAIGN = "campaign"  # nlserver commands and files under the install: the campaign_user account
    ROOT = "root"  # the service manager (systemctl, the init script's start)


@dataclass(frozen=True)
class Become:
    """How the SSH session reaches an account: as it is, or through ``sudo -n -u`` or ``su``."""

    how: Literal["direct", "sudo", "su"]
    user: str

    def describe(self) -> str:
        return "directly" if self.how == "direct" else f"through {self.how} to {self.user}"


DIRECT = Become("direct", "")


class HasVars(Protocol):
    """A host as this module reads it: its vars (:class:`runner.inventory.Host`)."""

    def var(self, key: str, default: Any = None) -> Any: ...


def as_sent(command: str, host: HasVars, become: Become) -> str:
    """``command`` as ``host`` receives it when it is sent on its own: the host's Campaign environment
    script (its ``nlserver_env`` var) sourced first, the whole run in ``become``'s account. The one place
    that pair is written: the plan, the worker, ``collect``, ``logs`` and the bench send this very text."""
    return run_as(sourced(command, host.var("nlserver_env")), become)


def run_as(script: str, become: Become) -> str:
    """``script`` run in ``become``'s account, as the text a session sends on stdin.

    Through sudo or su, the script goes on the inner shell's stdin as a here-document, never on a
    command line (``ps`` shows no secret a step holds); its delimiter is derived from the script, so
    the same script always makes the same text (dry-run, the audit and the run agree).
    """
    if become.how == "direct":
        return script
    marker = "@@rmdas" + hashlib.sha256(script.encode("utf-8")).hexdigest()[:16]
    return f"{exec_as(STDIN_SCRIPT, become)} <<'{marker}'\n{script}\n{marker}"


def exec_as(script: str, become: Become) -> str:
    """A command line running ``script`` (no secret in it) under ``sh`` in ``become``'s account."""
    quoted = shlex.quote(script)
    if become.how == "direct":
        return f"sh -c {quoted}"
    if become.how == "sudo":
        target = "" if become.user == "root" else f"-u {shlex.quote(become.user)} "
        return f"sudo -n {target}-- sh -c {quoted}"
    return f"su -s /bin/sh {shlex.quote(become.user)} -c {quoted}"


BECOME = ("none", "sudo", "sudo_campaign", "su")


def reach(account: Account, *, ssh_user: str | None, become: str, campaign_user: str) -> Become:
    """How a session logged in as ``ssh_user`` reaches ``account``; ValueError saying what to set when it
    cannot.

    Directly when the SSH user is that account (or unknown: not connected); else ``sudo`` (become: sudo,
    or sudo_campaign for the Campaign account only) or ``su`` (become: su, from root). Never Campaign as
    root unless ``campaign_user`` says the site's Campaign account is root.
    """
    if become not in BECOME:
        raise ValueError(f"become {become!r} is not one of {', '.join(BECOME)}")
    target = campaign_user if account is Account.CAMPAIGN else "root"
    if ssh_user is None or ssh_user == target:
        return DIRECT
    what = "nlserver and the Campaign files" if account is Account.CAMPAIGN else "the service manager"
    if become == "su":
        if ssh_user != "root":
            raise ValueError(f"become is su and the SSH user is {ssh_user}, not root: su would ask for a password")
        return Become("su", target)
    if become == "sudo" or (become == "sudo_campaign" and account is Account.CAMPAIGN):
        return Become("sudo", target)
    if become == "sudo_campaign":
        raise ValueError(
            f"{what} needs root and become is sudo_campaign (sudo to {campaign_user} only): "
            "set service_manager: nlserver, or become: sudo"
        )
    if ssh_user == "root":
        raise ValueError(
            f"would run Campaign as root (SSH user root, campaign_user {campaign_user}, become none): set "
            "become: su or become: sudo for this host, or campaign_user: root where Campaign really runs as root"
        )
    raise ValueError(
        f"{what} must run as {target} and the SSH user is {ssh_user} with become none: connect as {target} "
        "(ansible_user), or set become: sudo_campaign, sudo or su"
    )
