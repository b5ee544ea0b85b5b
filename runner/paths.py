"""Where remediate finds its shipped files. Imports nothing heavy, so ``--help`` stays fast."""

from __future__ import annotations

import os
from pathlib import Path


def playbook_dir() -> Path:
    """``$REMEDIATE_PLAYBOOKS``, else the ``playbooks/`` shipped beside the package."""
    env = os.environ.get("REMEDIATE_PLAYBOOKS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "playbooks"
