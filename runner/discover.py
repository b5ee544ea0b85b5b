"""A host without an inventory: what the OpenSSH config knows, plus what the host itself says.

Many on-call engineers have only their SSH config. For a host the config knows (a ``Host`` entry with
a ``HostName``), the Campaign install is found on the host — ``$NL6_ROOT``, else ``~/nl6`` (the
``neolane`` account's home, as Adobe installs it), else ``/usr/local/neolane/nl6`` — with its
``nlserver``, its environment script (``env.sh``), and its instances (one ``conf/config-<I>.xml`` per
instance; ``config-default.xml`` is not one). With several instances the operator chooses (``--instance``).

Owns: the read-only discovery command, reading its answer, and turning both into inventory vars.
Pure: no I/O (the CLI runs the command through :func:`runner.execute.read_each`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.errors import InputError

_INSTANCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

COMMAND = (
    'root=""; for r in "${NL6_ROOT:-}" "$HOME/nl6" /usr/local/neolane/nl6; do '
    '[ -n "$r" ] && [ -x "$r/bin/nlserver" ] && { root="$r"; break; }; done; '
    '[ -n "$root" ] || { echo "@@none"; exit 0; }; echo "@@root $root"; '
    '[ -r "$root/env.sh" ] && echo "@@env $root/env.sh"; '
    'for f in "$root"/conf/config-*.xml; do [ -e "$f" ] || continue; n=${f##*/config-}; n=${n%.xml}; '
    '[ "$n" = default ] || echo "@@instance $n"; done'
)


@dataclass(frozen=True)
class Found:
    nl6_root: str
    env: str | None
    instances: tuple[str, ...]

    def host_vars(self, instance: str | None, host: str) -> dict[str, str]:
        """The vars a run needs; ``instance`` chooses among several (an input error when it must and does not)."""
        if instance is not None:
            if instance not in self.instances:
                known = ", ".join(self.instances) or "none"
                raise InputError(f"{host} has no instance {instance!r} (found: {known})", where="--instance")
            chosen = instance
        elif len(self.instances) == 1:
            chosen = self.instances[0]
        elif not self.instances:
            raise InputError(f"no instance on {host}: no conf/config-<instance>.xml under {self.nl6_root}", where=host)
        else:
            raise InputError(
                f"{host} runs several Campaign instances: {', '.join(self.instances)}",
                where=host,
                hint="choose one with --instance",
            )
        values = {"instance": chosen, "nl6_root": self.nl6_root, "nlserver": f"{self.nl6_root}/bin/nlserver"}
        if self.env:
            values["nlserver_env"] = self.env
        return values


def parse(text: str, host: str) -> Found:
    """Read the discovery command's answer; a host without a Campaign install is an input error."""
    root = env = None
    instances: list[str] = []
    for line in text.splitlines():
        key, _sep, value = line.partition(" ")
        if key == "@@none":
            raise InputError(
                f"no Campaign install found on {host} ($NL6_ROOT, ~/nl6, /usr/local/neolane/nl6)",
                where=host,
                hint="describe the host in an inventory (nl6_root, nlserver)",
            )
        if key == "@@root":
            root = value.strip()
        elif key == "@@env":
            env = value.strip()
        elif key == "@@instance" and _INSTANCE.match(value.strip()):
            instances.append(value.strip())
    if not root:
        raise InputError(f"cannot read what {host} answered to the discovery: {text.strip()[:120]!r}", where=host)
    return Found(root, env, tuple(sorted(instances)))
