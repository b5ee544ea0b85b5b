"""remediate: a remediation runner for Adobe Campaign Classic v7 servers."""

__version__ = "0.1.0"
