"""Campaign lab: a fleet of simulated Adobe Campaign Classic v7 hosts behind real OpenSSH and PostgreSQL."""

from .core import Lab, LabError, temporary_lab

__all__ = ["Lab", "LabError", "temporary_lab"]
