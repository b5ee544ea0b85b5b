"""Where a rendered run goes.

Owns: the ``--help`` of a run's ``--output`` (from :data:`runner.render.FORMATS`), and :func:`deliver`:
a run rendered in the format asked, to stdout or, with ``--output-file``, to a file written atomically
(a temp file in the same directory, then a rename, so a reader such as node_exporter's textfile
collector never sees half a file), redacted either way; colours only on a terminal. Must not: render
(each format is a renderer of :mod:`runner.render`) or pick the exit code (the renderer returns it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from runner import console, render
from runner.cli.exits import fail


def run_output_help(*, sweep: bool, see: str) -> str:
    """``--help`` of a run's ``--output``: each format of :data:`runner.render.FORMATS` it offers."""
    names = render.format_names(sweep=sweep)
    return "; ".join(f"{name}: {render.FORMATS[name].summary}" for name in names) + f" ({see})."


def deliver(output: str, doc: render.RunDocument, output_file: Path | None = None) -> int:
    """Render ``doc`` as ``output`` to stdout or ``output_file``; the exit code the command ends with."""
    if output_file is None:
        rendered = render.render(output, doc, console.color_for(sys.stdout))
        console.out(rendered.text, nl=False)
        return rendered.exit_code
    rendered = render.render(output, doc, render.plain)
    try:
        write_atomically(output_file, console.redact(rendered.text))
    except OSError as exc:
        from runner.errors import InputError

        fail(InputError(f"cannot write: {exc.strerror}", where=str(output_file)))
    return rendered.exit_code


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by a temp file in the same directory and a rename (readers see old or new)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # the collector runs as its own user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
