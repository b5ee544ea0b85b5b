"""Where remediate finds its playbooks: site directories first, then the playbooks it ships.

Owns: the shipped playbook directory (``runner/_playbooks`` in an installed wheel, filled at build time
from the checkout's ``playbooks/``; that ``playbooks/`` itself in a checkout or an editable install), the
search path (``--playbooks DIR`` repeated, then ``$REMEDIATE_PLAYBOOKS`` as a ``:``-separated list, then
the shipped directory), which file provides each module (the first directory that has ``MODULE.yml``),
and StrictModes: a directory or playbook file that another user can write, or that another user owns, is
refused, as sshd refuses such an ``authorized_keys``. Must not: parse playbooks (that is
:mod:`runner.playbook`) or import anything heavy, so ``--help``, ``list`` and shell completion stay fast.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.errors import InputError

ENV = "REMEDIATE_PLAYBOOKS"
OPTION = "--playbooks"
SHIPPED = "shipped"
PACKAGE_DIR = "_playbooks"  # runner/_playbooks in a wheel: [tool.setuptools.package-dir] in pyproject.toml


def shipped_dir() -> Path:
    """The playbooks that ship with remediate: the installed package data, else the checkout's ``playbooks/``."""
    here = Path(__file__).resolve().parent
    installed = here / PACKAGE_DIR
    return installed if installed.is_dir() else here.parent / "playbooks"


def shipped_modules() -> tuple[str, ...]:
    """The modules remediate ships a playbook for: the names of the shipped playbook files (one place)."""
    return tuple(sorted(path.stem for path in shipped_dir().glob("*.yml")))


@dataclass(frozen=True)
class Place:
    """One directory of the search path and where it was configured."""

    path: Path
    origin: str  # --playbooks | $REMEDIATE_PLAYBOOKS | shipped

    def __str__(self) -> str:
        return f"{self.path} ({self.origin})"


@dataclass(frozen=True)
class Found:
    """A playbook file found on the search path; ``shadowed_by`` is the file that wins over it, if any."""

    module: str
    path: Path
    place: Place
    shadowed_by: Path | None = None


@dataclass(frozen=True)
class SearchPath:
    """Directories searched in order; the first ``MODULE.yml`` found is the module's playbook."""

    places: tuple[Place, ...]

    @classmethod
    def build(cls, site: Iterable[Path | str] = (), environ: Mapping[str, str] | None = None) -> SearchPath:
        """``--playbooks`` directories, then ``$REMEDIATE_PLAYBOOKS`` entries, then the shipped directory."""
        env = os.environ if environ is None else environ
        places = [Place(Path(p).expanduser(), OPTION) for p in site]
        places += [Place(Path(p).expanduser(), f"${ENV}") for p in env.get(ENV, "").split(":") if p.strip()]
        places.append(Place(shipped_dir(), SHIPPED))
        unique: dict[Path, Place] = {}
        for place in places:
            unique.setdefault(place.path.resolve(), place)
        return cls(tuple(unique.values()))

    @classmethod
    def only(cls, directory: Path) -> SearchPath:
        """A single directory, nothing else (callers that name their own folder)."""
        return cls((Place(directory, OPTION),))

    def looked_in(self) -> str:
        return ", ".join(f"{p.origin} {p.path}" for p in self.places)

    def found(self) -> list[Found]:
        """Every ``*.yml`` in every directory, in search order, after StrictModes (raises InputError)."""
        out: list[Found] = []
        winner: dict[str, Path] = {}
        for place in self.places:
            if not place.path.exists():
                if place.origin == SHIPPED:
                    continue  # an install without playbooks: reported as "no playbook found"
                raise InputError(f"{place.path}: no such directory", where=place.origin)
            if not place.path.is_dir():
                raise InputError(f"{place.path}: not a directory", where=place.origin)
            refuse_writable(place.path, place.origin)
            for path in sorted(place.path.glob("*.yml")):
                refuse_writable(path, place.origin)
                module = path.stem
                out.append(Found(module, path, place, winner.get(module)))
                winner.setdefault(module, path)
        return out

    def modules(self) -> dict[str, Path]:
        """Module name -> the playbook file that provides it (the first on the search path)."""
        return {f.module: f.path for f in sorted(self.found(), key=lambda f: f.module) if f.shadowed_by is None}

    def find(self, module: str) -> Path | None:
        return self.modules().get(module)

    def nothing_found(self) -> InputError:
        return InputError("no playbook found", where="playbooks", hint=f"looked in: {self.looked_in()}")


def refuse_writable(path: Path, origin: str = "playbooks") -> None:
    """StrictModes: refuse a directory or file that a group or other users can write, or another user owns."""
    st = path.stat()
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "group" if st.st_mode & stat.S_IWGRP else "other users"
        raise InputError(
            f"{path}: playbook {kind} writable by {who} (mode {stat.S_IMODE(st.st_mode):04o}), refused",
            where=origin,
            hint=f"chmod go-w {path}",
        )
    if st.st_uid not in (0, os.geteuid()):
        raise InputError(
            f"{path}: playbook {kind} owned by uid {st.st_uid}, neither you nor root, refused",
            where=origin,
            hint=f"chown it to yourself or root: {path}",
        )
