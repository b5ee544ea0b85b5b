"""The playbook search path: site directories before the shipped ones, overrides, StrictModes, none found.

The shipped directory is replaced by a temporary one holding two playbooks, so these tests do not
depend on the shipped playbooks' content; the CLI runs in-process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner import paths, playbook
from runner.cli import main
from runner.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def book(module: str, title: str = "probe") -> str:
    return (
        f"module: {module}\ntitle: {title}\nscope: a site check\nsymptom: something is wrong\n"
        "checks:\n  - id: probe\n    effect: read\n    action: shell\n    args: {command: 'echo ok'}\n"
    )


def folder(base: Path, name: str, **books: str) -> Path:
    d = base / name
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    for module, title in books.items():
        (d / f"{module}.yml").write_text(book(module, title))
        os.chmod(d / f"{module}.yml", 0o644)
    return d


@pytest.fixture()
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = folder(tmp_path, "shipped", wfserver="shipped wfserver", mta="shipped mta")
    monkeypatch.setattr(paths, "shipped_dir", lambda: d)
    monkeypatch.delenv(paths.ENV, raising=False)
    return d


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_site_directories_come_first_in_order(tmp_path: Path, shipped: Path) -> None:
    a = folder(tmp_path, "a", wfserver="site a")
    b = folder(tmp_path, "b", wfserver="site b", webmdl="redirection")
    where = paths.SearchPath.build([a], {paths.ENV: f"{b}::"})
    assert [(p.path, p.origin) for p in where.places] == [
        (a, "--playbooks"),
        (b, "$REMEDIATE_PLAYBOOKS"),
        (shipped, "shipped"),
    ]
    assert where.modules() == {"mta": shipped / "mta.yml", "webmdl": b / "webmdl.yml", "wfserver": a / "wfserver.yml"}
    shadowed = {(f.path, f.shadowed_by) for f in where.found() if f.shadowed_by}
    assert shadowed == {(b / "wfserver.yml", a / "wfserver.yml"), (shipped / "wfserver.yml", a / "wfserver.yml")}
    assert playbook.load_module("wfserver", where).title == "site a"
    assert playbook.load_module("webmdl", where).module == "webmdl"


def test_env_list_overrides_shipped_by_default(tmp_path: Path, shipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = folder(tmp_path, "site", mta="site mta")
    monkeypatch.setenv(paths.ENV, str(site))
    assert playbook.available() == ["mta", "wfserver"]
    assert playbook.load_module("mta").title == "site mta"
    assert playbook.load_module("wfserver").title == "shipped wfserver"
    assert playbook.default_dir() == shipped


def test_cli_option_before_env_and_list_and_show_name_the_file(tmp_path: Path, shipped: Path) -> None:
    opt = folder(tmp_path, "opt", wfserver="from the option")
    env = folder(tmp_path, "env", wfserver="from the env", interactiond="interaction")
    code, out, err = run("--playbooks", str(opt), "list", "--output", "json", env={paths.ENV: str(env)})
    assert code == 0, err
    rows = {r["module"]: r for r in json.loads(out)}
    assert set(rows) == {"interactiond", "mta", "wfserver"}
    assert (rows["wfserver"]["title"], rows["wfserver"]["file"]) == ("from the option", str(opt / "wfserver.yml"))
    assert rows["wfserver"]["source"] == "--playbooks"
    assert rows["interactiond"]["source"] == "$REMEDIATE_PLAYBOOKS" and rows["mta"]["source"] == "shipped"
    code, out, _ = run("--playbooks", str(opt), "list")
    assert f"file: {opt / 'wfserver.yml'} (--playbooks)" in out and f"file: {shipped / 'mta.yml'} (shipped)" in out
    code, out, err = run("--playbooks", str(opt), "show", "wfserver")
    assert code == 0, err
    assert "from the option" in out and f"playbook file: {opt / 'wfserver.yml'} (--playbooks)" in out
    code, out, _ = run("show", "interactiond", "--output", "markdown", env={paths.ENV: str(env)})
    assert (
        code == 0 and out.startswith("# interactiond") and f"`{env / 'interactiond.yml'}` ($REMEDIATE_PLAYBOOKS)" in out
    )


def test_a_site_module_is_a_command(tmp_path: Path, shipped: Path) -> None:
    site = folder(tmp_path, "site", webmdl="redirection")
    code, _out, err = run("--playbooks", str(site), "webmdl", "--help")
    assert code == 0, err
    code, _out, err = run("webmdl", "--host", "x")
    assert code == 2 and "unknown module or command 'webmdl'" in err and "mta, wfserver" in err


@pytest.mark.parametrize("name", ["list", "all", "9lives", "web-mdl"])
def test_site_module_names_that_cannot_be_commands_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yml"
    path.write_text(book(name))
    with pytest.raises(InputError, match=f"bad module name '{name}'"):
        playbook.load(path)


def test_validate_checks_site_playbooks_too(tmp_path: Path, shipped: Path) -> None:
    site = folder(tmp_path, "site", wfserver="site")
    code, out, err = run("--playbooks", str(site), "validate", "-i", str(tmp_path / "none"))
    assert f"ok  {site / 'wfserver.yml'}: wfserver" in out and f"ok  {shipped / 'mta.yml'}: mta" in out
    assert f"{shipped / 'wfserver.yml'}: overridden by {site / 'wfserver.yml'}" in out
    (site / "wfserver.yml").write_text(book("wfserver").replace("effect: read", "effect: sometimes"))
    code, out, err = run("--playbooks", str(site), "validate")
    assert code == 2 and f"{site / 'wfserver.yml'}:" in err


@pytest.mark.parametrize("bits", [0o020, 0o002], ids=["group-writable", "world-writable"])
@pytest.mark.parametrize("what", ["directory", "file"])
def test_strict_modes_refuse_what_others_can_write(tmp_path: Path, shipped: Path, bits: int, what: str) -> None:
    site = folder(tmp_path, "site", wfserver="site")
    target = site if what == "directory" else site / "wfserver.yml"
    os.chmod(target, (0o755 if what == "directory" else 0o644) | bits)
    for args in (["list"], ["show", "mta"], ["mta", "--host", "x"], ["validate"]):
        code, _out, err = run("--playbooks", str(site), *args)
        assert code == 2, (args, err)
        assert f"{target}: playbook {what} writable by" in err and "refused" in err and f"chmod go-w {target}" in err
    with pytest.raises(InputError, match="writable by"):
        playbook.available(paths.SearchPath.build([site]))


def test_strict_modes_apply_to_the_shipped_directory(shipped: Path) -> None:
    os.chmod(shipped / "mta.yml", 0o666)
    code, _out, err = run("list")
    assert code == 2 and f"{shipped / 'mta.yml'}: playbook file writable by group" in err


def test_no_playbook_at_all_is_exit_2_naming_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_site = folder(tmp_path, "site")
    empty_env = folder(tmp_path, "env")
    gone = tmp_path / "not-installed"
    monkeypatch.setattr(paths, "shipped_dir", lambda: gone)
    env = {paths.ENV: str(empty_env)}
    for args in (["list"], ["wfserver", "--host", "x"], ["validate"], ["check", "all", "--host", "x"]):
        code, _out, err = run("--playbooks", str(empty_site), *args, env=env)
        assert code == 2, (args, err)
        assert "no playbook found" in err, (args, err)
        assert str(empty_site) in err and str(empty_env) in err and str(gone) in err, (args, err)
    code, out, _ = run("--help")
    assert code == 0 and "validate" in out  # help still works


def test_a_missing_site_directory_is_exit_2(tmp_path: Path, shipped: Path) -> None:
    code, _out, err = run("--playbooks", str(tmp_path / "typo"), "list")
    assert code == 2 and f"--playbooks: {tmp_path / 'typo'}: no such directory" in err
    code, _out, err = run("list", env={paths.ENV: str(tmp_path / "typo2")})
    assert code == 2 and f"$REMEDIATE_PLAYBOOKS: {tmp_path / 'typo2'}: no such directory" in err


def test_version_names_each_playbook_directory_and_the_inventory(tmp_path: Path, shipped: Path) -> None:
    site = folder(tmp_path, "site")
    env = folder(tmp_path, "env")
    inv = tmp_path / "inv.yml"
    code, out, _ = run(
        "--version", "--playbooks", str(site), env={paths.ENV: str(env), "REMEDIATE_INVENTORY": str(inv)}
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("remediate, version ")
    assert [ln.split()[0] for ln in lines[2:5]] == [str(site), str(env), str(shipped)]
    assert "(--playbooks)" in lines[2] and "($REMEDIATE_PLAYBOOKS)" in lines[3] and "(shipped)" in lines[4]
    assert lines[5].startswith(f"inventory: {inv}") and "$REMEDIATE_INVENTORY" in lines[5] and "[missing]" in lines[5]


def complete(words: str, cword: int, env: dict[str, str] | None = None) -> list[str]:
    full = {"_REMEDIATE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword), **(env or {})}
    res = CliRunner().invoke(main, [], prog_name="remediate", env=full)
    assert res.exit_code == 0, res.output
    return [line.split(",", 1)[1] for line in res.stdout.splitlines() if line]


def test_completion_of_modules_and_inventory_hosts(tmp_path: Path, shipped: Path) -> None:
    site = folder(tmp_path, "site", webmdl="redirection")
    assert complete("remediate wf", 1) == ["wfserver"]
    assert complete("remediate w", 1, {paths.ENV: str(site)}) == ["webmdl", "wfserver"]
    assert complete("remediate show m", 2) == ["mta"]
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  hosts:\n    prod1: {}\n    prod2: {}\n  children:\n    emea:\n      hosts:\n        lab1: {}\n"
    )
    assert complete("remediate wfserver --host p", 3, {"REMEDIATE_INVENTORY": str(inv)}) == ["prod1", "prod2"]
    assert complete(f"remediate check mta -i {inv} --host l", 6) == ["lab1"]
    assert complete(f"remediate check mta -i {inv} --group e", 6) == ["emea"]
    assert complete("remediate wfserver --host p", 3, {"REMEDIATE_INVENTORY": str(tmp_path / "broken")}) == []


def test_completion_script_comes_from_click() -> None:
    res = CliRunner().invoke(main, [], prog_name="remediate", env={"_REMEDIATE_COMPLETE": "bash_source"})
    assert res.exit_code == 0 and "_remediate_completion()" in res.stdout and "complete -o nosort" in res.stdout
