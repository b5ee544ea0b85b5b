"""Rolling remediation across a fleet: batch sizes, the canary, the failure threshold. Pure.

Ansible's semantics (``serial``, ``max_fail_percentage``): ``--serial 1,5,25%`` are batch sizes in
order, the last one repeating; a percentage is of the hosts selected for the run (at least one). The
first batch is the canary. A batch whose failed hosts are more than ``max_fail_percentage`` of it stops
the run: later hosts are not started. Defaults keep what an on-call engineer expects: a playbook that
may disrupt goes one host at a time and stops at the first failure; one that only starts what is not
running (nothing interrupted) goes in one parallel batch.

Owns: :class:`Rollout` (the operator's flags), :func:`parse_serial`, :func:`plan_batches` and
:func:`stops`. Must not: run anything (the engine does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from runner.errors import InputError

T = TypeVar("T")
_SIZE = re.compile(r"^(\d{1,5})(%?)$")


@dataclass(frozen=True)
class Size:
    """One batch size: a number of hosts, or a percentage of the selected hosts."""

    value: int
    percent: bool = False

    def hosts(self, selected: int) -> int:
        if not self.percent:
            return self.value
        return max(1, selected * self.value // 100)

    def __str__(self) -> str:
        return f"{self.value}{'%' if self.percent else ''}"


@dataclass(frozen=True)
class Rollout:
    """How remediation rolls over the hosts: batch sizes, failure threshold, pause between batches.

    ``serial`` None: the default for the playbook (see :func:`defaults`); ``max_fail_percentage`` None
    likewise.
    """

    serial: tuple[Size, ...] | None = None
    max_fail_percentage: float | None = None
    pause: float = 0.0


def parse_serial(text: str) -> tuple[Size, ...]:
    """``1,5,25%`` -> sizes; InputError naming the flag for anything else."""
    sizes = []
    for part in text.split(","):
        found = _SIZE.match(part.strip())
        if found is None or int(found.group(1)) == 0 or (found.group(2) and int(found.group(1)) > 100):
            raise InputError(
                f"{part.strip()!r} is not a batch size", where="--serial", hint="whole numbers or percentages: 1,5,25%"
            )
        sizes.append(Size(int(found.group(1)), bool(found.group(2))))
    return tuple(sizes)


def defaults(rollout: Rollout, *, disruptive: bool) -> tuple[tuple[Size, ...], float]:
    """The batch sizes and failure threshold in force: the operator's, else the playbook's default
    (disruptive: one host at a time, stop at the first failure; else one batch, never stop)."""
    serial = rollout.serial if rollout.serial is not None else ((Size(1),) if disruptive else (Size(100, True),))
    threshold = rollout.max_fail_percentage
    if threshold is None:
        threshold = 0.0 if disruptive else 100.0
    return serial, threshold


def plan_batches(hosts: Sequence[T], serial: Sequence[Size], selected: int) -> list[list[T]]:
    """``hosts`` cut into batches of the given sizes, in order, the last size repeating."""
    out: list[list[T]] = []
    index = 0
    number = 0
    while index < len(hosts):
        size = serial[min(number, len(serial) - 1)].hosts(selected)
        out.append(list(hosts[index : index + size]))
        index += size
        number += 1
    return out


def stops(failed: int, batch: int, max_fail_percentage: float) -> bool:
    """Whether a batch with ``failed`` of ``batch`` hosts failed stops the run (more than the threshold)."""
    return batch > 0 and failed * 100.0 / batch > max_fail_percentage
