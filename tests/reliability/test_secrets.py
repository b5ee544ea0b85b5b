"""Secrets never appear in the audit log, stdout, stderr or an error text: redaction by value, including
inside command lines and host output."""

from __future__ import annotations

import secrets as random
from pathlib import Path

import yaml

from lab import Lab
from tests.reliability.figures import Figures
from tests.reliability.helpers import write_playbook
from tests.support.cli import Runner


def _value(tag: str) -> str:
    return f"{tag}-{random.token_hex(6)}"


def test_secrets_never_leak_anywhere(lab: Lab, host: str, remediate: Runner, tmp_path: Path, figures: Figures) -> None:
    inv_secrets = {
        "db_password": _value("dbpw"),
        "api_token": _value("tok"),
        "site_secret": _value("sec"),
        "license_key": _value("lic"),
    }
    env_secrets = {"PGPASSWORD": _value("pgpw"), "DEPLOY_TOKEN": _value("envtok")}
    every = [*inv_secrets.values(), *env_secrets.values()]
    fields = " ".join(f"{{{k}}}" for k in inv_secrets)
    books = write_playbook(
        tmp_path / "playbooks",
        "import",
        f"""\
        - id: use_secrets
          effect: change
          action: shell
          args: {{command: "echo using {fields} {{label}} && echo {{db_password}} >&2"}}
        """,
        checks=f"""\
        - id: shows_secrets
          effect: read
          action: shell
          args: {{command: "echo {fields} {{label}}; echo {{api_token}} >&2; false"}}
        """,
        verification="""\
        - id: still_shows
          effect: read
          action: shell
          args: {command: "echo {site_secret} {label}"}
        """,
    )
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update(inv_secrets)
    data["all"]["vars"]["secret_vars"] = ["license_key"]
    data["all"]["vars"]["label"] = env_secrets["DEPLOY_TOKEN"]  # an env secret reaching a command and host output
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data))
    env = {"REMEDIATE_PLAYBOOKS": str(books), **env_secrets}
    reason = f"INC-9 db password {inv_secrets['db_password']}"
    runs = {
        "run (text)": ["import", "--host", host, "--yes", "--reason", reason],
        "run (json)": ["import", "--host", host, "--yes", "--output", "json"],
        "dry-run": ["import", "--host", host, "--dry-run"],
        "check": ["check", "import", "--host", host],
        "check (json)": ["check", "import", "--host", host, "--output", "json"],
        "show": ["show", "import", "--host", host, "-i", str(inventory)],
    }
    places: dict[str, str] = {}
    codes = {}
    for name, args in runs.items():
        res = remediate(*args, inventory=inventory, env=env)
        codes[name] = res.returncode
        places[f"{name} stdout"] = res.stdout
        places[f"{name} stderr"] = res.stderr
    # error texts: an inventory error whose message would quote a secret value
    bad = tmp_path / "bad.yml"
    bad_data = yaml.safe_load(inventory.read_text())
    bad_data["all"]["vars"]["instance"] = f"prod {env_secrets['PGPASSWORD']}"
    bad_data["all"]["vars"]["db_port"] = inv_secrets["db_password"]
    bad.write_text(yaml.safe_dump(bad_data))
    res = remediate("import", "--host", host, inventory=bad, env=env)
    codes["bad inventory"] = res.returncode
    places["error stderr"] = res.stderr + res.stdout
    events = figures.audit(remediate.audit_log)
    places["audit log"] = remediate.audit_log.read_text()
    leaks = figures.scan(every, **places)
    assert leaks == [], leaks
    assert codes["run (text)"] == 0 and codes["run (json)"] == 0 and codes["bad inventory"] == 2, codes
    # the secrets really went through commands and host output (so the absence above means redaction)
    started = [e for e in events if e["event"] == "step.started" and e.get("step") == "use_secrets"]
    assert started and "***" in started[0]["command"]
    shown = [e for e in events if e["event"] == "step.finished" and e.get("step") == "shows_secrets"]
    assert shown and "***" in shown[0]["message"]


def test_hosts_command_never_shows_a_secret(lab: Lab, remediate: Runner, tmp_path: Path, figures: Figures) -> None:
    inv_secrets = {"db_password": _value("dbpw"), "api_token": _value("tok")}
    env_secrets = {"PGPASSWORD": _value("pgpw"), "DEPLOY_TOKEN": _value("envtok")}
    data = yaml.safe_load(remediate.inventory.read_text())
    data["all"]["vars"].update(inv_secrets)
    data["all"]["vars"]["label"] = env_secrets["DEPLOY_TOKEN"]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data))
    places = {}
    for name, args in {"hosts": ["hosts"], "hosts (json)": ["hosts", "--output", "json"]}.items():
        res = remediate(*args, inventory=inventory, env=env_secrets)
        assert res.returncode == 0, res.stderr
        places[f"{name} stdout"], places[f"{name} stderr"] = res.stdout, res.stderr
    leaks = figures.scan([*inv_secrets.values(), *env_secrets.values()], **places)
    assert leaks == [], leaks
