"""Build hook for the man page remediate(1); everything else is in pyproject.toml.

The page is written at build time by ``runner.cli.manpage`` from the very command line the wheel ships
(its click commands, help texts and the shipped playbooks), so an installed page cannot be older than
the CLI it describes: a new flag is in the next build's page with no step to remember. It goes to
``build/man/remediate.1`` and is installed as a data file, ``<prefix>/share/man/man1/remediate.1``
(``man remediate`` finds it beside ``<prefix>/bin``). Importing the CLI needs only click and PyYAML
(the CLI imports anything heavy lazily, as ``--help`` does), hence [build-system] requires.
"""

import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
PAGE = Path("build") / "man" / "remediate.1"  # relative to HERE (setuptools runs from it)

sys.path.insert(0, str(HERE))
from runner.cli.manpage import write  # noqa: E402

write(HERE / PAGE)
setup(data_files=[("share/man/man1", [PAGE.as_posix()])])
