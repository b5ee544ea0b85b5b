"""The man page remediate(1), written in roff from the live command line: ``python -m runner.cli.manpage``.

Owns: the page's text, made from the click commands themselves (their usage, help texts, every option
that ``--help`` shows, defaults, environment variables, ranges), the shipped playbooks (the MODULE
commands) and the exit codes of :mod:`runner.outcomes`, so a new flag or command is in the page with no
change here. ``setup.py`` writes it at build time (installed as ``share/man/man1/remediate.1``); ``make
man`` writes ``build/man/remediate.1``; ``--check FILE`` says whether a page is current. Must not: use
anything of click's own help formatting (the page is roff, not terminal text) or depend on the site's
playbooks or environment (the page is the same on every machine that builds the same source).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from runner import __version__, paths, playbook
from runner.outcomes import ExitCode

# what each exit code means (README, "Exit codes"); a code of runner.outcomes missing here fails the build
EXIT_MEANINGS = {
    ExitCode.OK: "every host healthy at the end (already, or remediated and verified), or a dry run completed",
    ExitCode.UNHEALTHY: "a host is still unhealthy, or a remediation command failed",
    ExitCode.INPUT: "bad invocation or input (unknown module, host or group; invalid playbook or inventory): "
    "nothing was run",
    ExitCode.UNREACHABLE: "a host could not be reached or authenticated, or its host key was unknown or changed",
    ExitCode.DECLINED: "a disruptive step was declined, or refused for lack of confirmation (no terminal, no --yes)",
    ExitCode.UNKNOWN: "outcome unknown: a changing command timed out or its connection dropped mid-command",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); the audit log records it",
}
MODULE = "MODULE"  # the placeholder name of the command each playbook makes
ENV_VAR = re.compile(r"\$([A-Z][A-Z0-9_]+)")


def escape(text: str) -> str:
    """``text`` as roff running text: backslashes and hyphens escaped, no line starting a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.split("\n"))


def paragraphs(help_text: str | None) -> Iterator[str]:
    """A click help text as roff paragraphs: ``\\b`` blocks kept line by line, others filled by man."""
    text = inspect.cleandoc(help_text or "").split("\f")[0]
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.startswith("\b\n"):
            yield ".nf\n" + escape(block[2:]) + "\n.fi"
        elif block:
            yield escape(" ".join(block.split()))


def bold(text: str) -> str:
    return "\\fB" + escape(text) + "\\fR"


def italic(text: str) -> str:
    return "\\fI" + escape(text) + "\\fR"


def metavar(param: click.Parameter) -> str:
    """What follows an option, or an argument's name: its metavar, choices, or type (no click formatting)."""
    if isinstance(param, click.Option) and (param.is_flag or param.count):
        return ""
    if param.metavar:
        return param.metavar  # as written, like click's own usage line
    elif isinstance(param.type, click.Choice):
        name = "{" + "|".join(map(str, param.type.choices)) + "}"
    elif isinstance(param, click.Argument):
        name = (param.name or "").upper()
    else:
        number = isinstance(param.type, click.types.IntParamType | click.types.FloatParamType)
        name = "N" if number else param.type.name.upper()
    if isinstance(param, click.Argument):
        name += "..." if param.nargs == -1 else ""
        name = name if param.required else f"[{name}]"
    return name


def extras(option: click.Option) -> str:
    """Default, range and environment variable, as ``--help`` shows them."""
    found = []
    if option.show_default and option.default not in (None, False, ()):
        found.append(f"default: {option.default}")
    if isinstance(option.type, click.IntRange | click.FloatRange):
        found.append(f"{option.type.min} to {option.type.max}")
    if isinstance(option.envvar, str) and f"${option.envvar}" not in (option.help or ""):
        found.append(f"env: ${option.envvar}")
    return f" [{'; '.join(found)}]" if found else ""


def options(command: click.Command) -> Iterator[str]:
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = ", ".join(bold(opt) for opt in [*param.opts, *param.secondary_opts])
        value = metavar(param)
        yield ".TP\n" + names + (" " + italic(value) if value else "")
        yield escape(((param.help or "") + extras(param)).strip())


def usage(path: list[str], command: click.Command) -> str:
    args = [metavar(p) for p in command.params if isinstance(p, click.Argument)]
    sub = "COMMAND" if isinstance(command, click.Group) else ""
    return " ".join(filter(None, [*path, "[OPTIONS]", sub, *args]))


def commands(root: click.Group, module_command: click.Command) -> Iterator[tuple[list[str], click.Command]]:
    """(path, command) for ``remediate MODULE`` first, then every built-in command and subcommand."""
    yield [MODULE], module_command

    def walk(path: list[str], group: click.Group) -> Iterator[tuple[list[str], click.Command]]:
        listed = getattr(group, "builtin_commands", None)  # the root group imports its commands on demand
        for name, command in (listed() if listed is not None else group.commands).items():
            if command.hidden:
                continue
            yield [*path, name], command
            if isinstance(command, click.Group):
                yield from walk([*path, name], command)

    yield from walk([], root)


def modules() -> Iterator[str]:
    """The shipped playbooks, one entry each (the site's are not the page's business)."""
    for path in sorted(paths.shipped_dir().glob("*.yml")):
        book = playbook.load(path)
        asks = " Its remediation has disruptive steps: it asks before restarting." if book.disruptive else ""
        yield ".TP\n" + bold(book.module)
        yield escape(f"{book.title}: {book.scope}.{asks}")
        yield ".br\n" + escape(f"Symptom: {book.symptom}")


def render(root: click.Group | None = None, module_command: click.Command | None = None) -> str:
    """The whole page for the command line ``root`` (default: remediate's own)."""
    from runner.cli import main
    from runner.cli.run import module_command as make_module_command

    root = root or main
    module_command = module_command or make_module_command(MODULE)
    missing = set(ExitCode) - set(EXIT_MEANINGS)
    if missing:
        raise RuntimeError(f"runner/cli/manpage.py: no meaning for exit code(s) {sorted(missing)}")
    name = "remediate"
    summary = inspect.cleandoc(root.help or "").split("\n")[0].rstrip(".")
    page = [
        '.\\" remediate(1), generated from the command line by python -m runner.cli.manpage: do not edit.',
        f'.TH REMEDIATE 1 "" "remediate {__version__}" "User Commands"',
        ".nh",  # no hyphenation: option names and paths are copied from the page
        ".ad l",
        ".SH NAME",
        f"{name} \\- {escape(summary[:1].lower() + summary[1:])}",
        ".SH SYNOPSIS",
    ]
    listed = list(commands(root, module_command))
    for path, command in listed:
        if not isinstance(command, click.Group):
            words = [italic(w) if w == MODULE else bold(w) for w in [name, *path]]
            page += [" ".join(words) + " " + escape(usage([], command)), ".br"]
    page += [".SH DESCRIPTION", *_between(paragraphs(root.help)), ".SH OPTIONS"]
    page += ["Options of remediate itself, given before the command.", *options(root)]
    helps = root.context_settings.get("help_option_names", ["--help"])
    page += [
        ".TP\n" + ", ".join(map(bold, helps)),
        "Show the help of remediate, or of the command it follows, and exit.",
    ]
    page.append(".SH COMMANDS")
    for path, command in listed:
        page.append(f'.SS "{escape(usage([name, *path], command))}"')
        page += _between(paragraphs(command.help))
        page += options(command)
    page += [".SH MODULES", "Each shipped playbook is a command: \\fBremediate\\fR \\fIMODULE\\fR.", *modules()]
    page += [".SH ENVIRONMENT", *environment(listed, root), ".SH EXIT STATUS"]
    for code, meaning in sorted(EXIT_MEANINGS.items()):
        page += [".TP\n" + bold(str(int(code))), escape(meaning)]
    page += [
        "With several hosts the code is the first that applies of 130, 5, 1, 3, 4, 0.",
        ".SH SEE ALSO",
        "\\fBssh\\fR(1), \\fBssh_config\\fR(5); \\fBremediate show\\fR \\fIMODULE\\fR for a playbook as a runbook;"
        " the project's README.md.",
    ]
    return "\n".join(page) + "\n"


def environment(listed: list[tuple[list[str], click.Command]], root: click.Group) -> Iterator[str]:
    """Each environment variable an option reads or its help names, with the options that say so."""
    seen: dict[str, list[str]] = {}
    for command in [root, *(command for _path, command in listed)]:
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            named = ENV_VAR.findall(param.help or "") + ([param.envvar] if isinstance(param.envvar, str) else [])
            for var in named:
                opts = seen.setdefault(var, [])
                opts += [] if max(param.opts, key=len) in opts else [max(param.opts, key=len)]
    for var, opts in sorted(seen.items()):
        yield ".TP\n" + bold(var)
        yield escape("named by " + ", ".join(opts) + " (see COMMANDS)")


def _between(blocks: Iterator[str]) -> list[str]:
    """Paragraphs separated by .PP."""
    out: list[str] = []
    for block in blocks:
        out += [".PP", block] if out else [block]
    return out


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path


def main(argv: list[str] | None = None) -> int:
    from runner import console

    parser = argparse.ArgumentParser(prog="python -m runner.cli.manpage", description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="write the page here (default: standard output)")
    parser.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE is not the page of this CLI")
    args = parser.parse_args(argv)
    if args.check:
        current = args.check.is_file() and args.check.read_text() == render()
        console.out(f"{args.check}: {'current' if current else 'stale: regenerate it (make man)'}", err=not current)
        return 0 if current else 1
    if args.output:
        console.out(f"wrote {write(args.output)}; view it with: man -l {args.output}")
    else:
        console.out(render(), nl=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
